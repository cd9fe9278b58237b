"""The pages' traffic, stock and ads queries: hand-computed answers on a small hand-made shop,
and consistency with the aggregates and read.py on a simulated one."""
from __future__ import annotations

import math
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, insert, select

from cockpit.db.engine import get_engine
from cockpit.metrics.aggregate import rebuild_sku_days
from cockpit.db.schema import (
    AggCampaignMinute,
    AggSalesMinute,
    AggSkuMinute,
    AggTrafficMinute,
    Campaign,
    CartAdd,
    Channel,
    Product,
    ReplenishmentOrder,
    StockLevel,
    StockMovement,
    UvDay,
    UvHour,
    UvMinute,
    Warehouse,
)
from cockpit.ingest.seed import seed_history
from cockpit.metrics import ads, stock, traffic
from cockpit.metrics.read import campaign_performance, kpis, unique_visitors
from cockpit.timebuckets import day_start_minute, local_day_of

TZ = ZoneInfo("Asia/Shanghai")
S = 29_000_040  # an epoch minute on a whole hour
W = (S, S + 120)  # the traffic window of most tests
M = S + 50 * 1440  # the stock "as of" minute
D = S  # the ads "day start"
NAN = float("nan")


def nan_equal(actual, expected) -> bool:
    return np.allclose(np.asarray(actual, dtype="float64"), np.asarray(expected, dtype="float64"), equal_nan=True)


def assert_columns(frame: pd.DataFrame, dtypes: dict[str, str]) -> None:
    assert list(frame.columns) == list(dtypes)
    assert {name: str(frame[name].dtype) for name in frame.columns} == dtypes


FUNNEL = {
    "group": "str", "sessions": "int64", "cart_sessions": "int64", "orders": "int64", "paid_orders": "int64",
    "gmv": "float64", "view_to_cart": "float64", "cart_to_order": "float64", "order_to_pay": "float64",
    "session_conversion": "float64",
}
HOURS = {
    "hour_utc": "int64", "sessions": "int64", "uv": "int64", "orders": "int64", "paid_orders": "int64",
    "gmv": "float64", "conversion_rate": "float64",
}
MIX = {"channel": "str", "name": "str", "kind": "str", "sessions": "int64", "share": "float64", "is_paid": "bool"}
ENGAGEMENT = {
    "channel": "str", "name": "str", "kind": "str", "sessions": "int64", "avg_session_seconds": "float64",
    "page_views_per_session": "float64", "orders": "int64", "paid_orders": "int64", "gmv": "float64",
    "content_conversion": "float64",
}
CHANNEL_SERIES = {
    "minute_utc": "int64", "sessions": "int64", "cart_adds": "int64", "orders": "int64", "paid_orders": "int64",
    "gmv": "float64",
}
OVERVIEW = {
    "sku": "str", "warehouse_id": "str", "on_hand": "int64", "safety_stock": "int64", "reorder_point": "int64",
    "lead_time_days": "float64", "daily_velocity": "float64", "days_of_cover": "float64", "cover_ratio": "float64",
    "name": "str", "category": "str", "on_order": "int64", "velocity_3d": "float64", "units_sold_30d": "int64",
    "sell_through_30d": "float64", "turnover_days": "float64", "last_sale_minute": "Int64",
    "days_since_last_sale": "float64", "is_slow_mover": "bool", "is_stocked_out": "bool", "level_position": "str",
}
PENDING = {
    "replenishment_id": "str", "sku": "str", "name": "str", "warehouse_id": "str", "qty": "int64",
    "created_ts_utc": "int64", "expected_ts_utc": "int64", "source": "str", "created_by": "str", "is_overdue": "bool",
}
HISTORY = {"ts_utc": "int64", "on_hand": "int64", "qty_delta": "int64", "reason": "str"}
SKU_SERIES = {"minute_utc": "int64", "units_sold": "int64", "revenue": "float64", "units_returned": "int64"}
CHANNEL_PERFORMANCE = {
    "channel": "str", "name": "str", "kind": "str", "campaigns": "int64", "active_campaigns": "int64",
    "daily_budget": "float64", "spend": "float64", "clicks": "int64", "orders": "int64", "revenue": "float64",
    "roi": "float64", "roas": "float64",
}
PACING = {
    "campaign_id": "str", "minute_utc": "int64", "spend_cum": "float64", "revenue_cum": "float64",
    "budget_line": "float64", "daily_budget": "float64",
}
SUMMARY = {
    "campaign_id": "str", "name": "str", "channel": "str", "status": "str", "daily_budget": "float64",
    "spend_today": "float64", "expected_by_now": "float64", "pace": "float64", "roi_today": "float64",
    "roi_floor": "float64", "below_floor": "bool",
}
CAMPAIGN_SERIES = {
    "minute_utc": "int64", "spend": "float64", "revenue": "float64", "orders": "int64", "clicks": "int64",
    "roi": "float64", "roi_cum": "float64",
}

# --- the hand-made shop -----------------------------------------------------------------------

CHANNELS = [
    ("paid_search", "Paid search", "paid"),
    ("live_stream", "Live stream", "content"),
    ("organic", "Organic", "organic"),
    ("email", "Email", "owned"),
]
TRAFFIC = [  # minute, channel, is_returning, sessions, page_views, cart_adds, uv, session_seconds
    (S - 1, "organic", False, 100, 100, 100, 100, 100),
    (S + 5, "paid_search", False, 10, 30, 4, 9, 1200),
    (S + 5, "paid_search", True, 5, 20, 2, 5, 900),
    (S + 30, "organic", False, 20, 50, 3, 18, 2000),
    (S + 65, "live_stream", True, 8, 40, 5, 8, 2400),
    (S + 65, "paid_search", False, 6, 12, 1, 6, 600),
    (S + 130, "organic", True, 4, 8, 0, 4, 400),
]
SALES = [  # minute, channel, is_returning, orders, paid_orders, cancelled_orders, gmv, units
    (S + 6, "paid_search", False, 3, 2, 0, 200.0, 4),
    (S + 31, "organic", False, 2, 2, 0, 150.0, 3),
    (S + 66, "live_stream", True, 2, 1, 1, 80.0, 1),
    (S + 119, "paid_search", True, 1, 1, 0, 50.0, 1),
    (S + 120, "organic", False, 5, 5, 0, 500.0, 5),
]
CARTS = [  # session_id, ts_utc, channel, is_returning
    (101, (S + 5) * 60 + 10, "paid_search", False),
    (101, (S + 6) * 60, "paid_search", False),  # a second add in the same session
    (102, (S + 7) * 60, "paid_search", False),
    (103, (S + 5) * 60 + 5, "paid_search", True),
    (201, (S + 30) * 60, "organic", False),
    (301, (S + 65) * 60, "live_stream", True),
    (302, (S + 66) * 60, "live_stream", True),
    (999, (S + 120) * 60, "organic", False),  # at the window's end: outside
    (998, S * 60 - 1, "organic", False),  # just before it
]
VISITS = {  # visitor_id: minutes seen (all on organic)
    1: [S + 35, S + 70], 2: [S + 10], 3: [S + 50, S + 55], 4: [S + 125], 5: [S + 140, S + 155],
    6: [S + 150], 7: [S + 20, S + 100], 8: [S + 90], 9: [S + 45], 10: [S + 38, S + 58],
}
PRODUCTS = [("A", "Alpha", "shoes"), ("B", "Beta", "bags"), ("C", "Gamma", "bags")]
LEVELS = [  # sku, warehouse_id, on_hand, safety_stock, reorder_point
    ("A", "W1", 50, 10, 20),
    ("A", "W2", 15, 10, 20),
    ("B", "W1", 5, 10, 20),
    ("C", "W1", 0, 5, 10),
    ("C", "W2", 30, 5, 10),
]
SKU_ROWS = [  # minute, sku, warehouse_id, units_sold, revenue, units_returned
    (M, "A", "W1", 3, 30.0, 0),
    (M - 1440, "A", "W1", 2, 20.0, 0),
    (M - 3 * 1440 + 1, "A", "W1", 4, 40.0, 0),
    (M - 3 * 1440, "A", "W1", 5, 50.0, 0),
    (M - 30 * 1440 + 1, "A", "W1", 6, 60.0, 0),
    (M - 30 * 1440, "A", "W1", 7, 70.0, 0),
    (M + 1, "A", "W1", 100, 1000.0, 0),  # after as-of
    (M - 20 * 1440, "A", "W2", 1, 10.0, 0),
    (M - 2 * 1440, "A", "W2", 0, 0.0, 1),  # a return, not a sale
    (M - 14 * 1440 + 1, "B", "W1", 2, 20.0, 0),  # just inside the last 14 days
    (M - 40 * 1440, "C", "W1", 1, 10.0, 0),
]
REPLENISHMENTS = [  # id, sku, warehouse_id, qty, created minute, expected minute, status
    ("R1", "A", "W2", 40, M - 100, M - 10, "open"),
    ("R2", "A", "W2", 10, M - 50, M + 600, "open"),
    ("R3", "B", "W1", 25, M - 70, M, "open"),
    ("R4", "B", "W1", 99, M - 90, M - 20, "received"),
    ("R5", "C", "W1", 7, M - 80, M - 30, "cancelled"),
]
T = S * 60  # seconds
MOVEMENTS = [  # sku, warehouse_id, ts_utc, qty_delta, reason
    ("A", "W1", T - 50, -4, "sale"),
    ("A", "W1", T + 100, -3, "sale"),
    ("B", "W1", T + 150, -1, "sale"),
    ("A", "W1", T + 200, 20, "replenishment"),
    ("A", "W1", T + 300, -5, "sale"),
    ("A", "W1", T + 300, 1, "return"),
    ("A", "W2", T + 350, 2, "adjustment"),
    ("A", "W1", T + 500, -2, "adjustment"),
]
CAMPAIGNS = [  # campaign_id, channel, daily_budget, roi_floor, status
    ("c1", "paid_search", 100.0, 0.5, "active"),
    ("c2", "paid_search", 50.0, 1.0, "paused"),
    ("c3", "live_stream", 200.0, 0.2, "active"),
    ("c4", "live_stream", 80.0, 0.0, "active"),
    ("c5", "email", 10.0, 0.0, "active"),
]
CAMPAIGN_ROWS = [  # minute, campaign_id, spend, clicks, orders, revenue
    (D + 5, "c1", 10.0, 5, 1, 30.0),
    (D + 15, "c1", 20.0, 8, 2, 40.0),
    (D + 25, "c1", 5.0, 1, 0, 0.0),
    (D + 12, "c2", 4.0, 2, 0, 0.0),
    (D + 3, "c3", 30.0, 10, 3, 150.0),
    (D + 40, "c3", 10.0, 1, 0, 0.0),
]


def uv_rows(bucket_of) -> list[dict]:
    spans: dict[tuple, list[int]] = {}
    for visitor, minutes in VISITS.items():
        for minute in minutes:
            key = (bucket_of(minute), visitor)
            first, last = spans.get(key, (minute, minute))
            spans[key] = (min(first, minute), max(last, minute))
    return [
        {"bucket": bucket, "activity": "visit", "channel": "organic", "visitor_id": visitor, "first_minute": first, "last_minute": last}
        for (bucket, visitor), (first, last) in spans.items()
    ]


@pytest.fixture
def shop(engine):
    channel_of = {campaign[0]: campaign[1] for campaign in CAMPAIGNS}
    with engine.begin() as conn:
        conn.execute(insert(Channel), [dict(zip(["channel", "name", "kind"], row)) for row in CHANNELS])
        conn.execute(insert(AggTrafficMinute), [
            dict(zip(["minute_utc", "channel", "is_returning", "sessions", "page_views", "cart_adds", "uv", "session_seconds"], row))
            for row in TRAFFIC
        ])
        conn.execute(insert(AggSalesMinute), [
            dict(zip(["minute_utc", "channel", "is_returning", "orders", "paid_orders", "cancelled_orders", "gmv", "units"], row))
            for row in SALES
        ])
        conn.execute(insert(CartAdd), [
            {"event_id": i, "session_id": session, "visitor_id": session, "ts_utc": ts, "channel": channel,
             "is_returning": returning, "sku": "A", "qty": 1}
            for i, (session, ts, channel, returning) in enumerate(CARTS, start=1)
        ])
        for model, column, bucket_of in [
            (UvMinute, "minute_utc", lambda m: m), (UvHour, "hour_utc", lambda m: m // 60),
            (UvDay, "day_local", lambda m: local_day_of(m, TZ)),
        ]:
            conn.execute(insert(model), [{column: row.pop("bucket"), **row} for row in uv_rows(bucket_of)])
        conn.execute(insert(Product), [
            {"sku": sku, "name": name, "category": category, "price": 10.0, "cost": 5.0, "launched_ts_utc": 0}
            for sku, name, category in PRODUCTS
        ])
        conn.execute(insert(Warehouse), [
            {"warehouse_id": w, "name": w, "region": "east", "tier": "regional"} for w in ("W1", "W2")
        ])
        conn.execute(insert(StockLevel), [
            {"sku": sku, "warehouse_id": w, "on_hand": on_hand, "safety_stock": safety, "reorder_point": reorder,
             "lead_time_days": 5.0, "updated_ts_utc": 0}
            for sku, w, on_hand, safety, reorder in LEVELS
        ])
        conn.execute(insert(AggSkuMinute), [
            dict(zip(["minute_utc", "sku", "warehouse_id", "units_sold", "revenue", "units_returned"], row)) for row in SKU_ROWS
        ])
        rebuild_sku_days(conn)  # as rebuild_range keeps the daily rollup
        conn.execute(insert(ReplenishmentOrder), [
            {"replenishment_id": rid, "sku": sku, "warehouse_id": w, "qty": qty, "created_ts_utc": created * 60,
             "expected_ts_utc": expected * 60, "status": status, "source": "purchasing", "created_by": "buyer"}
            for rid, sku, w, qty, created, expected, status in REPLENISHMENTS
        ])
        conn.execute(insert(StockMovement), [
            {"sku": sku, "warehouse_id": w, "ts_utc": ts, "qty_delta": delta, "reason": reason, "ref_id": f"m{i}"}
            for i, (sku, w, ts, delta, reason) in enumerate(MOVEMENTS)
        ])
        conn.execute(insert(Campaign), [
            {"campaign_id": cid, "channel": channel, "name": f"Campaign {cid}", "daily_budget": budget,
             "roi_floor": floor, "status": status, "start_ts_utc": 0}
            for cid, channel, budget, floor, status in CAMPAIGNS
        ])
        conn.execute(insert(AggCampaignMinute), [
            {"minute_utc": minute, "campaign_id": cid, "channel": channel_of[cid], "spend": spend,
             "impressions": 10 * clicks, "clicks": clicks, "orders": orders, "revenue": revenue}
            for minute, cid, spend, clicks, orders, revenue in CAMPAIGN_ROWS
        ])
    with engine.connect() as conn:
        yield conn


@pytest.fixture
def empty(engine):
    with engine.connect() as conn:
        yield conn


# --- traffic ----------------------------------------------------------------------------------

FUNNELS = {  # group: sessions, cart_sessions, orders, paid_orders, gmv
    "channel": [("paid_search", 21, 3, 4, 3, 250.0), ("organic", 20, 1, 2, 2, 150.0), ("live_stream", 8, 2, 2, 1, 80.0)],
    "segment": [("new", 36, 3, 5, 4, 350.0), ("returning", 13, 3, 3, 2, 130.0)],
    "total": [("all", 49, 6, 8, 6, 480.0)],
}


@pytest.mark.parametrize("by", list(FUNNELS))
def test_the_funnel_counts_sessions_cart_sessions_and_orders_per_group_sorted_by_sessions(shop, by):
    frame = traffic.funnel(shop, *W, by)
    assert_columns(frame, FUNNEL)
    expected = pd.DataFrame(FUNNELS[by], columns=["group", "sessions", "cart_sessions", "orders", "paid_orders", "gmv"])
    assert frame[expected.columns].values.tolist() == expected.values.tolist()
    assert nan_equal(frame["view_to_cart"], expected["cart_sessions"] / expected["sessions"])
    assert nan_equal(frame["cart_to_order"], expected["orders"] / expected["cart_sessions"])
    assert nan_equal(frame["order_to_pay"], expected["paid_orders"] / expected["orders"])
    assert nan_equal(frame["session_conversion"], expected["paid_orders"] / expected["sessions"])


def test_funnel_cart_sessions_in_total_count_each_session_once(shop):
    assert traffic.funnel(shop, S + 5, S + 7, "total")["cart_sessions"].tolist() == [2]  # 101 twice, 103 once


@pytest.mark.parametrize("by, groups", [("channel", []), ("segment", ["new", "returning"]), ("total", ["all"])])
def test_an_empty_window_gives_an_empty_channel_funnel_and_zero_rows_with_nan_rates_otherwise(shop, by, groups):
    frame = traffic.funnel(shop, S + 200, S + 260, by)
    assert_columns(frame, FUNNEL)
    assert frame["group"].tolist() == groups
    assert (frame[["sessions", "cart_sessions", "orders", "paid_orders", "gmv"]] == 0).all().all()
    assert frame[["view_to_cart", "cart_to_order", "order_to_pay", "session_conversion"]].isna().all().all()


@pytest.mark.parametrize("by", ["campaign", "", "Channel"])
def test_the_funnel_refuses_an_unknown_grouping(empty, by):
    with pytest.raises(ValueError, match="channel, segment, total"):
        traffic.funnel(empty, *W, by)


def test_conversion_by_hour_cuts_the_first_and_last_hour_at_the_window_and_counts_exact_visitors(shop):
    frame = traffic.conversion_by_hour(shop, S + 30, S + 150, TZ)
    assert_columns(frame, HOURS)
    hour = S // 60
    assert frame["hour_utc"].tolist() == [hour, hour + 1, hour + 2]
    assert frame["sessions"].tolist() == [20, 14, 4]
    assert frame["uv"].tolist() == [4, 3, 2]  # visitors 1,3,9,10 | 1,7,8 | 4,5
    assert frame["orders"].tolist() == [2, 3, 5]
    assert frame["paid_orders"].tolist() == [2, 2, 5]
    assert frame["gmv"].tolist() == [150.0, 130.0, 500.0]
    assert nan_equal(frame["conversion_rate"], [2 / 4, 3 / 3, 5 / 2])
    assert frame["orders"].sum() == kpis(shop, S + 30, S + 150, TZ).orders


def test_conversion_by_hour_is_exact_for_a_window_cut_at_both_ends_of_one_hour(shop):
    frame = traffic.conversion_by_hour(shop, S + 40, S + 52, TZ)
    # Visitor 10 was seen at S+38 and S+58, both outside: an hourly first/last test would count them.
    assert frame[["hour_utc", "uv", "sessions", "orders"]].values.tolist() == [[S // 60, 2, 0, 0]]
    assert frame["conversion_rate"].tolist() == [0.0]


def test_conversion_by_hour_zero_fills_quiet_hours_and_returns_no_rows_for_an_empty_window(shop):
    frame = traffic.conversion_by_hour(shop, S + 180, S + 300, TZ)
    assert frame["hour_utc"].tolist() == [S // 60 + 3, S // 60 + 4]
    assert (frame[["sessions", "uv", "orders", "paid_orders", "gmv"]] == 0).all().all()
    assert frame["conversion_rate"].isna().all()
    empty = traffic.conversion_by_hour(shop, S, S, TZ)
    assert_columns(empty, HOURS)
    assert empty.empty


def test_channel_mix_lists_every_channel_with_its_share_of_sessions(shop):
    frame = traffic.channel_mix(shop, *W)
    assert_columns(frame, MIX)
    assert frame["channel"].tolist() == ["paid_search", "organic", "live_stream", "email"]
    assert frame["sessions"].tolist() == [21, 20, 8, 0]
    assert nan_equal(frame["share"], [21 / 49, 20 / 49, 8 / 49, 0.0])
    assert frame["is_paid"].tolist() == [True, False, False, False]
    assert frame["kind"].tolist() == ["paid", "organic", "content", "owned"]
    assert traffic.paid_share(frame) == pytest.approx(21 / 49)


def test_channel_mix_of_a_quiet_window_has_no_shares_and_no_paid_share(shop):
    frame = traffic.channel_mix(shop, S + 200, S + 260)
    assert_columns(frame, MIX)
    assert len(frame) == 4 and (frame["sessions"] == 0).all() and frame["share"].isna().all()
    assert traffic.paid_share(frame) is None


def test_engagement_gives_time_depth_and_conversion_per_channel(shop):
    frame = traffic.engagement(shop, *W).set_index("channel")
    assert_columns(frame.reset_index(), ENGAGEMENT)
    assert frame.index.tolist() == ["paid_search", "organic", "live_stream", "email"]
    assert frame["sessions"].tolist() == [21, 20, 8, 0]
    assert nan_equal(frame["avg_session_seconds"], [2700 / 21, 100.0, 300.0, NAN])
    assert nan_equal(frame["page_views_per_session"], [62 / 21, 2.5, 5.0, NAN])
    assert frame["orders"].tolist() == [4, 2, 2, 0]
    assert frame["paid_orders"].tolist() == [3, 2, 1, 0]
    assert frame["gmv"].tolist() == [250.0, 150.0, 80.0, 0.0]
    assert nan_equal(frame["content_conversion"], [3 / 21, 0.1, 1 / 8, NAN])
    assert frame.loc[frame["kind"] == "content"].index.tolist() == ["live_stream"]


def test_channel_series_buckets_one_channel_from_the_window_start_with_zeros(shop):
    frame = traffic.channel_series(shop, "paid_search", S, S + 70, bucket_minutes=30)
    assert_columns(frame, CHANNEL_SERIES)
    assert frame.values.tolist() == [
        [S, 15, 6, 3, 2, 200.0], [S + 30, 0, 0, 0, 0, 0.0], [S + 60, 6, 1, 0, 0, 0.0],
    ]
    assert traffic.channel_series(shop, "email", S, S + 20)[["sessions", "orders"]].sum().tolist() == [0, 0]
    assert_columns(traffic.channel_series(shop, "organic", S, S), CHANNEL_SERIES)
    with pytest.raises(ValueError, match="bucket_minutes"):
        traffic.channel_series(shop, "organic", S, S + 10, bucket_minutes=0)


@pytest.mark.parametrize("query", ["funnel", "mix", "engagement", "series"])
def test_the_traffic_queries_keep_their_columns_on_an_empty_database(empty, query):
    frame, dtypes = {
        "funnel": lambda: (traffic.funnel(empty, *W, "channel"), FUNNEL),
        "mix": lambda: (traffic.channel_mix(empty, *W), MIX),
        "engagement": lambda: (traffic.engagement(empty, *W), ENGAGEMENT),
        "series": lambda: (traffic.channel_series(empty, "organic", *W), CHANNEL_SERIES),
    }[query]()
    assert_columns(frame, dtypes)


# --- stock ------------------------------------------------------------------------------------

OVERVIEW_EXPECTED = {  # (sku, warehouse): name, on_order, velocity_3d, units_sold_30d, sell_through,
    #                   turnover_days, last_sale_minute, days_since_last_sale, slow, out, position
    ("A", "W1"): ("Alpha", 0, 3.0, 20, 20 / 70, 75.0, M, 0.0, False, False, "ok"),
    ("A", "W2"): ("Alpha", 50, 0.0, 1, 1 / 16, 450.0, M - 20 * 1440, 20.0, True, False, "below_reorder"),
    ("B", "W1"): ("Beta", 25, 0.0, 2, 2 / 7, 75.0, M - 14 * 1440 + 1, 14 - 1 / 1440, False, False, "below_safety"),
    # a sale 40 days ago lies beyond the scan of max(30, slow_days) days: none as far as it knows
    ("C", "W1"): ("Gamma", 0, 0.0, 0, NAN, math.inf, None, math.inf, False, True, "out"),
    ("C", "W2"): ("Gamma", 0, 0.0, 0, 0.0, math.inf, None, math.inf, True, False, "ok"),
}


def test_stock_overview_adds_sales_context_and_a_level_position_to_each_water_level(shop):
    frame = stock.stock_overview(shop, M)
    assert_columns(frame, OVERVIEW)
    assert list(zip(frame["sku"], frame["warehouse_id"])) == list(OVERVIEW_EXPECTED)
    expected = pd.DataFrame(
        OVERVIEW_EXPECTED.values(),
        columns=["name", "on_order", "velocity_3d", "units_sold_30d", "sell_through_30d", "turnover_days",
                 "last_sale_minute", "days_since_last_sale", "is_slow_mover", "is_stocked_out", "level_position"],
    )
    for column in ["name", "on_order", "units_sold_30d", "is_slow_mover", "is_stocked_out", "level_position"]:
        assert frame[column].tolist() == expected[column].tolist(), column
    for column in ["velocity_3d", "sell_through_30d", "turnover_days", "days_since_last_sale"]:
        assert nan_equal(frame[column], expected[column]), column
    assert frame["last_sale_minute"].tolist() == [M, M - 20 * 1440, M - 14 * 1440 + 1, pd.NA, pd.NA]
    longer = stock.stock_overview(shop, M, slow_days=45)  # a longer slow-mover horizon scans further back
    assert longer["last_sale_minute"].tolist()[3] == M - 40 * 1440 and longer["days_since_last_sale"].tolist()[3] == 40.0
    assert frame["category"].tolist() == ["shoes", "shoes", "bags", "bags", "bags"]
    # read.stock_water_levels' own columns come through: 7-day velocity 14 / 7 for A in W1.
    first = frame.iloc[0]
    assert (first["daily_velocity"], first["days_of_cover"], first["cover_ratio"]) == (2.0, 25.0, 5.0)
    assert stock.stock_out_rate(frame) == pytest.approx(1 / 5)


def test_a_shorter_slow_mover_horizon_flags_more_skus(shop):
    frame = stock.stock_overview(shop, M, slow_days=10)
    assert frame["is_slow_mover"].tolist() == [False, True, True, False, True]


def test_the_stock_queries_keep_their_columns_on_an_empty_database(empty):
    frame = stock.stock_overview(empty, M)
    assert_columns(frame, OVERVIEW)
    assert frame.empty and math.isnan(stock.stock_out_rate(frame))
    assert_columns(stock.pending_replenishments(empty, M), PENDING)
    history = stock.stock_history(empty, "A", "W1", T, T + 60)
    assert_columns(history, HISTORY)
    assert history.values.tolist() == [[T, 0, 0, "start"], [T + 60, 0, 0, "now"]]
    assert_columns(stock.sku_sales_series(empty, "A", M, M + 60), SKU_SERIES)


def test_pending_replenishments_lists_open_orders_latest_expected_last_and_flags_the_overdue(shop):
    frame = stock.pending_replenishments(shop, M)
    assert_columns(frame, PENDING)
    assert frame["replenishment_id"].tolist() == ["R1", "R3", "R2"]
    assert frame["name"].tolist() == ["Alpha", "Beta", "Alpha"]
    assert frame["qty"].tolist() == [40, 25, 10]
    assert frame["expected_ts_utc"].tolist() == [(M - 10) * 60, M * 60, (M + 600) * 60]
    assert frame["is_overdue"].tolist() == [True, False, False]


def forward_levels(sku: str, warehouse_id: str, current: int) -> list[tuple[int, int]]:
    """Brute force: the level before any movement, then each movement applied in order."""
    moves = sorted((ts, i, delta) for i, (s, w, ts, delta, _) in enumerate(MOVEMENTS) if (s, w) == (sku, warehouse_id))
    level = current - sum(delta for _, _, delta in moves)
    levels = []
    for ts, _, delta in moves:
        level += delta
        levels.append((ts, level))
    return levels


def level_at(levels: list[tuple[int, int]], ts: int, before_all: int) -> int:
    """The level just before second `ts` (after every movement dated earlier)."""
    earlier = [level for moved, level in levels if moved < ts]
    return earlier[-1] if earlier else before_all


@pytest.mark.parametrize("start_ts, end_ts", [(T, T + 400), (T - 100, T + 1000), (T + 300, T + 301), (T + 600, T + 700)])
def test_stock_history_walks_back_from_the_current_level_and_matches_a_forward_sum(shop, start_ts, end_ts):
    frame = stock.stock_history(shop, "A", "W1", start_ts, end_ts)
    assert_columns(frame, HISTORY)
    levels = forward_levels("A", "W1", 50)
    before_all = 50 - sum(d for s, w, _, d, _ in MOVEMENTS if (s, w) == ("A", "W1"))
    inside = [(ts, level) for ts, level in levels if start_ts <= ts < end_ts]
    assert frame["reason"].iloc[0] == "start" and frame["reason"].iloc[-1] == "now"
    assert frame["on_hand"].iloc[0] == level_at(levels, start_ts, before_all)
    assert list(zip(frame["ts_utc"], frame["on_hand"]))[1:-1] == inside
    assert frame["on_hand"].iloc[-1] == level_at(levels, end_ts, before_all)
    assert frame["ts_utc"].iloc[0] == start_ts and frame["ts_utc"].iloc[-1] == end_ts


def test_stock_history_shows_each_movement_with_its_reason_and_ends_at_the_stock_level(shop):
    frame = stock.stock_history(shop, "A", "W1", T, T + 400)
    assert frame.values.tolist() == [
        [T, 39, 0, "start"], [T + 100, 36, -3, "sale"], [T + 200, 56, 20, "replenishment"],
        [T + 300, 51, -5, "sale"], [T + 300, 52, 1, "return"], [T + 400, 52, 0, "now"],
    ]
    assert stock.stock_history(shop, "A", "W1", 0, T + 10_000)["on_hand"].iloc[-1] == 50
    quiet = stock.stock_history(shop, "C", "W2", T, T + 400)
    assert quiet.values.tolist() == [[T, 30, 0, "start"], [T + 400, 30, 0, "now"]]


def test_sku_sales_series_sums_warehouses_per_bucket_with_zeros(shop):
    frame = stock.sku_sales_series(shop, "A", M - 3 * 1440, M + 2, bucket_minutes=1440)
    assert_columns(frame, SKU_SERIES)
    assert frame.values.tolist() == [
        [M - 3 * 1440, 9, 90.0, 0], [M - 2 * 1440, 0, 0.0, 1], [M - 1440, 2, 20.0, 0], [M, 103, 1030.0, 0],
    ]
    assert_columns(stock.sku_sales_series(shop, "nope", M, M), SKU_SERIES)
    assert stock.sku_sales_series(shop, "nope", M, M + 120)["units_sold"].tolist() == [0, 0]


# --- ads --------------------------------------------------------------------------------------

def test_channel_performance_sums_campaigns_per_channel_best_roi_first_and_no_spend_last(shop):
    frame = ads.channel_performance(shop, D, D + 30)
    assert_columns(frame, CHANNEL_PERFORMANCE)
    summed = list(CHANNEL_PERFORMANCE)[:10]
    assert frame[summed].values.tolist() == [
        ["live_stream", "Live stream", "content", 2, 2, 280.0, 30.0, 10, 3, 150.0],
        ["paid_search", "Paid search", "paid", 2, 1, 100.0, 39.0, 16, 3, 70.0],
        ["email", "Email", "owned", 1, 1, 10.0, 0.0, 0, 0, 0.0],
    ]
    assert nan_equal(frame["roi"], [4.0, 31 / 39, NAN])
    assert nan_equal(frame["roas"], [5.0, 70 / 39, NAN])
    assert_columns(ads.channel_performance(shop, D + 1000, D + 1010), CHANNEL_PERFORMANCE)


def test_spend_pacing_accumulates_spend_per_campaign_against_a_straight_budget_line(shop):
    frame = ads.spend_pacing(shop, D, D + 25, bucket_minutes=10)
    assert_columns(frame, PACING)
    assert frame["campaign_id"].tolist() == ["c1"] * 3 + ["c2"] * 3 + ["c3"] * 3 + ["c4"] * 3 + ["c5"] * 3
    assert frame["minute_utc"].tolist() == [D + 10, D + 20, D + 25] * 5
    by = frame.set_index(["campaign_id", "minute_utc"])
    assert by.loc["c1", "spend_cum"].tolist() == [10.0, 30.0, 30.0]  # D+25 is outside [D, D+25)
    assert by.loc["c1", "revenue_cum"].tolist() == [30.0, 70.0, 70.0]
    assert by.loc["c2", "spend_cum"].tolist() == [0.0, 4.0, 4.0]
    assert by.loc["c3", "spend_cum"].tolist() == [30.0, 30.0, 30.0]
    assert by.loc["c4", "spend_cum"].tolist() == [0.0, 0.0, 0.0]
    assert nan_equal(by.loc["c1", "budget_line"], [100 * 10 / 1440, 100 * 20 / 1440, 100 * 25 / 1440])
    assert (by.loc["c3", "daily_budget"] == 200.0).all()
    assert_columns(ads.spend_pacing(shop, D, D), PACING)
    assert ads.spend_pacing(shop, D, D).empty


def test_pacing_summary_compares_todays_spend_with_the_budget_so_far_and_the_roi_floor(shop):
    frame = ads.pacing_summary(shop, D, D + 30)
    assert_columns(frame, SUMMARY)
    assert frame["campaign_id"].tolist() == ["c1", "c2", "c3", "c4", "c5"]
    assert frame["spend_today"].tolist() == [35.0, 4.0, 30.0, 0.0, 0.0]
    fraction = 30 / 1440
    assert nan_equal(frame["expected_by_now"], [100 * fraction, 50 * fraction, 200 * fraction, 80 * fraction, 10 * fraction])
    assert nan_equal(frame["pace"], [35 / (100 * fraction), 4 / (50 * fraction), 30 / (200 * fraction), 0.0, 0.0])
    assert nan_equal(frame["roi_today"], [1.0, -1.0, 4.0, NAN, NAN])
    assert frame["below_floor"].tolist() == [False, True, False, False, False]
    assert frame["status"].tolist() == ["active", "paused", "active", "active", "active"]
    assert frame["channel"].tolist() == ["paid_search", "paid_search", "live_stream", "live_stream", "email"]


def test_campaign_series_gives_bucket_and_cumulative_roi(shop):
    frame = ads.campaign_series(shop, "c1", D, D + 30, bucket_minutes=10)
    assert_columns(frame, CAMPAIGN_SERIES)
    assert frame[["minute_utc", "spend", "revenue", "orders", "clicks"]].values.tolist() == [
        [D, 10.0, 30.0, 1, 5], [D + 10, 20.0, 40.0, 2, 8], [D + 20, 5.0, 0.0, 0, 1],
    ]
    assert nan_equal(frame["roi"], [2.0, 1.0, -1.0])
    assert nan_equal(frame["roi_cum"], [2.0, 40 / 30, 1.0])
    quiet = ads.campaign_series(shop, "c1", D + 100, D + 120)
    assert quiet["spend"].tolist() == [0.0, 0.0] and quiet["roi"].isna().all() and quiet["roi_cum"].isna().all()


@pytest.mark.parametrize("query", ["channels", "pacing", "summary", "series"])
def test_the_ads_queries_keep_their_columns_on_an_empty_database(empty, query):
    frame, dtypes = {
        "channels": lambda: (ads.channel_performance(empty, D, D + 30), CHANNEL_PERFORMANCE),
        "pacing": lambda: (ads.spend_pacing(empty, D, D + 30), PACING),
        "summary": lambda: (ads.pacing_summary(empty, D, D + 30), SUMMARY),
        "series": lambda: (ads.campaign_series(empty, "c1", D, D + 30), CAMPAIGN_SERIES),
    }[query]()
    assert_columns(frame, dtypes)


# --- a simulated shop -------------------------------------------------------------------------

T0 = 1_795_000_000 // 60  # the seeded present (as in test_refresh)


@pytest.fixture(scope="module")
def simulated(module_db_url):
    engine = get_engine(module_db_url)
    seed_history(engine, days=2, scenario="normal", seed=11, now_minute=T0, tz=TZ, progress=False)
    with engine.connect() as conn:
        yield conn


@pytest.mark.parametrize("window", [(T0 - 1440, T0), (T0 - 1000 + 7, T0 - 13)])
def test_on_a_simulated_shop_the_traffic_queries_agree_with_the_aggregates_and_kpis(simulated, window):
    conn = simulated
    start, end = window
    sessions = conn.execute(
        select(func.sum(AggTrafficMinute.sessions)).where(AggTrafficMinute.minute_utc >= start, AggTrafficMinute.minute_utc < end)
    ).scalar()
    assert sessions > 0
    total = traffic.funnel(conn, start, end, "total")
    by_channel = traffic.funnel(conn, start, end, "channel")
    by_segment = traffic.funnel(conn, start, end, "segment")
    assert total["sessions"].item() == sessions == by_channel["sessions"].sum() == by_segment["sessions"].sum()
    assert total["orders"].item() == by_channel["orders"].sum() == by_segment["orders"].sum()
    assert total["cart_sessions"].item() <= by_channel["cart_sessions"].sum()
    assert by_channel["sessions"].is_monotonic_decreasing

    hours = traffic.conversion_by_hour(conn, start, end, TZ)
    summary = kpis(conn, start, end, TZ)
    assert hours["orders"].sum() == summary.orders and hours["sessions"].sum() == summary.sessions
    assert hours["gmv"].sum() == pytest.approx(summary.gmv)
    for hour in (hours["hour_utc"].iloc[0], hours["hour_utc"].iloc[len(hours) // 2], hours["hour_utc"].iloc[-1]):
        hour = int(hour)
        lo, hi = max(start, hour * 60), min(end, (hour + 1) * 60)
        assert hours.set_index("hour_utc").loc[hour, "uv"] == unique_visitors(conn, lo, hi, TZ)

    mix = traffic.channel_mix(conn, start, end)
    assert mix["share"].sum() == pytest.approx(1.0)
    assert 0 < traffic.paid_share(mix) < 1
    assert traffic.engagement(conn, start, end)["sessions"].sum() == sessions


def test_on_a_simulated_shop_stock_history_ends_at_the_stock_levels(simulated):
    conn = simulated
    moved = conn.execute(
        select(StockMovement.sku, StockMovement.warehouse_id, func.count())
        .group_by(StockMovement.sku, StockMovement.warehouse_id)
        .order_by(func.count().desc(), StockMovement.sku, StockMovement.warehouse_id)
        .limit(3)
    ).all()
    assert moved
    overview = stock.stock_overview(conn, T0 - 1).set_index(["sku", "warehouse_id"])
    for sku, warehouse_id, _ in moved:
        history = stock.stock_history(conn, sku, warehouse_id, (T0 - 2 * 1440) * 60, T0 * 60 + 3600)
        assert history["on_hand"].iloc[-1] == overview.loc[(sku, warehouse_id), "on_hand"]
        assert (history["on_hand"].diff().iloc[1:-1] == history["qty_delta"].iloc[1:-1]).all()
    assert len(overview) == conn.execute(select(func.count()).select_from(StockLevel)).scalar()
    assert overview["on_order"].sum() == (
        conn.execute(select(func.coalesce(func.sum(ReplenishmentOrder.qty), 0)).where(ReplenishmentOrder.status == "open")).scalar()
    )
    assert stock.stock_out_rate(overview) == pytest.approx(overview["is_stocked_out"].mean())


def test_on_a_simulated_shop_spend_pacing_ends_at_the_campaigns_spend(simulated):
    conn = simulated
    day_start = day_start_minute(local_day_of(T0 - 1, TZ), TZ)
    pacing = ads.spend_pacing(conn, day_start, T0)
    final = pacing.groupby("campaign_id")["spend_cum"].last()
    performance = campaign_performance(conn, day_start, T0).set_index("campaign_id")
    assert performance["spend"].sum() > 0
    assert np.allclose(final.reindex(performance.index).to_numpy(), performance["spend"].to_numpy())
    assert (pacing.groupby("campaign_id")["spend_cum"].diff().dropna() >= -1e-9).all()
    summary = ads.pacing_summary(conn, day_start, T0).set_index("campaign_id")
    assert np.allclose(summary["spend_today"].reindex(performance.index), performance["spend"])
    channels = ads.channel_performance(conn, day_start, T0)
    assert channels["spend"].sum() == pytest.approx(performance["spend"].sum())
    assert channels["campaigns"].sum() == len(performance)
