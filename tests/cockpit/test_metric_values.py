"""metric_values on a tiny hand-made shop: every metric of read.METRICS against hand-computed
values and volumes, the last-week baselines' padding arithmetic and the return rate's base."""
from __future__ import annotations

import math
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import insert

from cockpit.db.engine import get_engine
from cockpit.metrics.aggregate import rebuild_sku_days
from cockpit.db.schema import (
    AggCampaignMinute,
    AggSalesMinute,
    AggSkuMinute,
    AggTrafficMinute,
    Campaign,
    Channel,
    Product,
    StockLevel,
    UvDay,
    UvHour,
    UvMinute,
    Warehouse,
)
from cockpit.metrics.read import ANOMALY_METRICS, BASELINE_SPAN_MINUTES, METRICS, RETURN_BASE_DAYS, metric_values
from cockpit.timebuckets import local_day_of

TZ = ZoneInfo("Asia/Shanghai")
S = 29_000_040  # an epoch minute on a whole hour (06:00 in Shanghai)
A = S + 59  # the "as of" minute: a 60-minute window is [S, S + 60), a 30-minute one [S + 30, S + 60)
WEEK = 7 * 1440
NAN = float("nan")
INF = float("inf")
BIG = 1000  # outliers placed just outside a range: they show at once if a boundary is off by one


# --- helpers: insert rows with only the columns that matter ------------------------------------

def add_traffic(conn, rows) -> None:
    """rows: (minute, channel, is_returning, sessions)."""
    conn.execute(insert(AggTrafficMinute), [
        {"minute_utc": minute, "channel": channel, "is_returning": returning, "sessions": sessions,
         "page_views": sessions, "cart_adds": 0, "uv": sessions, "session_seconds": 60 * sessions}
        for minute, channel, returning, sessions in rows
    ])


def add_sales(conn, rows) -> None:
    """rows: (minute, channel, is_returning, orders, paid_orders, gmv)."""
    conn.execute(insert(AggSalesMinute), [
        {"minute_utc": minute, "channel": channel, "is_returning": returning, "orders": orders,
         "paid_orders": paid, "cancelled_orders": 0, "gmv": gmv, "units": orders}
        for minute, channel, returning, orders, paid, gmv in rows
    ])


def add_visits(conn, visits: dict[int, list[int]], activity: str) -> None:
    """visitor_id -> minutes seen, written to uv_minute, uv_hour and uv_day consistently."""
    for model, column, bucket_of in [
        (UvMinute, "minute_utc", lambda m: m), (UvHour, "hour_utc", lambda m: m // 60),
        (UvDay, "day_local", lambda m: local_day_of(m, TZ)),
    ]:
        spans: dict[tuple, tuple[int, int]] = {}
        for visitor, minutes in visits.items():
            for minute in minutes:
                key = (bucket_of(minute), visitor)
                first, last = spans.get(key, (minute, minute))
                spans[key] = (min(first, minute), max(last, minute))
        conn.execute(insert(model), [
            {column: bucket, "activity": activity, "channel": "organic", "visitor_id": visitor,
             "first_minute": first, "last_minute": last}
            for (bucket, visitor), (first, last) in spans.items()
        ])


def add_campaigns(conn, campaigns) -> None:
    """campaigns: (campaign_id, channel, roi_floor, status); channels are created as needed."""
    channels = sorted({channel for _, channel, _, _ in campaigns})
    conn.execute(insert(Channel), [{"channel": c, "name": c, "kind": "paid"} for c in channels])
    conn.execute(insert(Campaign), [
        {"campaign_id": cid, "channel": channel, "name": f"Campaign {cid}", "daily_budget": 100.0,
         "roi_floor": floor, "status": status, "start_ts_utc": 0}
        for cid, channel, floor, status in campaigns
    ])


def add_campaign_minutes(conn, rows, channel_of: dict[str, str]) -> None:
    """rows: (minute, campaign_id, spend, revenue)."""
    conn.execute(insert(AggCampaignMinute), [
        {"minute_utc": minute, "campaign_id": cid, "channel": channel_of.get(cid, "paid_search"), "spend": spend,
         "impressions": 0, "clicks": 0, "orders": 0, "revenue": revenue}
        for minute, cid, spend, revenue in rows
    ])


def add_stock(conn, levels) -> None:
    """levels: (sku, warehouse_id, on_hand, safety_stock)."""
    skus = sorted({sku for sku, *_ in levels})
    warehouses = sorted({w for _, w, *_ in levels})
    conn.execute(insert(Product), [
        {"sku": sku, "name": sku, "category": "misc", "price": 10.0, "cost": 5.0, "launched_ts_utc": 0} for sku in skus
    ])
    conn.execute(insert(Warehouse), [{"warehouse_id": w, "name": w, "region": "east", "tier": "regional"}
                                     for w in warehouses])
    conn.execute(insert(StockLevel), [
        {"sku": sku, "warehouse_id": w, "on_hand": on_hand, "safety_stock": safety, "reorder_point": safety,
         "lead_time_days": 3.0, "updated_ts_utc": 0}
        for sku, w, on_hand, safety in levels
    ])


def add_sku_minutes(conn, rows) -> None:
    """rows: (minute, sku, warehouse_id, units_sold, units_returned)."""
    conn.execute(insert(AggSkuMinute), [
        {"minute_utc": minute, "sku": sku, "warehouse_id": w, "units_sold": sold, "revenue": 10.0 * sold,
         "units_returned": returned}
        for minute, sku, w, sold, returned in rows
    ])
    rebuild_sku_days(conn)  # as rebuild_range keeps the daily rollup


def as_dict(frame: pd.DataFrame) -> dict[str, tuple[float, float]]:
    return {entity: (value, volume) for entity, value, volume in
            zip(frame["entity_id"], frame["value"], frame["volume"])}


def assert_readings(frame: pd.DataFrame, expected: dict[str, tuple[float, float]]) -> None:
    assert list(frame.columns) == ["entity_id", "value", "volume"]
    assert str(frame["value"].dtype) == "float64" and str(frame["volume"].dtype) == "float64"
    assert all(isinstance(entity, str) for entity in frame["entity_id"])
    assert not frame["entity_id"].duplicated().any()
    actual = as_dict(frame)
    assert set(actual) == set(expected)
    for entity, (value, volume) in expected.items():
        got_value, got_volume = actual[entity]
        assert got_value == pytest.approx(value, nan_ok=True, rel=1e-12), (entity, "value")
        assert got_volume == pytest.approx(volume, nan_ok=True, rel=1e-12), (entity, "volume")


# --- the tiny shop ----------------------------------------------------------------------------

VISITS = {  # visitor_id: minutes seen
    1: [S - 5, S + 10], 2: [S + 20], 3: [S + 35], 4: [S + 40, S + 50], 5: [S + 59], 6: [S + 1], 7: [S],
    8: [S + 45], 9: [S - 1], 10: [S + 60],
}  # in [S, S + 60): 1-8 (8); in [S + 30, S + 60): 3, 4, 5, 8 (4)
PAYERS = {1: [S + 10], 2: [S + 20], 9: [S - 1]}  # in [S, S + 60): 2; in [S + 30, S + 60): 0
SALES = [  # minute, channel, is_returning, orders, paid_orders, gmv
    (S, "organic", False, 3, 2, 250.0),
    (S + 59, "paid_search", True, 2, 2, 150.0),
    (S - 1, "organic", False, BIG, BIG, 100.0 * BIG),  # just before the window
    (S + 60, "organic", False, BIG, BIG, 100.0 * BIG),  # just after it
    # last week, around [S - WEEK, S - WEEK + 60) padded by 30 minutes: [S - WEEK - 30, S - WEEK + 90)
    (S - WEEK - 31, "organic", False, BIG, BIG, 100.0 * BIG),
    (S - WEEK - 30, "organic", False, 2, 2, 100.0),
    (S - WEEK + 10, "paid_search", False, 4, 4, 300.0),
    (S - WEEK + 89, "organic", False, 2, 2, 200.0),
    (S - WEEK + 90, "organic", False, BIG, BIG, 100.0 * BIG),
]
TRAFFIC = [  # minute, channel, is_returning, sessions
    # this week; the 30-minute window is [S + 30, S + 60)
    (S + 29, "organic", False, BIG),
    (S + 30, "organic", False, 8),
    (S + 59, "organic", True, 4),
    (S + 60, "organic", False, BIG),
    (S + 45, "paid_search", False, 6),
    (S + 40, "email", False, 7),  # a new channel: nothing last week
    # last week, padded by 45 minutes: [S + 30 - WEEK - 45, S + 60 - WEEK + 45) = [S - WEEK - 15, S - WEEK + 105)
    (S - WEEK - 16, "organic", False, BIG),
    (S - WEEK - 15, "organic", False, 20),
    (S - WEEK + 50, "organic", False, 20),
    (S - WEEK + 104, "organic", True, 20),
    (S - WEEK + 105, "organic", False, BIG),
    (S - WEEK + 40, "paid_search", False, 48),
    (S - WEEK, "live_stream", False, 8),  # sessions last week only
]
CAMPAIGNS = [  # campaign_id, channel, roi_floor, status
    ("c1", "paid_search", 0.5, "active"),
    ("c2", "paid_search", 1.0, "paused"),
    ("c3", "live_stream", 0.2, "active"),
    ("c4", "email", 0.0, "active"),  # never spends
]
CHANNEL_OF = {cid: channel for cid, channel, _, _ in CAMPAIGNS}
CAMPAIGN_MINUTES = [  # minute, campaign_id, spend, revenue
    # the 60-minute window [S, S + 60)
    (S, "c1", 10.0, 30.0),
    (S + 50, "c1", 30.0, 50.0),
    (S + 20, "c2", 20.0, 10.0),
    (S + 59, "c3", 50.0, 200.0),
    (S - 1, "c1", BIG, 0.0),
    (S + 60, "c3", BIG, 0.0),
    # last week for the 30-minute window [S + 30, S + 60), padded by 45 minutes:
    # [S + 30 - WEEK - 45, S + 60 - WEEK + 45) = [S - WEEK - 15, S - WEEK + 105)
    (S - WEEK - 16, "c1", BIG, 0.0),
    (S - WEEK - 15, "c1", 30.0, 0.0),
    (S - WEEK + 104, "c1", 30.0, 0.0),
    (S - WEEK + 105, "c1", BIG, 0.0),
    (S - WEEK + 60, "c2", 120.0, 0.0),
]
LEVELS = [  # sku, warehouse_id, on_hand, safety_stock
    ("A", "W1", 50, 10),
    ("A", "W2", 15, 0),  # no safety stock: cover ratio inf
    ("B", "W1", -3, 5),  # negative on hand counts as 0
    ("C", "W1", 20, 10),  # sells nothing: days of cover inf
]
SKU_MINUTES = [  # minute, sku, warehouse_id, units_sold, units_returned
    # velocity: [A - 7 days + 1, A]; return base: [A + 1 - 7 days, A + 1), the same minutes
    (A, "A", "W1", 7, 0),
    (A - WEEK + 1, "A", "W1", 7, 0),
    (A - WEEK, "A", "W1", BIG, 0),
    (A + 1, "A", "W1", BIG, 0),
    (A - 100, "A", "W2", 35, 0),
    (A - 200, "B", "W1", 14, 0),
    # returns; the 360-minute window is [A - 359, A + 1)
    (A - 359, "A", "W1", 0, 2),
    (A - 360, "A", "W2", 0, 50),  # just before the window
    (A - 10, "B", "W1", 0, 1),
    (A - 5, "C", "W1", 0, 1),  # C sold nothing: no rate
]


@pytest.fixture(scope="module")
def shop(module_db_url):
    """The tiny shop, built once per backend: the tests using it only read."""
    engine = get_engine(module_db_url)
    with engine.begin() as conn:
        add_visits(conn, VISITS, "visit")
        add_visits(conn, PAYERS, "pay")
        add_sales(conn, SALES)
        add_traffic(conn, TRAFFIC)
        add_campaigns(conn, CAMPAIGNS)
        add_campaign_minutes(conn, CAMPAIGN_MINUTES, CHANNEL_OF)
        add_stock(conn, LEVELS)
        add_sku_minutes(conn, SKU_MINUTES)
    with engine.connect() as conn:
        yield conn


@pytest.fixture
def empty(engine):
    with engine.connect() as conn:
        yield conn


# (entity_kind, metric, window_minutes) -> {entity_id: (value, volume)}, all as of A
EXPECTED = {
    # shop, [S, S + 60): 8 visitors, 2 paying, 5 orders of which 4 paid, GMV 400
    ("shop", "uv", 60): {"shop": (8, 8)},
    ("shop", "orders", 60): {"shop": (5, 8)},
    ("shop", "gmv", 60): {"shop": (400.0, 8)},
    ("shop", "conversion_rate", 60): {"shop": (5 / 8, 8)},
    ("shop", "paying_conversion_rate", 60): {"shop": (2 / 8, 8)},
    ("shop", "aov", 60): {"shop": (100.0, 4)},  # volume: paid orders
    # shop, [S + 30, S + 60): visitors 3, 4, 5, 8; 2 orders, both paid, GMV 150; nobody paying
    ("shop", "uv", 30): {"shop": (4, 4)},
    ("shop", "conversion_rate", 30): {"shop": (2 / 4, 4)},
    ("shop", "paying_conversion_rate", 30): {"shop": (0.0, 4)},
    ("shop", "aov", 30): {"shop": (75.0, 2)},
    # last week: 2 + 4 + 2 = 8 orders (GMV 600) over 120 minutes, expected in 60: 4 (300)
    ("shop", "orders_vs_last_week", 60): {"shop": (5 / 4, 4.0)},
    ("shop", "gmv_vs_last_week", 60): {"shop": (400 / 300, 300.0)},
    # [S + 30, S + 60) against 120 minutes last week, times 30 / 120:
    # organic 12 vs 60 / 4 = 15; paid_search 6 vs 48 / 4 = 12; live_stream 0 vs 8 / 4 = 2; email 7 vs none
    ("channel", "sessions_vs_last_week", 30): {
        "organic": (12 / 15, 15.0), "paid_search": (6 / 12, 12.0), "live_stream": (0.0, 2.0), "email": (NAN, 0.0),
    },
    # [S, S + 60): paid_search spends 40 + 20 = 60 for 80 + 10 = 90; live_stream 50 for 200; email nothing
    ("channel", "roi", 60): {"paid_search": (0.5, 60.0), "live_stream": (3.0, 50.0), "email": (NAN, 0.0)},
    ("campaign", "roi", 60): {"c1": (1.0, 40.0), "c2": (-0.5, 20.0), "c3": (3.0, 50.0), "c4": (NAN, 0.0)},
    ("campaign", "roi_vs_floor", 60): {"c1": (0.5, 40.0), "c2": (-1.5, 20.0), "c3": (2.8, 50.0), "c4": (NAN, 0.0)},
    ("campaign", "spend", 60): {"c1": (40.0, 40.0), "c2": (20.0, 20.0), "c3": (50.0, 50.0), "c4": (0.0, 0.0)},
    # [S + 30, S + 60) against 120 minutes last week, times 30 / 120: c1 30 vs 60 / 4 = 15;
    # c2 0 vs 120 / 4 = 30; c3 50 vs none; c4 spends in neither and is left out
    ("campaign", "spend_vs_last_week", 30): {"c1": (2.0, 15.0), "c2": (0.0, 30.0), "c3": (NAN, 0.0)},
    # as of A; velocity = units sold in [A - 7 days + 1, A] / 7: A|W1 14 / 7, A|W2 35 / 7, B|W1 14 / 7, C|W1 0
    ("sku_warehouse", "stock_cover_ratio", 1): {
        "A|W1": (50 / 10, 2.0), "A|W2": (INF, 5.0), "B|W1": (0.0, 2.0), "C|W1": (20 / 10, 0.0),
    },
    ("sku_warehouse", "days_of_cover", 1): {
        "A|W1": (50 / 2, 2.0), "A|W2": (15 / 5, 5.0), "B|W1": (0.0, 2.0), "C|W1": (INF, 0.0),
    },
    # returns in [A - 359, A + 1) / (units sold in the last 7 days * 360 / 10,080):
    # A: 2 / (49 * 360 / 10080 = 1.75); B: 1 / (14 * 360 / 10080 = 0.5); C sold nothing
    ("sku", "return_rate", 360): {"A": (2 / 1.75, 49.0), "B": (1 / 0.5, 14.0), "C": (NAN, 0.0)},
}


def test_every_metric_the_reader_serves_has_a_hand_computed_case():
    # The anomaly scores have their own hand-made shop (tests/cockpit/test_anomaly_metrics.py).
    assert {(kind, metric) for kind, metric, _ in EXPECTED} == {
        (kind, metric) for kind, metrics in METRICS.items() for metric in metrics
        if metric not in ANOMALY_METRICS.get(kind, ())
    }


@pytest.mark.parametrize("entity_kind, metric, window", list(EXPECTED), ids=lambda x: str(x))
def test_metric_values_match_the_hand_computed_values_and_volumes(shop, entity_kind, metric, window):
    assert_readings(metric_values(shop, metric, entity_kind, window, A, TZ), EXPECTED[(entity_kind, metric, window)])


EMPTY_SHOP = {  # what an empty database gives the shop; every other kind has no entities
    "uv": (0.0, 0.0), "orders": (0.0, 0.0), "gmv": (0.0, 0.0), "conversion_rate": (NAN, 0.0),
    "paying_conversion_rate": (NAN, 0.0), "aov": (NAN, 0.0), "orders_vs_last_week": (NAN, 0.0),
    "gmv_vs_last_week": (NAN, 0.0), "conversion_anomaly": (NAN, 0.0),
}


@pytest.mark.parametrize("entity_kind", list(METRICS))
def test_an_empty_database_gives_the_shop_zeros_or_nan_with_no_volume_and_no_other_entities(empty, entity_kind):
    for metric in METRICS[entity_kind]:
        expected = {"shop": EMPTY_SHOP[metric]} if entity_kind == "shop" else {}
        assert_readings(metric_values(empty, metric, entity_kind, 60, A, TZ), expected)


@pytest.mark.parametrize("entity_kind, metric", [("shop", "roi"), ("channel", "uv"), ("warehouse", "on_hand"),
                                                 ("sku", "days_of_cover")])
def test_a_metric_the_entity_kind_does_not_serve_is_refused_with_the_known_ones(empty, entity_kind, metric):
    with pytest.raises(ValueError, match="unknown metric"):
        metric_values(empty, metric, entity_kind, 60, A, TZ)


# --- the last-week baseline -------------------------------------------------------------------

def _put_sessions(conn, minute, amount):
    add_traffic(conn, [(minute, "organic", False, amount)])
    return "organic"


def _put_orders(conn, minute, amount):
    add_sales(conn, [(minute, "organic", False, amount, 0, 0.0)])
    return "shop"


def _put_gmv(conn, minute, amount):
    add_sales(conn, [(minute, "organic", False, 0, 0, float(amount))])
    return "shop"


def _put_spend(conn, minute, amount):
    add_campaign_minutes(conn, [(minute, "c1", float(amount), 0.0)], {})
    return "c1"


BASELINED = {  # metric -> (entity_kind, how to put an amount of it at a minute)
    "sessions_vs_last_week": ("channel", _put_sessions),
    "orders_vs_last_week": ("shop", _put_orders),
    "gmv_vs_last_week": ("shop", _put_gmv),
    "spend_vs_last_week": ("campaign", _put_spend),
}
# window, the padding either side, the expected amount in the window, the ratio. Now: 2 at the
# window's first minute + 4 at its last = 6; last week: 3 at the span's first minute + 5 at its
# last = 8, times window / span.
BASELINES = [
    (30, 45, 8 * 30 / 120, 6 / 2),  # shorter than 120: padded to 30 + 2 * 45 = 120 minutes
    (60, 30, 8 * 60 / 120, 6 / 4),
    (16, 52, 8 * 16 / 120, 6 / (8 * 16 / 120)),  # an even window: (120 - 16) / 2 = 52 each side
    (120, 0, 8.0, 6 / 8),  # exactly the span: no padding
    (180, 0, 8.0, 6 / 8),  # longer than 120: last week's same 180 minutes, unscaled
]


@pytest.mark.parametrize("metric", list(BASELINED))
@pytest.mark.parametrize("window, pad, expected, ratio", BASELINES)
def test_last_week_is_read_over_at_least_two_hours_centred_on_the_window_and_scaled_to_it(
    engine, metric, window, pad, expected, ratio
):
    entity_kind, put = BASELINED[metric]
    as_of = S + 500
    start, end = as_of - window + 1, as_of + 1
    lo, hi = start - WEEK - pad, end - WEEK + pad
    with engine.begin() as conn:
        for minute, amount in [(start, 2), (end - 1, 4), (start - 1, BIG), (end, BIG),
                               (lo, 3), (hi - 1, 5), (lo - 1, BIG), (hi, BIG)]:
            entity = put(conn, minute, amount)
    with engine.connect() as conn:
        frame = metric_values(conn, metric, entity_kind, window, as_of, TZ)
    assert_readings(frame, {entity: (ratio, expected)})


def test_an_odd_window_shorter_than_two_hours_still_gets_a_baseline_of_at_least_two_hours(engine):
    # A span of 120 or more minutes roughly centred on [start, end) with end - start = 15 reaches
    # at least 53 minutes beyond one side of last week's window: it covers start - WEEK - 53 or
    # end - WEEK + 52. Last week has data only there.
    metric = "spend_vs_last_week"
    entity_kind, put = BASELINED[metric]
    window, as_of = 15, S + 500
    start, end = as_of - window + 1, as_of + 1
    with engine.begin() as conn:
        put(conn, start, 5)
        put(conn, start - WEEK - 53, 4)
        entity = put(conn, end - WEEK + 52, 4)
    with engine.connect() as conn:
        frame = metric_values(conn, metric, entity_kind, window, as_of, TZ)
    assert as_dict(frame)[entity][1] > 0  # some of last week's data is in the baseline


def test_the_baseline_span_constant_is_two_hours():
    # The BASELINES table above is hand-computed for 120 minutes.
    assert BASELINE_SPAN_MINUTES == 120


@pytest.mark.parametrize("metric", list(BASELINED))
def test_an_entity_with_nothing_last_week_has_no_value_and_no_volume(engine, metric):
    entity_kind, put = BASELINED[metric]
    with engine.begin() as conn:
        entity = put(conn, A, 9)
    with engine.connect() as conn:
        frame = metric_values(conn, metric, entity_kind, 30, A, TZ)
    assert_readings(frame, {entity: (NAN, 0.0)})


@pytest.mark.parametrize("metric", list(BASELINED))
def test_an_entity_silent_now_but_busy_last_week_reads_zero_against_its_expected_volume(engine, metric):
    entity_kind, put = BASELINED[metric]
    with engine.begin() as conn:
        entity = put(conn, A - WEEK, 12)  # 12 over the padded 120 minutes: 3 expected in 30
    with engine.connect() as conn:
        frame = metric_values(conn, metric, entity_kind, 30, A, TZ)
    assert_readings(frame, {entity: (0.0, 3.0)})


# --- the return rate's base -------------------------------------------------------------------

@pytest.mark.parametrize("window, base_days, rate", [
    # base 7 days: 21 units in [A + 1 - 7 days, A + 1) -> 21 * 360 / 10,080 = 0.75 expected in 360 minutes
    (360, RETURN_BASE_DAYS, 3 / 0.75),
    # a 1-day window still uses 7 days: 21 * 1440 / 10,080 = 3 expected
    (1440, RETURN_BASE_DAYS, 3 / 3),
    # a 14-day window is its own base: 21 + 7 sold in it, returns over sales
    (14 * 1440, 14, 3 / 28),
])
def test_return_rate_compares_returns_with_the_pace_over_the_longer_of_the_window_and_seven_days(
    engine, window, base_days, rate
):
    as_of = S
    end = as_of + 1
    with engine.begin() as conn:
        add_sku_minutes(conn, [
            (as_of, "A", "W1", 20, 3),  # the returns, in every window
            (end - 7 * 1440, "A", "W1", 1, 0),  # the oldest minute of a 7-day base
            (end - 7 * 1440 - 1, "A", "W1", 7, 0),  # only inside the 14-day window
            (end - 14 * 1440 - 1, "A", "W1", BIG, BIG),  # outside every base
            (end, "A", "W1", BIG, BIG),  # after as-of
        ])
    with engine.connect() as conn:
        frame = metric_values(conn, "return_rate", "sku", window, as_of, TZ)
    sold = 21.0 if base_days == RETURN_BASE_DAYS else 28.0
    assert_readings(frame, {"A": (rate, sold)})


def test_return_rate_adds_up_a_skus_warehouses_and_counts_returns_only_inside_the_window(engine):
    with engine.begin() as conn:
        add_sku_minutes(conn, [
            (A, "A", "W1", 10, 1), (A - 1000, "A", "W2", 18, 4),  # returns at A - 1000: outside 360 minutes
            (A - 359, "A", "W2", 0, 2),
        ])
    with engine.connect() as conn:
        frame = metric_values(conn, "return_rate", "sku", 360, A, TZ)
    expected_units = 28 * 360 / WEEK  # 1.0
    assert_readings(frame, {"A": (3 / expected_units, 28.0)})
    assert math.isclose(expected_units, 1.0)


def test_days_of_cover_is_as_of_the_minute_whatever_the_window(shop):
    one = metric_values(shop, "days_of_cover", "sku_warehouse", 1, A, TZ).sort_values("entity_id")
    day = metric_values(shop, "days_of_cover", "sku_warehouse", 1440, A, TZ).sort_values("entity_id")
    assert np.array_equal(one.to_numpy(), day.to_numpy())
