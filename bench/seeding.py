"""Benchmark 7: events written per second when seeding history, against raw sqlite3 bulk inserts."""
from __future__ import annotations

import sqlite3
import time
from zoneinfo import ZoneInfo

import numpy as np

from bench.harness import BenchContext, Measurement, at_least, median_of
from cockpit.db.engine import dispose_engines, get_engine, upgrade_schema
from cockpit.ingest.seed import seed_history

TZ = ZoneInfo("Asia/Shanghai")
TARGET_EVENTS_PER_S = 250_000


def _seed_once(ctx: BenchContext, run: int, days: int) -> float:
    url = ctx.sqlite_url(f"seeding-{run}")
    upgrade_schema(url)
    report = seed_history(get_engine(url), days=days, scenario="normal", seed=run + 1,
                          now_minute=int(time.time()) // 60, tz=TZ, progress=False)
    dispose_engines()
    return report.events_per_second


def _raw_bulk_rate(ctx: BenchContext, rows: int) -> float:
    """Rows per second of a plain sqlite3 executemany into a page_views-shaped table: the
    ceiling any SQLite loader can reach on this machine."""
    path = ctx.workdir / "raw-bulk.db"
    path.unlink(missing_ok=True)
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE page_views (event_id INTEGER PRIMARY KEY, session_id INTEGER, visitor_id INTEGER, "
               "ts_utc INTEGER, channel TEXT, is_returning INTEGER, page_type TEXT, sku TEXT)")
    db.execute("CREATE INDEX ix_ts ON page_views (ts_utc)")
    rng = np.random.default_rng(1)
    ts = np.sort(rng.integers(1_700_000_000, 1_700_086_400, rows))
    data = list(zip(range(rows), rng.integers(0, 10**9, rows).tolist(), rng.integers(0, 10**7, rows).tolist(),
                    ts.tolist(), ["organic"] * rows, [0] * rows, ["product"] * rows, ["SKU-1"] * rows))
    started = time.perf_counter()
    with db:
        db.executemany("INSERT INTO page_views VALUES (?, ?, ?, ?, ?, ?, ?, ?)", data)
    seconds = time.perf_counter() - started
    db.close()
    return rows / seconds


def run(ctx: BenchContext) -> list[Measurement]:
    days = ctx.size(10, 1)
    runs = iter(range(100))
    ours, samples = median_of(lambda: _seed_once(ctx, next(runs), days), min(ctx.repeats, 3))
    raw, raw_samples = median_of(lambda: _raw_bulk_rate(ctx, ctx.size(1_000_000, 20_000)), min(ctx.repeats, 3))
    return [
        Measurement("seeding", f"seed_history, {days} days (SQLite)", ours, "events/s",
                    target=f">= {TARGET_EVENTS_PER_S:,} events/s", met=at_least(ours, TARGET_EVENTS_PER_S),
                    baseline=raw, ratio=ours / raw, samples=samples,
                    note="baseline: raw sqlite3 executemany of page_views-shaped rows into one indexed table "
                         f"(samples {', '.join(f'{s:,.0f}' for s in raw_samples)} rows/s)"),
    ]
