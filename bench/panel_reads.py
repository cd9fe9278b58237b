"""Target 4: every page's reads, as its loader makes them per refresh, p50 and p95 over repeated calls.

The page loaders of cockpit/ui/loaders.py are replayed here without Streamlit (the same
functions with the same arguments, one pooled connection per call as the loaders take), on a
seeded SQLite shop of 90 days (smoke: 1 day). Pages are sampled round-robin, so each sample
finds the caches as the pages before it left them, as when several pages refresh in turn.
The seeded shop is shared with bench.naive through `seeded_shop` (paid once per run).

Run: .venv/bin/python -m bench.run --only panel_reads [--smoke]
"""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Connection, func, select
from sqlalchemy.exc import OperationalError

from bench.harness import BenchContext, Measurement, at_most
from cockpit import actions, alerts, jobs, panels
from cockpit.config import load_settings
from cockpit.db.engine import get_engine, upgrade_schema
from cockpit.db.schema import AggCampaignMinute, AggSkuMinute, AggTrafficMinute, RefreshRun
from cockpit.ingest.seed import seed_history
from cockpit.metrics import ads, read, stock, traffic
from cockpit.timebuckets import day_start_minute, local_day_of, minute_of

TZ = ZoneInfo("Asia/Shanghai")
SEED = 42
# The incident scenario gives the alerts page open alerts and an automatic action to show;
# its history before the last half hour is a normal shop's.
SCENARIO = "incident"
FULL_DAYS, SMOKE_DAYS = 90, 1
LIVE_REFRESHES = 2  # live refreshes after the seed: they evaluate the alert rules
SHOP_HOUR, SHOP_MINUTE = 14, 30  # "now" is the latest 14:30 in the shop's zone: a busy afternoon
SAMPLES_FULL, SAMPLES_SMOKE = 30, 3
WARMUP = 2
TARGET_MS = 20.0
SLOW_DAYS = 14  # the stock page's default "slow mover" setting
BREAKDOWN_PASSES = 5


# --- the seeded shop ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Shop:
    """A seeded SQLite shop and the entities its drill-downs open (the busiest of each kind)."""

    url: str
    days: int
    events: int
    seed_seconds: float  # 0 when an existing file was reused
    data_minute: int
    tz: ZoneInfo
    channel: str
    campaign_id: str
    sku: str
    warehouse_id: str


_SHOPS: dict[tuple, Shop] = {}


def shop_now_minute(tz: ZoneInfo = TZ) -> int:
    """The latest SHOP_HOUR:SHOP_MINUTE in the shop's zone, as an epoch minute: the same time of
    day on every run, so "today so far" is always 14.5 hours long."""
    now = datetime.now(tz)
    anchor = now.replace(hour=SHOP_HOUR, minute=SHOP_MINUTE, second=0, microsecond=0)
    if anchor > now:
        anchor -= timedelta(days=1)
    return minute_of(anchor)


def _heartbeat(url: str) -> read.Heartbeat | None:
    """The newest refresh of the shop at url; None when there is none (or no schema yet)."""
    try:
        with get_engine(url).connect() as conn:
            return read.last_heartbeat(conn)
    except OperationalError:
        return None


def _busiest(conn: Connection, data_minute: int) -> dict[str, str]:
    """The channel, campaign and SKU-warehouse with the most activity lately (the heaviest drill-downs)."""
    day = data_minute - 1440
    channel = conn.execute(
        select(AggTrafficMinute.channel).where(AggTrafficMinute.minute_utc > day)
        .group_by(AggTrafficMinute.channel).order_by(func.sum(AggTrafficMinute.sessions).desc()).limit(1)
    ).scalar()
    campaign = conn.execute(
        select(AggCampaignMinute.campaign_id).where(AggCampaignMinute.minute_utc > day)
        .group_by(AggCampaignMinute.campaign_id).order_by(func.sum(AggCampaignMinute.spend).desc()).limit(1)
    ).scalar()
    sku, warehouse = conn.execute(
        select(AggSkuMinute.sku, AggSkuMinute.warehouse_id).where(AggSkuMinute.minute_utc > data_minute - 14 * 1440)
        .group_by(AggSkuMinute.sku, AggSkuMinute.warehouse_id).order_by(func.sum(AggSkuMinute.units_sold).desc()).limit(1)
    ).one()
    return {"channel": channel, "campaign_id": campaign, "sku": sku, "warehouse_id": warehouse}


def seeded_shop(ctx: BenchContext, days: int | None = None, *, seed: int = SEED, scenario: str = SCENARIO) -> Shop:
    """The shop of `days` (default 90, smoke 1) under ctx.workdir, seeded once per run (module
    cache), or reused from a complete file left there by an earlier run (one whose seed
    finished: it has a heartbeat). Seeding ends at the latest 14:30 in the shop's zone and is
    followed by LIVE_REFRESHES one-minute refreshes, which evaluate the alert rules."""
    days = days or ctx.size(FULL_DAYS, SMOKE_DAYS)
    key = (str(ctx.workdir), days, seed, scenario)
    if key in _SHOPS:
        return _SHOPS[key]
    name = f"shop-{days}d-{scenario}-seed{seed}"
    url = ctx.sqlite_url(name)
    path = Path(ctx.workdir) / f"{name}.db"
    seconds = 0.0
    if not (path.exists() and _heartbeat(url) is not None):
        for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            leftover.unlink(missing_ok=True)
        upgrade_schema(url)
        now_minute = shop_now_minute()
        started = time.perf_counter()
        seed_history(get_engine(url), days=days, scenario=scenario, seed=seed, now_minute=now_minute, tz=TZ,
                     progress=False)
        settings = load_settings({"COCKPIT_DB_URL": url, "COCKPIT_SCENARIO": scenario, "COCKPIT_SOURCES": "simulator",
                                  "COCKPIT_TIMEZONE": TZ.key, "COCKPIT_SIM_SEED": str(seed)})
        for step in range(1, LIVE_REFRESHES + 1):
            jobs.refresh(settings, now_ts=(now_minute + step) * 60 + 1)
        seconds = time.perf_counter() - started
    beat = _heartbeat(url)
    with get_engine(url).connect() as conn:
        events = conn.execute(select(func.coalesce(func.sum(RefreshRun.events_ingested), 0))
                              .where(RefreshRun.status == "ok")).scalar()
        picks = _busiest(conn, beat.data_minute_utc)
    shop = Shop(url=url, days=days, events=int(events), seed_seconds=seconds, data_minute=int(beat.data_minute_utc),
                tz=TZ, **picks)
    _SHOPS[key] = shop
    return shop


# --- the pages' reads (cockpit/ui/loaders.py without Streamlit) ---------------------------------

Call = Callable[..., Any]


def plain(_name: str, fn: Callable, *args, **kwargs):
    return fn(*args, **kwargs)


def day_windows(data_minute: int, tz: ZoneInfo) -> dict[str, tuple[int, int]]:
    """As loaders.day_windows: today so far, and the same span yesterday and a week ago."""
    today = local_day_of(data_minute, tz)
    end = data_minute + 1
    return {label: (day_start_minute(today - back, tz), end - back * 1440)
            for label, back in (("today", 0), ("yesterday", 1), ("last_week", 7))}


def overview_numbers(conn: Connection, data_minute: int, tz: ZoneInfo, call: Call = plain) -> dict:
    """The overview loader's figures (KPIs, series, campaigns, stock): what bench.naive recomputes."""
    windows = day_windows(data_minute, tz)
    end = data_minute + 1
    week = 7 * 1440
    result = {label: call("read.kpis", read.kpis, conn, start, stop, tz) for label, (start, stop) in windows.items()}
    result["last_hour"] = call("read.kpis", read.kpis, conn, end - 60, end, tz)
    result["traffic"] = call("read.traffic_series", read.traffic_series, conn, end - 6 * 60, end, by_channel=False)
    result["sales"] = call("read.sales_series", read.sales_series, conn, end - 6 * 60, end)
    result["traffic_last_week"] = call("read.traffic_series", read.traffic_series, conn, end - 6 * 60 - week, end - week,
                                       by_channel=False)
    result["sales_last_week"] = call("read.sales_series", read.sales_series, conn, end - 6 * 60 - week, end - week)
    result["campaigns"] = call("read.campaign_performance", read.campaign_performance, conn, windows["today"][0], end)
    result["stock"] = call("read.stock_water_levels", read.stock_water_levels, conn, data_minute)
    return result


def overview(conn: Connection, shop: Shop, call: Call = plain) -> dict:
    end = shop.data_minute + 1
    result = overview_numbers(conn, shop.data_minute, shop.tz, call)
    result["panels"] = call("panels.panel_states", panels.panel_states, conn, shop.data_minute, shop.tz)
    result["markers"] = call("actions.action_markers", actions.action_markers, conn, (end - 6 * 60) * 60, end * 60)
    return result


def open_alerts(conn: Connection, shop: Shop, call: Call = plain):
    return call("alerts.open_alerts", alerts.open_alerts, conn)


def panel_states(conn: Connection, shop: Shop, call: Call = plain):
    return call("panels.panel_states", panels.panel_states, conn, shop.data_minute, shop.tz)


def _traffic_page(conn: Connection, shop: Shop, call: Call, window: str) -> dict:
    tz, data_minute = shop.tz, shop.data_minute
    spans = day_windows(data_minute, tz)
    if window == "last_hour":
        end = data_minute + 1
        spans = {label: (end - 60 - back * 1440, end - back * 1440)
                 for label, back in (("today", 0), ("yesterday", 1), ("last_week", 7))}
    result = {}
    for label, (start, end) in spans.items():
        result[label] = {"kpis": call("read.kpis", read.kpis, conn, start, end, tz),
                         **call("traffic.funnels", traffic.funnels, conn, start, end)}
    result["by_hour"] = {label: call("traffic.conversion_by_hour", traffic.conversion_by_hour, conn, start, end, tz)
                         for label, (start, end) in day_windows(data_minute, tz).items()}
    start, end = spans["today"]
    result["mix"] = call("traffic.channel_mix", traffic.channel_mix, conn, start, end)
    result["engagement"] = call("traffic.engagement", traffic.engagement, conn, start, end)
    return result


def traffic_page(conn: Connection, shop: Shop, call: Call = plain) -> dict:
    return _traffic_page(conn, shop, call, "today")


def traffic_page_last_hour(conn: Connection, shop: Shop, call: Call = plain) -> dict:
    return _traffic_page(conn, shop, call, "last_hour")


def channel_detail(conn: Connection, shop: Shop, call: Call = plain) -> dict:
    end = shop.data_minute + 1
    return {
        "now": call("traffic.channel_series", traffic.channel_series, conn, shop.channel, end - 6 * 60, end),
        "last_week": call("traffic.channel_series", traffic.channel_series, conn, shop.channel,
                          end - 6 * 60 - 7 * 1440, end - 7 * 1440),
    }


def stock_page(conn: Connection, shop: Shop, call: Call = plain) -> dict:
    return {
        "levels": call("stock.stock_overview", stock.stock_overview, conn, shop.data_minute, slow_days=SLOW_DAYS),
        "pending": call("stock.pending_replenishments", stock.pending_replenishments, conn, shop.data_minute),
    }


def sku_detail(conn: Connection, shop: Shop, call: Call = plain) -> dict:
    end_ts = (shop.data_minute + 1) * 60
    start_ts = end_ts - 14 * 86400
    return {
        "history": call("stock.stock_history", stock.stock_history, conn, shop.sku, shop.warehouse_id, start_ts, end_ts),
        "sales": call("stock.sku_sales_series", stock.sku_sales_series, conn, shop.sku, start_ts // 60, end_ts // 60,
                      bucket_minutes=360),
        "markers": call("actions.action_markers", actions.action_markers, conn, start_ts, end_ts,
                        entity_kind="sku_warehouse", entity_id=f"{shop.sku}|{shop.warehouse_id}"),
    }


def ads_page(conn: Connection, shop: Shop, call: Call = plain) -> dict:
    day_start = day_windows(shop.data_minute, shop.tz)["today"][0]
    end = shop.data_minute + 1
    return {
        "channels": call("ads.channel_performance", ads.channel_performance, conn, day_start, end),
        "pacing": call("ads.pacing_summary", ads.pacing_summary, conn, day_start, end),
        "curves": call("ads.spend_pacing", ads.spend_pacing, conn, day_start, end),
        "last_hour": call("read.campaign_performance", read.campaign_performance, conn, end - 60, end),
        "markers": call("actions.action_markers", actions.action_markers, conn, day_start * 60, end * 60,
                        entity_kind="campaign"),
    }


def campaign_detail(conn: Connection, shop: Shop, call: Call = plain) -> dict:
    end = shop.data_minute + 1
    start = end - 24 * 60
    return {
        "series": call("ads.campaign_series", ads.campaign_series, conn, shop.campaign_id, start, end, bucket_minutes=30),
        "markers": call("actions.action_markers", actions.action_markers, conn, start * 60, end * 60,
                        entity_kind="campaign", entity_id=shop.campaign_id),
    }


def alerts_page(conn: Connection, shop: Shop, call: Call = plain) -> dict:
    return {
        "open": call("alerts.open_alerts", alerts.open_alerts, conn),
        "recent": call("alerts.recent_alerts", alerts.recent_alerts, conn, shop.data_minute - 1440),
        "rules": call("alerts.all_rules", alerts.all_rules, conn),
        "profile": call("alerts.active_profile", alerts.active_profile, conn),
        "audit": call("actions.audit_log", actions.audit_log, conn, limit=500),
    }


# Case name -> the loader it replays. The drill-down pages also colour their header from
# panel_states and the overview shows open_alerts: those loaders are cases of their own.
PAGES: dict[str, Callable[[Connection, Shop, Call], Any]] = {
    "overview": overview,
    "overview open_alerts": open_alerts,
    "traffic_page (today)": traffic_page,
    "traffic_page (last_hour)": traffic_page_last_hour,
    "channel_detail": channel_detail,
    "panel_states (drill-down header)": panel_states,
    "stock_page": stock_page,
    "sku_detail": sku_detail,
    "ads_page": ads_page,
    "campaign_detail": campaign_detail,
    "alerts_page": alerts_page,
}


def load(shop: Shop, page: Callable, call: Call = plain):
    """One loader call: a pooled connection, the page's reads, as loaders.py does."""
    with get_engine(shop.url).connect() as conn:
        return page(conn, shop, call)


def breakdown(shop: Shop, page: Callable, passes: int = BREAKDOWN_PASSES) -> list[tuple[str, float]]:
    """Median milliseconds per pass spent in each function the page calls, slowest first."""
    per_pass: list[dict[str, float]] = []
    for _ in range(passes):
        spent: dict[str, float] = {}

        def call(name, fn, *args, **kwargs):
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name] = spent.get(name, 0.0) + (time.perf_counter() - started) * 1000

        load(shop, page, call)
        per_pass.append(spent)
    names = {name for spent in per_pass for name in spent}
    medians = [(name, statistics.median(spent.get(name, 0.0) for spent in per_pass)) for name in names]
    return sorted(medians, key=lambda item: -item[1])


def percentile(samples: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(samples, dtype="float64"), q))


def run(ctx: BenchContext) -> list[Measurement]:
    shop = seeded_shop(ctx)
    samples_wanted = ctx.size(SAMPLES_FULL, SAMPLES_SMOKE)
    for page in PAGES.values():  # warm the pool, the page cache and pandas' first-call paths
        for _ in range(WARMUP):
            load(shop, page)
    samples: dict[str, list[float]] = {name: [] for name in PAGES}
    for _ in range(samples_wanted):
        for name, page in PAGES.items():
            started = time.perf_counter()
            load(shop, page)
            samples[name].append((time.perf_counter() - started) * 1000)
    measurements = []
    history = f"{shop.days}-day {SCENARIO} shop, {shop.events:,} events, SQLite"
    for name, page in PAGES.items():
        p50, p95 = percentile(samples[name], 50), percentile(samples[name], 95)
        slowest = ", ".join(f"{part} {ms:.1f} ms" for part, ms in breakdown(shop, page, 1 if ctx.smoke else BREAKDOWN_PASSES)[:3])
        measurements.append(Measurement(
            benchmark="panel_reads", case=f"{name} p95", value=p95, unit="ms", target=f"<= {TARGET_MS:g} ms",
            met=at_most(p95, TARGET_MS), samples=[round(s, 3) for s in samples[name]],
            note=f"p50 {p50:.1f} ms, max {max(samples[name]):.1f} ms over {len(samples[name])} calls; {history}; "
                 f"slowest parts (median per call): {slowest}",
        ))
    return measurements
