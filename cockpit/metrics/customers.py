"""Customer queries: paid orders as transactions, the stored customer scores, one customer's
profile (orders, touches, returns, reviews, experiments), acquisition and experiment outcomes.

Times are epoch seconds (`*_ts_utc`) or minutes (`*_minute`), days are shop-local day numbers
(`as_of_day`, as in cockpit.timebuckets); money is in the shop's currency. A purchase is a paid
order (`paid_ts_utc` set), dated when it was placed, as in the sales aggregates.
"""
from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, delete, func, insert, select

from cockpit.db.dialect import executemany_columns
from cockpit.db.frames import to_frame
from cockpit.db.schema import (
    AdSpend,
    Campaign,
    Channel,
    Customer,
    CustomerScore,
    Experiment,
    ExperimentAssignment,
    MarketingTouch,
    Order,
    OrderLine,
    Return,
    Review,
)
from cockpit.db.schema import Session as SessionRow

ORDER_COLUMNS = {"order_id": "int64", "customer_id": "int64", "ts_utc": "int64", "channel": "str",
                 "is_returning": "bool", "amount": "float64"}
SCORE_COLUMNS = {"customer_id": "int64", "recency_days": "int64", "frequency": "int64", "monetary": "float64",
                 "r_score": "int64", "f_score": "int64", "m_score": "int64", "segment": "str",
                 "p_alive": "float64", "expected_purchases": "float64", "expected_spend": "float64",
                 "clv": "float64"}
SCORES = CustomerScore.__table__


def _typed(rows, columns: dict[str, str]) -> pd.DataFrame:
    frame = to_frame(rows, list(columns))
    for name, dtype in columns.items():
        if dtype == "float64":
            frame[name] = pd.to_numeric(frame[name]).astype("float64")
        elif dtype == "int64":
            frame[name] = pd.to_numeric(frame[name]).astype("int64")
        else:
            frame[name] = frame[name].astype(dtype)
    return frame


def paid_orders(conn: Connection, start_ts: int | None, end_ts: int) -> pd.DataFrame:
    """Paid orders placed in [start_ts, end_ts) (no lower bound with start_ts None).

    Columns: order_id, customer_id, ts_utc (placed, epoch seconds), channel, is_returning
    (the customer had bought before), amount (after discount). Sorted by ts_utc."""
    query = (select(Order.order_id, Order.customer_id, Order.ts_utc, Order.channel, Order.is_returning, Order.amount)
             .where(Order.paid_ts_utc.is_not(None), Order.ts_utc < int(end_ts)).order_by(Order.ts_utc, Order.order_id))
    if start_ts is not None:
        query = query.where(Order.ts_utc >= int(start_ts))
    return _typed(conn.execute(query).all(), ORDER_COLUMNS)


# --- stored scores ----------------------------------------------------------------------------

def score_days(conn: Connection) -> list[int]:
    """The days with stored scores, oldest first."""
    return [int(d) for d in conn.execute(select(CustomerScore.as_of_day).distinct().order_by(CustomerScore.as_of_day)).scalars()]


def scores_of_day(conn: Connection, day: int) -> pd.DataFrame:
    """Every customer's stored scores of `day` (SCORE_COLUMNS), by customer_id."""
    columns = [SCORES.c[name] for name in SCORE_COLUMNS]
    rows = conn.execute(select(*columns).where(SCORES.c.as_of_day == int(day)).order_by(SCORES.c.customer_id)).all()
    return _typed(rows, SCORE_COLUMNS)


def replace_scores(conn: Connection, day: int, scores: pd.DataFrame, computed_ts: int) -> int:
    """Store `scores` (SCORE_COLUMNS) as `day`'s, replacing what that day had; returns the rows."""
    conn.execute(delete(SCORES).where(SCORES.c.as_of_day == int(day)))
    names = ["as_of_day", *SCORE_COLUMNS, "computed_ts_utc"]
    values = [[int(day)] * len(scores)]
    for name, dtype in SCORE_COLUMNS.items():
        column = scores[name]
        if dtype == "float64":
            values.append([None if pd.isna(v) else float(v) for v in column.tolist()])
        elif dtype == "int64":
            values.append([int(v) for v in column.tolist()])
        else:
            values.append([str(v) for v in column.tolist()])
    values.append([int(computed_ts)] * len(scores))
    executemany_columns(conn, insert(SCORES), names, values)
    return len(scores)


def delete_score_days(conn: Connection, days: list[int]) -> None:
    if days:
        conn.execute(delete(SCORES).where(SCORES.c.as_of_day.in_([int(d) for d in days])))


def segment_history(conn: Connection, customer_id: int) -> pd.DataFrame:
    """One customer's stored scores on every stored day: as_of_day and SCORE_COLUMNS, oldest first."""
    columns = [SCORES.c.as_of_day, *(SCORES.c[name] for name in SCORE_COLUMNS)]
    rows = conn.execute(select(*columns).where(SCORES.c.customer_id == int(customer_id)).order_by(SCORES.c.as_of_day)).all()
    return _typed(rows, {"as_of_day": "int64", **SCORE_COLUMNS})


# --- one customer -----------------------------------------------------------------------------

def customer(conn: Connection, customer_id: int) -> dict | None:
    """The customer's row (customer_id, created_ts_utc, region, acquisition_channel, referred_by), or None."""
    row = conn.execute(select(Customer.customer_id, Customer.created_ts_utc, Customer.region,
                              Customer.acquisition_channel, Customer.referred_by)
                       .where(Customer.customer_id == int(customer_id))).first()
    return dict(row._mapping) if row else None


CUSTOMER_ORDER_COLUMNS = {"order_id": "int64", "ts_utc": "int64", "channel": "str", "campaign_id": "str",
                          "status": "str", "amount": "float64", "discount": "float64", "items": "int64",
                          "skus": "str", "session_id": "float64"}


def customer_orders(conn: Connection, customer_id: int) -> pd.DataFrame:
    """Every order of the customer, newest first: CUSTOMER_ORDER_COLUMNS (items: units; skus:
    the SKUs, comma-separated; session_id NaN for imported orders)."""
    rows = conn.execute(
        select(Order.order_id, Order.ts_utc, Order.channel, func.coalesce(Order.campaign_id, ""), Order.status,
               Order.amount, Order.discount, func.coalesce(func.sum(OrderLine.qty), 0), Order.session_id)
        .outerjoin(OrderLine, OrderLine.order_id == Order.order_id)
        .where(Order.customer_id == int(customer_id))
        .group_by(Order.order_id, Order.ts_utc, Order.channel, Order.campaign_id, Order.status, Order.amount,
                  Order.discount, Order.session_id)
        .order_by(Order.ts_utc.desc(), Order.order_id.desc())
    ).all()
    orders = to_frame(rows, ["order_id", "ts_utc", "channel", "campaign_id", "status", "amount", "discount", "items",
                             "session_id"])
    lines = conn.execute(select(OrderLine.order_id, OrderLine.sku).join(Order, Order.order_id == OrderLine.order_id)
                         .where(Order.customer_id == int(customer_id)).order_by(OrderLine.order_id, OrderLine.line_no)).all()
    skus = to_frame(lines, ["order_id", "sku"]).groupby("order_id")["sku"].agg(", ".join)
    orders["skus"] = orders["order_id"].map(skus).fillna("")
    return _typed(orders[list(CUSTOMER_ORDER_COLUMNS)].itertuples(index=False), CUSTOMER_ORDER_COLUMNS)


def customer_touches(conn: Connection, customer_id: int, limit: int = 200) -> pd.DataFrame:
    """Marketing touches of the visitors the customer ordered as (through their orders'
    sessions), newest first: ts_utc, channel, campaign_id ("" without), touch_type."""
    visitors = (select(SessionRow.visitor_id).join(Order, Order.session_id == SessionRow.session_id)
                .where(Order.customer_id == int(customer_id)))
    rows = conn.execute(
        select(MarketingTouch.ts_utc, MarketingTouch.channel, func.coalesce(MarketingTouch.campaign_id, ""),
               MarketingTouch.touch_type)
        .where(MarketingTouch.visitor_id.in_(visitors)).order_by(MarketingTouch.ts_utc.desc()).limit(limit)
    ).all()
    return _typed(rows, {"ts_utc": "int64", "channel": "str", "campaign_id": "str", "touch_type": "str"})


def customer_returns(conn: Connection, customer_id: int) -> pd.DataFrame:
    """Returns of the customer's orders, newest first: ts_utc, order_id, sku, qty, reason, refund_amount."""
    rows = conn.execute(
        select(Return.ts_utc, Return.order_id, Return.sku, Return.qty, Return.reason, Return.refund_amount)
        .join(Order, Order.order_id == Return.order_id).where(Order.customer_id == int(customer_id))
        .order_by(Return.ts_utc.desc())
    ).all()
    return _typed(rows, {"ts_utc": "int64", "order_id": "int64", "sku": "str", "qty": "int64", "reason": "str",
                         "refund_amount": "float64"})


def customer_reviews(conn: Connection, customer_id: int) -> pd.DataFrame:
    """The customer's reviews, newest first: ts_utc, order_id, sku, rating (1-5), text."""
    rows = conn.execute(
        select(Review.ts_utc, Review.order_id, Review.sku, Review.rating, Review.text)
        .where(Review.customer_id == int(customer_id)).order_by(Review.ts_utc.desc())
    ).all()
    return _typed(rows, {"ts_utc": "int64", "order_id": "int64", "sku": "str", "rating": "int64", "text": "str"})


def customer_experiments(conn: Connection, customer_id: int) -> pd.DataFrame:
    """The experiments the customer was assigned to: experiment_id, name, arm, assigned_ts_utc, metric."""
    rows = conn.execute(
        select(ExperimentAssignment.experiment_id, Experiment.name, ExperimentAssignment.arm,
               ExperimentAssignment.ts_utc, Experiment.metric)
        .join(Experiment, Experiment.experiment_id == ExperimentAssignment.experiment_id)
        .where(ExperimentAssignment.customer_id == int(customer_id)).order_by(ExperimentAssignment.ts_utc)
    ).all()
    return _typed(rows, {"experiment_id": "str", "name": "str", "arm": "str", "assigned_ts_utc": "int64",
                         "metric": "str"})


# --- acquisition ------------------------------------------------------------------------------

def channels(conn: Connection) -> pd.DataFrame:
    """Every channel: channel, name, kind (paid | content | social | owned | organic)."""
    rows = conn.execute(select(Channel.channel, Channel.name, Channel.kind).order_by(Channel.channel)).all()
    return _typed(rows, {"channel": "str", "name": "str", "kind": "str"})


def acquisition_by_channel(conn: Connection, start_minute: int, end_minute: int) -> pd.DataFrame:
    """Per channel over [start_minute, end_minute): new customers (created in the window, by
    their acquisition channel) and ad spend (its campaigns' spend). Columns: channel, name,
    kind, new_customers (int64), spend (float64); every channel has a row."""
    new = conn.execute(
        select(Customer.acquisition_channel, func.count())
        .where(Customer.created_ts_utc >= int(start_minute) * 60, Customer.created_ts_utc < int(end_minute) * 60)
        .group_by(Customer.acquisition_channel)
    ).all()
    spend = conn.execute(
        select(Campaign.channel, func.sum(AdSpend.spend)).join(Campaign, Campaign.campaign_id == AdSpend.campaign_id)
        .where(AdSpend.minute_utc >= int(start_minute), AdSpend.minute_utc < int(end_minute))
        .group_by(Campaign.channel)
    ).all()
    frame = channels(conn)
    frame["new_customers"] = frame["channel"].map(dict(new)).fillna(0).astype("int64")
    frame["spend"] = frame["channel"].map({k: float(v) for k, v in spend}).fillna(0.0).astype("float64")
    return frame


# --- experiments ------------------------------------------------------------------------------

def experiments(conn: Connection) -> pd.DataFrame:
    """Every experiment: experiment_id, name, description, target_segment, arms (control first,
    comma-separated), metric (conversion | revenue_per_user), start_ts_utc, end_ts_utc (NaN: open),
    assigned (users assigned so far). Oldest first."""
    assigned = (select(ExperimentAssignment.experiment_id, func.count().label("n"))
                .group_by(ExperimentAssignment.experiment_id).subquery())
    rows = conn.execute(
        select(Experiment.experiment_id, Experiment.name, Experiment.description, Experiment.target_segment,
               Experiment.arms, Experiment.metric, Experiment.start_ts_utc, Experiment.end_ts_utc,
               func.coalesce(assigned.c.n, 0))
        .outerjoin(assigned, assigned.c.experiment_id == Experiment.experiment_id)
        .order_by(Experiment.start_ts_utc, Experiment.experiment_id)
    ).all()
    return _typed(rows, {"experiment_id": "str", "name": "str", "description": "str", "target_segment": "str",
                         "arms": "str", "metric": "str", "start_ts_utc": "int64", "end_ts_utc": "float64",
                         "assigned": "int64"})


def experiment_outcomes(conn: Connection, experiment_id: str, start_ts: int, end_ts: int) -> pd.DataFrame:
    """Every user assigned to the experiment with what they bought in [start_ts, end_ts):
    customer_id, arm, orders (paid orders placed in the window), revenue (their amounts)."""
    bought = (Order.customer_id == ExperimentAssignment.customer_id) & Order.paid_ts_utc.is_not(None) \
        & (Order.ts_utc >= int(start_ts)) & (Order.ts_utc < int(end_ts))
    rows = conn.execute(
        select(ExperimentAssignment.customer_id, ExperimentAssignment.arm, func.count(Order.order_id),
               func.coalesce(func.sum(Order.amount), 0.0))
        .outerjoin(Order, bought)
        .where(ExperimentAssignment.experiment_id == experiment_id)
        .group_by(ExperimentAssignment.customer_id, ExperimentAssignment.arm)
        .order_by(ExperimentAssignment.customer_id)
    ).all()
    return _typed(rows, {"customer_id": "int64", "arm": "str", "orders": "int64", "revenue": "float64"})
