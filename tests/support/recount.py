"""Brute-force recounts of the raw events, to check the aggregates and stock against."""
from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, func, select

from cockpit.db.frames import to_frame
from cockpit.db.schema import (
    AdSpend, AggCampaignMinute, AggSalesMinute, AggSkuDay, AggSkuHour, AggSkuMinute, AggTrafficMinute, CartAdd, Order, OrderLine,
    PageView, Session, StockLevel, StockMovement,
)
from cockpit.ingest.simulator_source import read_watermark
from cockpit.metrics.aggregate import MINUTES_PER_DAY, MINUTES_PER_HOUR, SECONDS_PER_MINUTE
from data import simulator

TABLES_COUNTED = ("sessions", "page_views", "cart_adds", "orders", "order_lines", "shipments", "returns",
                  "reviews", "ad_spend", "marketing_touches", "customers", "stock_movements", "replenishment_orders")


def row_counts(conn: Connection) -> dict[str, int]:
    from cockpit.db.schema import TABLES

    return {name: conn.execute(select(func.count()).select_from(TABLES[name])).scalar() for name in TABLES_COUNTED}


def _per_minute(conn, query, columns):
    frame = to_frame(conn.execute(query).all(), columns)
    frame["minute_utc"] = frame["minute_utc"].astype("int64")  # PostgreSQL may answer in numeric
    return frame.set_index("minute_utc").sort_index()


def assert_aggregates_match_raw(conn: Connection, raw_since_minute: int | None = None) -> None:
    """Every minute's aggregates equal a recount of that minute's raw events. raw_since_minute:
    page views and cart adds are compared from this minute on only (retention deleted the
    older ones; their minutes' aggregates stay)."""
    raw = pd.concat([
        _per_minute(conn, select(Session.ts_utc // SECONDS_PER_MINUTE, func.count()).group_by(Session.ts_utc // SECONDS_PER_MINUTE), ["minute_utc", "sessions"]),
        _per_minute(conn, select(PageView.ts_utc // SECONDS_PER_MINUTE, func.count()).group_by(PageView.ts_utc // SECONDS_PER_MINUTE), ["minute_utc", "page_views"]),
        _per_minute(conn, select(CartAdd.ts_utc // SECONDS_PER_MINUTE, func.count()).group_by(CartAdd.ts_utc // SECONDS_PER_MINUTE), ["minute_utc", "cart_adds"]),
    ], axis=1).fillna(0).astype("int64").sort_index()
    agg = _per_minute(
        conn,
        select(AggTrafficMinute.minute_utc, func.sum(AggTrafficMinute.sessions), func.sum(AggTrafficMinute.page_views),
               func.sum(AggTrafficMinute.cart_adds)).group_by(AggTrafficMinute.minute_utc),
        ["minute_utc", "sessions", "page_views", "cart_adds"],
    ).astype("int64")
    if raw_since_minute is not None:
        for frame in (raw, agg):
            frame.loc[frame.index < raw_since_minute, ["page_views", "cart_adds"]] = 0
        raw = raw.loc[raw.sum(axis=1) > 0]
    pd.testing.assert_frame_equal(raw, agg.loc[agg.sum(axis=1) > 0], check_names=False)

    paid = Order.paid_ts_utc.is_not(None)
    orders = to_frame(conn.execute(select(Order.ts_utc // SECONDS_PER_MINUTE, Order.amount, Order.paid_ts_utc)).all(), ["minute_utc", "amount", "paid"])
    sales = _per_minute(
        conn, select(AggSalesMinute.minute_utc, func.sum(AggSalesMinute.orders), func.sum(AggSalesMinute.gmv)).group_by(AggSalesMinute.minute_utc),
        ["minute_utc", "orders", "gmv"],
    )
    expected_orders = orders.groupby("minute_utc").size()
    expected_gmv = orders[orders["paid"].notna()].groupby("minute_utc")["amount"].sum()
    pd.testing.assert_series_equal(sales["orders"].astype("int64"), expected_orders.astype("int64"), check_names=False)
    pd.testing.assert_series_equal(sales["gmv"][sales["gmv"] > 0], expected_gmv.reindex(sales.index).fillna(0)[sales["gmv"] > 0],
                                   check_names=False, rtol=1e-9)

    units = conn.execute(select(func.sum(OrderLine.qty)).join(Order, Order.order_id == OrderLine.order_id).where(paid)).scalar() or 0
    assert (conn.execute(select(func.sum(AggSkuMinute.units_sold))).scalar() or 0) == units
    # The hourly and daily rollups equal the minute table summed per bucket (they are kept by deltas).
    for model, column, width in ((AggSkuHour, "hour_utc", MINUTES_PER_HOUR), (AggSkuDay, "day_utc", MINUTES_PER_DAY)):
        _assert_rollup_matches_minutes(conn, model, column, width)
    spend = conn.execute(select(func.sum(AdSpend.spend))).scalar() or 0.0
    assert abs((conn.execute(select(func.sum(AggCampaignMinute.spend))).scalar() or 0.0) - spend) < 1e-6 * max(spend, 1)


def _assert_rollup_matches_minutes(conn: Connection, model, column: str, width) -> None:
    columns = [column, "sku", "warehouse_id", "units_sold", "units_returned", "revenue"]
    bucket = AggSkuMinute.minute_utc // width
    by_minute = to_frame(conn.execute(
        select(bucket, AggSkuMinute.sku, AggSkuMinute.warehouse_id, func.sum(AggSkuMinute.units_sold),
               func.sum(AggSkuMinute.units_returned), func.sum(AggSkuMinute.revenue))
        .group_by(bucket, AggSkuMinute.sku, AggSkuMinute.warehouse_id)).all(), columns)
    by_bucket = to_frame(conn.execute(
        select(getattr(model, column), model.sku, model.warehouse_id, model.units_sold, model.units_returned,
               model.revenue)).all(), columns)
    by_minute, by_bucket = (
        frame.set_index(columns[:3]).sort_index().pipe(
            lambda f: f[(f["units_sold"] != 0) | (f["units_returned"] != 0) | (f["revenue"].abs() > 1e-9)])
        for frame in (by_minute, by_bucket)
    )
    pd.testing.assert_frame_equal(by_bucket.astype("float64"), by_minute.astype("float64"), check_exact=False, rtol=1e-9)


def assert_stock_matches_movements(conn: Connection) -> None:
    """On-hand stock equals the catalog's initial stock plus every recorded movement, once."""
    _mark, params = read_watermark(conn)
    initial = simulator.build_catalog(params.seed, params.history_start_minute).stock_levels.set_index(["sku", "warehouse_id"])["on_hand"]
    moved = to_frame(
        conn.execute(select(StockMovement.sku, StockMovement.warehouse_id, func.sum(StockMovement.qty_delta))
                     .group_by(StockMovement.sku, StockMovement.warehouse_id)).all(),
        ["sku", "warehouse_id", "delta"],
    ).set_index(["sku", "warehouse_id"])["delta"]
    now = to_frame(conn.execute(select(StockLevel.sku, StockLevel.warehouse_id, StockLevel.on_hand)).all(),
                   ["sku", "warehouse_id", "on_hand"]).set_index(["sku", "warehouse_id"])["on_hand"]
    expected = initial.add(moved, fill_value=0).reindex(now.index)
    pd.testing.assert_series_equal(now.sort_index().astype("int64"), expected.sort_index().astype("int64"), check_names=False)
    sales = conn.execute(select(func.count()).select_from(StockMovement).where(StockMovement.reason == "sale")).scalar()
    paid_lines = conn.execute(select(func.count()).select_from(OrderLine).join(Order, Order.order_id == OrderLine.order_id)
                              .where(Order.paid_ts_utc.is_not(None))).scalar()
    assert sales == paid_lines
