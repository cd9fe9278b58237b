"""Cached loaders the pages call: one query per refresh, shared by every session."""
from __future__ import annotations

import time
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from cockpit.config import load_settings
from cockpit.db.engine import get_engine
from cockpit.metrics import read
from cockpit.timebuckets import day_start_minute, local_day_of

HEARTBEAT_TTL_S = 5


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
    beat = heartbeat(db_url)
    if beat is None:
        return Freshness(None, None, None, True)
    lag = time.time() - beat.finished_ts_utc
    return Freshness(beat.data_minute_utc, beat.finished_ts_utc, lag, lag > 2 * refresh_seconds + HEARTBEAT_TTL_S)


@st.cache_data(ttl=3600, max_entries=64, show_spinner=False)
def overview(db_url: str, data_minute: int, timezone: str) -> dict:
    """Today-so-far, the same time yesterday and last week, the last hour, and panels' tables.

    Keyed by the data minute, so each refresh is read once whatever the number of viewers."""
    tz = settings().tz
    today = local_day_of(data_minute, tz)
    end = data_minute + 1
    windows = {}
    for label, days_back in (("today", 0), ("yesterday", 1), ("last_week", 7)):
        start = day_start_minute(today - days_back, tz)
        windows[label] = (start, end - days_back * 1440)
    with get_engine(db_url).connect() as conn:
        result = {label: read.kpis(conn, start, stop, tz) for label, (start, stop) in windows.items()}
        result["last_hour"] = read.kpis(conn, end - 60, end, tz)
        result["traffic"] = read.traffic_series(conn, end - 6 * 60, end)
        result["sales"] = read.sales_series(conn, end - 6 * 60, end)
        result["campaigns"] = read.campaign_performance(conn, day_start_minute(today, tz), end)
        result["stock"] = read.stock_water_levels(conn, data_minute)
    return result


@st.cache_data(ttl=30, show_spinner=False)
def open_alerts(db_url: str, data_minute: int) -> pd.DataFrame:
    from cockpit import alerts

    with get_engine(db_url).connect() as conn:
        return alerts.open_alerts(conn)
