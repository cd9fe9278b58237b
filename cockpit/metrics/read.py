"""Reads metrics from the aggregate tables: exact UV over any window, KPIs, per-entity values.

Windows are half-open minute ranges [start_minute, end_minute) in epoch minutes (UTC). A
metric "over the last N minutes as of minute m" covers [m - N + 1, m + 1).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import Connection, func, literal, select, union_all

from cockpit.db.schema import (
    AggCampaignMinute,
    AggSalesMinute,
    AggSkuDay,
    AggSkuHour,
    AggSkuMinute,
    AggTrafficMinute,
    Campaign,
    RefreshRun,
    StockLevel,
    UvDay,
    UvHour,
    UvMinute,
)
from cockpit.timebuckets import day_start_minute, local_day_of
from cockpit.db.frames import to_frame

VELOCITY_DAYS = 7  # sales velocity behind days of cover


def _uv_pieces(start: int, end: int, tz: ZoneInfo, activity: str):
    """Selects of visitor_id (and channel) whose union is exactly the visitors of [start, end).

    A window is split into whole buckets, the suffix of its first bucket (rows last seen at or
    after `start`) and the prefix of its last (rows first seen before `end`); each piece is
    exact, so COUNT(DISTINCT) over their union is too. Coarse buckets keep it cheap: a
    seven-day window reads about eight days of daily rows, not 10,080 minutes."""
    def rows(model, bucket_col, lo_bucket, hi_bucket, *extra):
        bucket = getattr(model, bucket_col)
        return select(model.visitor_id, model.channel).where(
            model.activity == activity, bucket >= lo_bucket, bucket <= hi_bucket, *extra
        )

    first_day, last_day = local_day_of(start, tz), local_day_of(end - 1, tz)
    if first_day != last_day or start == day_start_minute(first_day, tz):
        pieces = []
        if start == day_start_minute(first_day, tz):
            whole_from = first_day
        else:
            pieces.append(rows(UvDay, "day_local", first_day, first_day, UvDay.last_minute >= start))
            whole_from = first_day + 1
        if end == day_start_minute(last_day + 1, tz):
            whole_to = last_day
        else:
            pieces.append(rows(UvDay, "day_local", last_day, last_day, UvDay.first_minute < end))
            whole_to = last_day - 1
        if whole_from <= whole_to:
            pieces.append(rows(UvDay, "day_local", whole_from, whole_to))
        return pieces
    first_hour, last_hour = start // 60, (end - 1) // 60
    if first_hour != last_hour or start % 60 == 0:
        pieces = []
        whole_from, whole_to = first_hour, last_hour
        if start % 60:
            pieces.append(rows(UvHour, "hour_utc", first_hour, first_hour, UvHour.last_minute >= start))
            whole_from += 1
        if end % 60:
            pieces.append(rows(UvHour, "hour_utc", last_hour, last_hour, UvHour.first_minute < end))
            whole_to -= 1
        if whole_from <= whole_to:
            pieces.append(rows(UvHour, "hour_utc", whole_from, whole_to))
        return pieces
    return [rows(UvMinute, "minute_utc", start, end - 1)]


def unique_visitors(
    conn: Connection, start: int, end: int, tz: ZoneInfo, *, activity: str = "visit", by_channel: bool = False
) -> int | pd.Series:
    """Exact distinct visitors ('visit') or paying visitors ('pay') in [start, end).

    Returns an int, or with by_channel a Series of counts indexed by channel."""
    if end <= start:
        return pd.Series(dtype="int64") if by_channel else 0
    pieces = _uv_pieces(start, end, tz, activity)
    union = (union_all(*pieces) if len(pieces) > 1 else pieces[0]).subquery()
    if by_channel:
        rows = conn.execute(
            select(union.c.channel, func.count(union.c.visitor_id.distinct())).group_by(union.c.channel)
        ).all()
        return pd.Series({channel: int(count) for channel, count in rows}, dtype="int64")
    return int(conn.execute(select(func.count(union.c.visitor_id.distinct()))).scalar() or 0)


@dataclass(frozen=True)
class Kpis:
    """Shop-wide figures over one window; rates are fractions (0.031 = 3.1%)."""

    start_minute: int
    end_minute: int
    uv: int
    paying_visitors: int
    sessions: int
    page_views: int
    cart_adds: int
    orders: int
    paid_orders: int
    gmv: float
    units: int

    @property
    def conversion_rate(self) -> float | None:
        return self.orders / self.uv if self.uv else None

    @property
    def paying_conversion_rate(self) -> float | None:
        return self.paying_visitors / self.uv if self.uv else None

    @property
    def aov(self) -> float | None:
        return self.gmv / self.paid_orders if self.paid_orders else None


def kpis(conn: Connection, start: int, end: int, tz: ZoneInfo) -> Kpis:
    """The overview's shop-wide numbers for [start, end)."""
    traffic = conn.execute(
        select(
            func.coalesce(func.sum(AggTrafficMinute.sessions), 0),
            func.coalesce(func.sum(AggTrafficMinute.page_views), 0),
            func.coalesce(func.sum(AggTrafficMinute.cart_adds), 0),
        ).where(AggTrafficMinute.minute_utc >= start, AggTrafficMinute.minute_utc < end)
    ).one()
    sales = conn.execute(
        select(
            func.coalesce(func.sum(AggSalesMinute.orders), 0),
            func.coalesce(func.sum(AggSalesMinute.paid_orders), 0),
            func.coalesce(func.sum(AggSalesMinute.gmv), 0.0),
            func.coalesce(func.sum(AggSalesMinute.units), 0),
        ).where(AggSalesMinute.minute_utc >= start, AggSalesMinute.minute_utc < end)
    ).one()
    return Kpis(
        start_minute=start,
        end_minute=end,
        uv=unique_visitors(conn, start, end, tz),
        paying_visitors=unique_visitors(conn, start, end, tz, activity="pay"),
        sessions=int(traffic[0]),
        page_views=int(traffic[1]),
        cart_adds=int(traffic[2]),
        orders=int(sales[0]),
        paid_orders=int(sales[1]),
        gmv=float(sales[2]),
        units=int(sales[3]),
    )


def traffic_series(conn: Connection, start: int, end: int, *, by_channel: bool = True) -> pd.DataFrame:
    """Per minute and channel: minute_utc, channel, sessions, page_views, cart_adds, uv (the
    minute's distinct visitors per cell, summed). by_channel=False: one row per minute with
    channel "all" (a tenth of the rows for a chart of the whole shop)."""
    channel = AggTrafficMinute.channel if by_channel else literal("all")
    rows = conn.execute(
        select(
            AggTrafficMinute.minute_utc, channel,
            func.sum(AggTrafficMinute.sessions), func.sum(AggTrafficMinute.page_views),
            func.sum(AggTrafficMinute.cart_adds), func.sum(AggTrafficMinute.uv),
        )
        .where(AggTrafficMinute.minute_utc >= start, AggTrafficMinute.minute_utc < end)
        .group_by(AggTrafficMinute.minute_utc, *([AggTrafficMinute.channel] if by_channel else []))
        .order_by(AggTrafficMinute.minute_utc)
    ).all()
    return to_frame(rows, ["minute_utc", "channel", "sessions", "page_views", "cart_adds", "uv"])


def sales_series(conn: Connection, start: int, end: int) -> pd.DataFrame:
    """Per minute of [start, end), zeros included: minute_utc, orders, paid_orders, gmv, units."""
    rows = conn.execute(
        select(
            AggSalesMinute.minute_utc, func.sum(AggSalesMinute.orders), func.sum(AggSalesMinute.paid_orders),
            func.sum(AggSalesMinute.gmv), func.sum(AggSalesMinute.units),
        )
        .where(AggSalesMinute.minute_utc >= start, AggSalesMinute.minute_utc < end)
        .group_by(AggSalesMinute.minute_utc)
        .order_by(AggSalesMinute.minute_utc)
    ).all()
    frame = to_frame(rows, ["minute_utc", "orders", "paid_orders", "gmv", "units"]).set_index("minute_utc")
    return frame.reindex(pd.RangeIndex(start, end, name="minute_utc"), fill_value=0).reset_index()


def campaign_performance(conn: Connection, start: int, end: int) -> pd.DataFrame:
    """Per campaign over [start, end): campaign_id, channel, name, status, roi_floor, spend,
    clicks, orders, revenue, roi ((revenue - spend) / spend), roas (revenue / spend)."""
    totals = (
        select(
            AggCampaignMinute.campaign_id, func.sum(AggCampaignMinute.spend).label("spend"),
            func.sum(AggCampaignMinute.clicks).label("clicks"), func.sum(AggCampaignMinute.orders).label("orders"),
            func.sum(AggCampaignMinute.revenue).label("revenue"),
        )
        .where(AggCampaignMinute.minute_utc >= start, AggCampaignMinute.minute_utc < end)
        .group_by(AggCampaignMinute.campaign_id)
        .subquery()
    )
    rows = conn.execute(
        select(
            Campaign.campaign_id, Campaign.channel, Campaign.name, Campaign.status, Campaign.roi_floor,
            func.coalesce(totals.c.spend, 0.0), func.coalesce(totals.c.clicks, 0),
            func.coalesce(totals.c.orders, 0), func.coalesce(totals.c.revenue, 0.0),
        ).outerjoin(totals, totals.c.campaign_id == Campaign.campaign_id)
    ).all()
    frame = to_frame(
        rows, ["campaign_id", "channel", "name", "status", "roi_floor", "spend", "clicks", "orders", "revenue"]
    )
    spend = frame["spend"].where(frame["spend"] > 0)
    frame["roi"] = (frame["revenue"] - frame["spend"]) / spend
    frame["roas"] = frame["revenue"] / spend
    return frame


def sku_window_rows(start: int, end: int):
    """A select of agg_sku_minute's figures over [start, end) per SKU and warehouse, not yet
    summed: whole UTC days from agg_sku_day, whole hours of the ragged partial days from
    agg_sku_hour, and only the partial hours at the ends from the minute table (so at most 23
    hour rows and 59 minute rows per SKU and warehouse at each end of a week). Columns sku,
    warehouse_id, units_sold, revenue, units_returned; sum them grouped as needed."""
    def rows(model, bucket, lo, hi):
        return select(model.sku, model.warehouse_id, model.units_sold, model.revenue, model.units_returned).where(
            bucket >= lo, bucket < hi)

    def by_hours(lo: int, hi: int) -> list:
        first_hour, last_hour = -(-lo // 60), hi // 60  # whole hours: [first_hour, last_hour)
        if first_hour >= last_hour:
            return [rows(AggSkuMinute, AggSkuMinute.minute_utc, lo, hi)]
        found = [rows(AggSkuHour, AggSkuHour.hour_utc, first_hour, last_hour)]
        if lo < first_hour * 60:
            found.append(rows(AggSkuMinute, AggSkuMinute.minute_utc, lo, first_hour * 60))
        if last_hour * 60 < hi:
            found.append(rows(AggSkuMinute, AggSkuMinute.minute_utc, last_hour * 60, hi))
        return found

    first_day, last_day = -(-start // 1440), end // 1440  # whole days: [first_day, last_day)
    if first_day >= last_day:
        pieces = by_hours(start, end)
    else:
        pieces = [rows(AggSkuDay, AggSkuDay.day_utc, first_day, last_day)]
        if start < first_day * 1440:
            pieces += by_hours(start, first_day * 1440)
        if last_day * 1440 < end:
            pieces += by_hours(last_day * 1440, end)
    return union_all(*pieces) if len(pieces) > 1 else pieces[0]


def sku_units_sold(conn: Connection, start: int, end: int) -> pd.DataFrame:
    """Units sold per SKU and warehouse over [start, end): sku, warehouse_id, units_sold (pairs
    without aggregate rows in the window are absent)."""
    pieces = sku_window_rows(start, end).subquery()
    rows = conn.execute(
        select(pieces.c.sku, pieces.c.warehouse_id, func.sum(pieces.c.units_sold))
        .group_by(pieces.c.sku, pieces.c.warehouse_id)
    ).all()
    return to_frame(rows, ["sku", "warehouse_id", "units_sold"])


def stock_water_levels(conn: Connection, as_of_minute: int, *, memo: dict | None = None) -> pd.DataFrame:
    """Per SKU and warehouse: sku, warehouse_id, on_hand, safety_stock, reorder_point,
    lead_time_days, daily_velocity (units/day over the last 7 days), days_of_cover (inf when
    nothing sold), cover_ratio (on_hand / safety_stock). memo: as in metric_values (the 7-day
    units sold are shared with the return rates' baseline)."""
    start, end = as_of_minute - VELOCITY_DAYS * 1440 + 1, as_of_minute + 1
    sold = _remembered(memo, ("sku_units_sold", start, end), lambda: sku_units_sold(conn, start, end))
    rows = conn.execute(
        select(
            StockLevel.sku, StockLevel.warehouse_id, StockLevel.on_hand, StockLevel.safety_stock,
            StockLevel.reorder_point, StockLevel.lead_time_days,
        )
    ).all()
    frame = to_frame(rows, ["sku", "warehouse_id", "on_hand", "safety_stock", "reorder_point", "lead_time_days"])
    units = frame[["sku", "warehouse_id"]].merge(sold, on=["sku", "warehouse_id"], how="left")["units_sold"]
    frame["daily_velocity"] = units.fillna(0).to_numpy(dtype="float64") / VELOCITY_DAYS
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["days_of_cover"] = np.where(
            frame["daily_velocity"] > 0, frame["on_hand"].clip(lower=0) / frame["daily_velocity"], np.inf
        )
        frame["cover_ratio"] = np.where(
            frame["safety_stock"] > 0, frame["on_hand"].clip(lower=0) / frame["safety_stock"], np.inf
        )
    return frame


def _entity_frame(entity_ids, values, volumes) -> pd.DataFrame:
    return pd.DataFrame(
        {"entity_id": pd.Series(entity_ids, dtype="str"), "value": np.asarray(values, dtype="float64"),
         "volume": np.asarray(volumes, dtype="float64")}
    )


METRICS = {
    "shop": ("uv", "orders", "gmv", "conversion_rate", "paying_conversion_rate", "aov", "orders_vs_last_week",
             "gmv_vs_last_week"),
    "channel": ("sessions_vs_last_week", "roi"),
    "campaign": ("roi_vs_floor", "roi", "spend", "spend_vs_last_week"),
    "sku_warehouse": ("stock_cover_ratio", "days_of_cover"),
    "sku": ("return_rate",),
}
# Anomaly scores (cockpit.metrics.anomalies) are metrics like the others to the alert rules.
ANOMALY_METRICS = {
    "channel": ("sessions_anomaly",),
    "shop": ("conversion_anomaly",),
    "campaign": ("spend_anomaly", "roi_anomaly"),
    "sku": ("return_anomaly",),
}
for _kind, _names in ANOMALY_METRICS.items():
    METRICS[_kind] = METRICS.get(_kind, ()) + _names


# Baselines that cut Poisson noise. A channel's sessions are compared with last week's
# sessions over at least BASELINE_SPAN_MINUTES around the same time of day, scaled to the
# window's length; a SKU's returns with the units it sold over at least RETURN_BASE_DAYS,
# scaled likewise. A few dozen sessions or a handful of sold units per window would otherwise
# make a ratio swing by half on chance alone.
BASELINE_SPAN_MINUTES = 120
RETURN_BASE_DAYS = 7


def metric_values(
    conn: Connection, metric: str, entity_kind: str, window_minutes: int, as_of_minute: int, tz: ZoneInfo,
    memo: dict | None = None,
) -> pd.DataFrame:
    """One metric per entity over the window ending at as_of_minute (inclusive).

    Returns columns entity_id (str), value (float, NaN = no data), volume (float: how much
    data the value rests on, compared with a rule's min_volume). memo: a dict shared by the calls
    of one evaluation, so the figures several metrics derive from are read once. Per entity kind:

    - shop: the KPI over the window; volume the visitors (paid orders for aov).
    - shop, orders_vs_last_week / gmv_vs_last_week: orders placed (GMV) in the window / the
      orders (GMV) expected from last week, baselined like sessions_vs_last_week; volume the
      orders (GMV) expected.
    - channel, sessions_vs_last_week: sessions in the window / the sessions expected from last
      week: last week's sessions over a span of max(window, BASELINE_SPAN_MINUTES) minutes
      centred on the same window, times window / span. volume: those expected sessions.
    - channel roi, campaign roi / roi_vs_floor / spend: over the window; volume the spend.
    - campaign, spend_vs_last_week: spend in the window / the spend expected from last week
      (baselined like sessions_vs_last_week): a runaway bid shows within minutes, long before
      the sparse orders can show its ROI. volume: the expected spend.
    - sku_warehouse, stock_cover_ratio (on hand / safety stock) and days_of_cover (on hand /
      units sold per day over the last 7 days) as of the minute; volume the units sold per day.
    - sku, return_rate: units returned in the window / the units sold in a window's length at
      the pace of the last max(window, RETURN_BASE_DAYS days); volume those trailing units sold.
    - channel sessions_anomaly, shop conversion_anomaly, campaign spend_anomaly / roi_anomaly,
      sku return_anomaly: signed scores against the same window on earlier days (see
      cockpit.metrics.anomalies); volume the expected count behind the score.
    """
    if metric not in METRICS.get(entity_kind, ()):
        raise ValueError(f"unknown metric {metric!r} for entity kind {entity_kind!r}; known: {METRICS}")
    start, end = as_of_minute - window_minutes + 1, as_of_minute + 1
    if metric in ANOMALY_METRICS.get(entity_kind, ()):
        from cockpit.metrics import anomalies  # it builds on this module's reads

        return anomalies.anomaly_scores(conn, metric, entity_kind, start, end, memo=memo)
    if entity_kind == "shop" and metric.endswith("_vs_last_week"):
        measure = metric.removesuffix("_vs_last_week")
        return _vs_last_week(lambda lo, hi: _shop_sales(conn, lo, hi, measure), start, end)
    if entity_kind == "shop":
        k = _remembered(memo, ("kpis", start, end), lambda: kpis(conn, start, end, tz))
        value = {
            "uv": k.uv, "orders": k.orders, "gmv": k.gmv, "conversion_rate": k.conversion_rate,
            "paying_conversion_rate": k.paying_conversion_rate, "aov": k.aov,
        }[metric]
        volume = k.paid_orders if metric == "aov" else k.uv
        return _entity_frame(["shop"], [np.nan if value is None else value], [volume])
    if entity_kind == "channel" and metric == "sessions_vs_last_week":
        return _vs_last_week(lambda lo, hi: _sessions_by_channel(conn, lo, hi), start, end)
    if entity_kind == "campaign" and metric == "spend_vs_last_week":
        return _vs_last_week(lambda lo, hi: _spend_by_campaign(conn, lo, hi), start, end)
    if entity_kind in ("channel", "campaign"):
        perf = _remembered(memo, ("campaigns", start, end), lambda: campaign_performance(conn, start, end))
        if entity_kind == "channel":
            perf = perf.groupby("channel", as_index=False)[["spend", "revenue"]].sum()
            perf["roi"] = (perf["revenue"] - perf["spend"]) / perf["spend"].where(perf["spend"] > 0)
            return _entity_frame(perf["channel"], perf["roi"], perf["spend"])
        values = {"roi": perf["roi"], "roi_vs_floor": perf["roi"] - perf["roi_floor"], "spend": perf["spend"]}[metric]
        return _entity_frame(perf["campaign_id"], values, perf["spend"])
    if entity_kind == "sku_warehouse":
        levels = _remembered(memo, ("stock", as_of_minute), lambda: stock_water_levels(conn, as_of_minute, memo=memo))
        values = levels["cover_ratio" if metric == "stock_cover_ratio" else "days_of_cover"]
        return _entity_frame(levels["sku"] + "|" + levels["warehouse_id"], values, levels["daily_velocity"])
    return _return_rates(conn, start, end, memo)


def _remembered(memo: dict | None, key: tuple, compute: Callable[[], object]):
    """compute() once per key within one memo: several rules share a window's KPIs, campaign
    figures or stock levels (conversion and paying conversion, days of cover and cover ratio)."""
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def _vs_last_week(read: Callable[[int, int], pd.Series], start: int, end: int) -> pd.DataFrame:
    """Per entity: read(start, end) / the same read last week over at least
    BASELINE_SPAN_MINUTES centred on the window, scaled to the window; volume the expected."""
    week = 7 * 1440
    window = end - start
    pad = -(-max(0, BASELINE_SPAN_MINUTES - window) // 2)  # rounded up: the span is never under the minimum
    now = read(start, end)
    expected = read(start - week - pad, end - week + pad) * (window / (window + 2 * pad))
    ids = sorted(set(now.index) | set(expected.index))
    now, expected = now.reindex(ids, fill_value=0.0), expected.reindex(ids, fill_value=0.0)
    ratio = np.where(expected > 0, now / expected.where(expected > 0, 1), np.nan)
    return _entity_frame(ids, ratio, expected.to_numpy())


def _spend_by_campaign(conn: Connection, start: int, end: int) -> pd.Series:
    rows = conn.execute(
        select(AggCampaignMinute.campaign_id, func.sum(AggCampaignMinute.spend))
        .where(AggCampaignMinute.minute_utc >= start, AggCampaignMinute.minute_utc < end)
        .group_by(AggCampaignMinute.campaign_id)
    ).all()
    return pd.Series({campaign: float(total) for campaign, total in rows}, dtype="float64")


def _shop_sales(conn: Connection, start: int, end: int, measure: str) -> pd.Series:
    column = AggSalesMinute.orders if measure == "orders" else AggSalesMinute.gmv
    total = conn.execute(
        select(func.coalesce(func.sum(column), 0)).where(AggSalesMinute.minute_utc >= start, AggSalesMinute.minute_utc < end)
    ).scalar()
    return pd.Series({"shop": float(total)}, dtype="float64")


def _return_rates(conn: Connection, start: int, end: int, memo: dict | None = None) -> pd.DataFrame:
    window = end - start
    base = max(window, RETURN_BASE_DAYS * 1440)
    # The trailing week is the days-of-cover window when both are read as of the same minute.
    trailing = _remembered(memo, ("sku_units_sold", end - base, end), lambda: sku_units_sold(conn, end - base, end))
    sold = {sku: int(units) for sku, units in trailing.groupby("sku", sort=False)["units_sold"].sum().items()}
    recent = sku_window_rows(start, end).subquery()
    returned = dict(conn.execute(
        select(recent.c.sku, func.sum(recent.c.units_returned)).group_by(recent.c.sku)).all())
    skus = sorted(set(sold) | set(returned))
    frame = pd.DataFrame({"sku": pd.Series(skus, dtype="str"),
                          "sold": [sold.get(sku, 0) for sku in skus],
                          "returned": [returned.get(sku, 0) for sku in skus]})
    sold = frame["sold"].astype("float64")
    expected = sold * (window / base)
    rate = frame["returned"] / expected.where(sold > 0)
    return _entity_frame(frame["sku"], rate, sold)


def _sessions_by_channel(conn: Connection, start: int, end: int) -> pd.Series:
    rows = conn.execute(
        select(AggTrafficMinute.channel, func.sum(AggTrafficMinute.sessions))
        .where(AggTrafficMinute.minute_utc >= start, AggTrafficMinute.minute_utc < end)
        .group_by(AggTrafficMinute.channel)
    ).all()
    return pd.Series({channel: float(count) for channel, count in rows}, dtype="float64")


@dataclass(frozen=True)
class Heartbeat:
    """The newest successful refresh: when it finished and which minute its data reaches."""

    finished_ts_utc: float
    data_minute_utc: int
    duration_s: float
    events_ingested: int


def last_heartbeat(conn: Connection) -> Heartbeat | None:
    row = conn.execute(
        select(RefreshRun.finished_ts_utc, RefreshRun.data_minute_utc, RefreshRun.duration_s, RefreshRun.events_ingested)
        .where(RefreshRun.status == "ok", RefreshRun.data_minute_utc.is_not(None))
        .order_by(RefreshRun.run_id.desc())
        .limit(1)
    ).first()
    return Heartbeat(*row) if row else None
