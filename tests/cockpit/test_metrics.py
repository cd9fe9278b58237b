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


# --- SKU figures over long windows: daily and hourly rollups of agg_sku_minute ------------------

SKU_START = START // 1440 * 1440 + 1440  # a UTC midnight


def _orders_frames(rng, n, block_starts, first_order_id, block_minutes=90):
    """n paid orders with one or two lines each, placed in blocks of block_minutes from each
    of block_starts (contiguous minutes re-aggregate as one range: a fast fixture)."""
    ts = (rng.choice(block_starts, n) + rng.integers(0, block_minutes, n)) * 60 + rng.integers(0, 60, n)
    order_id = np.arange(first_order_id, first_order_id + n, dtype="int64")
    orders = pd.DataFrame({
        "order_id": order_id, "customer_id": rng.integers(1, 500, n), "session_id": pd.array([None] * n, dtype="Int64"),
        "ts_utc": ts, "channel": rng.choice(["app", "organic"], n), "campaign_id": None, "is_returning": False,
        "region": "east", "warehouse_id": rng.choice(["W1", "W2"], n), "status": "paid", "amount": 10.0,
        "discount": 0.0, "paid_ts_utc": pd.array(ts + 5, dtype="Int64"),
        **{c: pd.array([None] * n, dtype="Int64") for c in ("cancelled_ts_utc", "shipped_ts_utc",
                                                            "delivered_ts_utc", "returned_ts_utc")},
    })
    lines = pd.DataFrame({"order_id": np.sort(np.concatenate([order_id, order_id[::2]])), "line_no": 0, "sku": "",
                          "qty": 0, "unit_price": 0.0, "unit_cost": 1.0})
    lines["line_no"] = lines.groupby("order_id").cumcount() + 1
    lines["sku"] = rng.choice(["A", "B", "C"], len(lines))
    lines["qty"] = rng.integers(1, 4, len(lines))
    lines["unit_price"] = rng.choice([9.5, 12.25, 30.0], len(lines))
    return {"orders": orders, "order_lines": lines}


def _minute_sums(conn, start, end):
    from cockpit.db.schema import AggSkuMinute as M

    rows = conn.execute(
        select(M.sku, M.warehouse_id, func.sum(M.units_sold), func.sum(M.revenue), func.sum(M.units_returned))
        .where(M.minute_utc >= start, M.minute_utc < end).group_by(M.sku, M.warehouse_id)).all()
    return _sums_frame(rows)


def _sums_frame(rows):
    frame = pd.DataFrame([tuple(r) for r in rows], columns=["sku", "warehouse_id", "units_sold", "revenue", "units_returned"])
    frame = frame.astype({"units_sold": "int64", "revenue": "float64", "units_returned": "int64"})
    frame = frame[(frame["units_sold"] != 0) | (frame["units_returned"] != 0) | (frame["revenue"].abs() > 1e-9)]
    return frame.sort_values(["sku", "warehouse_id"]).reset_index(drop=True)


def _window_sums(conn, start, end):
    from cockpit.metrics.read import sku_window_rows

    q = sku_window_rows(start, end).subquery()
    return _sums_frame(conn.execute(
        select(q.c.sku, q.c.warehouse_id, func.sum(q.c.units_sold), func.sum(q.c.revenue), func.sum(q.c.units_returned))
        .group_by(q.c.sku, q.c.warehouse_id)).all())


@pytest.fixture(scope="module")
def sku_loaded(module_db_url):
    """Nine days of paid orders (in blocks), then late orders into minutes already aggregated."""
    from cockpit.db.schema import Product, Warehouse

    engine = get_engine(module_db_url)
    rng = np.random.default_rng(11)
    with engine.begin() as conn:  # sales move stock: their SKUs and warehouses must exist
        conn.execute(Product.__table__.insert(), [
            {"sku": sku, "name": sku, "category": "c", "price": 10.0, "cost": 5.0, "supplier_id": None,
             "launched_ts_utc": 0} for sku in ("A", "B", "C")])
        conn.execute(Warehouse.__table__.insert(), [
            {"warehouse_id": w, "name": w, "region": "east", "tier": "regional"} for w in ("W1", "W2")])
        # Blocks 650 minutes apart over nine days: they straddle hours and midnights.
        first = write_batch(conn, _orders_frames(rng, 2500, SKU_START - 30 + 650 * np.arange(20), 1), TZ)
        rebuild_minutes(conn, first.touched_minutes)
        late = write_batch(conn, _orders_frames(rng, 300, SKU_START - 30 + 650 * np.array([3, 4, 9]), 10**6), TZ)
        rebuild_minutes(conn, late.touched_minutes)
    return engine


def test_the_hourly_and_daily_sku_rollups_equal_the_minute_table_after_late_events(sku_loaded):
    from cockpit.db.schema import AggSkuDay, AggSkuHour

    with sku_loaded.connect() as conn:
        for model, column, width in ((AggSkuHour, "hour_utc", 60), (AggSkuDay, "day_utc", 1440)):
            buckets = conn.execute(select(getattr(model, column)).distinct()).scalars().all()
            assert len(buckets) >= 9
            for bucket in buckets[:: max(1, len(buckets) // 40)]:
                rollup = _sums_frame(conn.execute(
                    select(model.sku, model.warehouse_id, model.units_sold, model.revenue, model.units_returned)
                    .where(getattr(model, column) == bucket)).all())
                pd.testing.assert_frame_equal(rollup, _minute_sums(conn, bucket * width, (bucket + 1) * width),
                                              check_exact=False, rtol=1e-9)


@pytest.mark.parametrize("window", [
    "inside an hour", "whole hours", "across hours", "whole day", "ragged day ends",
    "7 days from mid-hour", "7 days on the hour", "6 hours",
])
def test_sku_window_rows_equal_the_minute_table_over_every_kind_of_window(sku_loaded, window):
    start, end = {
        "inside an hour": (SKU_START + 630, SKU_START + 650),
        "whole hours": (SKU_START + 600, SKU_START + 720),
        "across hours": (SKU_START + 630, SKU_START + 1300),
        "whole day": (SKU_START + 1440, SKU_START + 2880),
        "ragged day ends": (SKU_START + 1000, SKU_START + 2 * 1440 + 400),
        "7 days from mid-hour": (SKU_START + 668, SKU_START + 668 + 10080),
        "7 days on the hour": (SKU_START + 600, SKU_START + 600 + 10080),
        "6 hours": (SKU_START + 3 * 1440 + 23, SKU_START + 3 * 1440 + 23 + 360),
    }[window]
    with sku_loaded.connect() as conn:
        expected = _minute_sums(conn, start, end)
        assert len(expected) > 0  # the window holds sales (the fixture's blocks)
        pd.testing.assert_frame_equal(_window_sums(conn, start, end), expected, check_exact=False, rtol=1e-9)


def test_sku_window_rows_over_random_windows_equal_the_minute_table(sku_loaded):
    rng = np.random.default_rng(5)
    with sku_loaded.connect() as conn:
        for _ in range(25):
            start = int(SKU_START + rng.integers(-100, 9 * 1440))
            end = start + int(rng.choice([1, 59, 60, 61, 1439, 1440, 1441, 4000, 10080]))
            pd.testing.assert_frame_equal(_window_sums(conn, start, end), _minute_sums(conn, start, end),
                                          check_exact=False, rtol=1e-9)


def test_migrating_an_existing_database_backfills_the_hourly_rollup(backend, fresh_db_url):
    from alembic import command

    from cockpit.db.engine import _alembic_config, upgrade_schema
    from cockpit.db.schema import AggSkuHour, AggSkuMinute

    url = fresh_db_url(backend)
    command.upgrade(_alembic_config(url), "0004")
    engine = get_engine(url)
    rows = [{"minute_utc": SKU_START + m, "sku": sku, "warehouse_id": "W1", "units_sold": m % 7, "revenue": 1.5 * m,
             "units_returned": m % 2} for m in range(0, 300, 7) for sku in ("A", "B")]
    with engine.begin() as conn:
        conn.execute(AggSkuMinute.__table__.insert(), rows)
    upgrade_schema(url)
    with engine.connect() as conn:
        for hour in range(SKU_START // 60, (SKU_START + 300) // 60 + 1):
            hourly = _sums_frame(conn.execute(
                select(AggSkuHour.sku, AggSkuHour.warehouse_id, AggSkuHour.units_sold, AggSkuHour.revenue,
                       AggSkuHour.units_returned).where(AggSkuHour.hour_utc == hour)).all())
            pd.testing.assert_frame_equal(hourly, _minute_sums(conn, hour * 60, hour * 60 + 60), check_exact=False,
                                          rtol=1e-9)
