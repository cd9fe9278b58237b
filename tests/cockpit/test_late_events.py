"""Events that arrive late or out of order: the minutes they belong to are re-aggregated, and the
aggregates end up exactly as if every event had come on time (and equal a recount)."""
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import func, select

from cockpit import jobs
from cockpit.config import load_settings
from cockpit.db.engine import get_engine, upgrade_schema
from cockpit.db.schema import TABLES, AggTrafficMinute
from cockpit.ingest.seed import seed_history
from cockpit.ingest.simulator_source import SimulatorSource
from cockpit.ingest.writer import TIME_COLUMNS
from tests.support.figures import record
from tests.support.recount import assert_aggregates_match_raw, assert_stock_matches_movements

TZ = ZoneInfo("Asia/Shanghai")
T0 = 1_795_000_000 // 60  # the seeded present (epoch minute)
MINUTES = 12
LATE_MINUTES = (T0 + 3, T0 + 4, T0 + 7)  # their events come in a later batch
AGGREGATES = ("agg_traffic_minute", "agg_sales_minute", "agg_sku_minute", "agg_sku_hour", "agg_sku_day",
              "agg_campaign_minute", "uv_minute", "uv_hour", "uv_day", "stock_levels")


class FixedSource:
    """Hands the refresh one prepared batch of frames, dated up to data_minute."""

    def __init__(self, frames: dict[str, pd.DataFrame], data_minute: int):
        self.frames, self.data_minute = frames, data_minute

    def collect(self, conn, until_minute):
        return self.frames, self.data_minute, 0


def _minute_of_rows(frames: dict[str, pd.DataFrame], name: str) -> pd.Series:
    """The minute each row of frame `name` belongs to (order lines: their order's)."""
    frame = frames[name]
    column = TIME_COLUMNS[name]
    if column is None:
        order_minute = dict(zip(frames["orders"]["order_id"], frames["orders"]["ts_utc"] // 60))
        return frame["order_id"].map(order_minute)
    values = frame[column].astype("int64")
    return values if column == "minute_utc" else values // 60


def split_late(frames: dict[str, pd.DataFrame], late_minutes, seed: int = 3):
    """(on-time batch, late batch): every row of LATE_MINUTES goes to the late batch; the rows of
    both batches are shuffled (out of order within a batch)."""
    rng = np.random.default_rng(seed)
    on_time, late = {}, {}
    for name, frame in frames.items():
        if frame.empty:
            on_time[name] = frame
            continue
        is_late = _minute_of_rows(frames, name).isin(list(late_minutes)).to_numpy()
        for target, mask in ((on_time, ~is_late), (late, is_late)):
            part = frame[mask]
            target[name] = part.iloc[rng.permutation(len(part))].reset_index(drop=True)
    return on_time, late


def _table(conn, name: str) -> pd.DataFrame:
    table = TABLES[name]
    keys = [c for c in table.primary_key.columns]
    frame = pd.DataFrame(conn.execute(select(table).order_by(*keys)).all(), columns=[c.name for c in table.columns])
    return frame.drop(columns=[c for c in ("updated_ts_utc",) if c in frame.columns])


def _sessions_in(conn, minutes) -> int:
    return conn.execute(select(func.coalesce(func.sum(AggTrafficMinute.sessions), 0))
                        .where(AggTrafficMinute.minute_utc.in_(list(minutes)))).scalar()


def test_late_and_shuffled_events_end_in_the_same_aggregates_as_events_on_time(backend, fresh_db_url):
    urls = {kind: fresh_db_url(backend) for kind in ("on_time", "late")}
    for url in urls.values():
        upgrade_schema(url)
        seed_history(get_engine(url), days=1, scenario="normal", seed=11, now_minute=T0, tz=TZ, progress=False)
    settings = {kind: load_settings({"COCKPIT_DB_URL": url, "COCKPIT_SOURCES": ""}) for kind, url in urls.items()}
    now_ts = (T0 + MINUTES + 1) * 60 + 1
    with get_engine(urls["on_time"]).connect() as conn:  # the same events for both databases
        frames, mark, minutes = SimulatorSource("normal", 1440).collect(conn, T0 + MINUTES)
    assert mark == T0 + MINUTES and minutes >= MINUTES

    on_time_report = jobs.refresh(settings["on_time"], now_ts=now_ts, sources=[FixedSource(frames, mark)])
    assert on_time_report.status == "ok"

    first, late = split_late(frames, LATE_MINUTES)
    late_events = sum(len(f) for f in late.values())
    assert late_events > 100 and sum(len(f) for f in first.values()) > late_events
    engine = get_engine(urls["late"])
    assert jobs.refresh(settings["late"], now_ts=now_ts, sources=[FixedSource(first, mark)]).status == "ok"
    with engine.connect() as conn:
        before_late = _sessions_in(conn, LATE_MINUTES)
    report = jobs.refresh(settings["late"], now_ts=now_ts + 60, sources=[FixedSource(late, mark)])
    assert report.status == "ok" and report.events == late_events

    with engine.connect() as conn, get_engine(urls["on_time"]).connect() as reference:
        after_late = _sessions_in(conn, LATE_MINUTES)
        assert before_late < after_late == _sessions_in(reference, LATE_MINUTES)
        for name in AGGREGATES:
            pd.testing.assert_frame_equal(_table(conn, name), _table(reference, name), check_dtype=False,
                                          obj=f"{name} after late events")
        assert_aggregates_match_raw(conn)
        assert_stock_matches_movements(conn)
    record(f"late_events[{backend}]", late_events=late_events, late_minutes=len(LATE_MINUTES),
           minutes_reaggregated=len(set(LATE_MINUTES)), aggregates_equal_on_time=True, events_lost=0, events_doubled=0)
