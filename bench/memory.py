"""Peak memory: the scheduler's resident set during a peak refresh and the app server's with 50 viewers; target under 400 MB each.

Scheduler: a child process imports what `python -m cockpit scheduler` imports, runs one
ordinary simulator refresh (the scheduler's steady state), then a refresh of a 20,000-event
minute and one of a 100,000-event burst (bench.synth, as bench.refresh_peak) on a seeded base
(3 days; smoke: 1 day and small minutes). It reports its own peak resident set (VmHWM of
/proc/self/status) after each step, so every figure is the process's peak up to then, the
synthetic minute's frames included.

App server: the peak resident set (VmHWM) of the app server process at the end of bench.viewers'
run with the most sessions (50; smoke: 3), shared with that benchmark (measured once per run).

Run: .venv/bin/python -m bench.run --only memory [--smoke]
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from bench.harness import BenchContext, Measurement, at_most
from bench.refresh_peak import NOW_MINUTE, pg_schema, seeded_base
from bench.synth import PEAK_ID_BASE
from bench.viewers import phases, proc_memory_mb, shop_label
from cockpit.db.engine import dispose_engines

ROOT = Path(__file__).resolve().parent.parent
TARGET_MB = 400.0


def scheduler_child(url: str, events: list[int]) -> dict:
    """In the child: the steady state, then one refresh per size in `events`; the process's
    resident set (MB) after each step. Raises when a refresh does not ingest its minute."""
    import cockpit.scheduler  # noqa: F401  (the scheduler process's imports: APScheduler and all)
    from bench.synth import SynthCatalog, SyntheticMinuteSource
    from cockpit import jobs
    from cockpit.config import load_settings
    from cockpit.db.engine import get_engine

    pid = os.getpid()
    steps = {"imports": proc_memory_mb(pid, "VmHWM")}
    settings = load_settings({"COCKPIT_DB_URL": url, "COCKPIT_SOURCES": "simulator"})
    minute = NOW_MINUTE
    report = jobs.refresh(settings, now_ts=(minute + 1) * 60 + 1)  # an ordinary minute from the simulator
    if report.status != "ok":
        raise RuntimeError(f"the ordinary refresh {report.status}: {report.message}")
    steps["ordinary refresh"] = proc_memory_mb(pid, "VmHWM")
    with get_engine(url).connect() as conn:
        catalog = SynthCatalog.from_db(conn)
    next_id = PEAK_ID_BASE
    for size in events:
        minute += 1
        source = SyntheticMinuteSource(catalog, size, first_id=next_id)
        source.prepare(minute)
        next_id = source.next_id
        before = proc_memory_mb(pid, "VmRSS")
        report = jobs.refresh(settings, now_ts=(minute + 1) * 60 + 1, sources=[source])
        if report.status != "ok" or report.events != size or report.data_minute != minute:
            raise RuntimeError(f"the {size}-event refresh: {report.status}, {report.events} events, {report.message}")
        steps[f"before {size}"] = before
        steps[str(size)] = proc_memory_mb(pid, "VmHWM")
    return steps


def scheduler_peaks(url: str, events: list[int]) -> dict:
    """Run scheduler_child in a fresh process; its steps (MB)."""
    done = subprocess.run([sys.executable, "-m", "bench.memory", url, *map(str, events)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"the scheduler child failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def scheduler_measurements(ctx: BenchContext, backend: str, url: str) -> list[Measurement]:
    days = ctx.size(3, 1)
    sizes = [ctx.size(20_000, 500), ctx.size(100_000, 2_000)]
    seeded_base(backend, url, days=days)
    dispose_engines()  # the child alone holds the database during its refreshes
    steps = scheduler_peaks(url, sizes)
    found = []
    for size in sizes:
        target = size == sizes[0]
        found.append(Measurement(
            benchmark="memory", case=f"{backend}: scheduler peak RSS, refresh of a {size:,}-event minute",
            value=steps[str(size)], unit="MB", target=f"<= {TARGET_MB:g} MB" if target else None,
            met=at_most(steps[str(size)], TARGET_MB) if target else None, samples=[steps[str(size)]],
            note=f"child process VmHWM after the refresh; peak after imports {steps['imports']:.0f} MB, after an "
                 f"ordinary refresh {steps['ordinary refresh']:.0f} MB, resident just before this refresh "
                 f"{steps[f'before {size}']:.0f} MB (the minute's frames built); {days}-day {backend} base"))
    return found


def run(ctx: BenchContext) -> list[Measurement]:
    path = ctx.workdir / f"memory-{uuid.uuid4().hex[:6]}.db"
    try:
        found = scheduler_measurements(ctx, "sqlite", f"sqlite:///{path}")
    finally:
        dispose_engines()
        for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            leftover.unlink(missing_ok=True)
    if ctx.pg_url:
        with pg_schema(ctx.pg_url) as url:
            found += scheduler_measurements(ctx, "postgresql", url)
    measured = phases(ctx)
    most, one = measured[max(measured)], measured[min(measured)]
    per_session = (most.peak_rss_mb - one.peak_rss_mb) / (most.sessions - one.sessions)
    found.append(Measurement(
        benchmark="memory", case=f"app server peak RSS, {most.sessions} sessions", value=most.peak_rss_mb, unit="MB",
        target=f"<= {TARGET_MB:g} MB", met=at_most(most.peak_rss_mb, TARGET_MB), samples=[most.peak_rss_mb],
        baseline=one.peak_rss_mb, ratio=most.peak_rss_mb / one.peak_rss_mb,
        note=f"server process VmHWM after bench.viewers' {most.sessions}-session run ({most.intervals} intervals of "
             f"{most.refresh_s}s, {shop_label(ctx)}); resident at its end {most.rss_mb:.0f} MB; baseline: the "
             f"{one.sessions}-session server's peak; {per_session:.1f} MB per extra session"))
    return found


if __name__ == "__main__":  # the scheduler child: URL EVENTS...
    print(json.dumps(scheduler_child(sys.argv[1], [int(size) for size in sys.argv[2:]])))
