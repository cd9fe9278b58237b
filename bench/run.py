"""Run the cockpit's benchmarks and write bench/results/latest.{md,json} (compared with the run before).

Usage: .venv/bin/python -m bench.run [--smoke] [--only NAME[,NAME]] [--repeats N] [--out DIR] [--no-pg]
"""
from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

from bench.harness import BenchContext, Measurement, markdown_table, write_results

# In the order they run; each module has run(ctx) -> list[Measurement].
BENCHMARKS = {
    "seeding": "bench.seeding",
    "refresh_peak": "bench.refresh_peak",
    "history": "bench.history",
    "naive": "bench.naive",
    "panel_reads": "bench.panel_reads",
    "viewers": "bench.viewers",
    "memory": "bench.memory",
    "browser": "bench.browser",
}
RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one repeat: checks the benchmarks run")
    parser.add_argument("--only", help=f"comma-separated subset of: {', '.join(BENCHMARKS)}")
    parser.add_argument("--repeats", type=int, default=None, help="runs per figure (default 5, smoke 1)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where latest.md / latest.json go")
    parser.add_argument("--no-pg", action="store_true", help="skip the PostgreSQL cases")
    args = parser.parse_args(argv)
    names = list(BENCHMARKS) if not args.only else [name.strip() for name in args.only.split(",")]
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {', '.join(BENCHMARKS)}")
    ctx = BenchContext(smoke=args.smoke, repeats=args.repeats or (1 if args.smoke else 5))
    if args.no_pg:
        ctx.pg_url = None
    started = time.perf_counter()
    measurements: list[Measurement] = []
    for name in names:
        print(f"== {name}", file=sys.stderr, flush=True)
        clock = time.perf_counter()
        found = importlib.import_module(BENCHMARKS[name]).run(ctx)
        for m in found:
            print(f"   {m.case}: {m.value:.4g} {m.unit}" + (f" (target {m.target}: {'met' if m.met else 'MISSED'})"
                                                             if m.target else ""), file=sys.stderr, flush=True)
        print(f"   ({time.perf_counter() - clock:.1f} s)", file=sys.stderr, flush=True)
        measurements.extend(found)
    results = write_results(measurements, args.out, smoke=args.smoke, seconds=time.perf_counter() - started)
    print(markdown_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
