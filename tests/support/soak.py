"""The soak run: a day of minutes in accelerated time, in a process of its own, as the scheduler
runs it (lease, refresh with live simulated events, alert evaluation, heartbeat; the published
views; the hourly retention job), measuring the process's memory and the raw tables' size.

    python -m tests.support.soak DB_URL OUT_JSON [--minutes 1440] [--views-every 10]

The published views cost about a second per minute here, so they are computed every
--views-every minutes (every minute with 1): a day then fits in a CI run. Writes a JSON report.
"""
from __future__ import annotations

import argparse
import gc
import json
import logging
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from cockpit import jobs
from cockpit.config import load_settings
from cockpit.db.engine import get_engine, upgrade_schema
from cockpit.db.schema import AggTrafficMinute, CartAdd, PageView, Search, UvMinute
from cockpit.ingest.seed import seed_history
from cockpit.scheduler import CockpitScheduler

TZ = ZoneInfo("Asia/Shanghai")
T0 = 1_795_000_000 // 60  # the seeded present (epoch minute)
SEED_DAYS, RETENTION_DAYS = 2, 1
SAMPLE_EVERY = 60  # minutes between memory and size samples (and retention runs)
RAW_TABLES = {"page_views": PageView, "cart_adds": CartAdd, "searches": Search, "uv_minute": UvMinute}


def rss_mb() -> float:
    """This process's resident memory now (MB), after a full garbage collection."""
    gc.collect()
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def raw_rows(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {name: conn.execute(select(func.count()).select_from(model)).scalar() for name, model in RAW_TABLES.items()}


def traffic_by_minute(engine, before_minute: int) -> dict[int, list[int]]:
    """Sessions, page views and cart adds per minute before `before_minute` (the seeded past)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(AggTrafficMinute.minute_utc, func.sum(AggTrafficMinute.sessions), func.sum(AggTrafficMinute.page_views),
                   func.sum(AggTrafficMinute.cart_adds))
            .where(AggTrafficMinute.minute_utc < before_minute).group_by(AggTrafficMinute.minute_utc)).all()
    return {int(m): [int(s), int(v), int(c)] for m, s, v, c in rows}


def soak(db_url: str, minutes: int, views_every: int) -> dict:
    upgrade_schema(db_url)
    engine = get_engine(db_url)
    seed_history(engine, days=SEED_DAYS, scenario="normal", seed=7, now_minute=T0, tz=TZ, progress=False)
    seeded_traffic = traffic_by_minute(engine, T0 + 1)
    settings = load_settings({"COCKPIT_DB_URL": db_url, "COCKPIT_SOURCES": "simulator", "COCKPIT_SIM_SEED": "7",
                              "COCKPIT_RETENTION_DAYS": str(RETENTION_DAYS), "COCKPIT_REFRESH_SECONDS": "60"})
    scheduler = CockpitScheduler(settings, holder="soak")
    publish = jobs.publish_views
    samples, statuses, events, started = [], {}, 0, time.perf_counter()
    for i in range(1, minutes + 1):
        now_ts = (T0 + i + 1) * 60 + 1  # each minute complete one second before its tick
        jobs.publish_views = publish if i % views_every == 0 else (lambda *_args, **_kw: None)
        try:
            report = scheduler.tick(now_ts=now_ts)
        finally:
            jobs.publish_views = publish
        status = report.status if report is not None else "none"
        statuses[status] = statuses.get(status, 0) + 1
        events += report.events if report is not None else 0
        if i % SAMPLE_EVERY == 0 or i == 1:
            retention_ran = jobs.apply_retention(settings, now_ts=now_ts) if i % SAMPLE_EVERY == 0 else False
            samples.append({"minute": i, "rss_mb": round(rss_mb(), 1), "retention_ran": retention_ran,
                            "elapsed_s": round(time.perf_counter() - started, 1), **raw_rows(engine)})
    cutoff = T0 + minutes + 1 - RETENTION_DAYS * 1440
    now_traffic = traffic_by_minute(engine, T0 + 1)
    return {"db_url": db_url.split("?")[0], "minutes": minutes, "views_every": views_every, "statuses": statuses,
            "events": events, "samples": samples, "retention_cutoff_minute": cutoff, "t0": T0,
            "seeded_minutes_kept": sum(1 for m in seeded_traffic if now_traffic.get(m) == seeded_traffic[m]),
            "seeded_minutes": len(seeded_traffic), "seconds": round(time.perf_counter() - started, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db_url")
    parser.add_argument("out")
    parser.add_argument("--minutes", type=int, default=1440)
    parser.add_argument("--views-every", type=int, default=10)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    result = soak(args.db_url, args.minutes, args.views_every)
    Path(args.out).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
