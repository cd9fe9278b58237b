"""Exact UV over any window and minute aggregates, checked against brute-force counts of raw events."""
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from cockpit.db.engine import get_engine
from cockpit.db.schema import AggTrafficMinute, PageView
from cockpit.ingest.writer import write_batch
from cockpit.metrics.aggregate import minute_ranges, rebuild_minutes
from cockpit.metrics.read import kpis, unique_visitors
from cockpit.timebuckets import day_start_minute, local_day_of

TZ = ZoneInfo("Asia/Shanghai")
START = 29_000_000 // 1440 * 1440 - 8 * 60  # a Shanghai midnight, in epoch minutes


def page_view_frame(rng, n, start_minute, minutes, visitors, first_event_id=1):
    minute = rng.integers(start_minute, start_minute + minutes, n)
    return pd.DataFrame({
        "event_id": np.arange(first_event_id, first_event_id + n, dtype="int64"),
        "session_id": rng.integers(1, 10**6, n),
        "visitor_id": rng.integers(1, visitors + 1, n),
        "ts_utc": minute * 60 + rng.integers(0, 60, n),
        "channel": rng.choice(["organic", "app", "paid_search"], n),
        "is_returning": rng.random(n) < 0.4,
        "page_type": "product",
        "sku": None,
    })


def brute_force_uv(conn, start, end, channel=None):
    query = select(func.count(PageView.visitor_id.distinct())).where(
        PageView.ts_utc >= start * 60, PageView.ts_utc < end * 60
    )
    if channel:
        query = query.where(PageView.channel == channel)
    return conn.execute(query).scalar()


@pytest.fixture(scope="module")
def loaded(module_db_url):
    """Three days of page views from 3,000 visitors, written in two batches with overlap."""
    engine = get_engine(module_db_url)
    rng = np.random.default_rng(7)
    views = page_view_frame(rng, 30_000, START, 3 * 1440, 3000)
    with engine.begin() as conn:
        result = write_batch(conn, {"page_views": views.iloc[:20_000]}, TZ)
        rebuild_minutes(conn, result.touched_minutes)
        result = write_batch(conn, {"page_views": views.iloc[15_000:]}, TZ)  # 5,000 replayed
        rebuild_minutes(conn, result.touched_minutes)
    return engine, rng


def test_minute_ranges_merge_contiguous_minutes():
    assert minute_ranges([5, 3, 4, 9, 10, 20]) == [(3, 6), (9, 11), (20, 21)]


def test_replayed_events_are_stored_once(loaded):
    engine, _ = loaded
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(PageView)).scalar() == 30_000


@pytest.mark.parametrize("window", [
    "one minute", "inside an hour", "across hours", "whole day", "today so far",
    "across midnight", "last 7 days from mid-day", "three whole days",
])
def test_unique_visitors_equal_a_brute_force_count_over_every_kind_of_window(loaded, window):
    engine, _ = loaded
    day0 = day_start_minute(local_day_of(START, TZ), TZ)
    windows = {
        "one minute": (START + 600, START + 601),
        "inside an hour": (START + 65, START + 110),
        "across hours": (START + 130, START + 400),
        "whole day": (day0 + 1440, day0 + 2880),
        "today so far": (day0 + 2880, day0 + 2880 + 817),
        "across midnight": (day0 + 1300, day0 + 1600),
        "last 7 days from mid-day": (day0 + 100, day0 + 3 * 1440),
        "three whole days": (day0, day0 + 3 * 1440),
    }
    start, end = windows[window]
    with engine.connect() as conn:
        expected = brute_force_uv(conn, start, end)
        assert expected > 0
        assert unique_visitors(conn, start, end, TZ) == expected
        by_channel = unique_visitors(conn, start, end, TZ, by_channel=True)
        for channel in ("organic", "app", "paid_search"):
            assert by_channel.get(channel, 0) == brute_force_uv(conn, start, end, channel)


def test_unique_visitors_over_random_windows_match_brute_force(loaded):
    engine, rng = loaded
    with engine.connect() as conn:
        for _ in range(25):
            start = int(rng.integers(START, START + 3 * 1440 - 1))
            end = int(rng.integers(start + 1, START + 3 * 1440 + 1))
            assert unique_visitors(conn, start, end, TZ) == brute_force_uv(conn, start, end), (start, end)


def test_summing_minute_uv_overcounts_and_kpis_do_not(loaded):
    engine, _ = loaded
    start, end = START, START + 1440
    with engine.connect() as conn:
        summed = conn.execute(
            select(func.sum(AggTrafficMinute.uv)).where(AggTrafficMinute.minute_utc >= start, AggTrafficMinute.minute_utc < end)
        ).scalar()
        exact = brute_force_uv(conn, start, end)
        assert summed > exact  # why the bucket tables exist
        figures = kpis(conn, start, end, TZ)
        assert figures.uv == exact
        assert figures.page_views == conn.execute(
            select(func.count()).select_from(PageView).where(PageView.ts_utc >= start * 60, PageView.ts_utc < end * 60)
        ).scalar()


def test_a_late_event_reaggregates_its_old_minute(engine):
    minute = START + 77
    early = page_view_frame(np.random.default_rng(3), 50, minute - 5, 10, 40)
    with engine.begin() as conn:
        rebuild_minutes(conn, write_batch(conn, {"page_views": early}, TZ).touched_minutes)
    late = pd.DataFrame({
        "event_id": [10**9], "session_id": [1], "visitor_id": [987_654], "ts_utc": [minute * 60 + 5],
        "channel": ["organic"], "is_returning": [False], "page_type": ["home"], "sku": [None],
    })
    with engine.begin() as conn:
        before = conn.execute(select(func.sum(AggTrafficMinute.page_views)).where(AggTrafficMinute.minute_utc == minute)).scalar() or 0
        result = write_batch(conn, {"page_views": late}, TZ)
        assert result.touched_minutes == {minute}
        rebuild_minutes(conn, result.touched_minutes)
        after = conn.execute(select(func.sum(AggTrafficMinute.page_views)).where(AggTrafficMinute.minute_utc == minute)).scalar()
        assert after == before + 1
        assert unique_visitors(conn, minute, minute + 1, TZ) == brute_force_uv(conn, minute, minute + 1)
