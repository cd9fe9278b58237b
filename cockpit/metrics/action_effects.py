"""The reads behind action effects: measurable actions, their replenishment orders, and hourly series.

Hours are epoch hours (UTC, minute_utc // 60), windows half-open [start_hour, end_hour);
`*_ts_utc` are epoch seconds. Hourly series come back zero-filled, one row per hour.
"""
from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, func, select

from cockpit.db.frames import to_frame
from cockpit.db.schema import ActionLog, AggCampaignMinute, AggSkuHour, Clearance, ReplenishmentOrder

MEASURED_VERBS = ("pause_campaign", "resume_campaign", "replenish_sku", "start_clearance")
ACTION_COLUMNS = ["action_id", "ts_utc", "verb", "entity_id", "after_json"]
ORDER_COLUMNS = ["replenishment_id", "status", "expected_ts_utc", "received_ts_utc"]
CLEARANCE_COLUMNS = ["action_id", "sku", "kind", "discount_pct", "start_ts_utc", "end_ts_utc"]


def measured_actions(conn: Connection, *, limit: int = 50, entity_id: str | None = None,
                     since_ts: int | None = None) -> pd.DataFrame:
    """Done actions whose effect can be measured (MEASURED_VERBS), newest first: ACTION_COLUMNS
    (ts_utc epoch seconds, after_json the audit row's JSON text), at most `limit`, optionally
    for one entity and from since_ts on."""
    conditions = [ActionLog.result == "done", ActionLog.verb.in_(MEASURED_VERBS)]
    if entity_id is not None:
        conditions.append(ActionLog.entity_id == entity_id)
    if since_ts is not None:
        conditions.append(ActionLog.ts_utc >= int(since_ts))
    rows = conn.execute(
        select(ActionLog.action_id, ActionLog.ts_utc, ActionLog.verb, ActionLog.entity_id, ActionLog.after_json)
        .where(*conditions)
        .order_by(ActionLog.ts_utc.desc(), ActionLog.action_id.desc())
        .limit(int(limit))
    ).all()
    frame = to_frame(rows, ACTION_COLUMNS)
    return frame.astype({"action_id": "int64", "ts_utc": "int64"}) if len(frame) else frame


def replenishment_orders(conn: Connection, replenishment_ids: list[str]) -> pd.DataFrame:
    """The orders with these ids: ORDER_COLUMNS (status open | received | cancelled;
    received_ts_utc None until received)."""
    if not replenishment_ids:
        return pd.DataFrame(columns=ORDER_COLUMNS)
    rows = conn.execute(
        select(ReplenishmentOrder.replenishment_id, ReplenishmentOrder.status, ReplenishmentOrder.expected_ts_utc,
               ReplenishmentOrder.received_ts_utc)
        .where(ReplenishmentOrder.replenishment_id.in_(sorted(set(replenishment_ids))))
    ).all()
    return to_frame(rows, ORDER_COLUMNS)


def first_data_hour(conn: Connection, kind: str) -> int | None:
    """The first hour with any row in the campaign (kind "campaign") or SKU ("sku") aggregates:
    history before it is unknown, not zero."""
    if kind == "campaign":
        first = conn.execute(select(func.min(AggCampaignMinute.minute_utc))).scalar()
        return None if first is None else int(first) // 60
    first = conn.execute(select(func.min(AggSkuHour.hour_utc))).scalar()
    return None if first is None else int(first)


def campaign_hourly(conn: Connection, campaign_id: str, start_hour: int, end_hour: int) -> pd.DataFrame:
    """A campaign's spend (currency) and attributed paid orders per hour of [start_hour,
    end_hour), from agg_campaign_minute: columns hour_utc, spend, orders."""
    hour = (AggCampaignMinute.minute_utc // 60).label("hour_utc")
    inner = (
        select(hour, AggCampaignMinute.spend, AggCampaignMinute.orders)
        .where(AggCampaignMinute.campaign_id == campaign_id,
               AggCampaignMinute.minute_utc >= int(start_hour) * 60, AggCampaignMinute.minute_utc < int(end_hour) * 60)
        .subquery()
    )
    rows = conn.execute(
        select(inner.c.hour_utc, func.sum(inner.c.spend), func.sum(inner.c.orders)).group_by(inner.c.hour_utc)
    ).all()
    return _filled(to_frame(rows, ["hour_utc", "spend", "orders"]), start_hour, end_hour)


def sku_hourly(conn: Connection, sku: str, warehouse_id: str, start_hour: int, end_hour: int) -> pd.DataFrame:
    """A SKU's units sold (paid order lines) per hour of [start_hour, end_hour) in one warehouse:
    columns hour_utc, units_sold. Read from agg_sku_hour, agg_sku_minute summed per hour and
    kept equal to it, so that two weeks cost a few hundred rows instead of twenty thousand."""
    rows = conn.execute(
        select(AggSkuHour.hour_utc, AggSkuHour.units_sold)
        .where(AggSkuHour.sku == sku, AggSkuHour.warehouse_id == warehouse_id,
               AggSkuHour.hour_utc >= int(start_hour), AggSkuHour.hour_utc < int(end_hour))
    ).all()
    return _filled(to_frame(rows, ["hour_utc", "units_sold"]), start_hour, end_hour)


def clearances(conn: Connection, action_ids: list[int]) -> pd.DataFrame:
    """The clearances the actions started: CLEARANCE_COLUMNS (epoch seconds)."""
    if not action_ids:
        return pd.DataFrame(columns=CLEARANCE_COLUMNS)
    rows = conn.execute(
        select(Clearance.action_id, Clearance.sku, Clearance.kind, Clearance.discount_pct, Clearance.start_ts_utc,
               Clearance.end_ts_utc).where(Clearance.action_id.in_(sorted({int(a) for a in action_ids})))
    ).all()
    return to_frame(rows, CLEARANCE_COLUMNS)


def sku_total_hourly(conn: Connection, sku: str, start_hour: int, end_hour: int) -> pd.DataFrame:
    """A SKU's units sold and revenue per hour of [start_hour, end_hour), all warehouses:
    columns hour_utc, units_sold, revenue (from agg_sku_hour)."""
    rows = conn.execute(
        select(AggSkuHour.hour_utc, func.sum(AggSkuHour.units_sold), func.sum(AggSkuHour.revenue))
        .where(AggSkuHour.sku == sku, AggSkuHour.hour_utc >= int(start_hour), AggSkuHour.hour_utc < int(end_hour))
        .group_by(AggSkuHour.hour_utc)
    ).all()
    return _filled(to_frame(rows, ["hour_utc", "units_sold", "revenue"]), start_hour, end_hour)


def _filled(frame: pd.DataFrame, start_hour: int, end_hour: int) -> pd.DataFrame:
    hours = pd.RangeIndex(int(start_hour), max(int(start_hour), int(end_hour)), name="hour_utc")
    values = frame.astype({"hour_utc": "int64"}).set_index("hour_utc").astype("float64")
    return values.reindex(hours, fill_value=0.0).reset_index()
