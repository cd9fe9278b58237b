"""Cached loaders the pages call: one query per refresh, shared by every session.

Loaders are keyed by the data minute of the scheduler's heartbeat, so each refresh is read
once whatever the number of viewers; `guarded` keeps the last good result on screen when a
query fails."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Callable

import pandas as pd
import streamlit as st

from cockpit import actions, alerts, panels
from cockpit.config import load_settings
from cockpit.db.engine import get_engine
from cockpit.metrics import ads, read, stock, traffic
from cockpit.timebuckets import day_start_minute, local_day_of

log = logging.getLogger(__name__)
HEARTBEAT_TTL_S = 5
PAGE_CACHE = {"ttl": 3600, "max_entries": 32, "show_spinner": False}


@st.cache_resource
def settings():
    return load_settings()


@st.cache_data(ttl=HEARTBEAT_TTL_S, show_spinner=False)
def heartbeat(db_url: str) -> read.Heartbeat | None:
    with get_engine(db_url).connect() as conn:
        return read.last_heartbeat(conn)


@dataclass(frozen=True)
class Freshness:
    data_minute: int | None
    finished_ts: float | None
    lag_s: float | None
    stale: bool


def freshness(db_url: str, refresh_seconds: int) -> Freshness:
    """How fresh the data is; stale when the last refresh is over two intervals old."""
    try:
        beat = heartbeat(db_url)
    except Exception as exc:  # the database is unreachable: say so, as stale
        log.warning("heartbeat unreadable: %s", exc)
        return Freshness(None, None, None, True)
    if beat is None:
        return Freshness(None, None, None, True)
    lag = time.time() - beat.finished_ts_utc
    return Freshness(beat.data_minute_utc, beat.finished_ts_utc, lag, lag > 2 * refresh_seconds + HEARTBEAT_TTL_S)


@dataclass(frozen=True)
class Loaded:
    """A loader's result: the value (or the last good one), the error if the query failed,
    and the data minute the value belongs to."""

    value: Any
    error: str | None = None
    as_of_minute: int | None = None


@st.cache_resource
def _last_good() -> dict:
    return {}


def guarded(name: str, data_minute: int, loader: Callable, *args) -> Loaded:
    """Call a cached loader; on failure return the last good value of `name` with the error."""
    try:
        value = loader(*args)
    except Exception as exc:
        log.exception("loader %s failed", name)
        value, as_of = _last_good().get(name, (None, None))
        return Loaded(value, f"{type(exc).__name__}: {str(exc)[:200]}", as_of)
    _last_good()[name] = (value, data_minute)
    return Loaded(value, None, data_minute)


def day_windows(data_minute: int, tz) -> dict[str, tuple[int, int]]:
    """Today so far, and the same span yesterday and a week ago: [start, end) epoch minutes."""
    today = local_day_of(data_minute, tz)
    end = data_minute + 1
    return {label: (day_start_minute(today - back, tz), end - back * 1440)
            for label, back in (("today", 0), ("yesterday", 1), ("last_week", 7))}


@st.cache_data(**PAGE_CACHE)
def overview(db_url: str, data_minute: int, timezone: str) -> dict:
    """KPIs today / yesterday / last week / last hour, six hours of series, panel states."""
    tz = settings().tz
    windows = day_windows(data_minute, tz)
    end = data_minute + 1
    with get_engine(db_url).connect() as conn:
        result = {label: read.kpis(conn, start, stop, tz) for label, (start, stop) in windows.items()}
        result["last_hour"] = read.kpis(conn, end - 60, end, tz)
        result["traffic"] = read.traffic_series(conn, end - 6 * 60, end, by_channel=False)
        result["sales"] = read.sales_series(conn, end - 6 * 60, end)
        week = 7 * 1440
        result["traffic_last_week"] = read.traffic_series(conn, end - 6 * 60 - week, end - week, by_channel=False)
        result["sales_last_week"] = read.sales_series(conn, end - 6 * 60 - week, end - week)
        result["campaigns"] = read.campaign_performance(conn, windows["today"][0], end)
        result["stock"] = read.stock_water_levels(conn, data_minute)
        result["panels"] = panels.panel_states(conn, data_minute, tz)
        result["markers"] = actions.action_markers(conn, (end - 6 * 60) * 60, end * 60)
    return result


@st.cache_data(**PAGE_CACHE)
def panel_states(db_url: str, data_minute: int, timezone: str) -> dict:
    with get_engine(db_url).connect() as conn:
        return panels.panel_states(conn, data_minute, settings().tz)


@st.cache_data(**PAGE_CACHE)
def traffic_page(db_url: str, data_minute: int, timezone: str, window: str) -> dict:
    """Funnels by channel and segment, conversion by hour, channel mix and engagement for the
    chosen window ("today" or "last_hour"), with the same span yesterday and last week."""
    tz = settings().tz
    spans = day_windows(data_minute, tz)
    if window == "last_hour":
        end = data_minute + 1
        spans = {label: (end - 60 - back * 1440, end - back * 1440)
                 for label, back in (("today", 0), ("yesterday", 1), ("last_week", 7))}
    result = {}
    with get_engine(db_url).connect() as conn:
        for label, (start, end) in spans.items():
            result[label] = {"kpis": read.kpis(conn, start, end, tz), **traffic.funnels(conn, start, end)}
        result["by_hour"] = {label: traffic.conversion_by_hour(conn, start, end, tz)
                             for label, (start, end) in day_windows(data_minute, tz).items()}
        start, end = spans["today"]
        result["mix"] = traffic.channel_mix(conn, start, end)
        result["engagement"] = traffic.engagement(conn, start, end)
    return result


@st.cache_data(**PAGE_CACHE)
def channel_detail(db_url: str, data_minute: int, channel: str) -> dict:
    end = data_minute + 1
    with get_engine(db_url).connect() as conn:
        return {
            "now": traffic.channel_series(conn, channel, end - 6 * 60, end),
            "last_week": traffic.channel_series(conn, channel, end - 6 * 60 - 7 * 1440, end - 7 * 1440),
        }


@st.cache_data(**PAGE_CACHE)
def stock_page(db_url: str, data_minute: int, slow_days: int) -> dict:
    with get_engine(db_url).connect() as conn:
        return {
            "levels": stock.stock_overview(conn, data_minute, slow_days=slow_days),
            "pending": stock.pending_replenishments(conn, data_minute),
        }


@st.cache_data(**PAGE_CACHE)
def sku_detail(db_url: str, data_minute: int, sku: str, warehouse_id: str) -> dict:
    end_ts = (data_minute + 1) * 60
    start_ts = end_ts - 14 * 86400
    with get_engine(db_url).connect() as conn:
        return {
            "history": stock.stock_history(conn, sku, warehouse_id, start_ts, end_ts),
            "sales": stock.sku_sales_series(conn, sku, start_ts // 60, end_ts // 60, bucket_minutes=360),
            "markers": actions.action_markers(conn, start_ts, end_ts, entity_kind="sku_warehouse",
                                              entity_id=f"{sku}|{warehouse_id}"),
        }


@st.cache_data(**PAGE_CACHE)
def ads_page(db_url: str, data_minute: int, timezone: str) -> dict:
    day_start = day_windows(data_minute, settings().tz)["today"][0]
    end = data_minute + 1
    with get_engine(db_url).connect() as conn:
        return {
            "channels": ads.channel_performance(conn, day_start, end),
            "pacing": ads.pacing_summary(conn, day_start, end),
            "curves": ads.spend_pacing(conn, day_start, end),
            "last_hour": read.campaign_performance(conn, end - 60, end),
            "markers": actions.action_markers(conn, day_start * 60, end * 60, entity_kind="campaign"),
        }


@st.cache_data(**PAGE_CACHE)
def campaign_detail(db_url: str, data_minute: int, campaign_id: str) -> dict:
    end = data_minute + 1
    start = end - 24 * 60
    with get_engine(db_url).connect() as conn:
        return {
            "series": ads.campaign_series(conn, campaign_id, start, end, bucket_minutes=30),
            "markers": actions.action_markers(conn, start * 60, end * 60, entity_kind="campaign", entity_id=campaign_id),
        }


@st.cache_data(ttl=30, show_spinner=False)
def open_alerts(db_url: str, data_minute: int) -> pd.DataFrame:
    with get_engine(db_url).connect() as conn:
        return alerts.open_alerts(conn)


@st.cache_data(ttl=30, show_spinner=False)
def alerts_page(db_url: str, data_minute: int) -> dict:
    with get_engine(db_url).connect() as conn:
        return {
            "open": alerts.open_alerts(conn),
            "recent": alerts.recent_alerts(conn, data_minute - 1440),
            "rules": alerts.all_rules(conn),
            "profile": alerts.active_profile(conn),
            "audit": actions.audit_log(conn, limit=500),
        }


def fresh_suggestion(db_url: str, sku: str, warehouse_id: str):
    """Not cached: the dialog must show the stock as it is now."""
    with get_engine(db_url).connect() as conn:
        return actions.replenishment_suggestion(conn, sku, warehouse_id, time.time())


def state_token(db_url: str, entity_kind: str, entity_id: str) -> str:
    """What the user sees now of an entity, for the action's idempotency key (not cached)."""
    with get_engine(db_url).connect() as conn:
        return actions.entity_state_token(conn, entity_kind, entity_id, time.time())


def fresh_recommendation(db_url: str, channel: str):
    with get_engine(db_url).connect() as conn:
        return actions.recommend_channel(conn, channel, time.time(), tz=settings().tz)


def clear_after_action() -> None:
    """An action changed the database: drop cached reads so every page shows its effect."""
    st.cache_data.clear()
