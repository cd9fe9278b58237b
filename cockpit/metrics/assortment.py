"""Assortment reads: the catalogue with each product's sales over a window, new products'
hourly sales since their launch, and the clearances of slow movers.

Windows are half-open [start, end) in epoch minutes (UTC)."""
from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, func, select

from cockpit.db.frames import to_frame
from cockpit.db.schema import AggSkuHour, Clearance, Product
from cockpit.metrics.traffic import typed

CATALOGUE_COLUMNS = {"sku": "str", "name": "str", "category": "str", "price": "float64", "cost": "float64",
                     "launched_ts_utc": "int64", "units_sold": "int64", "revenue": "float64"}
LAUNCH_SALES_COLUMNS = {"sku": "str", "hour_utc": "int64", "units_sold": "int64"}
CLEARANCE_COLUMNS = {"clearance_id": "int64", "action_id": "int64", "sku": "str", "name": "str", "kind": "str",
                     "discount_pct": "float64", "start_ts_utc": "int64", "end_ts_utc": "int64", "created_by": "str"}


def catalogue_sales(conn: Connection, start_minute: int, end_minute: int) -> pd.DataFrame:
    """Every product with its units sold and revenue in the window (CATALOGUE_COLUMNS)."""
    sold = (
        select(AggSkuHour.sku, func.sum(AggSkuHour.units_sold).label("units"), func.sum(AggSkuHour.revenue).label("rev"))
        .where(AggSkuHour.hour_utc >= int(start_minute) // 60, AggSkuHour.hour_utc < -(-int(end_minute) // 60))
        .group_by(AggSkuHour.sku)
        .subquery()
    )
    rows = conn.execute(
        select(Product.sku, Product.name, Product.category, Product.price, Product.cost, Product.launched_ts_utc,
               func.coalesce(sold.c.units, 0), func.coalesce(sold.c.rev, 0.0))
        .outerjoin(sold, sold.c.sku == Product.sku)
        .order_by(Product.sku)
    ).all()
    return typed(to_frame(rows, list(CATALOGUE_COLUMNS)), CATALOGUE_COLUMNS)


def launch_sales(conn: Connection, skus: list[str], start_minute: int, end_minute: int) -> pd.DataFrame:
    """Hourly units sold of the given SKUs (all warehouses) in the window (LAUNCH_SALES_COLUMNS)."""
    if not skus:
        return typed(pd.DataFrame(columns=list(LAUNCH_SALES_COLUMNS)), LAUNCH_SALES_COLUMNS)
    rows = conn.execute(
        select(AggSkuHour.sku, AggSkuHour.hour_utc, func.sum(AggSkuHour.units_sold))
        .where(AggSkuHour.sku.in_(list(skus)), AggSkuHour.hour_utc >= int(start_minute) // 60,
               AggSkuHour.hour_utc < -(-int(end_minute) // 60))
        .group_by(AggSkuHour.sku, AggSkuHour.hour_utc)
        .order_by(AggSkuHour.sku, AggSkuHour.hour_utc)
    ).all()
    return typed(to_frame(rows, list(LAUNCH_SALES_COLUMNS)), LAUNCH_SALES_COLUMNS)


def recent_clearances(conn: Connection, since_ts: int, limit: int = 10) -> pd.DataFrame:
    """Clearances running at or ended after since_ts (epoch seconds), the newest first, at most
    `limit` (CLEARANCE_COLUMNS)."""
    rows = conn.execute(
        select(Clearance.clearance_id, Clearance.action_id, Clearance.sku, Product.name, Clearance.kind,
               Clearance.discount_pct, Clearance.start_ts_utc, Clearance.end_ts_utc, Clearance.created_by)
        .join(Product, Product.sku == Clearance.sku)
        .where(Clearance.end_ts_utc >= int(since_ts))
        .order_by(Clearance.start_ts_utc.desc(), Clearance.clearance_id.desc())
        .limit(int(limit))
    ).all()
    return typed(to_frame(rows, list(CLEARANCE_COLUMNS)), CLEARANCE_COLUMNS)
