"""Advertising queries behind the pages: channel performance, budget pacing, campaign series.

Windows are half-open minute ranges [start, end) in epoch minutes (UTC); money is in the shop's
currency. ROI = (revenue - spend) / spend and ROAS = revenue / spend, NaN without spend.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import Connection, case, func, select

from cockpit.db.schema import AggCampaignMinute, Campaign, Channel
from cockpit.metrics.read import campaign_performance
from cockpit.metrics.traffic import bucket_sums, ratio, typed
from cockpit.db.frames import to_frame

DAY = 1440

CHANNEL_COLUMNS = {
    "channel": "str", "name": "str", "kind": "str", "campaigns": "int64", "active_campaigns": "int64",
    "daily_budget": "float64", "spend": "float64", "clicks": "int64", "orders": "int64", "revenue": "float64",
    "roi": "float64", "roas": "float64",
}
PACING_COLUMNS = {
    "campaign_id": "str", "minute_utc": "int64", "spend_cum": "float64", "revenue_cum": "float64",
    "budget_line": "float64", "daily_budget": "float64",
}
SUMMARY_COLUMNS = {
    "campaign_id": "str", "name": "str", "channel": "str", "status": "str", "daily_budget": "float64",
    "spend_today": "float64", "expected_by_now": "float64", "pace": "float64", "roi_today": "float64",
    "roi_floor": "float64", "below_floor": "bool",
}
SERIES_COLUMNS = {
    "minute_utc": "int64", "spend": "float64", "revenue": "float64", "orders": "int64", "clicks": "int64",
    "roi": "float64", "roi_cum": "float64",
}


def _roi(revenue: pd.Series, spend: pd.Series) -> pd.Series:
    return ratio(revenue - spend, spend)


def _elapsed_fraction(day_start_minute: int, minutes) -> np.ndarray:
    """Share of a 1440-minute day gone by at `minutes`, between 0 and 1."""
    return np.clip((np.asarray(minutes, dtype="float64") - day_start_minute) / DAY, 0.0, 1.0)


def channel_performance(conn: Connection, start: int, end: int) -> pd.DataFrame:
    """Per channel that has campaigns, over [start, end).

    Columns: channel, name, kind, campaigns (count), active_campaigns, daily_budget (sum over
    active campaigns), spend, clicks, orders (attributed paid orders), revenue, roi, roas.
    Sorted by roi, best first, channels without spend last."""
    start, end = int(start), int(end)  # numpy integers bind as blobs in SQLite and compare wrongly
    campaigns = (
        select(
            Campaign.channel,
            func.count().label("campaigns"),
            func.sum(case((Campaign.status == "active", 1), else_=0)).label("active"),
            func.sum(case((Campaign.status == "active", Campaign.daily_budget), else_=0.0)).label("budget"),
        )
        .group_by(Campaign.channel)
        .subquery()
    )
    totals = (
        select(
            Campaign.channel, func.sum(AggCampaignMinute.spend).label("spend"),
            func.sum(AggCampaignMinute.clicks).label("clicks"), func.sum(AggCampaignMinute.orders).label("orders"),
            func.sum(AggCampaignMinute.revenue).label("revenue"),
        )
        .join(Campaign, Campaign.campaign_id == AggCampaignMinute.campaign_id)
        .where(AggCampaignMinute.minute_utc >= start, AggCampaignMinute.minute_utc < end)
        .group_by(Campaign.channel)
        .subquery()
    )
    rows = conn.execute(
        select(
            campaigns.c.channel, Channel.name, Channel.kind, campaigns.c.campaigns, campaigns.c.active,
            campaigns.c.budget, func.coalesce(totals.c.spend, 0.0), func.coalesce(totals.c.clicks, 0),
            func.coalesce(totals.c.orders, 0), func.coalesce(totals.c.revenue, 0.0),
        )
        .select_from(campaigns)
        .outerjoin(Channel, Channel.channel == campaigns.c.channel)
        .outerjoin(totals, totals.c.channel == campaigns.c.channel)
    ).all()
    summed = list(CHANNEL_COLUMNS)[:10]  # all but the ratios
    frame = typed(to_frame(rows, summed), {name: CHANNEL_COLUMNS[name] for name in summed})
    frame["roi"] = _roi(frame["revenue"], frame["spend"])
    frame["roas"] = ratio(frame["revenue"], frame["spend"])
    frame = frame.sort_values(["roi", "channel"], ascending=[False, True], na_position="last", kind="stable")
    return typed(frame.reset_index(drop=True), CHANNEL_COLUMNS)


def _budgets(conn: Connection) -> pd.DataFrame:
    rows = conn.execute(select(Campaign.campaign_id, Campaign.daily_budget).order_by(Campaign.campaign_id)).all()
    return typed(to_frame(rows, ["campaign_id", "daily_budget"]), {"campaign_id": "str", "daily_budget": "float64"})


def spend_pacing(conn: Connection, day_start_minute: int, end_minute: int, bucket_minutes: int = 10) -> pd.DataFrame:
    """Cumulative spend and revenue of every campaign through the day, against its budget line.

    Buckets step by bucket_minutes from day_start_minute; the last ends at end_minute.
    Columns: campaign_id, minute_utc (bucket end: the cumulative figures cover
    [day_start_minute, minute_utc)), spend_cum, revenue_cum, budget_line (daily_budget times
    the elapsed fraction of a 1440-minute day, capped at 1), daily_budget. Sorted by campaign
    and minute."""
    if bucket_minutes < 1:
        raise ValueError(f"bucket_minutes must be a positive number of minutes, got {bucket_minutes}")
    day_start_minute, end_minute, bucket_minutes = int(day_start_minute), int(end_minute), int(bucket_minutes)
    budgets = _budgets(conn)
    if end_minute <= day_start_minute or budgets.empty:
        return typed(pd.DataFrame(columns=list(PACING_COLUMNS)), PACING_COLUMNS)
    inner = (
        select(
            AggCampaignMinute.campaign_id,
            ((AggCampaignMinute.minute_utc - day_start_minute) // bucket_minutes).label("bucket"),
            AggCampaignMinute.spend, AggCampaignMinute.revenue,
        )
        .where(AggCampaignMinute.minute_utc >= day_start_minute, AggCampaignMinute.minute_utc < end_minute)
        .subquery()
    )
    rows = conn.execute(
        select(inner.c.campaign_id, inner.c.bucket, func.sum(inner.c.spend), func.sum(inner.c.revenue))
        .group_by(inner.c.campaign_id, inner.c.bucket)
    ).all()
    buckets = range((end_minute - day_start_minute + bucket_minutes - 1) // bucket_minutes)
    grid = pd.MultiIndex.from_product([budgets["campaign_id"], buckets], names=["campaign_id", "bucket"])
    sums = to_frame(rows, ["campaign_id", "bucket", "spend", "revenue"])
    sums["bucket"] = pd.to_numeric(sums["bucket"]).astype("int64")
    sums = sums.set_index(["campaign_id", "bucket"]).reindex(grid, fill_value=0.0).astype("float64").reset_index()
    cumulative = sums.groupby("campaign_id", sort=False)[["spend", "revenue"]].cumsum()
    frame = sums[["campaign_id"]].assign(
        minute_utc=np.minimum(day_start_minute + (sums["bucket"] + 1) * bucket_minutes, end_minute),
        spend_cum=cumulative["spend"],
        revenue_cum=cumulative["revenue"],
    ).merge(budgets, on="campaign_id")
    frame["budget_line"] = frame["daily_budget"] * _elapsed_fraction(day_start_minute, frame["minute_utc"])
    return typed(frame, PACING_COLUMNS)


def pacing_summary(conn: Connection, day_start_minute: int, end_minute: int) -> pd.DataFrame:
    """Per campaign, today so far ([day_start_minute, end_minute)).

    Columns: campaign_id, name, channel, status, daily_budget, spend_today, expected_by_now
    (daily_budget times the elapsed fraction of a 1440-minute day, capped at 1), pace =
    spend_today / expected_by_now, roi_today, roi_floor, below_floor (roi_today < roi_floor;
    False without spend). Sorted by campaign."""
    day_start_minute, end_minute = int(day_start_minute), int(end_minute)
    perf = campaign_performance(conn, day_start_minute, max(end_minute, day_start_minute))
    frame = perf.merge(_budgets(conn), on="campaign_id")
    frame = typed(frame, {
        "campaign_id": "str", "name": "str", "channel": "str", "status": "str", "daily_budget": "float64",
        "spend": "float64", "revenue": "float64", "roi_floor": "float64",
    })
    frame["spend_today"] = frame["spend"]
    frame["expected_by_now"] = frame["daily_budget"] * float(_elapsed_fraction(day_start_minute, end_minute))
    frame["pace"] = ratio(frame["spend_today"], frame["expected_by_now"])
    frame["roi_today"] = _roi(frame["revenue"], frame["spend"])
    frame["below_floor"] = frame["roi_today"] < frame["roi_floor"]  # NaN (no spend) compares False
    frame = frame.sort_values("campaign_id", kind="stable").reset_index(drop=True)
    return typed(frame, SUMMARY_COLUMNS)


def campaign_series(conn: Connection, campaign_id: str, start: int, end: int, bucket_minutes: int = 10) -> pd.DataFrame:
    """One campaign over [start, end) in buckets of bucket_minutes, zeros included.

    Columns: minute_utc (bucket start), spend, revenue, orders (attributed paid orders),
    clicks, roi (of the bucket, NaN without spend), roi_cum (from start through the bucket)."""
    frame = bucket_sums(
        conn, AggCampaignMinute, ["spend", "revenue", "orders", "clicks"], start, end, bucket_minutes,
        AggCampaignMinute.campaign_id == campaign_id,
    )
    frame["roi"] = _roi(frame["revenue"], frame["spend"])
    frame["roi_cum"] = _roi(frame["revenue"].cumsum(), frame["spend"].cumsum())
    return typed(frame, SERIES_COLUMNS)
