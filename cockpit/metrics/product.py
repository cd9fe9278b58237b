"""One product end to end, for the Product 360 page: search, sales, stock per warehouse, open
replenishments, delivery times, returns with their reasons, reviews and alert history.

Windows are half-open [start, end); minutes are epoch minutes (UTC), `*_ts_utc` epoch seconds.
"""
from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, case, func, or_, select

from cockpit.db.frames import to_frame
from cockpit.db.schema import (
    AggSkuHour,
    Alert,
    AlertRule,
    Order,
    Product,
    Return,
    Review,
    Supplier,
)
from cockpit.metrics.traffic import typed

SEARCH_COLUMNS = {"sku": "str", "name": "str", "category": "str", "price": "float64"}
HOURLY_COLUMNS = {"hour_utc": "int64", "warehouse_id": "str", "units_sold": "int64", "revenue": "float64",
                  "units_returned": "int64"}
RETURN_COLUMNS = {"return_id": "int64", "order_id": "int64", "ts_utc": "int64", "qty": "int64", "reason": "str",
                  "refund_amount": "float64", "resellable": "bool", "channel": "str"}
REVIEW_COLUMNS = {"review_id": "int64", "ts_utc": "int64", "rating": "int64", "text": "str", "customer_id": "int64"}
ALERT_HISTORY_COLUMNS = {"alert_id": "int64", "rule_name": "str", "metric": "str", "entity_id": "str", "level": "str",
                         "status": "str", "opened_minute": "int64", "resolved_minute": "Int64", "value": "float64",
                         "threshold": "float64", "message": "str", "message_args": "object"}


def find_products(conn: Connection, text: str, limit: int = 10) -> pd.DataFrame:
    """Products whose ID or name contains `text` (case-insensitive), the exact ID first, then
    IDs starting with it, then by name (SEARCH_COLUMNS). Empty text finds nothing."""
    needle = (text or "").strip().lower()
    if not needle:
        return typed(pd.DataFrame(columns=list(SEARCH_COLUMNS)), SEARCH_COLUMNS)
    sku, name = func.lower(Product.sku), func.lower(Product.name)
    rank = case((sku == needle, 0), (sku.startswith(needle, autoescape=True), 1), else_=2)
    rows = conn.execute(
        select(Product.sku, Product.name, Product.category, Product.price)
        .where(or_(sku.contains(needle, autoescape=True), name.contains(needle, autoescape=True)))
        .order_by(rank, Product.name, Product.sku)
        .limit(int(limit))
    ).all()
    return typed(to_frame(rows, list(SEARCH_COLUMNS)), SEARCH_COLUMNS)


def product(conn: Connection, sku: str) -> dict | None:
    """The product's catalogue row with its supplier: sku, name, category, price, cost,
    launched_ts_utc, supplier_id, supplier_name, supplier_lead_time_days; None if unknown."""
    row = conn.execute(
        select(Product.sku, Product.name, Product.category, Product.price, Product.cost, Product.launched_ts_utc,
               Product.supplier_id, Supplier.name.label("supplier_name"),
               Supplier.lead_time_days.label("supplier_lead_time_days"))
        .outerjoin(Supplier, Supplier.supplier_id == Product.supplier_id)
        .where(Product.sku == sku)
    ).first()
    return None if row is None else dict(row._mapping)


def hourly_sales(conn: Connection, sku: str, start_minute: int, end_minute: int) -> pd.DataFrame:
    """Units sold, revenue and units returned per UTC hour and warehouse (HOURLY_COLUMNS)."""
    rows = conn.execute(
        select(AggSkuHour.hour_utc, AggSkuHour.warehouse_id, AggSkuHour.units_sold, AggSkuHour.revenue,
               AggSkuHour.units_returned)
        .where(AggSkuHour.sku == sku, AggSkuHour.hour_utc >= int(start_minute) // 60,
               AggSkuHour.hour_utc < -(-int(end_minute) // 60))
        .order_by(AggSkuHour.hour_utc, AggSkuHour.warehouse_id)
    ).all()
    return typed(to_frame(rows, list(HOURLY_COLUMNS)), HOURLY_COLUMNS)


def returns(conn: Connection, sku: str, start_minute: int, end_minute: int) -> pd.DataFrame:
    """The SKU's returns received in the window, with the order's sales channel (RETURN_COLUMNS)."""
    rows = conn.execute(
        select(Return.return_id, Return.order_id, Return.ts_utc, Return.qty, Return.reason, Return.refund_amount,
               Return.resellable, Order.channel)
        .outerjoin(Order, Order.order_id == Return.order_id)
        .where(Return.sku == sku, Return.ts_utc >= int(start_minute) * 60, Return.ts_utc < int(end_minute) * 60)
        .order_by(Return.ts_utc, Return.return_id)
    ).all()
    return typed(to_frame(rows, list(RETURN_COLUMNS)), RETURN_COLUMNS)


def reviews(conn: Connection, sku: str, start_minute: int, end_minute: int) -> pd.DataFrame:
    """The SKU's reviews written in the window, oldest first (REVIEW_COLUMNS)."""
    rows = conn.execute(
        select(Review.review_id, Review.ts_utc, Review.rating, Review.text, Review.customer_id)
        .where(Review.sku == sku, Review.ts_utc >= int(start_minute) * 60, Review.ts_utc < int(end_minute) * 60)
        .order_by(Review.ts_utc, Review.review_id)
    ).all()
    return typed(to_frame(rows, list(REVIEW_COLUMNS)), REVIEW_COLUMNS)


def alert_history(conn: Connection, sku: str, limit: int = 50) -> pd.DataFrame:
    """Alerts about the SKU (its own, and those of its stock in any warehouse: "SKU|WAREHOUSE"),
    newest first (ALERT_HISTORY_COLUMNS)."""
    rows = conn.execute(
        select(Alert.alert_id, AlertRule.name, AlertRule.metric, Alert.entity_id, Alert.level, Alert.status,
               Alert.opened_minute, Alert.resolved_minute, Alert.value, Alert.threshold, Alert.message,
               Alert.message_args)
        .join(AlertRule, AlertRule.rule_id == Alert.rule_id)
        .where(AlertRule.entity_kind.in_(("sku", "sku_warehouse")),
               or_(Alert.entity_id == sku, Alert.entity_id.startswith(f"{sku}|", autoescape=True)))
        .order_by(Alert.opened_minute.desc(), Alert.alert_id.desc())
        .limit(int(limit))
    ).all()
    return typed(to_frame(rows, list(ALERT_HISTORY_COLUMNS)), ALERT_HISTORY_COLUMNS)
