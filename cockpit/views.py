"""Each page's figures as one call: what a page shows for a data minute, without Streamlit.

The cached loaders of cockpit/ui call these; the scheduler publishes the common ones after
each refresh (PUBLISHED, cockpit.snapshots) so that app servers read one row per page and
minute instead of recomputing it; the bench replays them. Every view takes a connection, the
data minute (the heartbeat's) and the shop's timezone, plus the page's own arguments.
"""
from __future__ import annotations

from typing import Any, Callable
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from cockpit import actions, alerts, panels, snapshots
from cockpit.metrics import ads, read, stock, traffic
from cockpit.timebuckets import day_start_minute, local_day_of
from models import anomaly

WEEK = 7 * 1440
DEFAULT_SLOW_DAYS = 14  # the stock page's "slow mover" default


def day_windows(data_minute: int, tz: ZoneInfo) -> dict[str, tuple[int, int]]:
    """Today so far, and the same span yesterday and a week ago: [start, end) epoch minutes."""
    today = local_day_of(data_minute, tz)
    end = data_minute + 1
    return {label: (day_start_minute(today - back, tz), end - back * 1440)
            for label, back in (("today", 0), ("yesterday", 1), ("last_week", 7))}


def overview_numbers(conn: Connection, data_minute: int, tz: ZoneInfo) -> dict:
    """The overview's figures: KPIs today / yesterday / last week / last hour, six hours of
    series against a week ago, today's campaigns and the stock water levels."""
    windows = day_windows(data_minute, tz)
    end = data_minute + 1
    result: dict[str, Any] = {label: read.kpis(conn, start, stop, tz) for label, (start, stop) in windows.items()}
    result["last_hour"] = read.kpis(conn, end - 60, end, tz)
    result["traffic"] = read.traffic_series(conn, end - 6 * 60, end, by_channel=False)
    result["sales"] = read.sales_series(conn, end - 6 * 60, end)
    result["traffic_last_week"] = read.traffic_series(conn, end - 6 * 60 - WEEK, end - WEEK, by_channel=False)
    result["sales_last_week"] = read.sales_series(conn, end - 6 * 60 - WEEK, end - WEEK)
    result["campaigns"] = read.campaign_performance(conn, windows["today"][0], end)
    result["stock"] = read.stock_water_levels(conn, data_minute)
    return result


def overview(conn: Connection, data_minute: int, tz: ZoneInfo) -> dict:
    """overview_numbers, the panels' threshold states (both published when the scheduler has
    done so) and the action markers of the last 6 hours (read now: an action shows at once)."""
    end = data_minute + 1
    result = dict(load(conn, "overview_numbers", data_minute, tz))
    result["panels"] = load(conn, "panel_states", data_minute, tz)
    result["markers"] = actions.action_markers(conn, (end - 6 * 60) * 60, end * 60)
    return result


def panel_states(conn: Connection, data_minute: int, tz: ZoneInfo) -> dict:
    return panels.panel_states(conn, data_minute, tz)


def traffic_page(conn: Connection, data_minute: int, tz: ZoneInfo, window: str = "today") -> dict:
    """Funnels by channel and segment, conversion by hour, channel mix and engagement for the
    chosen window ("today" or "last_hour"), with the same span yesterday and last week."""
    if window not in ("today", "last_hour"):
        raise ValueError(f"window must be 'today' or 'last_hour', not {window!r}")
    spans = day_windows(data_minute, tz)
    if window == "last_hour":
        end = data_minute + 1
        spans = {label: (end - 60 - back * 1440, end - back * 1440)
                 for label, back in (("today", 0), ("yesterday", 1), ("last_week", 7))}
    result: dict[str, Any] = {}
    for label, (start, end) in spans.items():
        result[label] = {"kpis": read.kpis(conn, start, end, tz), **traffic.funnels(conn, start, end)}
    result["by_hour"] = {label: traffic.conversion_by_hour(conn, start, end, tz)
                         for label, (start, end) in day_windows(data_minute, tz).items()}
    start, end = spans["today"]
    result["mix"] = traffic.channel_mix(conn, start, end)
    result["engagement"] = traffic.engagement(conn, start, end)
    return result


def channel_detail(conn: Connection, data_minute: int, tz: ZoneInfo, channel: str) -> dict:
    end = data_minute + 1
    return {
        "known": traffic.channel_exists(conn, channel),
        "now": traffic.channel_series(conn, channel, end - 6 * 60, end),
        "last_week": traffic.channel_series(conn, channel, end - 6 * 60 - WEEK, end - WEEK),
    }


def stock_page(conn: Connection, data_minute: int, tz: ZoneInfo, slow_days: int = DEFAULT_SLOW_DAYS) -> dict:
    return {
        "levels": stock.stock_overview(conn, data_minute, slow_days=slow_days),
        "pending": stock.pending_replenishments(conn, data_minute),
    }


def sku_detail(conn: Connection, data_minute: int, tz: ZoneInfo, sku: str, warehouse_id: str) -> dict:
    end_ts = (data_minute + 1) * 60
    start_ts = end_ts - 14 * 86400
    return {
        "history": stock.stock_history(conn, sku, warehouse_id, start_ts, end_ts),
        "sales": stock.sku_sales_series(conn, sku, start_ts // 60, end_ts // 60, bucket_minutes=360),
        "markers": actions.action_markers(conn, start_ts, end_ts, entity_kind="sku_warehouse",
                                          entity_id=f"{sku}|{warehouse_id}"),
    }


def ads_page(conn: Connection, data_minute: int, tz: ZoneInfo) -> dict:
    day_start = day_windows(data_minute, tz)["today"][0]
    end = data_minute + 1
    return {
        "channels": ads.channel_performance(conn, day_start, end),
        "pacing": ads.pacing_summary(conn, day_start, end),
        "curves": ads.spend_pacing(conn, day_start, end),
        "last_hour": read.campaign_performance(conn, end - 60, end),
        "markers": actions.action_markers(conn, day_start * 60, end * 60, entity_kind="campaign"),
    }


def campaign_detail(conn: Connection, data_minute: int, tz: ZoneInfo, campaign_id: str) -> dict:
    end = data_minute + 1
    start = end - 24 * 60
    return {
        "series": ads.campaign_series(conn, campaign_id, start, end, bucket_minutes=30),
        "markers": actions.action_markers(conn, start * 60, end * 60, entity_kind="campaign", entity_id=campaign_id),
    }


def open_alerts(conn: Connection, data_minute: int, tz: ZoneInfo):
    return alerts.open_alerts(conn)


def alerts_page(conn: Connection, data_minute: int, tz: ZoneInfo) -> dict:
    return {
        "open": alerts.open_alerts(conn),
        "recent": alerts.recent_alerts(conn, data_minute - 1440),
        "rules": alerts.all_rules(conn),
        "profile": alerts.active_profile(conn),
        "audit": actions.audit_log(conn, limit=500),
    }


ANOMALY_DAYS = 14  # the hours scored and drawn
BASELINE_WEEKS = 3  # an hour is compared with the same hour of the weeks before
RECENT_HOURS = 48  # anomalies listed on the page
WEEK_HOURS = 7 * 24


def traffic_anomalies(conn: Connection, data_minute: int, tz: ZoneInfo, sensitivity: str = "medium") -> dict:
    """Hourly sessions of the last ANOMALY_DAYS complete hours scored by models.anomaly against
    the median of the same hour in the BASELINE_WEEKS weeks before (daily and weekly shapes at
    once; square-root scale for counts), or against robust STL with a daily season while the
    shop has less history; recent anomalies explained by channel against the same hour a week
    earlier.

    Returns {"series": hour_utc, sessions, expected, score, is_anomaly; "anomalies": the
    recent flagged hours; "explanations": {str(hour_utc): explain_change frame}; "method"}."""
    end_hour = (data_minute + 1) // 60  # complete hours only
    first_hour = end_hour - ANOMALY_DAYS * 24
    read_from = first_hour - BASELINE_WEEKS * WEEK_HOURS
    hourly = traffic.hourly_sessions(conn, read_from, end_hour)
    total = hourly.groupby("hour_utc")["sessions"].sum().reindex(range(read_from, end_hour), fill_value=0)
    empty = {"series": pd.DataFrame(columns=["hour_utc", "sessions", "expected", "score", "is_anomaly"]),
             "anomalies": pd.DataFrame(columns=["hour_utc", "sessions", "expected", "score"]), "explanations": {},
             "method": "", "threshold": 0.0}
    active = np.flatnonzero(total.to_numpy() > 0)
    if len(active) == 0 or end_hour - (read_from + active[0]) < 49:
        return empty
    total = total.iloc[active[0]:]  # from the shop's first traffic
    index = pd.DatetimeIndex(pd.to_datetime(total.index.to_numpy() * 3600, unit="s"), freq="h")
    series_in = pd.Series(total.to_numpy(dtype="float64"), index=index)
    if len(total) > BASELINE_WEEKS * WEEK_HOURS:
        detection = anomaly.detect(series_in, period=WEEK_HOURS, baseline="seasonal_median", seasons=BASELINE_WEEKS,
                                   transform="sqrt", sensitivity=sensitivity)
    else:
        detection = anomaly.detect(series_in, period=24, transform="sqrt", sensitivity=sensitivity)
    frame = detection.frame
    shown = total.index.to_numpy() >= first_hour
    series = pd.DataFrame({"hour_utc": total.index.to_numpy(dtype="int64")[shown],
                           "sessions": total.to_numpy(dtype="int64")[shown],
                           "expected": frame["expected"].to_numpy()[shown],
                           "score": frame["score"].to_numpy()[shown],
                           "is_anomaly": frame["is_anomaly"].to_numpy()[shown]})
    flagged = series[series["is_anomaly"] & (series["hour_utc"] >= end_hour - RECENT_HOURS)]
    explanations = {}
    for hour in flagged["hour_utc"].tolist():
        explanations[str(hour)] = anomaly.explain_change(
            hourly[hourly["hour_utc"] == hour - WEEK_HOURS], hourly[hourly["hour_utc"] == hour],
            dimension="channel", value="sessions")
    anomalies = flagged[["hour_utc", "sessions", "expected", "score"]].reset_index(drop=True)
    return {"series": series, "anomalies": anomalies, "explanations": explanations, "method": detection.method,
            "threshold": detection.threshold}


ANOMALY_ALERT_HOURS = 24


def anomaly_alerts(conn: Connection, data_minute: int, tz: ZoneInfo) -> dict:
    """The anomaly rules' alerts opened in the last ANOMALY_ALERT_HOURS (newest first, the
    columns of alerts.ALERT_COLUMNS) and, per alert, what moved when it opened
    (anomalies.explain over the rule's window: {str(alert_id): frame}; absent where the
    metric has nothing finer to split)."""
    from cockpit.metrics import anomalies

    recent = alerts.recent_alerts(conn, data_minute - ANOMALY_ALERT_HOURS * 60)
    recent = recent[recent["metric"].str.endswith("_anomaly")
                    & (recent["opened_minute"] >= data_minute - ANOMALY_ALERT_HOURS * 60)].reset_index(drop=True)
    windows = {rule.rule_id: rule.window_minutes for rule in alerts.all_rules(conn)}
    explanations = {}
    for row in recent.itertuples():
        found = anomalies.explain(conn, row.metric, row.entity_id, windows.get(row.rule_id, 60), int(row.opened_minute))
        if found is not None:
            explanations[str(row.alert_id)] = found
    return {"alerts": recent, "explanations": explanations,
            "dimensions": {metric: label for metric, label in anomalies.EXPLAINED_BY.items()}}


VIEWS: dict[str, Callable[..., Any]] = {
    "overview": overview, "overview_numbers": overview_numbers, "panel_states": panel_states, "traffic_page": traffic_page,
    "channel_detail": channel_detail, "stock_page": stock_page, "sku_detail": sku_detail, "ads_page": ads_page,
    "campaign_detail": campaign_detail, "open_alerts": open_alerts, "alerts_page": alerts_page,
    "traffic_anomalies": traffic_anomalies, "anomaly_alerts": anomaly_alerts,
}

# The views the scheduler publishes after each refresh, with the arguments every viewer of
# the default screens asks for. Drill-downs (one channel, SKU or campaign) and the alerts
# page (it changes with every acknowledgement) are computed by the app servers.
PUBLISHED: tuple[tuple[str, dict], ...] = (
    ("overview_numbers", {}),
    ("panel_states", {}),
    ("traffic_page", {"window": "today"}),
    ("traffic_page", {"window": "last_hour"}),
    ("stock_page", {"slow_days": DEFAULT_SLOW_DAYS}),
    ("ads_page", {}),
)


def snapshot_params(tz: ZoneInfo, params: dict) -> dict:
    return {"tz": tz.key, **params}


def load(conn: Connection, name: str, data_minute: int, tz: ZoneInfo, **params) -> Any:
    """A view's value for data_minute: its published snapshot when there is one, else computed."""
    if (name, params) in PUBLISHED:
        value = snapshots.fetch(conn, name, snapshot_params(tz, params), data_minute)
        if value is not None:
            return value
    return VIEWS[name](conn, data_minute, tz, **params)
