"""The scheduler's attribution job: channel credit under every attribution model and each
campaign's return split into new and returning customers, published for the Attribution page.

Covers the last ATTRIBUTION_DAYS days up to the newest data minute; journeys reach back
LOOKBACK_DAYS further (orders there end the journeys before them but get no credit). Stored
as the "attribution" snapshot (cockpit.snapshots), refitted every COCKPIT_ATTRIBUTION_MINUTES.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Connection

from cockpit import snapshots
from cockpit.metrics import attribution as reads
from models import attribution

ATTRIBUTION_DAYS = 30
LOOKBACK_DAYS = 14
HALF_LIFE_DAYS = 7.0  # time decay: a touch a week before the order counts half as much
VIEW = "attribution"
CAMPAIGN_COLUMNS = ["campaign_id", "name", "channel", "spend", "orders_new", "revenue_new", "orders_returning",
                    "revenue_returning", "revenue", "roi", "roi_new_only", "new_share"]


@dataclass(frozen=True)
class AttributionRun:
    data_minute: int
    orders: int
    touches: int
    seconds: float


def campaign_new_vs_returning(orders: pd.DataFrame, first_order: pd.Series, spend: pd.DataFrame) -> pd.DataFrame:
    """Per campaign (the shop's own crediting of each order): orders and revenue from new
    customers (the order is their first paid one) and from returning ones, spend, ROI, the ROI
    counting new customers' revenue only, and the new customers' share of the revenue."""
    credited = orders[orders["campaign_id"].notna()]
    rows = []
    for campaign_id, group in credited.groupby("campaign_id"):
        split = attribution.new_vs_returning_revenue(
            pd.DataFrame({"visitor_id": group["customer_id"], "ts_utc": group["ts_utc"], "revenue": group["revenue"]}),
            first_order).set_index("segment")
        rows.append({"campaign_id": str(campaign_id), "orders_new": int(split.loc["new", "orders"]),
                     "revenue_new": float(split.loc["new", "revenue"]),
                     "orders_returning": int(split.loc["returning", "orders"]),
                     "revenue_returning": float(split.loc["returning", "revenue"])})
    frame = pd.DataFrame(rows, columns=["campaign_id", "orders_new", "revenue_new", "orders_returning",
                                        "revenue_returning"])
    frame = spend.merge(frame, on="campaign_id", how="outer")
    frame["name"] = frame["name"].fillna(frame["campaign_id"])
    frame["channel"] = frame["channel"].fillna("")
    frame = frame.fillna({"spend": 0.0, "orders_new": 0, "revenue_new": 0.0, "orders_returning": 0,
                          "revenue_returning": 0.0})
    frame["revenue"] = frame["revenue_new"] + frame["revenue_returning"]
    paid = frame["spend"].where(frame["spend"] > 0)
    frame["roi"] = (frame["revenue"] - frame["spend"]) / paid
    frame["roi_new_only"] = (frame["revenue_new"] - frame["spend"]) / paid
    frame["new_share"] = frame["revenue_new"] / frame["revenue"].where(frame["revenue"] > 0)
    frame = frame.astype({"campaign_id": "str", "name": "str", "channel": "str", "spend": "float64",
                          "orders_new": "int64", "revenue_new": "float64", "orders_returning": "int64",
                          "revenue_returning": "float64", "revenue": "float64", "roi": "float64",
                          "roi_new_only": "float64", "new_share": "float64"})
    return frame[CAMPAIGN_COLUMNS].sort_values("spend", ascending=False, ignore_index=True)


def compute_attribution(conn: Connection, data_minute: int, tz: ZoneInfo) -> dict:
    """The Attribution page's value for the ATTRIBUTION_DAYS days up to data_minute."""
    end_minute = data_minute + 1
    start_minute = end_minute - ATTRIBUTION_DAYS * 1440
    lookback_minute = start_minute - LOOKBACK_DAYS * 1440
    touches = reads.touches(conn, lookback_minute * 60, end_minute * 60)
    orders = reads.conversions(conn, lookback_minute * 60, end_minute * 60)
    spend = reads.spend(conn, start_minute, end_minute)
    channel_spend = spend.groupby("channel")["spend"].sum()
    credit = attribution.compare_models(touches, orders, as_of_ts=end_minute * 60 - 1, spend=channel_spend,
                                        half_life_days=HALF_LIFE_DAYS, since_ts=start_minute * 60)
    kinds = reads.channel_kinds(conn)
    credit["kind"] = credit["channel"].map(kinds).fillna("direct").astype("str")
    credit["channel"] = credit["channel"].astype("str")
    credit["model"] = credit["model"].astype("str")
    period_orders = orders[orders["ts_utc"] >= start_minute * 60]
    first = reads.first_order_ts(conn, period_orders["customer_id"])
    campaigns = campaign_new_vs_returning(period_orders, first, spend)
    return {"start_minute": int(start_minute), "end_minute": int(end_minute), "computed_ts": time.time(),
            "orders": int(len(period_orders)), "revenue": float(period_orders["revenue"].sum()),
            "touches": int(len(touches)), "history_start_minute": reads.first_order_minute(conn),
            "credit": credit.reset_index(drop=True), "campaigns": campaigns}


def publish_attribution(engine, tz: ZoneInfo) -> AttributionRun | None:
    """Compute the attribution for the newest data minute and store it; None before any refresh."""
    done = snapshots.publish_computed(engine, VIEW, {"tz": tz.key},
                                      lambda conn, minute: compute_attribution(conn, minute, tz))
    if done is None:
        return None
    minute, value, seconds = done
    return AttributionRun(minute, value["orders"], value["touches"], seconds)


def latest_attribution(conn: Connection, tz: ZoneInfo) -> tuple[int, dict] | None:
    """(data minute, value) of the newest published attribution, or None."""
    return snapshots.fetch_latest(conn, VIEW, {"tz": tz.key})
