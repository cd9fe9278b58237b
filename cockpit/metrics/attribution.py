"""Reads behind channel attribution: marketing touches, orders with the visitor who placed them,
spend per channel and campaign, and each customer's first order.

Times: `*_ts` arguments are epoch seconds (UTC), windows half-open [start_ts, end_ts).
"""
from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, func, select

from cockpit.db.frames import to_frame
from cockpit.db.schema import AggCampaignMinute, Campaign, Channel, MarketingTouch, Order, Session

# Orders that count as conversions: paid (whatever happened after); never-paid and cancelled
# orders earned nothing.
PAID = Order.paid_ts_utc.is_not(None)


def touches(conn: Connection, start_ts: int, end_ts: int) -> pd.DataFrame:
    """Columns visitor_id (int64), ts_utc (int64, seconds), channel (str)."""
    rows = conn.execute(
        select(MarketingTouch.visitor_id, MarketingTouch.ts_utc, MarketingTouch.channel)
        .where(MarketingTouch.ts_utc >= start_ts, MarketingTouch.ts_utc < end_ts)
    )
    frame = to_frame(rows, ["visitor_id", "ts_utc", "channel"])
    return frame.astype({"visitor_id": "int64", "ts_utc": "int64", "channel": "str"})


def conversions(conn: Connection, start_ts: int, end_ts: int) -> pd.DataFrame:
    """Paid orders placed in the window with the visitor whose session placed them.

    Columns order_id, visitor_id, customer_id, ts_utc (placed), revenue (amount after
    discount), campaign_id (the campaign the shop credited the order to, or None). Orders
    without a session (imports from another system) carry the customer id as visitor id:
    their journey is empty and they count as direct."""
    rows = conn.execute(
        select(Order.order_id, func.coalesce(Session.visitor_id, -Order.customer_id), Order.customer_id, Order.ts_utc,
               Order.amount, Order.campaign_id)
        .select_from(Order).outerjoin(Session, Session.session_id == Order.session_id)
        .where(Order.ts_utc >= start_ts, Order.ts_utc < end_ts, PAID)
    )
    frame = to_frame(rows, ["order_id", "visitor_id", "customer_id", "ts_utc", "revenue", "campaign_id"])
    return frame.astype({"order_id": "int64", "visitor_id": "int64", "customer_id": "int64", "ts_utc": "int64",
                         "revenue": "float64", "campaign_id": "object"})


def first_order_ts(conn: Connection, customer_ids) -> pd.Series:
    """Each customer's first paid order time ever (seconds), indexed by customer_id."""
    ids = sorted({int(c) for c in customer_ids})
    found: dict[int, int] = {}
    for lo in range(0, len(ids), 5000):  # bounded IN lists
        chunk = ids[lo:lo + 5000]
        found.update(conn.execute(
            select(Order.customer_id, func.min(Order.ts_utc)).where(Order.customer_id.in_(chunk), PAID)
            .group_by(Order.customer_id)).all())
    return pd.Series(found, dtype="int64").rename_axis("customer_id")


def first_order_minute(conn: Connection) -> int | None:
    """The minute of the oldest order the database holds: where "a customer's first order"
    stops meaning their first ever."""
    first = conn.execute(select(func.min(Order.ts_utc))).scalar()
    return None if first is None else int(first) // 60


def spend(conn: Connection, start_minute: int, end_minute: int) -> pd.DataFrame:
    """Spend per campaign over [start_minute, end_minute): campaign_id, channel, name, spend."""
    rows = conn.execute(
        select(AggCampaignMinute.campaign_id, AggCampaignMinute.channel, func.sum(AggCampaignMinute.spend))
        .where(AggCampaignMinute.minute_utc >= start_minute, AggCampaignMinute.minute_utc < end_minute)
        .group_by(AggCampaignMinute.campaign_id, AggCampaignMinute.channel)
    )
    frame = to_frame(rows, ["campaign_id", "channel", "spend"]).astype(
        {"campaign_id": "str", "channel": "str", "spend": "float64"})
    names = dict(conn.execute(select(Campaign.campaign_id, Campaign.name)).all())
    frame["name"] = frame["campaign_id"].map(names).fillna(frame["campaign_id"]).astype("str")
    return frame[["campaign_id", "channel", "name", "spend"]]


def channel_kinds(conn: Connection) -> pd.Series:
    """Each channel's kind (paid | content | social | owned | organic), indexed by channel."""
    rows = conn.execute(select(Channel.channel, Channel.kind)).all()
    return pd.Series({c: k for c, k in rows}, dtype="str")
