"""Target 4: every page's reads, as its loader makes them per refresh, p50 and p95 over repeated calls.

The page loaders of cockpit/ui/loaders.py call cockpit.views.load: the view the scheduler
published for the data minute (cockpit.snapshots), or for drill-downs and the alerts page the
view computed on the spot. They are replayed here without Streamlit (the same calls, one
pooled connection per call as the loaders take) on a seeded SQLite shop of 90 days (smoke: 1
day) whose views were published after its last refresh, as the scheduler does. Pages are
sampled round-robin, so each sample finds the caches as the pages before it left them. Each
case's note also gives what computing the view on the spot costs (what an app server does in
the minute before the scheduler publishes) and the slowest functions of that computation.
The seeded shop is shared with bench.naive through `seeded_shop` (paid once per run).

Run: .venv/bin/python -m bench.run --only panel_reads [--smoke]
"""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Connection, func, select
from sqlalchemy.exc import OperationalError

from bench.harness import BenchContext, Measurement, at_most
from cockpit import actions, alerts, jobs, panels, views
from cockpit.config import load_settings
from cockpit.db.engine import get_engine, upgrade_schema
from cockpit.db.schema import AggCampaignMinute, AggSkuMinute, AggTrafficMinute, RefreshRun
from cockpit.ingest.seed import seed_history
from cockpit.metrics import ads, read, stock, traffic
from cockpit.timebuckets import minute_of

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
    publish_seconds: float = 0.0  # the scheduler's publish_views after the last refresh


def shop_settings(url: str, scenario: str = SCENARIO, seed: int = SEED):
    return load_settings({"COCKPIT_DB_URL": url, "COCKPIT_SCENARIO": scenario, "COCKPIT_SOURCES": "simulator",
                          "COCKPIT_TIMEZONE": TZ.key, "COCKPIT_SIM_SEED": str(seed)})


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
        settings = shop_settings(url, scenario, seed)
        for step in range(1, LIVE_REFRESHES + 1):
            jobs.refresh(settings, now_ts=(now_minute + step) * 60 + 1)
        seconds = time.perf_counter() - started
    # As the scheduler does after each refresh (again for a reused file: views change with the code).
    upgrade_schema(url)
    published = jobs.publish_views(shop_settings(url), _heartbeat(url).data_minute_utc)
    beat = _heartbeat(url)
    with get_engine(url).connect() as conn:
        events = conn.execute(select(func.coalesce(func.sum(RefreshRun.events_ingested), 0))
                              .where(RefreshRun.status == "ok")).scalar()
        picks = _busiest(conn, beat.data_minute_utc)
    shop = Shop(url=url, days=days, events=int(events), seed_seconds=seconds, data_minute=int(beat.data_minute_utc),
                tz=TZ, publish_seconds=published.duration_s, **picks)
    _SHOPS[key] = shop
    return shop


# --- the pages' reads (cockpit/ui/loaders.py without Streamlit) ---------------------------------

@dataclass(frozen=True)
class Page:
    """One loader call: a view of cockpit.views and its arguments for the shop."""

    view: str
    params: Callable[[Shop], dict] = lambda shop: {}


# Case name -> the loader it replays. The drill-down pages also colour their header from
# panel_states and the overview shows open_alerts: those loaders are cases of their own.
PAGES: dict[str, Page] = {
    "overview": Page("overview"),
    "overview open_alerts": Page("open_alerts"),
    "traffic_page (today)": Page("traffic_page", lambda shop: {"window": "today"}),
    "traffic_page (last_hour)": Page("traffic_page", lambda shop: {"window": "last_hour"}),
    "channel_detail": Page("channel_detail", lambda shop: {"channel": shop.channel}),
    "panel_states (drill-down header)": Page("panel_states"),
    "stock_page": Page("stock_page", lambda shop: {"slow_days": SLOW_DAYS}),
    "sku_detail": Page("sku_detail", lambda shop: {"sku": shop.sku, "warehouse_id": shop.warehouse_id}),
    "ads_page": Page("ads_page"),
    "campaign_detail": Page("campaign_detail", lambda shop: {"campaign_id": shop.campaign_id}),
    "alerts_page": Page("alerts_page"),
}


def load(shop: Shop, page: Page):
    """One loader call: a pooled connection, the published view or the view computed, as loaders.py does."""
    with get_engine(shop.url).connect() as conn:
        return views.load(conn, page.view, shop.data_minute, shop.tz, **page.params(shop))


def compute(shop: Shop, page: Page):
    """The view computed on the spot, whether or not it is published."""
    with get_engine(shop.url).connect() as conn:
        return views.VIEWS[page.view](conn, shop.data_minute, shop.tz, **page.params(shop))


# The functions a view's computation spends its time in, timed by wrapping them for a pass.
PROFILED = {
    "read": ("kpis", "traffic_series", "sales_series", "campaign_performance", "stock_water_levels"),
    "panels": ("panel_states",),
    "traffic": ("funnels", "conversion_by_hour", "channel_mix", "engagement", "channel_series"),
    "stock": ("stock_overview", "pending_replenishments", "stock_history", "sku_sales_series"),
    "ads": ("channel_performance", "pacing_summary", "spend_pacing", "campaign_series"),
    "actions": ("action_markers", "audit_log"),
    "alerts": ("open_alerts", "recent_alerts", "all_rules"),
}


def breakdown(shop: Shop, page: Page, passes: int = BREAKDOWN_PASSES) -> list[tuple[str, float]]:
    """Median milliseconds per computation of the view spent in each function it calls, slowest first."""
    modules = {"read": read, "panels": panels, "traffic": traffic, "stock": stock, "ads": ads, "actions": actions,
               "alerts": alerts}
    per_pass: list[dict[str, float]] = []
    for _ in range(passes):
        spent: dict[str, float] = {}
        originals = []
        for module_name, names in PROFILED.items():
            module = modules[module_name]
            for name in names:
                original = getattr(module, name)
                originals.append((module, name, original))

                def timed_call(*args, _fn=original, _label=f"{module_name}.{name}", **kwargs):
                    started = time.perf_counter()
                    try:
                        return _fn(*args, **kwargs)
                    finally:
                        spent[_label] = spent.get(_label, 0.0) + (time.perf_counter() - started) * 1000

                setattr(module, name, timed_call)
        try:
            compute(shop, page)
        finally:
            for module, name, original in originals:
                setattr(module, name, original)
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
    computed: dict[str, list[float]] = {name: [] for name in PAGES}
    for _ in range(samples_wanted):
        for name, page in PAGES.items():
            started = time.perf_counter()
            load(shop, page)
            samples[name].append((time.perf_counter() - started) * 1000)
    for _ in range(ctx.size(5, 1)):
        for name, page in PAGES.items():
            started = time.perf_counter()
            compute(shop, page)
            computed[name].append((time.perf_counter() - started) * 1000)
    measurements = []
    history = f"{shop.days}-day {SCENARIO} shop, {shop.events:,} events, SQLite"
    for name, page in PAGES.items():
        p50, p95 = percentile(samples[name], 50), percentile(samples[name], 95)
        published = any(page.view == view and page.params(shop) == params for view, params in views.PUBLISHED)
        source = ("published by the scheduler" if published else
                  "overview_numbers and panel_states published, markers read" if page.view == "overview" else
                  "computed on each read (not published)")
        slowest = ", ".join(f"{part} {ms:.1f} ms" for part, ms in breakdown(shop, page, 1 if ctx.smoke else BREAKDOWN_PASSES)[:3])
        measurements.append(Measurement(
            benchmark="panel_reads", case=f"{name} p95", value=p95, unit="ms", target=f"<= {TARGET_MS:g} ms",
            met=at_most(p95, TARGET_MS), samples=[round(s, 3) for s in samples[name]],
            note=f"p50 {p50:.1f} ms, max {max(samples[name]):.1f} ms over {len(samples[name])} calls ({source}); "
                 f"{history}; computing the view on the spot: median {statistics.median(computed[name]):.1f} ms, "
                 f"slowest parts {slowest or 'none'}",
        ))
    measurements.append(Measurement(
        benchmark="panel_reads", case="publish_views after a refresh (scheduler)", value=shop.publish_seconds,
        unit="s", samples=[round(shop.publish_seconds, 4)],
        note=f"the scheduler computes and stores {len(views.PUBLISHED)} views once per data minute, after the "
             f"refresh has committed (outside its lock); {history}",
    ))
    return measurements
