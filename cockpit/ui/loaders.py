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

from cockpit import actions, views
from cockpit.config import load_settings
from cockpit.db.engine import get_engine
from cockpit.metrics import read

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


def _view(db_url: str, name: str, data_minute: int, **params):
    """The view published by the scheduler for data_minute, or computed here if it has not been."""
    with get_engine(db_url).connect() as conn:
        return views.load(conn, name, data_minute, settings().tz, **params)


# `timezone` is part of each key: the cache must not serve one zone's "today" to another.
@st.cache_data(**PAGE_CACHE)
def overview(db_url: str, data_minute: int, timezone: str) -> dict:
    """KPIs today / yesterday / last week / last hour, six hours of series, panel states."""
    return _view(db_url, "overview", data_minute)


@st.cache_data(**PAGE_CACHE)
def panel_states(db_url: str, data_minute: int, timezone: str) -> dict:
    return _view(db_url, "panel_states", data_minute)


@st.cache_data(**PAGE_CACHE)
def traffic_page(db_url: str, data_minute: int, timezone: str, window: str) -> dict:
    """Funnels, conversion by hour, channel mix and engagement for "today" or "last_hour"."""
    return _view(db_url, "traffic_page", data_minute, window=window)


@st.cache_data(**PAGE_CACHE)
def channel_detail(db_url: str, data_minute: int, channel: str) -> dict:
    return _view(db_url, "channel_detail", data_minute, channel=channel)


@st.cache_data(**PAGE_CACHE)
def stock_page(db_url: str, data_minute: int, slow_days: int) -> dict:
    return _view(db_url, "stock_page", data_minute, slow_days=slow_days)


@st.cache_data(**PAGE_CACHE)
def sku_detail(db_url: str, data_minute: int, sku: str, warehouse_id: str) -> dict:
    return _view(db_url, "sku_detail", data_minute, sku=sku, warehouse_id=warehouse_id)


@st.cache_data(**PAGE_CACHE)
def ads_page(db_url: str, data_minute: int, timezone: str) -> dict:
    return _view(db_url, "ads_page", data_minute)


@st.cache_data(**PAGE_CACHE)
def campaign_detail(db_url: str, data_minute: int, campaign_id: str) -> dict:
    return _view(db_url, "campaign_detail", data_minute, campaign_id=campaign_id)


@st.cache_data(ttl=30, show_spinner=False)
def open_alerts(db_url: str, data_minute: int) -> pd.DataFrame:
    return _view(db_url, "open_alerts", data_minute)


@st.cache_data(ttl=30, show_spinner=False)
def alerts_page(db_url: str, data_minute: int) -> dict:
    return _view(db_url, "alerts_page", data_minute)


@st.cache_data(ttl=300, max_entries=8, show_spinner=False)
def forecasts(db_url: str, data_minute: int, timezone: str):
    """(minute the forecasts were computed for, their value) as the scheduler last published
    them, or None before its first forecast run."""
    from cockpit import forecasting

    with get_engine(db_url).connect() as conn:
        return forecasting.latest_forecasts(conn, settings().tz)


@st.cache_data(ttl=3600, max_entries=8, show_spinner=False)
def traffic_anomalies(db_url: str, hour_minute: int, timezone: str, sensitivity: str) -> dict:
    """Keyed by the last complete hour's minute: the model reads whole hours only."""
    return _view(db_url, "traffic_anomalies", hour_minute, sensitivity=sensitivity)


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
