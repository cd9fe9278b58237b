"""refresh(sources=...): a custom source's frames are written, aggregated and reported like the simulator's."""
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import func, select

from cockpit import jobs
from cockpit.config import load_settings
from cockpit.db.engine import get_engine
from cockpit.db.schema import AggTrafficMinute, PageView, RefreshRun, Session
from cockpit.ingest.seed import seed_history
from cockpit.ingest.simulator_source import read_watermark
from tests.support.recount import assert_aggregates_match_raw

TZ = ZoneInfo("Asia/Shanghai")
T0 = 1_795_000_000 // 60
VISITOR = 7_000_000_000_000_000_000


class OneMinuteSource:
    """Two sessions and three page views of one visitor in the refresh's last complete minute."""

    def __init__(self):
        self.calls = []

    def collect(self, conn, until_minute):
        self.calls.append(until_minute)
        ts = until_minute * 60 + 5
        sessions = pd.DataFrame({
            "session_id": [VISITOR, VISITOR + 1], "visitor_id": [VISITOR, VISITOR], "customer_id": pd.array([None, None], dtype="Int64"),
            "ts_utc": [ts, ts + 10], "duration_s": [60, 30], "channel": ["organic", "organic"],
            "campaign_id": [None, None], "is_returning": [False, False], "device": ["mobile", "mobile"],
        })
        views = pd.DataFrame({
            "event_id": [VISITOR + 10, VISITOR + 11, VISITOR + 12], "session_id": [VISITOR, VISITOR, VISITOR + 1],
            "visitor_id": [VISITOR] * 3, "ts_utc": [ts, ts + 1, ts + 11], "channel": ["organic"] * 3,
            "is_returning": [False] * 3, "page_type": ["home", "product", "home"], "sku": [None, "X", None],
        })
        return {"sessions": sessions, "page_views": views}, until_minute, 1


def test_a_custom_sources_frames_are_written_aggregated_and_reported(db_url):
    engine = get_engine(db_url)
    seed_history(engine, days=1, scenario="normal", seed=5, now_minute=T0, tz=TZ, progress=False)
    settings = load_settings({"COCKPIT_DB_URL": db_url, "COCKPIT_SOURCES": "simulator"})
    source = OneMinuteSource()
    report = jobs.refresh(settings, now_ts=(T0 + 1) * 60 + 2, sources=[source])
    assert source.calls == [T0]
    assert report.status == "ok" and report.events == 5 and report.minutes == 1 and report.data_minute == T0
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Session).where(Session.session_id >= VISITOR)).scalar() == 2
        assert conn.execute(select(func.count()).select_from(PageView).where(PageView.visitor_id == VISITOR)).scalar() == 3
        traffic = conn.execute(
            select(func.sum(AggTrafficMinute.sessions), func.sum(AggTrafficMinute.page_views), func.sum(AggTrafficMinute.uv))
            .where(AggTrafficMinute.minute_utc == T0)
        ).one()
        assert tuple(traffic) == (2, 3, 1)
        beat = conn.execute(
            select(RefreshRun.status, RefreshRun.events_ingested, RefreshRun.minutes_ingested, RefreshRun.data_minute_utc)
            .order_by(RefreshRun.run_id.desc()).limit(1)
        ).one()
        assert tuple(beat) == ("ok", 5, 1, T0)
        # The simulator was not asked: its watermark stays where the seed left it.
        assert read_watermark(conn)[0] == T0 - 1
        assert_aggregates_match_raw(conn)


def test_an_empty_source_list_ingests_nothing_and_keeps_the_data_minute(db_url):
    engine = get_engine(db_url)
    seed_history(engine, days=1, scenario="normal", seed=5, now_minute=T0, tz=TZ, progress=False)
    settings = load_settings({"COCKPIT_DB_URL": db_url, "COCKPIT_SOURCES": "simulator"})
    report = jobs.refresh(settings, now_ts=(T0 + 3) * 60, sources=[])
    assert report.status == "ok" and report.events == 0 and report.minutes == 0 and report.data_minute == T0 - 1
    with engine.connect() as conn:
        assert read_watermark(conn)[0] == T0 - 1
