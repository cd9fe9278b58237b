"""Cost does not grow with history: the same 20,000-event refresh with 1M, 10M and 50M events of history (SQLite).

One database grows through the sizes: a seeded day of simulated history, then synthetic
history loaded straight into the raw tables (bench.synth.load_history) at a steady rate of
events per day, each step reaching further back, so 50M events are a month of a busy shop.
After each step the 20,000-event refresh is timed (median of at least HISTORY_REPEATS runs
after a warm-up, each run one new minute: with medians of five, the 50M/1M ratio moved
between 1.16 and 1.33 from run to run). Each step's refreshes start STEP_GAP_MINUTES after the
previous step's, so that the alert rules' windows (an hour of KPIs, three hours of campaign figures)
see the same recent load at every size: run back to back, the 50M step's last hour held the
18 peak minutes of all three steps against the 1M step's 6, and the ratio measured that, not
the history. Sizes: HISTORY_SIZES / SMOKE_SIZES, or COCKPIT_BENCH_HISTORY_SIZES
(comma-separated, e.g. "1e6,1e7").
"""
from __future__ import annotations

import os
import sys
import uuid


from bench.harness import BenchContext, Measurement, at_most
from bench.refresh_peak import NOW_MINUTE, TZ, format_split, profile_refresh, seeded_base, time_refreshes
from bench.synth import HISTORY_ID_BASE, load_history, raw_event_count
from cockpit.db.engine import dispose_engines, get_engine
from cockpit.ingest.simulator_source import read_watermark

HISTORY_SIZES = (1_000_000, 10_000_000, 50_000_000)
SMOKE_SIZES = (20_000, 50_000, 100_000)
EVENTS_PER_DAY = 1_700_000  # a steady ~1,200 events a minute; the peak minute is 20,000
SMOKE_EVENTS_PER_DAY = 50_000
REFRESH_EVENTS, SMOKE_REFRESH_EVENTS = 20_000, 2_000
RATIO_LIMIT = 1.3
STEP_GAP_MINUTES = 1440  # longer than every rule window but the 7-day ones (those read daily rows)
HISTORY_REPEATS = 9

def history_sizes(ctx: BenchContext) -> list[int]:
    raw = os.environ.get("COCKPIT_BENCH_HISTORY_SIZES")
    if raw:
        return sorted(int(float(size)) for size in raw.split(",") if size.strip())
    return list(SMOKE_SIZES if ctx.smoke else HISTORY_SIZES)

def _label(events: int) -> str:
    return f"{events / 1e6:g}M" if events >= 1_000_000 else f"{events / 1e3:g}k"

def run(ctx: BenchContext) -> list[Measurement]:
    sizes = history_sizes(ctx)
    refresh_events = ctx.size(REFRESH_EVENTS, SMOKE_REFRESH_EVENTS)
    per_day = ctx.size(EVENTS_PER_DAY, SMOKE_EVENTS_PER_DAY)
    base = seeded_base("sqlite", ctx.sqlite_url(f"history-{uuid.uuid4().hex[:6]}"), days=1)
    engine = get_engine(base.url)
    with engine.connect() as conn:
        seeded_events = raw_event_count(conn)
        history_start = read_watermark(conn)[1].history_start_minute
    found, times, loads = [], {}, []
    loaded, next_id, end_minute = 0, HISTORY_ID_BASE, history_start
    for size in sizes:
        # Each step adds the events the size lacks, dated before everything loaded so far.
        report = load_history(engine, base.catalog, events=size - loaded, end_minute=end_minute, events_per_day=per_day,
                              tz=TZ, first_id=next_id, now_minute=NOW_MINUTE, progress=_progress(size))
        loaded, next_id, end_minute = loaded + report.events, report.next_id, report.first_minute
        loads.append(report)
        if times:
            base.next_minute += STEP_GAP_MINUTES
        value, samples = time_refreshes(base, refresh_events, ctx.repeats if ctx.smoke else max(ctx.repeats, HISTORY_REPEATS))
        times[size] = value
        split = format_split(profile_refresh(base, refresh_events))
        file_mb = os.path.getsize(engine.url.database) / 1e6
        found.append(Measurement(
            benchmark="history", case=f"sqlite: {refresh_events:,}-event refresh, {_label(size)} events of history",
            value=value, unit="s", samples=samples,
            note=f"history {loaded:,} synthetic + {seeded_events:,} seeded events over "
                 f"{(NOW_MINUTE - end_minute) / 1440:.1f} days, database {file_mb:,.0f} MB; this step's load: "
                 f"{report.events:,} events in {report.insert_seconds:.0f} s + aggregates {report.aggregate_seconds:.0f} s "
                 f"= {report.events_per_second:,.0f} events/s; one instrumented run: {split}",
        ))
    first, last = sizes[0], sizes[-1]
    ratio = times[last] / times[first]
    total_events = sum(r.events for r in loads)
    total_seconds = sum(r.seconds for r in loads)
    found.append(Measurement(
        benchmark="history", case=f"sqlite: refresh time {_label(last)}/{_label(first)} history", value=ratio, unit="x",
        target=f"<= {RATIO_LIMIT}", met=at_most(ratio, RATIO_LIMIT), baseline=times[first], baseline_unit="s", ratio=ratio, samples=[ratio],
        note=f"baseline is the {_label(first)} refresh time in s; history loader: {total_events:,} events in "
             f"{total_seconds:.0f} s = {total_events / total_seconds:,.0f} events/s (inserts "
             f"{total_events / sum(r.insert_seconds for r in loads):,.0f} events/s, then rebuild_range)",
    ))
    dispose_engines()
    return found

def _progress(size: int):
    def report(written: int, total: int) -> None:
        print(f"\r   loading history toward {_label(size)}: {written:,}/{total:,}", end="", file=sys.stderr, flush=True)
        if written >= total:
            print(file=sys.stderr, flush=True)
    return report
