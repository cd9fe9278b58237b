"""Core timings for the notes: seeding N days, and one refresh of a sales-event peak minute.

Usage: .venv/bin/python bench/core.py [--days 90] [--peak-minutes 5] [--db-url URL]
Prints a Markdown table. Each figure is measured once per minute/day on this machine; the
performance issue's bench/ suite repeats and compares runs.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cockpit import jobs  # noqa: E402
from cockpit.config import load_settings  # noqa: E402
from cockpit.db.engine import get_engine, upgrade_schema  # noqa: E402
from cockpit.ingest.seed import seed_history  # noqa: E402
from cockpit.ingest.simulator_source import read_watermark  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--peak-minutes", type=int, default=5)
    parser.add_argument("--db-url", help="default: a new SQLite file in a temporary folder")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="cockpit-bench-"))
    url = args.db_url or f"sqlite:///{folder / 'bench.db'}"
    upgrade_schema(url)
    now_minute = int(time.time()) // 60
    # The peak starts 10 minutes before "now": seeding covers the run-up days and the first
    # peak minutes, then each refresh ingests one more peak minute.
    report = seed_history(get_engine(url), days=args.days, scenario="sales-event", seed=1, now_minute=now_minute,
                          tz=TZ, anchor_minute=now_minute - 10, progress=True)
    settings = load_settings({"COCKPIT_DB_URL": url, "COCKPIT_SCENARIO": "sales-event", "COCKPIT_SOURCES": "simulator"})
    timings, events = [], []
    for step in range(1, args.peak_minutes + 1):
        result = jobs.refresh(settings, now_ts=(now_minute + step) * 60 + 1)
        timings.append(result.duration_s)
        events.append(result.events)
    with get_engine(url).connect() as conn:
        assert read_watermark(conn)[0] == now_minute + args.peak_minutes - 1
    print(f"| measure | value |\n| --- | --- |")
    print(f"| seed {args.days} days (sales-event run-up) | {report.seconds:.1f} s, {report.events:,} events, {report.events_per_second:,.0f} events/s |")
    print(f"| refresh of one peak minute (median of {len(timings)}) | {statistics.median(timings) * 1000:.0f} ms for {int(statistics.median(events)):,} events |")
    print(f"| refresh of one peak minute (max) | {max(timings) * 1000:.0f} ms |")
    print(f"database: {url}")


if __name__ == "__main__":
    main()
