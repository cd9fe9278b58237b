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
    # When the database could not be read: since when (epoch seconds, this process's first
    # failed attempt); data_minute is then the last heartbeat read before, whose cached
    # numbers the pages keep showing.
    unreachable_since: float | None = None


def freshness(db_url: str, refresh_seconds: int) -> Freshness:
    """How fresh the data is; stale when the last refresh is over two intervals old. When the
    database cannot be read, the last heartbeat this process read stands in (marked
    unreachable), so pages keep their last good numbers; the next run that reads it recovers."""
    memory = _last_good()
    try:
        beat = heartbeat(db_url)
    except Exception as exc:  # the database is unreachable: say so, keep the last good minute
        log.warning("heartbeat unreadable: %s", exc)
        since = memory.setdefault(("unreachable since", db_url), time.time())
        beat = memory.get(("heartbeat", db_url))
        if beat is None:
            return Freshness(None, None, None, True, since)
        return Freshness(beat.data_minute_utc, beat.finished_ts_utc, time.time() - beat.finished_ts_utc, True, since)
    memory.pop(("unreachable since", db_url), None)
    if beat is None:
        return Freshness(None, None, None, True)
    memory[("heartbeat", db_url)] = beat
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


@st.cache_data(ttl=300, max_entries=8, show_spinner=False)
def attribution(db_url: str, data_minute: int, timezone: str):
    """(minute the attribution was computed for, its value) as the scheduler last published
    it, or None before its first attribution run."""
    from cockpit import attribution as published

    with get_engine(db_url).connect() as conn:
        return published.latest_attribution(conn, settings().tz)


@st.cache_data(ttl=3600, max_entries=8, show_spinner=False)
def traffic_anomalies(db_url: str, hour_minute: int, timezone: str, sensitivity: str) -> dict:
    """Keyed by the last complete hour's minute: the model reads whole hours only."""
    return _view(db_url, "traffic_anomalies", hour_minute, sensitivity=sensitivity)


@st.cache_data(ttl=300, max_entries=8, show_spinner=False)
def anomaly_alerts(db_url: str, data_minute: int, timezone: str) -> dict:
    return _view(db_url, "anomaly_alerts", data_minute)


def fresh_suggestion(db_url: str, sku: str, warehouse_id: str):
    """Not cached: the dialog must show the stock as it is now. Driven by the SKU's sales
    forecast when the scheduler has one, else by the recent pace."""
    from cockpit import forecasting

    now = time.time()
    with get_engine(db_url).connect() as conn:
        forecast = forecasting.sku_forecast(conn, sku, settings().tz, int(now) // 60)
        return actions.replenishment_suggestion(conn, sku, warehouse_id, now, forecast=forecast)


def fresh_clearance_state(db_url: str, sku: str) -> dict:
    """Not cached: the dialog must show the SKU's stock and pace as they are now."""
    with get_engine(db_url).connect() as conn:
        return actions.clearance_state(conn, sku, time.time())


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


# --- customers (the scheduler stores the scores; cockpit.customers builds the views) -----------

@st.cache_data(ttl=60, max_entries=8, show_spinner=False)
def customer_runs(db_url: str, data_minute: int, timezone: str) -> dict:
    """{"days": the stored score days, oldest first; "fit": the newest run's description or None}."""
    from cockpit import customers
    from cockpit.metrics import customers as customer_reads

    with get_engine(db_url).connect() as conn:
        return {"days": customer_reads.score_days(conn), "fit": customers.latest_fit(conn, settings().tz)}


@st.cache_data(ttl=3600, max_entries=16, show_spinner=False)
def customer_day(db_url: str, day: int, computed_ts: float) -> dict:
    """The stored scores of `day` ("scores"), their segment summary ("summary") and the top
    customers ("top"); computed_ts (the newest run's) keys the cache, so a rerun is read afresh."""
    from cockpit import customers
    from cockpit.metrics import customers as customer_reads

    with get_engine(db_url).connect() as conn:
        scores = customer_reads.scores_of_day(conn, day)
    return {"scores": scores, "summary": customers.segment_summary(scores), "top": customers.top_customers(scores)}


@st.cache_data(ttl=3600, max_entries=16, show_spinner=False)
def segment_migration(db_url: str, from_day: int, to_day: int, computed_ts: float) -> dict:
    """{"matrix": customers by segment on from_day (rows) and to_day (columns), "moved": who
    went from valuable to at-risk, with their scores on to_day}."""
    from cockpit import customers

    before = customer_day(db_url, from_day, computed_ts)["scores"]
    after = customer_day(db_url, to_day, computed_ts)["scores"]
    moved = customers.migration(before, after, from_day, to_day)
    chosen = after[after["customer_id"].isin(moved.moved().index)]
    return {"matrix": moved.matrix, "moved": customers.top_customers(chosen, limit=len(chosen))}


@st.cache_data(ttl=3600, max_entries=16, show_spinner=False)
def segment_export(db_url: str, day: int, computed_ts: float, segment: str) -> pd.DataFrame:
    from cockpit import customers

    return customers.segment_export(customer_day(db_url, day, computed_ts)["scores"], segment)


@st.cache_data(**PAGE_CACHE)
def customers_page(db_url: str, as_of_day: int, timezone: str, window_days: int, period: str) -> dict:
    """The Customers page's order-based views up to as_of_day (cockpit.customers.customers_page)."""
    from cockpit import customers

    with get_engine(db_url).connect() as conn:
        return customers.customers_page(conn, as_of_day, settings().tz, window_days, period)


@st.cache_data(ttl=60, max_entries=64, show_spinner=False)
def customer_360(db_url: str, data_minute: int, customer_id: int) -> dict | None:
    """One customer's profile (cockpit.customers.customer_360), None for an unknown ID."""
    from cockpit import customers

    with get_engine(db_url).connect() as conn:
        return customers.customer_360(conn, customer_id)


@st.cache_data(ttl=300, max_entries=8, show_spinner=False)
def experiment_outcomes(db_url: str, data_minute: int) -> list:
    """Every experiment with its users' outcomes so far (cockpit.customers.experiments_page)."""
    from cockpit import customers

    with get_engine(db_url).connect() as conn:
        return customers.experiments_page(conn, data_minute)


@st.cache_data(ttl=300, max_entries=32, show_spinner=False)
def experiment_report(db_url: str, data_minute: int, experiment_id: str, minimum_detectable_effect: float):
    """An experiment's read-out (cockpit.customers.ExperimentReport) for the effect worth detecting."""
    from cockpit import customers

    for experiment, outcomes in experiment_outcomes(db_url, data_minute):
        if experiment["experiment_id"] == experiment_id:
            return customers.experiment_report(experiment, outcomes, data_minute, minimum_detectable_effect)
    return None


def as_of_day(data_minute: int, timezone: str) -> int:
    """The last complete shop-local day at data_minute (what the customer views are as of)."""
    from cockpit import customers

    return customers.as_of_day_for(data_minute, settings().tz)


@st.cache_data(**PAGE_CACHE)
def service_page(db_url: str, data_minute: int, timezone: str, window: str, response_target_s: int) -> dict:
    """The Service page's figures, trend, breakdowns and repurchase effect (cockpit.metrics.service)."""
    from cockpit.metrics import service

    with get_engine(db_url).connect() as conn:
        return service.service_page(conn, data_minute, settings().tz, window=window,
                                    response_target_s=response_target_s)


ACTION_EFFECT_CHOICES = 20  # the recent pauses, resumes and replenishments offered on the Alerts page


@st.cache_data(ttl=30, max_entries=4, show_spinner=False)
def notifications(db_url: str, data_minute: int) -> pd.DataFrame:
    """The newest alert messages and their delivery (cockpit.notify.recent_notifications)."""
    from cockpit import notify

    with get_engine(db_url).connect() as conn:
        return notify.recent_notifications(conn, limit=50)


@st.cache_data(ttl=300, max_entries=8, show_spinner=False)
def measured_actions(db_url: str, data_minute: int) -> pd.DataFrame:
    """The recent done pauses, resumes and replenishments, newest first
    (cockpit.metrics.action_effects.measured_actions)."""
    from cockpit.metrics import action_effects

    with get_engine(db_url).connect() as conn:
        return action_effects.measured_actions(conn, limit=ACTION_EFFECT_CHOICES)


def action_effect(db_url: str, data_minute: int, timezone: str, action_id: int) -> pd.DataFrame:
    """One action's effect rows (cockpit.action_effects.action_effects). Effects use complete
    hours only, so the result is cached per complete hour of data, not per data minute: a
    campaign's two forecast fits (about 2 s) run once an hour whatever the viewers."""
    return _action_effect(db_url, (int(data_minute) + 1) // 60, timezone, int(action_id))


@st.cache_data(**PAGE_CACHE)
def _action_effect(db_url: str, data_hour: int, timezone: str, action_id: int) -> pd.DataFrame:
    from zoneinfo import ZoneInfo

    from cockpit import action_effects

    with get_engine(db_url).connect() as conn:
        return action_effects.action_effects(conn, data_hour * 60 - 1, ZoneInfo(timezone), action_id=action_id)


@st.cache_data(ttl=60, show_spinner=False)
def weekly_reports(db_url: str, data_minute: int) -> dict:
    """The stored weekly reports (newest first) and the weeks a report can be built for (the
    complete weeks in the data, newest first, at most 12)."""
    from cockpit import report

    with get_engine(db_url).connect() as conn:
        return {"stored": report.report_list(conn), "buildable": report.buildable_weeks(conn, data_minute, settings().tz)}


@st.cache_data(ttl=3600, max_entries=4, show_spinner=False)
def weekly_report(db_url: str, week_start_day: int, created_ts: int) -> dict | None:
    """One stored report (keyed by its build time too: a rebuilt week is read again)."""
    from cockpit import report

    with get_engine(db_url).connect() as conn:
        return report.stored_report(conn, week_start_day)


def build_weekly_report(db_url: str, week_start_day: int, actor: str, lang: str | None = None):
    """Build and store a week's report now in `lang` (None: COCKPIT_LANG; not cached); raises
    report.ReportError."""
    from cockpit import report

    built = report.write_report(get_engine(db_url), week_start_day, settings(), created_by=actor, lang=lang)
    st.cache_data.clear()
    return built


@st.cache_data(ttl=300, max_entries=64, show_spinner=False)
def product_search(db_url: str, text: str) -> pd.DataFrame:
    from cockpit import product

    with get_engine(db_url).connect() as conn:
        return product.search(conn, text)


@st.cache_data(**PAGE_CACHE)
def product_360(db_url: str, data_minute: int, timezone: str, sku: str) -> dict | None:
    from cockpit import product

    with get_engine(db_url).connect() as conn:
        return product.product_360(conn, sku, data_minute, settings().tz)


@st.cache_data(**PAGE_CACHE)
def logistics_page(db_url: str, data_minute: int, timezone: str, days: int) -> dict:
    from cockpit import logistics

    with get_engine(db_url).connect() as conn:
        return logistics.logistics_page(conn, data_minute, settings().tz, days)


@st.cache_data(**PAGE_CACHE)
def products_page(db_url: str, data_minute: int, timezone: str, slow_days: int) -> dict:
    from cockpit import assortment

    with get_engine(db_url).connect() as conn:
        return assortment.products_page(conn, data_minute, settings().tz, slow_days=slow_days)


@st.cache_data(ttl=3600, max_entries=8, show_spinner=False)
def search_trends(db_url: str, today_start_minute: int, timezone: str) -> dict:
    """Keyed by the local day: the periods compared end with yesterday, so a day's reads are
    the same all day."""
    from cockpit import trends

    with get_engine(db_url).connect() as conn:
        return trends.search_trends(conn, today_start_minute, settings().tz)


@st.cache_data(ttl=300, max_entries=8, show_spinner=False)
def hours_sold(db_url: str, data_minute: int, timezone: str, day: int) -> pd.DataFrame:
    """Units sold on shop-local `day` up to the data minute, hour by hour
    (cockpit.forecasting.hours_sold), read once per data minute."""
    from cockpit import forecasting

    with get_engine(db_url).connect() as conn:
        return forecasting.hours_sold(conn, day, settings().tz, data_minute)
