"""Builds the minute-level aggregate tables from the raw events, for given minutes only.

The refresh passes the minutes a batch touched: each aggregate row of those minutes is
deleted and rebuilt from the raw events of the same minutes, so the cost follows the new
events (an index range scan on ts_utc), a late event re-aggregates the minute it belongs to,
and running it twice gives the same rows. A backfill passes one range covering the history.
"""
from __future__ import annotations

from typing import Iterable

import pandas as pd
from sqlalchemy import BigInteger, Connection, and_, case, delete, func, insert, literal, literal_column, select, union_all

from cockpit.db.dialect import upsert_add
from cockpit.db.schema import (
    AdSpend,
    AggCampaignMinute,
    AggSalesMinute,
    AggSkuDay,
    AggSkuHour,
    AggSkuMinute,
    AggTrafficMinute,
    Campaign,
    CartAdd,
    Order,
    OrderLine,
    PageView,
    Return,
    Session,
)


# Inline (not a bound parameter) so that PostgreSQL sees the same expression in SELECT and
# GROUP BY.
SECONDS_PER_MINUTE = literal_column("60", BigInteger)
MINUTES_PER_DAY = literal_column("1440", BigInteger)


def minute_ranges(minutes: Iterable[int]) -> list[tuple[int, int]]:
    """Contiguous [start, end) ranges covering the given minutes."""
    ranges: list[tuple[int, int]] = []
    for minute in sorted(set(minutes)):
        if ranges and ranges[-1][1] == minute:
            ranges[-1] = (ranges[-1][0], minute + 1)
        else:
            ranges.append((minute, minute + 1))
    return ranges


def _in_minutes(ts_column, start: int, end: int):
    return and_(ts_column >= start * 60, ts_column < end * 60)


def _traffic(start: int, end: int):
    """Each source grouped on its own first, then the groups summed: sorting each table's rows
    apart costs less than sorting the union of all raw rows (a seeded day: 111 -> 89 ms)."""
    def grouped(model, *measures):
        minute = model.ts_utc // SECONDS_PER_MINUTE
        return (select(minute.label("minute_utc"), model.channel, model.is_returning, *measures)
                .where(_in_minutes(model.ts_utc, start, end))
                .group_by(minute, model.channel, model.is_returning))

    sessions = grouped(Session, func.count().label("sessions"), literal(0).label("page_views"),
                       literal(0).label("cart_adds"), literal(0).label("uv"), func.sum(Session.duration_s).label("session_seconds"))
    views = grouped(PageView, literal(0), func.count(), literal(0), func.count(PageView.visitor_id.distinct()), literal(0))
    carts = grouped(CartAdd, literal(0), literal(0), func.count(), literal(0), literal(0))
    groups = union_all(sessions, views, carts).subquery()
    return select(
        groups.c.minute_utc, groups.c.channel, groups.c.is_returning,
        func.sum(groups.c.sessions), func.sum(groups.c.page_views), func.sum(groups.c.cart_adds),
        func.sum(groups.c.uv), func.sum(groups.c.session_seconds),
    ).group_by(groups.c.minute_utc, groups.c.channel, groups.c.is_returning)


def _order_units():
    """Units of the outer query's order, a lookup on order_lines' primary key. (A join with a
    grouped subquery made SQLite scan all of order_lines, so refreshes grew with history.)"""
    return (
        select(func.coalesce(func.sum(OrderLine.qty), 0))
        .where(OrderLine.order_id == Order.order_id)
        .correlate(Order)
        .scalar_subquery()
    )


def _sales(start: int, end: int):
    paid = Order.paid_ts_utc.is_not(None)
    return (
        select(
            (Order.ts_utc // SECONDS_PER_MINUTE).label("minute_utc"), Order.channel, Order.is_returning,
            func.count(), func.sum(case((paid, 1), else_=0)),
            func.sum(case((Order.cancelled_ts_utc.is_not(None), 1), else_=0)),
            func.sum(case((paid, Order.amount), else_=0.0)),
            func.coalesce(func.sum(case((paid, _order_units()), else_=0)), 0),
        )
        .where(_in_minutes(Order.ts_utc, start, end))
        .group_by(Order.ts_utc // SECONDS_PER_MINUTE, Order.channel, Order.is_returning)
    )


def _skus(start: int, end: int):
    sold = (
        select(
            (Order.ts_utc // SECONDS_PER_MINUTE).label("minute_utc"), OrderLine.sku, Order.warehouse_id,
            OrderLine.qty.label("units_sold"), (OrderLine.qty * OrderLine.unit_price).label("revenue"),
            literal(0).label("units_returned"),
        )
        .join(OrderLine, OrderLine.order_id == Order.order_id)
        .where(_in_minutes(Order.ts_utc, start, end), Order.paid_ts_utc.is_not(None))
    )
    returned = (
        select((Return.ts_utc // SECONDS_PER_MINUTE), Return.sku, Order.warehouse_id, literal(0), literal(0.0), Return.qty)
        .join(Order, Order.order_id == Return.order_id)
        .where(_in_minutes(Return.ts_utc, start, end))
    )
    rows = union_all(sold, returned).subquery()
    return select(
        rows.c.minute_utc, rows.c.sku, rows.c.warehouse_id,
        func.sum(rows.c.units_sold), func.sum(rows.c.revenue), func.sum(rows.c.units_returned),
    ).group_by(rows.c.minute_utc, rows.c.sku, rows.c.warehouse_id)


def _campaigns(start: int, end: int):
    spend = select(
        AdSpend.minute_utc.label("minute_utc"), AdSpend.campaign_id.label("campaign_id"),
        AdSpend.spend.label("spend"), AdSpend.impressions.label("impressions"), AdSpend.clicks.label("clicks"),
        literal(0).label("orders"), literal(0.0).label("revenue"),
    ).where(AdSpend.minute_utc >= start, AdSpend.minute_utc < end)
    attributed = select(
        (Order.ts_utc // SECONDS_PER_MINUTE), Order.campaign_id, literal(0.0), literal(0), literal(0), literal(1), Order.amount,
    ).where(
        _in_minutes(Order.ts_utc, start, end), Order.campaign_id.is_not(None), Order.paid_ts_utc.is_not(None)
    )
    rows = union_all(spend, attributed).subquery()
    return (
        select(
            rows.c.minute_utc, rows.c.campaign_id, func.coalesce(Campaign.channel, "unknown"),
            func.sum(rows.c.spend), func.sum(rows.c.impressions), func.sum(rows.c.clicks),
            func.sum(rows.c.orders), func.sum(rows.c.revenue),
        )
        .outerjoin(Campaign, Campaign.campaign_id == rows.c.campaign_id)
        .group_by(rows.c.minute_utc, rows.c.campaign_id, Campaign.channel)
    )


AGGREGATES = (
    (AggTrafficMinute, _traffic, ["minute_utc", "channel", "is_returning", "sessions", "page_views", "cart_adds", "uv", "session_seconds"]),
    (AggSalesMinute, _sales, ["minute_utc", "channel", "is_returning", "orders", "paid_orders", "cancelled_orders", "gmv", "units"]),
    (AggSkuMinute, _skus, ["minute_utc", "sku", "warehouse_id", "units_sold", "revenue", "units_returned"]),
    (AggCampaignMinute, _campaigns, ["minute_utc", "campaign_id", "channel", "spend", "impressions", "clicks", "orders", "revenue"]),
)


def rebuild_minutes(conn: Connection, minutes: Iterable[int]) -> int:
    """Rebuild every aggregate table for `minutes`; returns the number of ranges rebuilt."""
    ranges = minute_ranges(minutes)
    for start, end in ranges:
        rebuild_range(conn, start, end)
    return len(ranges)


def rebuild_range(conn: Connection, start: int, end: int) -> None:
    """Rebuild every aggregate table for minutes in [start, end)."""
    _roll_sku_rollups(conn, start, end, sign=-1)  # take the minutes' old figures out of their hours and days
    _rebuild_minute_tables(conn, start, end)
    _roll_sku_rollups(conn, start, end, sign=1)  # and put the rebuilt ones in


BACKFILL_CHUNK_MINUTES = 7 * 1440  # a week per statement: bounded sorts, few statements


def backfill(conn: Connection, start: int, end: int, *, traffic: bool = True) -> None:
    """Build every aggregate table for [start, end) when it is all the history there is (a
    seed): the minute tables a week at a time, then the SKU hours and days once from their
    minutes, instead of rolling deltas up range by range as rebuild_range must. With
    traffic=False, agg_traffic_minute is left as it is (a seed writes it from its frames)."""
    for chunk_start in range(start, end, BACKFILL_CHUNK_MINUTES):
        _rebuild_minute_tables(conn, chunk_start, min(chunk_start + BACKFILL_CHUNK_MINUTES, end), traffic=traffic)
    rebuild_sku_days(conn)


TRAFFIC_COLUMNS = AGGREGATES[0][2]
_TRAFFIC_KEY = ["minute_utc", "channel", "is_returning"]
# The raw columns traffic_minute_rows reads from each frame.
_TRAFFIC_SOURCES = {
    "sessions": ["ts_utc", "channel", "is_returning", "duration_s"],
    "page_views": ["ts_utc", "channel", "is_returning", "visitor_id"],
    "cart_adds": ["ts_utc", "channel", "is_returning"],
}


def traffic_minute_rows(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """agg_traffic_minute's rows (TRAFFIC_COLUMNS) for the sessions, page views and cart adds
    in `frames`, the figures _traffic computes from the tables. A seed builds them from the
    frames it writes: SQLite's COUNT(DISTINCT) over the written page views costs more than
    the rest of the backfill together (10 days: 0.85 of 1.1 s)."""
    def keyed(name: str) -> pd.DataFrame | None:
        frame = frames.get(name)
        if frame is None or frame.empty:
            return None
        return frame.assign(minute_utc=frame["ts_utc"].to_numpy(dtype="int64") // 60)

    parts = []
    if (sessions := keyed("sessions")) is not None:
        parts.append(sessions.groupby(_TRAFFIC_KEY).agg(sessions=("ts_utc", "size"), session_seconds=("duration_s", "sum")))
    if (views := keyed("page_views")) is not None:
        parts.append(views.groupby(_TRAFFIC_KEY).agg(page_views=("ts_utc", "size"), uv=("visitor_id", "nunique")))
    if (carts := keyed("cart_adds")) is not None:
        parts.append(carts.groupby(_TRAFFIC_KEY).agg(cart_adds=("ts_utc", "size")))
    if not parts:
        return pd.DataFrame({name: pd.Series(dtype="int64") for name in TRAFFIC_COLUMNS})
    measures = [name for name in TRAFFIC_COLUMNS if name not in _TRAFFIC_KEY]
    return (pd.concat(parts, axis=1).reindex(columns=measures).fillna(0).astype("int64")
            .reset_index()[TRAFFIC_COLUMNS])


class TrafficMinuteBuilder:
    """traffic_minute_rows for a seed's days, given in time order.

    A minute's row is final once no later day can add to it: each day's events lie in or
    after its own window, so the rows before the next day's first event are done, and the
    rest (a session's page views past midnight) wait for that day."""

    def __init__(self) -> None:
        self._pending: dict[str, pd.DataFrame] = {}
        self._done_before: int | None = None  # every minute before this one was returned

    def add(self, frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
        """Take a day's frames; returns the rows this day completed."""
        fresh = {name: frames[name][columns] for name, columns in _TRAFFIC_SOURCES.items()
                 if frames.get(name) is not None and not frames[name].empty}
        if not fresh:
            return traffic_minute_rows({})
        first = min(int(frame["ts_utc"].min()) for frame in fresh.values()) // 60
        if self._done_before is not None and first < self._done_before:
            raise ValueError(f"traffic of minute {first} arrived after minute {self._done_before} was complete")
        done, waiting = {}, {}
        for name, frame in self._pending.items():
            minutes = frame["ts_utc"].to_numpy(dtype="int64") // 60
            done[name], waiting[name] = frame[minutes < first], frame[minutes >= first]
        self._pending = {name: pd.concat([frame for frame in (waiting.get(name), fresh.get(name)) if frame is not None],
                                         ignore_index=True)
                         for name in _TRAFFIC_SOURCES if name in waiting or name in fresh}
        self._done_before = first
        return traffic_minute_rows(done)

    def finish(self) -> pd.DataFrame:
        """The rows still waiting: call once, after the last day."""
        rows, self._pending = traffic_minute_rows(self._pending), {}
        return rows


def _rebuild_minute_tables(conn: Connection, start: int, end: int, *, traffic: bool = True) -> None:
    for model, query, columns in AGGREGATES:
        if model is AggTrafficMinute and not traffic:
            continue
        table = model.__table__
        conn.execute(delete(table).where(table.c.minute_utc >= start, table.c.minute_utc < end))
        conn.execute(insert(table).from_select(columns, query(start, end)))


SKU_DAY_SUMS = ["units_sold", "revenue", "units_returned"]
MINUTES_PER_HOUR = literal_column("60", BigInteger)
# The rollups of agg_sku_minute: (table, its bucket column, minutes per bucket).
SKU_ROLLUPS = ((AggSkuHour, "hour_utc", MINUTES_PER_HOUR), (AggSkuDay, "day_utc", MINUTES_PER_DAY))


def _roll_sku_rollups(conn: Connection, start: int, end: int, *, sign: int) -> None:
    """Add (sign=1) or subtract (sign=-1) agg_sku_minute's rows of [start, end) to agg_sku_hour
    and agg_sku_day.

    A delta, not a re-sum of the bucket: a live refresh touches a minute or two, and re-reading
    a whole peak day of SKU minutes every refresh would cost more than the refresh itself."""
    minute = AggSkuMinute.__table__.c
    for model, column, width in SKU_ROLLUPS:
        bucket = (minute.minute_utc // width).label(column)
        rows = (
            select(bucket, minute.sku, minute.warehouse_id,
                   *[(func.sum(minute[name]) * sign).label(name) for name in SKU_DAY_SUMS])
            .where(minute.minute_utc >= start, minute.minute_utc < end)
            .group_by(bucket, minute.sku, minute.warehouse_id)
        )
        table = model.__table__
        conn.execute(upsert_add(conn, table, [column, "sku", "warehouse_id"], SKU_DAY_SUMS)
                     .from_select([column, "sku", "warehouse_id", *SKU_DAY_SUMS], rows))


def rebuild_sku_days(conn: Connection) -> None:
    """Recompute agg_sku_hour and agg_sku_day from agg_sku_minute from scratch (repairs; tests
    that write minute rows directly). rebuild_range keeps them up to date incrementally."""
    minute = AggSkuMinute.__table__.c
    for model, column, width in SKU_ROLLUPS:
        bucket = (minute.minute_utc // width).label(column)
        conn.execute(delete(model.__table__))
        conn.execute(insert(model.__table__).from_select(
            [column, "sku", "warehouse_id", *SKU_DAY_SUMS],
            select(bucket, minute.sku, minute.warehouse_id, *[func.sum(minute[name]) for name in SKU_DAY_SUMS])
            .group_by(bucket, minute.sku, minute.warehouse_id),
        ))
