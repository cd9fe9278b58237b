"""The weekly report's reads: one shop-local week's customers, stock, deliveries and spend.

Windows are half-open: [start_minute, end_minute) in epoch minutes (UTC), the week's local
midnights. Every function returns raw enough rows for models.report to compute the figures,
so the same arithmetic serves this week and the week before.
"""
from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, case, func, select

from cockpit.db.frames import to_frame
from cockpit.db.schema import (
    AggSkuHour,
    Campaign,
    Order,
    OrderLine,
    Product,
    Session,
    Shipment,
    StockLevel,
    StockMovement,
    Warehouse,
)
from cockpit.metrics.traffic import typed

CUSTOMER_ACTIVITY_COLUMNS = {"customer_id": "int64", "visited": "bool", "orders": "int64", "revenue": "float64"}
STOCK_DAY_COLUMNS = {"sku": "str", "warehouse_id": "str", "category": "str", "day_index": "int64",
                     "on_hand_end_of_day": "int64"}
SKU_SALES_COLUMNS = {"sku": "str", "warehouse_id": "str", "category": "str", "units_sold": "int64", "revenue": "float64"}
DELIVERY_COLUMNS = {"order_id": "int64", "region": "str", "tier": "str", "paid_ts_utc": "int64",
                    "shipped_ts_utc": "int64", "promised_ts_utc": "int64", "delivered_ts_utc": "int64"}


def customer_activity(conn: Connection, start_minute: int, end_minute: int) -> pd.DataFrame:
    """Per known customer active in the window: whether they visited (a signed-in session),
    their paid orders placed in the window and those orders' amount (CUSTOMER_ACTIVITY_COLUMNS)."""
    start_ts, end_ts = int(start_minute) * 60, int(end_minute) * 60
    visited = conn.execute(
        select(Session.customer_id).distinct()
        .where(Session.ts_utc >= start_ts, Session.ts_utc < end_ts, Session.customer_id.is_not(None))
    ).scalars().all()
    bought = conn.execute(
        select(Order.customer_id, func.count(), func.sum(Order.amount))
        .where(Order.ts_utc >= start_ts, Order.ts_utc < end_ts, Order.paid_ts_utc.is_not(None))
        .group_by(Order.customer_id)
    ).all()
    visits = pd.DataFrame({"customer_id": pd.Series(visited, dtype="int64"), "visited": True})
    orders = to_frame(bought, ["customer_id", "orders", "revenue"])
    frame = visits.merge(typed(orders, {"customer_id": "int64", "orders": "int64", "revenue": "float64"}),
                         on="customer_id", how="outer")
    frame["visited"] = frame["visited"].astype("boolean").fillna(False)
    frame[["orders", "revenue"]] = frame[["orders", "revenue"]].fillna(0)
    return typed(frame.sort_values("customer_id", kind="stable").reset_index(drop=True), CUSTOMER_ACTIVITY_COLUMNS)


def sku_sales(conn: Connection, start_minute: int, end_minute: int) -> pd.DataFrame:
    """Units sold and revenue per SKU and warehouse in the window (paid order lines, from the
    hourly rollup; the window's ends are whole hours), with the SKU's category."""
    rows = conn.execute(
        select(AggSkuHour.sku, AggSkuHour.warehouse_id, Product.category, func.sum(AggSkuHour.units_sold),
               func.sum(AggSkuHour.revenue))
        .outerjoin(Product, Product.sku == AggSkuHour.sku)
        .where(AggSkuHour.hour_utc >= int(start_minute) // 60, AggSkuHour.hour_utc < int(end_minute) // 60)
        .group_by(AggSkuHour.sku, AggSkuHour.warehouse_id, Product.category)
    ).all()
    return typed(to_frame(rows, list(SKU_SALES_COLUMNS)), SKU_SALES_COLUMNS)


def stock_by_day(conn: Connection, day_end_minutes: list[int]) -> pd.DataFrame:
    """On-hand of every SKU and warehouse at the end of each day whose end (epoch minute) is
    given: the stock now less every movement after that end (the ledger is complete).

    One row per pair and day: day_index is the position in day_end_minutes."""
    ends = [int(m) * 60 for m in day_end_minutes]
    # Movements after the first end, bucketed: bucket i (1..n-1) holds [end_{i-1}, end_i), bucket n
    # everything after the last end.
    bucket = case(*[(StockMovement.ts_utc < end, index) for index, end in enumerate(ends)][1:], else_=len(ends))
    moved = conn.execute(
        select(StockMovement.sku, StockMovement.warehouse_id, bucket.label("bucket"), func.sum(StockMovement.qty_delta))
        .where(StockMovement.ts_utc >= ends[0])
        .group_by(StockMovement.sku, StockMovement.warehouse_id, bucket)
    ).all()
    levels = conn.execute(
        select(StockLevel.sku, StockLevel.warehouse_id, Product.category, StockLevel.on_hand)
        .outerjoin(Product, Product.sku == StockLevel.sku)
    ).all()
    now = typed(to_frame(levels, ["sku", "warehouse_id", "category", "on_hand"]),
                {"sku": "str", "warehouse_id": "str", "category": "str", "on_hand": "int64"})
    deltas = typed(to_frame(moved, ["sku", "warehouse_id", "bucket", "qty"]),
                   {"sku": "str", "warehouse_id": "str", "bucket": "int64", "qty": "int64"})
    table = deltas.pivot_table(index=["sku", "warehouse_id"], columns="bucket", values="qty", aggfunc="sum",
                               fill_value=0)
    table = table.reindex(columns=range(len(ends) + 1), fill_value=0)
    table = table.reindex(pd.MultiIndex.from_frame(now[["sku", "warehouse_id"]]), fill_value=0)
    # On-hand at end_i = now - movements in buckets i+1 .. n (those after end_i).
    after = table.iloc[:, ::-1].cumsum(axis=1).iloc[:, ::-1].shift(-1, axis=1, fill_value=0)
    on_hand = now["on_hand"].to_numpy()[:, None] - after.iloc[:, :len(ends)].to_numpy()
    frame = pd.DataFrame({
        "sku": now["sku"].repeat(len(ends)).to_numpy(),
        "warehouse_id": now["warehouse_id"].repeat(len(ends)).to_numpy(),
        "category": now["category"].repeat(len(ends)).to_numpy(),
        "day_index": list(range(len(ends))) * len(now),
        "on_hand_end_of_day": on_hand.ravel(),
    })
    return typed(frame, STOCK_DAY_COLUMNS)


def deliveries(conn: Connection, start_minute: int, end_minute: int, *, sku: str | None = None) -> pd.DataFrame:
    """Shipments delivered in the window, with their order's payment time and the shipping
    warehouse's tier (regional | forward) (DELIVERY_COLUMNS); only orders holding `sku` if given."""
    query = (
        select(Shipment.order_id, Shipment.region, Warehouse.tier, Order.paid_ts_utc, Shipment.shipped_ts_utc,
               Shipment.promised_ts_utc, Shipment.delivered_ts_utc)
        .join(Order, Order.order_id == Shipment.order_id)
        .outerjoin(Warehouse, Warehouse.warehouse_id == Shipment.warehouse_id)
        .where(Shipment.delivered_ts_utc >= int(start_minute) * 60, Shipment.delivered_ts_utc < int(end_minute) * 60,
               Order.paid_ts_utc.is_not(None))
        .order_by(Shipment.delivered_ts_utc, Shipment.order_id)
    )
    if sku is not None:
        holding = select(OrderLine.order_id).where(OrderLine.sku == sku).distinct().subquery()
        query = query.join(holding, holding.c.order_id == Shipment.order_id)
    return typed(to_frame(conn.execute(query).all(), list(DELIVERY_COLUMNS)), DELIVERY_COLUMNS)


def channel_roi_floors(conn: Connection) -> pd.DataFrame:
    """Per channel with campaigns, its campaigns' ROI floor weighted by their daily budgets:
    channel, roi_floor (what the channel's spend must return to pass the weekly report)."""
    rows = conn.execute(
        select(Campaign.channel, func.sum(Campaign.roi_floor * Campaign.daily_budget), func.sum(Campaign.daily_budget),
               func.avg(Campaign.roi_floor))
        .group_by(Campaign.channel)
    ).all()
    frame = typed(to_frame(rows, ["channel", "weighted", "budget", "mean"]),
                  {"channel": "str", "weighted": "float64", "budget": "float64", "mean": "float64"})
    floor = (frame["weighted"] / frame["budget"].where(frame["budget"] > 0)).fillna(frame["mean"])
    return pd.DataFrame({"channel": frame["channel"], "roi_floor": floor.astype("float64")})
