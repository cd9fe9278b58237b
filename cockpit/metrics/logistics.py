"""Supply chain and logistics reads: parcels in flight, shipping cost, returns by sales channel,
and replenishment orders by supplier.

Windows are half-open [start, end) in epoch minutes (UTC); `*_ts_utc` columns epoch seconds.
Delivered parcels come from weekly.deliveries (the same rows the weekly report reads).
"""
from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, String, and_, case, cast, func, select

from cockpit.db.frames import to_frame
from cockpit.db.schema import (
    Order,
    OrderLine,
    Product,
    ReplenishmentOrder,
    Return,
    Shipment,
    StockMovement,
    Supplier,
    Warehouse,
)
from cockpit.metrics.traffic import typed

IN_FLIGHT_COLUMNS = {"shipment_id": "int64", "order_id": "int64", "warehouse_id": "str", "tier": "str",
                     "region": "str", "carrier": "str", "shipped_ts_utc": "int64", "promised_ts_utc": "int64"}
COST_COLUMNS = {"tier": "str", "region": "str", "carrier": "str", "parcels": "int64", "cost": "float64"}
CHANNEL_RETURN_COLUMNS = {"channel": "str", "units_sold": "int64", "units_returned": "int64",
                          "resellable_units": "int64", "refunds": "float64"}
RETURN_FLOW_COLUMNS = {"return_id": "int64", "channel": "str", "qty": "int64", "ts_utc": "int64",
                       "resellable": "bool", "back_on_sale_ts_utc": "Int64"}
SUPPLIER_ORDER_COLUMNS = {"replenishment_id": "str", "supplier_id": "str", "supplier": "str", "sku": "str",
                          "warehouse_id": "str", "qty": "int64", "qty_received": "Int64", "status": "str",
                          "created_ts_utc": "int64", "expected_ts_utc": "int64", "received_ts_utc": "Int64"}


def parcels_in_flight(conn: Connection, as_of_minute: int) -> pd.DataFrame:
    """Parcels shipped and not yet delivered as of the minute (IN_FLIGHT_COLUMNS), the most
    overdue first."""
    as_of_ts = (int(as_of_minute) + 1) * 60
    rows = conn.execute(
        select(Shipment.shipment_id, Shipment.order_id, Shipment.warehouse_id, Warehouse.tier, Shipment.region,
               Shipment.carrier, Shipment.shipped_ts_utc, Shipment.promised_ts_utc)
        .outerjoin(Warehouse, Warehouse.warehouse_id == Shipment.warehouse_id)
        .where(Shipment.shipped_ts_utc < as_of_ts,
               (Shipment.delivered_ts_utc.is_(None)) | (Shipment.delivered_ts_utc >= as_of_ts))
        .order_by(Shipment.promised_ts_utc, Shipment.shipment_id)
    ).all()
    return typed(to_frame(rows, list(IN_FLIGHT_COLUMNS)), IN_FLIGHT_COLUMNS)


def shipping_cost(conn: Connection, start_minute: int, end_minute: int) -> pd.DataFrame:
    """Parcels shipped in the window and their shipping cost per warehouse tier, destination
    region and carrier (COST_COLUMNS)."""
    rows = conn.execute(
        select(Warehouse.tier, Shipment.region, Shipment.carrier, func.count(), func.sum(Shipment.cost))
        .select_from(Shipment)
        .outerjoin(Warehouse, Warehouse.warehouse_id == Shipment.warehouse_id)
        .where(Shipment.shipped_ts_utc >= int(start_minute) * 60, Shipment.shipped_ts_utc < int(end_minute) * 60)
        .group_by(Warehouse.tier, Shipment.region, Shipment.carrier)
    ).all()
    return typed(to_frame(rows, list(COST_COLUMNS)), COST_COLUMNS)


def returns_by_channel(conn: Connection, start_minute: int, end_minute: int) -> pd.DataFrame:
    """Per sales channel: units sold on paid orders placed in the window, and of the returns
    received in the window the units, those fit to sell again, and the refunds
    (CHANNEL_RETURN_COLUMNS)."""
    start_ts, end_ts = int(start_minute) * 60, int(end_minute) * 60
    sold = conn.execute(
        select(Order.channel, func.sum(OrderLine.qty))
        .join(OrderLine, OrderLine.order_id == Order.order_id)
        .where(Order.ts_utc >= start_ts, Order.ts_utc < end_ts, Order.paid_ts_utc.is_not(None))
        .group_by(Order.channel)
    ).all()
    back = conn.execute(
        select(Order.channel, func.sum(Return.qty), func.sum(case((Return.resellable, Return.qty), else_=0)),
               func.sum(Return.refund_amount))
        .join(Order, Order.order_id == Return.order_id)
        .where(Return.ts_utc >= start_ts, Return.ts_utc < end_ts)
        .group_by(Order.channel)
    ).all()
    frame = to_frame(sold, ["channel", "units_sold"]).merge(
        to_frame(back, ["channel", "units_returned", "resellable_units", "refunds"]), on="channel", how="outer")
    frame = frame.fillna({"units_sold": 0, "units_returned": 0, "resellable_units": 0, "refunds": 0.0})
    return typed(frame.sort_values("channel", kind="stable").reset_index(drop=True), CHANNEL_RETURN_COLUMNS)


def returns_flow(conn: Connection, start_minute: int, end_minute: int, as_of_minute: int) -> pd.DataFrame:
    """The returns received in the window, one row each (RETURN_FLOW_COLUMNS): the sales
    channel of its order, units, when it was received, whether it can be sold again, and when
    it was back on sale (the time of its "return" stock movement, which the returns centre
    books after inspection; empty while it awaits inspection as of as_of_minute, and for a
    scrapped one)."""
    start_ts, end_ts, as_of_ts = int(start_minute) * 60, int(end_minute) * 60, (int(as_of_minute) + 1) * 60
    back = (
        select(StockMovement.ref_id, func.min(StockMovement.ts_utc).label("ts_utc"))
        # A return is back on sale after it was received: movements before the window's start
        # belong to earlier returns, so the grouping reads the window only, not all history.
        .where(StockMovement.reason == "return", StockMovement.ts_utc >= start_ts, StockMovement.ts_utc < as_of_ts)
        .group_by(StockMovement.ref_id)
        .subquery()
    )
    rows = conn.execute(
        select(Return.return_id, Order.channel, Return.qty, Return.ts_utc, Return.resellable, back.c.ts_utc)
        .join(Order, Order.order_id == Return.order_id)
        .outerjoin(back, and_(Return.resellable, back.c.ref_id == cast(Return.return_id, String)))
        .where(Return.ts_utc >= start_ts, Return.ts_utc < end_ts)
        .order_by(Return.ts_utc, Return.return_id)
    ).all()
    return typed(to_frame(rows, list(RETURN_FLOW_COLUMNS)), RETURN_FLOW_COLUMNS)


def supplier_orders(conn: Connection, start_minute: int, end_minute: int) -> pd.DataFrame:
    """Replenishment orders placed in the window with their product's supplier
    (SUPPLIER_ORDER_COLUMNS; received columns empty while open)."""
    rows = conn.execute(
        select(ReplenishmentOrder.replenishment_id, Product.supplier_id, Supplier.name, ReplenishmentOrder.sku,
               ReplenishmentOrder.warehouse_id, ReplenishmentOrder.qty, ReplenishmentOrder.qty_received,
               ReplenishmentOrder.status, ReplenishmentOrder.created_ts_utc, ReplenishmentOrder.expected_ts_utc,
               ReplenishmentOrder.received_ts_utc)
        .join(Product, Product.sku == ReplenishmentOrder.sku)
        .outerjoin(Supplier, Supplier.supplier_id == Product.supplier_id)
        .where(ReplenishmentOrder.created_ts_utc >= int(start_minute) * 60,
               ReplenishmentOrder.created_ts_utc < int(end_minute) * 60)
        .order_by(ReplenishmentOrder.created_ts_utc, ReplenishmentOrder.replenishment_id)
    ).all()
    frame = to_frame(rows, list(SUPPLIER_ORDER_COLUMNS))
    frame["supplier_id"] = frame["supplier_id"].fillna("(none)")
    frame["supplier"] = frame["supplier"].fillna("(no supplier)")
    return typed(frame, SUPPLIER_ORDER_COLUMNS)
