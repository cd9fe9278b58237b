"""Stock queries behind the pages: water levels with sales context, replenishments, history.

Minutes are epoch minutes (UTC), `*_ts_utc` epoch seconds; series windows are half-open
[start, end). Figures "as of minute m" over N days cover [m - N*1440 + 1, m + 1), as in read.py.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import Connection, and_, case, func, select

from cockpit.db.schema import AggSkuMinute, Product, ReplenishmentOrder, StockLevel, StockMovement
from cockpit.metrics.read import stock_water_levels
from cockpit.metrics.traffic import bucket_sums, ratio, typed
from cockpit.db.frames import to_frame

DAY = 1440
VELOCITY_DAYS = 3
SELL_THROUGH_DAYS = 30

WATER_LEVEL_COLUMNS = {
    "sku": "str", "warehouse_id": "str", "on_hand": "int64", "safety_stock": "int64", "reorder_point": "int64",
    "lead_time_days": "float64", "daily_velocity": "float64", "days_of_cover": "float64", "cover_ratio": "float64",
}
OVERVIEW_COLUMNS = {
    **WATER_LEVEL_COLUMNS, "name": "str", "category": "str", "on_order": "int64", "velocity_3d": "float64",
    "units_sold_30d": "int64", "sell_through_30d": "float64", "turnover_days": "float64", "last_sale_minute": "Int64",
    "days_since_last_sale": "float64", "is_slow_mover": "bool", "is_stocked_out": "bool", "level_position": "str",
}
PENDING_COLUMNS = {
    "replenishment_id": "str", "sku": "str", "name": "str", "warehouse_id": "str", "qty": "int64",
    "created_ts_utc": "int64", "expected_ts_utc": "int64", "source": "str", "created_by": "str", "is_overdue": "bool",
}
HISTORY_COLUMNS = {"ts_utc": "int64", "on_hand": "int64", "qty_delta": "int64", "reason": "str"}


def stock_overview(conn: Connection, as_of_minute: int, *, slow_days: int = 14) -> pd.DataFrame:
    """Per SKU and warehouse of stock_levels as of as_of_minute, sorted by sku and warehouse.

    Columns: those of read.stock_water_levels (sku, warehouse_id, on_hand, safety_stock,
    reorder_point, lead_time_days, daily_velocity, days_of_cover, cover_ratio), then name,
    category (products), on_order (units on open replenishment orders), velocity_3d (units/day
    over the last 3 days), units_sold_30d, sell_through_30d = sold / (sold + on-hand),
    turnover_days = on-hand / (units_sold_30d / 30) (inf when nothing sold), last_sale_minute
    (newest minute with a sale in the last max(30, slow_days) days up to as_of_minute, <NA> if
    none: the scan stays bounded however long the history), days_since_last_sale (inf if
    none), is_slow_mover (no sale in the last slow_days days while on_hand > 0),
    is_stocked_out (on_hand <= 0) and level_position: "out" (on_hand <= 0), "below_safety"
    (< safety_stock), "below_reorder" (< reorder_point) or "ok". Negative on-hand counts as 0
    in the ratios."""
    as_of_minute = int(as_of_minute)  # numpy integers bind as blobs in SQLite and compare wrongly
    levels = typed(stock_water_levels(conn, as_of_minute), WATER_LEVEL_COLUMNS)
    minute, units = AggSkuMinute.minute_utc, AggSkuMinute.units_sold

    def units_over(days: int):
        return func.sum(case((minute >= as_of_minute - days * DAY + 1, units), else_=0))

    sales = (
        select(
            AggSkuMinute.sku, AggSkuMinute.warehouse_id, units_over(VELOCITY_DAYS).label("units_3d"),
            units_over(SELL_THROUGH_DAYS).label("units_30d"), func.max(case((units > 0, minute))).label("last_sale"),
        )
        .where(minute <= as_of_minute, minute > as_of_minute - max(SELL_THROUGH_DAYS, slow_days) * DAY)
        .group_by(AggSkuMinute.sku, AggSkuMinute.warehouse_id)
        .subquery()
    )
    on_order = (
        select(ReplenishmentOrder.sku, ReplenishmentOrder.warehouse_id, func.sum(ReplenishmentOrder.qty).label("qty"))
        .where(ReplenishmentOrder.status == "open")
        .group_by(ReplenishmentOrder.sku, ReplenishmentOrder.warehouse_id)
        .subquery()
    )
    pair = lambda sub: and_(sub.c.sku == StockLevel.sku, sub.c.warehouse_id == StockLevel.warehouse_id)  # noqa: E731
    rows = conn.execute(
        select(
            StockLevel.sku, StockLevel.warehouse_id, Product.name, Product.category,
            func.coalesce(on_order.c.qty, 0), func.coalesce(sales.c.units_3d, 0),
            func.coalesce(sales.c.units_30d, 0), sales.c.last_sale,
        )
        .outerjoin(Product, Product.sku == StockLevel.sku)
        .outerjoin(on_order, pair(on_order))
        .outerjoin(sales, pair(sales))
    ).all()
    extra = to_frame(
        rows, ["sku", "warehouse_id", "name", "category", "on_order", "units_3d", "units_sold_30d", "last_sale_minute"]
    )
    extra = typed(extra, {
        "sku": "str", "warehouse_id": "str", "name": "str", "category": "str", "on_order": "int64",
        "units_3d": "int64", "units_sold_30d": "int64", "last_sale_minute": "Int64",
    })
    frame = levels.merge(extra, on=["sku", "warehouse_id"], how="left")
    stocked = frame["on_hand"].clip(lower=0).astype("float64")
    sold = frame["units_sold_30d"].astype("float64")
    frame["velocity_3d"] = frame.pop("units_3d") / VELOCITY_DAYS
    frame["sell_through_30d"] = ratio(sold, sold + stocked)
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["turnover_days"] = np.where(sold > 0, stocked / (sold / SELL_THROUGH_DAYS), np.inf)
    since = (as_of_minute - frame["last_sale_minute"].astype("float64")) / DAY
    frame["days_since_last_sale"] = since.fillna(np.inf)
    frame["is_slow_mover"] = (frame["days_since_last_sale"] >= slow_days) & (frame["on_hand"] > 0)
    frame["is_stocked_out"] = frame["on_hand"] <= 0
    frame["level_position"] = np.select(
        [frame["is_stocked_out"], frame["on_hand"] < frame["safety_stock"], frame["on_hand"] < frame["reorder_point"]],
        ["out", "below_safety", "below_reorder"],
        "ok",
    )
    frame = frame.sort_values(["sku", "warehouse_id"], kind="stable").reset_index(drop=True)
    return typed(frame, OVERVIEW_COLUMNS)


def stock_out_rate(frame: pd.DataFrame) -> float:
    """Fraction of SKU-warehouse pairs of a stock_overview frame that are out of stock (NaN if none)."""
    if frame.empty:
        return float("nan")
    return float(frame["is_stocked_out"].astype(bool).mean())


def pending_replenishments(conn: Connection, as_of_minute: int) -> pd.DataFrame:
    """Open replenishment orders, the latest expected last.

    Columns: replenishment_id, sku, name (products), warehouse_id, qty (units), created_ts_utc,
    expected_ts_utc (epoch seconds), source, created_by, is_overdue (expected before
    as_of_minute)."""
    rows = conn.execute(
        select(
            ReplenishmentOrder.replenishment_id, ReplenishmentOrder.sku, Product.name, ReplenishmentOrder.warehouse_id,
            ReplenishmentOrder.qty, ReplenishmentOrder.created_ts_utc, ReplenishmentOrder.expected_ts_utc,
            ReplenishmentOrder.source, ReplenishmentOrder.created_by,
        )
        .outerjoin(Product, Product.sku == ReplenishmentOrder.sku)
        .where(ReplenishmentOrder.status == "open")
        .order_by(ReplenishmentOrder.expected_ts_utc, ReplenishmentOrder.replenishment_id)
    ).all()
    frame = to_frame(rows, [name for name in PENDING_COLUMNS if name != "is_overdue"])
    frame = typed(frame, {name: PENDING_COLUMNS[name] for name in frame.columns})
    frame["is_overdue"] = frame["expected_ts_utc"] < as_of_minute * 60
    return typed(frame, PENDING_COLUMNS)


def stock_history(conn: Connection, sku: str, warehouse_id: str, start_ts: int, end_ts: int) -> pd.DataFrame:
    """On-hand stock of one SKU in one warehouse over [start_ts, end_ts) (epoch seconds).

    Reconstructed backwards from the current stock_levels.on_hand (0 if the pair has no row)
    through stock_movements. Columns: ts_utc (epoch seconds), on_hand (units after that
    movement), qty_delta (units), reason. The first row is the level at start_ts (reason
    "start", qty_delta 0), then one row per movement in the window in time order, and the last
    row the level at end_ts (reason "now", qty_delta 0)."""
    if end_ts < start_ts:
        raise ValueError(f"stock_history: end_ts ({end_ts}) is before start_ts ({start_ts})")
    start_ts, end_ts = int(start_ts), int(end_ts)
    of_pair = (StockMovement.sku == sku, StockMovement.warehouse_id == warehouse_id)
    current = conn.execute(
        select(StockLevel.on_hand).where(StockLevel.sku == sku, StockLevel.warehouse_id == warehouse_id)
    ).scalar()
    since_start = conn.execute(
        select(func.coalesce(func.sum(StockMovement.qty_delta), 0)).where(*of_pair, StockMovement.ts_utc >= start_ts)
    ).scalar()
    at_start = int(current or 0) - int(since_start)
    moves = conn.execute(
        select(StockMovement.ts_utc, StockMovement.qty_delta, StockMovement.reason)
        .where(*of_pair, StockMovement.ts_utc >= start_ts, StockMovement.ts_utc < end_ts)
        .order_by(StockMovement.ts_utc, StockMovement.movement_id)
    ).all()
    frame = pd.concat(
        [
            pd.DataFrame([(start_ts, 0, "start")], columns=["ts_utc", "qty_delta", "reason"]),
            pd.DataFrame(moves, columns=["ts_utc", "qty_delta", "reason"]),
            pd.DataFrame([(end_ts, 0, "now")], columns=["ts_utc", "qty_delta", "reason"]),
        ],
        ignore_index=True,
    )
    frame = typed(frame, {"ts_utc": "int64", "qty_delta": "int64", "reason": "str"})
    frame["on_hand"] = at_start + frame["qty_delta"].cumsum()
    return typed(frame, HISTORY_COLUMNS)


def sku_sales_series(conn: Connection, sku: str, start: int, end: int, bucket_minutes: int = 60) -> pd.DataFrame:
    """One SKU over [start, end) in buckets of bucket_minutes, summed over warehouses, zeros
    included. Columns: minute_utc (bucket start), units_sold, revenue (currency), units_returned."""
    return bucket_sums(
        conn, AggSkuMinute, ["units_sold", "revenue", "units_returned"], start, end, bucket_minutes, AggSkuMinute.sku == sku
    )
