"""Refresh at peak: one refresh run (ingest, aggregates, alerts, heartbeat) of a 20,000-event minute and a 100,000-event burst.

Each backend gets a seeded base database (a few days of simulated history), then each timed
refresh ingests one new synthetic minute (bench.synth) through `jobs.refresh(..., sources=[...])`.
The minute's frames are built before the clock starts; the figure is the wall time of the
refresh call (lock, ingest, re-aggregation, alert evaluation, heartbeat, commit), median of
ctx.repeats after one untimed warm-up. A separate instrumented run says where the time goes.
"""
from __future__ import annotations

import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import quote
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, event, func, select, text

from bench.harness import BenchContext, Measurement, at_most, median_of
from bench.synth import PEAK_ID_BASE, SynthCatalog, SyntheticMinuteSource
from cockpit import actions, alerts, jobs
from cockpit.config import load_settings
from cockpit.db.engine import dispose_engines, get_engine, upgrade_schema
from cockpit.db.schema import Session
from cockpit.ingest import writer
from cockpit.ingest.seed import seed_history

TZ = ZoneInfo("Asia/Shanghai")
NOW_MINUTE = 1_795_000_000 // 60  # the seeded present; refreshes then step one minute at a time
TARGETS_S = {("sqlite", 20_000): 0.25, ("postgresql", 20_000): 0.5}


@dataclass
class Base:
    """A seeded database and the next minute a refresh may ingest."""

    backend: str
    url: str
    catalog: SynthCatalog
    next_minute: int
    next_id: int = PEAK_ID_BASE  # every source continues the ids of the one before

    def source(self, events: int) -> SyntheticMinuteSource:
        return SyntheticMinuteSource(self.catalog, events, first_id=self.next_id)

    @property
    def settings(self):
        return load_settings({"COCKPIT_DB_URL": self.url, "COCKPIT_SOURCES": "simulator"})


def pg_schema_url(base_url: str, schema: str) -> str:
    sep = "&" if "?" in base_url else "?"
    return f"{base_url}{sep}options={quote(f'-csearch_path={schema}')}"


@contextmanager
def pg_schema(base_url: str):
    """A fresh PostgreSQL schema (its URL), dropped afterwards."""
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield pg_schema_url(base_url, schema)
    finally:
        dispose_engines()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def seeded_base(backend: str, url: str, days: int) -> Base:
    upgrade_schema(url)
    engine = get_engine(url)
    seed_history(engine, days=days, scenario="normal", seed=42, now_minute=NOW_MINUTE, tz=TZ, progress=False)
    with engine.connect() as conn:
        catalog = SynthCatalog.from_db(conn)
    return Base(backend, url, catalog, NOW_MINUTE)


def refresh_once(base: Base, source: SyntheticMinuteSource, *, attempts: int = 20) -> float:
    """Ingest one new synthetic minute; returns the refresh call's wall time in seconds.

    PostgreSQL's refresh lock is database-wide: when another process (e.g. a test run in
    another schema of the same database) holds it, the refresh is skipped and retried."""
    minute = base.next_minute
    base.next_minute += 1
    batch = source.prepare(minute)
    base.next_id = source.next_id
    for _ in range(attempts):
        started = time.perf_counter()
        report = jobs.refresh(base.settings, now_ts=(minute + 1) * 60 + 1, sources=[source])
        seconds = time.perf_counter() - started
        if report.status == "ok":
            # Replayed ids would be skipped by ON CONFLICT DO NOTHING and flatter the time.
            with get_engine(base.url).connect() as conn:
                stored = conn.execute(select(func.count()).select_from(Session).where(
                    Session.ts_utc >= minute * 60, Session.ts_utc < (minute + 1) * 60)).scalar()
            if report.events != source.events or report.data_minute != minute or stored != len(batch.frames["sessions"]):
                raise RuntimeError(f"refresh ingested {report.events} events ({stored} sessions) up to "
                                   f"{report.data_minute}, expected {source.events} in minute {minute}")
            return seconds
        time.sleep(0.2)
    raise RuntimeError(f"refresh skipped {attempts} times: another process holds the refresh lock")


def time_refreshes(base: Base, events: int, repeats: int) -> tuple[float, list[float]]:
    source = base.source(events)
    refresh_once(base, source)  # warm-up: first-use caches, compiled statements
    return median_of(lambda: refresh_once(base, source), repeats)


@contextmanager
def _patched(module, name: str, wrapper):
    original = getattr(module, name)
    setattr(module, name, wrapper(original))
    try:
        yield
    finally:
        setattr(module, name, original)


def profile_refresh(base: Base, events: int) -> dict[str, float]:
    """Seconds per step of one instrumented refresh: timers wrapped around the functions the
    refresh calls (the product is not changed), and the database's time per SQL statement
    kind from the engine's cursor events."""
    steps: dict[str, float] = {}

    def timer(label):
        def wrap(fn):
            def timed_call(*args, **kwargs):
                started = time.perf_counter()
                try:
                    return fn(*args, **kwargs)
                finally:
                    steps[label] = steps.get(label, 0.0) + time.perf_counter() - started
            return timed_call
        return wrap

    sql: dict[str, float] = {}
    engine = get_engine(base.url)

    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_started"] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        words = statement.split()
        kind = " ".join(words[:3]) if words and words[0] in ("INSERT", "DELETE") else (words[0] if words else "?")
        if words and words[0] == "UPDATE":
            kind = " ".join(words[:2])
        sql[kind] = sql.get(kind, 0.0) + time.perf_counter() - conn.info.pop("bench_started", time.perf_counter())

    source = base.source(events)
    patches = [
        (source, "collect", timer("collect (source)")),
        (jobs, "write_batch", timer("write_batch")),
        (writer, "_apply_stock_movements", timer("  stock movements")),
        (writer, "_upsert_unique_visitors", timer("  UV buckets")),
        (writer, "_apply_order_lifecycle", timer("  order lifecycle")),
        (jobs, "rebuild_minutes", timer("rebuild_minutes (aggregates)")),
        (alerts, "evaluate_alerts", timer("evaluate_alerts")),
        (actions, "run_auto_actions", timer("run_auto_actions")),
    ]
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        with _stack(patches):
            total = refresh_once(base, source)
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
    steps["  raw inserts (rest of write_batch)"] = steps.get("write_batch", 0.0) - sum(
        steps.get(k, 0.0) for k in ("  stock movements", "  UV buckets", "  order lifecycle"))
    steps["lock, heartbeat, commit, other"] = total - sum(
        steps.get(k, 0.0) for k in ("collect (source)", "write_batch", "rebuild_minutes (aggregates)",
                                    "evaluate_alerts", "run_auto_actions"))
    order = ["collect (source)", "write_batch", "  raw inserts (rest of write_batch)", "  stock movements",
             "  UV buckets", "  order lifecycle", "rebuild_minutes (aggregates)", "evaluate_alerts", "run_auto_actions",
             "lock, heartbeat, commit, other"]
    steps = {name: steps.get(name, 0.0) for name in order}
    steps["total"] = total
    top_sql = sorted(sql.items(), key=lambda item: -item[1])[:6]
    steps.update({f"sql: {kind}": seconds for kind, seconds in top_sql})
    return steps


@contextmanager
def _stack(patches):
    if not patches:
        yield
        return
    module, name, wrapper = patches[0]
    with _patched(module, name, wrapper), _stack(patches[1:]):
        yield


def format_split(steps: dict[str, float]) -> str:
    return "; ".join(f"{'of which ' if name.startswith('  ') else ''}{name.strip()} {seconds * 1000:.0f} ms"
                     for name, seconds in steps.items())


def measure_backend(ctx: BenchContext, backend: str, url: str, sizes: list[int]) -> list[Measurement]:
    base = seeded_base(backend, url, days=ctx.size(3, 1))
    found = []
    for events in sizes:
        value, samples = time_refreshes(base, events, ctx.repeats)
        # The target is the 20,000-event minute's (smoke sizes are held to it too).
        limit = TARGETS_S.get((backend, 20_000)) if events == sizes[0] else None
        steps = profile_refresh(base, events)
        found.append(Measurement(
            benchmark="refresh_peak", case=f"{backend}: refresh of a {events:,}-event minute", value=value, unit="s",
            target=f"<= {limit} s" if limit else None, met=at_most(value, limit) if limit else None, samples=samples,
            note=f"{events / value:,.0f} events/s; one instrumented run: {format_split(steps)}",
        ))
    return found


def run(ctx: BenchContext) -> list[Measurement]:
    sizes = [ctx.size(20_000, 500), ctx.size(100_000, 2_000)]
    found = measure_backend(ctx, "sqlite", ctx.sqlite_url(f"refresh-peak-{uuid.uuid4().hex[:6]}"), sizes)
    if ctx.pg_url:
        with pg_schema(ctx.pg_url) as url:
            found += measure_backend(ctx, "postgresql", url, sizes)
    dispose_engines()
    return found
