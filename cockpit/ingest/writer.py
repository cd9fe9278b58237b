"""Writes a batch of event frames into the database, idempotently, and says which minutes it touched.

A batch is a dict of DataFrames named like the tables (see data/simulator.py and the import
formats). Insert frames are written with ON CONFLICT DO NOTHING, so replaying a batch adds
nothing; update frames (deliveries, receipts, adjustments) set values or go through
stock movements, whose unique key stops a replay from moving stock twice.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import Connection, bindparam, or_, select, update

from cockpit.db.dialect import executemany_columns, insert_ignore, insert_returning, upsert_first_last
from cockpit.db.schema import (
    TABLES,
    Order,
    ReplenishmentOrder,
    Shipment,
    StockLevel,
    StockMovement,
    UvDay,
    UvHour,
    UvMinute,
)
from cockpit.timebuckets import local_days

# Insert order matters only for readability of the database while a batch is applied.
INSERT_FRAMES = (
    "customers",
    "sessions",
    "page_views",
    "cart_adds",
    "marketing_touches",
    "ad_spend",
    "experiment_assignments",
    "orders",
    "order_lines",
    "shipments",
    "returns",
    "reviews",
    "replenishment_orders",
    "service_contacts",
    "searches",
)
# Frames without a table of their own: they update rows or only move stock.
UPDATE_FRAMES = ("deliveries", "replenishment_receipts", "stock_adjustments", "return_restocks")
# The column that dates each frame's rows (what "already happened" is measured on).
TIME_COLUMNS = {
    "customers": "created_ts_utc",
    "sessions": "ts_utc",
    "page_views": "ts_utc",
    "cart_adds": "ts_utc",
    "marketing_touches": "ts_utc",
    "ad_spend": "minute_utc",
    "experiment_assignments": "ts_utc",
    "orders": "ts_utc",
    "order_lines": None,  # dated by its order
    "shipments": "shipped_ts_utc",
    "returns": "ts_utc",
    "reviews": "ts_utc",
    "replenishment_orders": "created_ts_utc",
    "deliveries": "delivered_ts_utc",
    "replenishment_receipts": "received_ts_utc",
    "stock_adjustments": "ts_utc",
    "return_restocks": "ts_utc",
    "service_contacts": "ts_utc",
    "searches": "ts_utc",
}
CHUNK_ROWS = 20_000


@dataclass
class WriteResult:
    events: int = 0  # rows offered in the batch (replayed rows included)
    touched_minutes: set[int] = field(default_factory=set)
    stock_changes: int = 0

    def merge(self, other: "WriteResult") -> None:
        self.events += other.events
        self.touched_minutes |= other.touched_minutes
        self.stock_changes += other.stock_changes


def records(frame: pd.DataFrame, columns: list[str] | None = None) -> list[dict]:
    """Plain-Python row dicts (psycopg does not adapt numpy scalars; NaN becomes NULL)."""
    names = list(frame.columns if columns is None else columns)
    return [dict(zip(names, row)) for row in row_tuples(frame, names)]


def row_tuples(frame: pd.DataFrame, columns: list[str]) -> list[tuple]:
    """Plain-Python row tuples of `columns`, NaN as None, built column by column (fast)."""
    return list(zip(*column_values(frame, columns)))


def column_values(frame: pd.DataFrame, columns: list[str]) -> list[list]:
    """One list of plain Python values per column (ints, floats, bools, strs; missing as None)."""
    return [_plain_values(frame[name]) for name in columns]


def _plain_values(column: pd.Series) -> list:
    if isinstance(column.dtype, pd.StringDtype):
        # Few distinct texts (channels, SKUs): convert each once, then pick them by code
        # (code -1, a missing value, picks the trailing None).
        codes, uniques = pd.factorize(column)
        return np.array([*uniques.tolist(), None], dtype=object)[codes].tolist()
    values = column.tolist()  # tolist() yields Python ints, floats, bools, strs
    missing = column.isna().to_numpy()
    if missing.any():
        for position in np.flatnonzero(missing).tolist():
            values[position] = None
    return values


def _execute_rows(conn: Connection, statement, frame: pd.DataFrame, parameters: dict[str, str]) -> None:
    """Execute an UPDATE (or INSERT) once per row of `frame`, binding frame column -> the
    statement's parameter as `parameters` says; one driver executemany per chunk."""
    _insert_columns(conn, statement, list(parameters.values()), column_values(frame, list(parameters)))


def _insert_rows(conn: Connection, statement, frame: pd.DataFrame, columns: list[str]) -> None:
    _insert_columns(conn, statement, columns, column_values(frame, columns))


def _insert_columns(conn: Connection, statement, columns: list[str], values: list[list]) -> None:
    for start in range(0, len(values[0]), CHUNK_ROWS):
        executemany_columns(conn, statement, columns, [v[start : start + CHUNK_ROWS] for v in values])


def _whole_integers(frame: pd.DataFrame, table) -> pd.DataFrame:
    """Integer columns that came back from the outbox's JSON as floats (a nullable integer
    with NULLs reads as float64) as nullable integers again: 12.0 would not fit an INTEGER
    column in PostgreSQL's COPY."""
    floats = [c.name for c in table.columns
              if c.name in frame.columns and c.type.python_type is int and frame[c.name].dtype.kind == "f"]
    return frame.astype({name: "Int64" for name in floats}) if floats else frame


def _minutes(series: pd.Series, unit_seconds: bool = True) -> np.ndarray:
    values = series.dropna().to_numpy(dtype="int64")
    return values // 60 if unit_seconds else values


def write_batch(conn: Connection, frames: dict[str, pd.DataFrame], tz: ZoneInfo) -> WriteResult:
    """Apply one batch inside the caller's transaction; returns counts and touched minutes."""
    result = WriteResult()
    for name in INSERT_FRAMES:
        frame = frames.get(name)
        if frame is None or frame.empty:
            continue
        table = TABLES[name]
        columns = [c.name for c in table.columns if c.name in frame.columns]
        result.events += len(frame)
        _insert_rows(conn, insert_ignore(conn, table), _whole_integers(frame, table), columns)
    for name in UPDATE_FRAMES:
        frame = frames.get(name)
        if frame is not None and not frame.empty:
            result.events += len(frame)

    _apply_order_lifecycle(conn, frames)
    result.stock_changes = _apply_stock_movements(conn, frames)
    _apply_replenishment_receipts(conn, frames.get("replenishment_receipts"))
    _upsert_unique_visitors(conn, frames, tz)
    result.touched_minutes = touched_minutes(frames)
    return result


def touched_minutes(frames: dict[str, pd.DataFrame]) -> set[int]:
    """Minutes whose aggregates the batch can change (late events touch old minutes)."""
    touched: set[int] = set()
    for name in ("sessions", "page_views", "cart_adds", "orders", "returns"):
        frame = frames.get(name)
        if frame is not None and not frame.empty:
            touched.update(_minutes(frame["ts_utc"]).tolist())
    spend = frames.get("ad_spend")
    if spend is not None and not spend.empty:
        touched.update(spend["minute_utc"].to_numpy(dtype="int64").tolist())
    return touched


def _apply_order_lifecycle(conn: Connection, frames: dict[str, pd.DataFrame]) -> None:
    """Move orders along paid -> shipped -> delivered -> returned from the lifecycle frames."""
    shipments = frames.get("shipments")
    if shipments is not None and not shipments.empty:
        stmt = (
            update(Order)
            .where(Order.order_id == bindparam("o_id"), Order.status == "paid")
            .values(status="shipped", shipped_ts_utc=bindparam("o_ts"))
        )
        _execute_rows(conn, stmt, shipments, {"order_id": "o_id", "shipped_ts_utc": "o_ts"})
    deliveries = frames.get("deliveries")
    if deliveries is not None and not deliveries.empty:
        _execute_rows(
            conn,
            update(Shipment).where(Shipment.shipment_id == bindparam("s_id")).values(delivered_ts_utc=bindparam("d_ts")),
            deliveries, {"shipment_id": "s_id", "delivered_ts_utc": "d_ts"},
        )
        _execute_rows(
            conn,
            update(Order)
            .where(Order.order_id == bindparam("o_id"), or_(Order.status == "paid", Order.status == "shipped"))
            .values(status="delivered", delivered_ts_utc=bindparam("d_ts")),
            deliveries, {"order_id": "o_id", "delivered_ts_utc": "d_ts"},
        )
    returns = frames.get("returns")
    if returns is not None and not returns.empty:
        first_return = returns.sort_values("ts_utc").drop_duplicates("order_id")
        stmt = (
            update(Order)
            .where(Order.order_id == bindparam("o_id"), Order.status != "cancelled", Order.returned_ts_utc.is_(None))
            .values(status="returned", returned_ts_utc=bindparam("r_ts"))
        )
        _execute_rows(conn, stmt, first_return, {"order_id": "o_id", "ts_utc": "r_ts"})


def _movements(sku, warehouse_id, ts_utc, qty_delta, reason: str, ref_id) -> pd.DataFrame:
    return pd.DataFrame({
        "sku": sku, "warehouse_id": warehouse_id, "ts_utc": ts_utc.astype("int64"),
        "qty_delta": qty_delta.astype("int64"), "reason": reason, "ref_id": ref_id.astype(str),
    })


def stock_movement_rows(conn: Connection, frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The stock movements a batch implies: sales of paid order lines, inspected resellable
    returns back on sale, replenishment receipts and adjustments; columns as in stock_movements."""
    parts = []
    orders, lines = frames.get("orders"), frames.get("order_lines")
    if orders is not None and lines is not None and not lines.empty:
        paid = orders.loc[orders["paid_ts_utc"].notna(), ["order_id", "warehouse_id", "paid_ts_utc"]]
        sold = lines.merge(paid, on="order_id")
        parts.append(_movements(sold["sku"], sold["warehouse_id"], sold["paid_ts_utc"], -sold["qty"], "sale",
                                sold["order_id"].astype(str) + ":" + sold["line_no"].astype(str)))
    # A resellable return is back on the shelf when the returns centre has inspected it: the
    # movement's time is that, and its ref_id the return's id (time to back on sale).
    restocks = frames.get("return_restocks")
    if restocks is not None and not restocks.empty:
        parts.append(_movements(restocks["sku"], restocks["warehouse_id"], restocks["ts_utc"], restocks["qty"],
                                "return", restocks["return_id"]))
    receipts = frames.get("replenishment_receipts")
    if receipts is not None and not receipts.empty:
        merged = receipts.merge(_replenishment_targets(conn, receipts["replenishment_id"].tolist()), on="replenishment_id")
        parts.append(_movements(merged["sku"], merged["warehouse_id"], merged["received_ts_utc"],
                                merged["qty_received"], "replenishment", merged["replenishment_id"]))
    adjustments = frames.get("stock_adjustments")
    if adjustments is not None and not adjustments.empty:
        parts.append(_movements(adjustments["sku"], adjustments["warehouse_id"], adjustments["ts_utc"],
                                adjustments["qty_delta"], "adjustment", adjustments["ref_id"]))
    if not parts:
        return pd.DataFrame(columns=["sku", "warehouse_id", "ts_utc", "qty_delta", "reason", "ref_id"])
    return pd.concat(parts, ignore_index=True)


def _replenishment_targets(conn: Connection, ids: list[str]) -> pd.DataFrame:
    """sku and warehouse_id of replenishment orders (this batch's are inserted already)."""
    rows = conn.execute(
        select(ReplenishmentOrder.replenishment_id, ReplenishmentOrder.sku, ReplenishmentOrder.warehouse_id).where(
            ReplenishmentOrder.replenishment_id.in_(ids)
        )
    ).all()
    return pd.DataFrame(rows, columns=["replenishment_id", "sku", "warehouse_id"])


def _apply_stock_movements(conn: Connection, frames: dict[str, pd.DataFrame]) -> int:
    """Insert the batch's movements; only those new to the database change on-hand stock."""
    movements = stock_movement_rows(conn, frames)
    if movements.empty:
        return 0
    stmt = insert_ignore(conn, StockMovement.__table__).returning(
        StockMovement.sku, StockMovement.warehouse_id, StockMovement.qty_delta, StockMovement.ts_utc
    )
    columns = list(movements.columns)
    values = column_values(movements, columns)
    new_rows = []
    for start in range(0, len(movements), CHUNK_ROWS):
        new_rows.extend(insert_returning(conn, stmt, columns, [v[start : start + CHUNK_ROWS] for v in values]))
    if not new_rows:
        return 0
    # A receipt may stock a SKU in a warehouse that never held it: give it a row first.
    pairs = movements[["sku", "warehouse_id"]].drop_duplicates()
    _insert_rows(
        conn, insert_ignore(conn, StockLevel.__table__),
        pairs.assign(on_hand=0, safety_stock=0, reorder_point=0, lead_time_days=7.0, updated_ts_utc=0),
        ["sku", "warehouse_id", "on_hand", "safety_stock", "reorder_point", "lead_time_days", "updated_ts_utc"],
    )
    applied = (
        pd.DataFrame(new_rows, columns=["sku", "warehouse_id", "qty_delta", "ts_utc"])
        .groupby(["sku", "warehouse_id"], as_index=False)
        .agg(delta=("qty_delta", "sum"), ts=("ts_utc", "max"))
    )
    stmt = (
        update(StockLevel)
        .where(StockLevel.sku == bindparam("s"), StockLevel.warehouse_id == bindparam("w"))
        .values(on_hand=StockLevel.on_hand + bindparam("delta"), updated_ts_utc=bindparam("ts"))
    )
    _execute_rows(conn, stmt, applied, {"sku": "s", "warehouse_id": "w", "delta": "delta", "ts": "ts"})
    return len(new_rows)


def _apply_replenishment_receipts(conn: Connection, receipts: pd.DataFrame | None) -> None:
    if receipts is None or receipts.empty:
        return
    stmt = (
        update(ReplenishmentOrder)
        .where(ReplenishmentOrder.replenishment_id == bindparam("r_id"), ReplenishmentOrder.status == "open")
        .values(status="received", received_ts_utc=bindparam("r_ts"), qty_received=bindparam("r_qty"))
    )
    _execute_rows(conn, stmt, receipts, {"replenishment_id": "r_id", "received_ts_utc": "r_ts", "qty_received": "r_qty"})


def unique_visitor_rows(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """(minute, activity, channel, visitor_id) rows: visits from page views, payments from
    paid orders (a known customer's visitor_id is their customer_id)."""
    parts = []
    views = frames.get("page_views")
    if views is not None and not views.empty:
        parts.append(
            pd.DataFrame(
                {"minute": views["ts_utc"].to_numpy(dtype="int64") // 60, "activity": "visit",
                 "channel": views["channel"], "visitor_id": views["visitor_id"].astype("int64")}
            )
        )
    orders = frames.get("orders")
    if orders is not None and not orders.empty:
        paid = orders[orders["paid_ts_utc"].notna()]
        parts.append(
            pd.DataFrame(
                {"minute": paid["ts_utc"].to_numpy(dtype="int64") // 60, "activity": "pay",
                 "channel": paid["channel"], "visitor_id": paid["customer_id"].astype("int64")}
            )
        )
    if not parts:
        return pd.DataFrame(columns=["minute", "activity", "channel", "visitor_id"])
    return pd.concat(parts, ignore_index=True)


UV_BUCKETS = ((UvMinute, "minute_utc"), (UvHour, "hour_utc"), (UvDay, "day_local"))
UV_ACTIVITIES = ("pay", "visit")  # activity codes, in the texts' sort order


def unique_visitor_spans(frames: dict[str, pd.DataFrame], tz: ZoneInfo) -> dict[str, dict[str, list]]:
    """The UV bucket rows of a batch by table name, each as column name -> plain Python values:
    one row per (bucket, activity, channel, visitor_id), sorted so, with the first and last
    minute the visitor was seen in the bucket. The rows pandas would get by grouping
    unique_visitor_rows per bucket (rows without a channel dropped), from numpy sorts."""
    minutes, activities, channels, visitors = [], [], [], []
    views = frames.get("page_views")
    if views is not None and not views.empty:
        minutes.append(views["ts_utc"].to_numpy(dtype="int64") // 60)
        activities.append(np.full(len(views), UV_ACTIVITIES.index("visit")))
        channels.append(views["channel"].to_numpy(dtype=object))
        visitors.append(views["visitor_id"].to_numpy(dtype="int64"))
    orders = frames.get("orders")
    if orders is not None and not orders.empty:
        paid = orders[orders["paid_ts_utc"].notna()]
        minutes.append(paid["ts_utc"].to_numpy(dtype="int64") // 60)
        activities.append(np.full(len(paid), UV_ACTIVITIES.index("pay")))
        channels.append(paid["channel"].to_numpy(dtype=object))
        visitors.append(paid["customer_id"].to_numpy(dtype="int64"))
    if not minutes:
        return {}
    channel, channel_names = pd.factorize(np.concatenate(channels), sort=True)
    keep = channel >= 0  # no channel, no bucket row (pandas' groupby drops them too)
    if not keep.any():
        return {}
    channel = channel[keep]
    activity = np.concatenate(activities).astype(np.int64)[keep]
    visitor, visitor_ids = pd.factorize(np.concatenate(visitors)[keep], sort=True)
    minute, minute_values = pd.factorize(np.concatenate(minutes)[keep], sort=True)
    sizes = [len(UV_ACTIVITIES), len(channel_names), len(visitor_ids)]
    # The distinct sightings are the minute rows; hours and days are spans over them.
    row, first, last = _spans([minute, activity, channel, visitor], [len(minute_values), *sizes],
                              minute_values[minute], minute_values[minute])
    minute, activity, channel, visitor = minute[row], activity[row], channel[row], visitor[row]
    bucket_values = {
        "minute_utc": minute_values,
        "hour_utc": minute_values // 60,
        "day_local": local_days(minute_values, tz),  # per distinct minute: a few thousand at most
    }
    names = np.asarray(channel_names, dtype=object)
    labels = np.array(UV_ACTIVITIES, dtype=object)
    spans: dict[str, dict[str, list]] = {}
    for model, column in UV_BUCKETS:
        bucket, values = pd.factorize(bucket_values[column][minute], sort=True)
        row, lo, hi = _spans([bucket, activity, channel, visitor], [len(values), *sizes], first, last)
        spans[model.__tablename__] = {
            column: values[bucket[row]].tolist(), "activity": labels[activity[row]].tolist(),
            "channel": names[channel[row]].tolist(), "visitor_id": visitor_ids[visitor[row]].tolist(),
            "first_minute": lo.tolist(), "last_minute": hi.tolist(),
        }
    return spans


def _spans(keys: list[np.ndarray], sizes: list[int], first: np.ndarray, last: np.ndarray):
    """Group rows by integer keys (key i in [0, sizes[i])): (one row index per group, the
    groups' min of `first`, their max of `last`), groups in key order."""
    if np.prod([float(max(size, 1)) for size in sizes]) < 2.0**62:
        combined = np.zeros(len(first), dtype=np.int64)
        for key, size in zip(keys, sizes):
            combined = combined * size + key
        order = np.argsort(combined, kind="stable")
        ordered = combined[order]
        change = np.r_[True, ordered[1:] != ordered[:-1]]
    else:
        order = np.lexsort(keys[::-1])
        change = np.zeros(len(first), dtype=bool)
        change[0] = True
        for key in keys:
            ordered = key[order]
            change[1:] |= ordered[1:] != ordered[:-1]
    starts = np.flatnonzero(change)
    return order[starts], np.minimum.reduceat(first[order], starts), np.maximum.reduceat(last[order], starts)


def _upsert_unique_visitors(conn: Connection, frames: dict[str, pd.DataFrame], tz: ZoneInfo) -> None:
    spans = unique_visitor_spans(frames, tz)
    for model, column in UV_BUCKETS:
        rows = spans.get(model.__tablename__)
        if rows:
            key = [column, "activity", "channel", "visitor_id"]
            _insert_columns(conn, upsert_first_last(conn, model.__table__, key), list(rows), list(rows.values()))
