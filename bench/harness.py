"""What every benchmark shares: its context, its measurements, medians, and the results files."""
from __future__ import annotations

import json
import os
import platform
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

PG_URL = os.environ.get("COCKPIT_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@dataclass
class BenchContext:
    """smoke: a seconds-long run with tiny sizes (the test suite runs it); repeats: runs per
    figure (the median is reported); workdir: scratch space for databases; pg_url: a
    PostgreSQL database to measure on, or None to skip PostgreSQL cases."""

    smoke: bool = False
    repeats: int = 5
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="cockpit-bench-")))
    pg_url: str | None = PG_URL

    def size(self, full: int, smoke: int) -> int:
        return smoke if self.smoke else full

    def sqlite_url(self, name: str) -> str:
        return f"sqlite:///{self.workdir / f'{name}.db'}"


@dataclass
class Measurement:
    """One figure. value is the median of samples, in unit. target: the goal in words
    ("<= 0.25 s"), met: whether value meets it (None when there is no target). baseline and
    ratio: a reference measured in the same run and value's ratio to it (or the ratio the
    target is about, e.g. 50M/1M), since ratios travel between machines and times do not."""

    benchmark: str
    case: str
    value: float
    unit: str
    target: str | None = None
    met: bool | None = None
    baseline: float | None = None
    ratio: float | None = None
    samples: list[float] = field(default_factory=list)
    note: str = ""
    baseline_unit: str | None = None  # when the baseline is not in the value's unit (a ratio's reference time)


BENCH_VIEWER = "bench-viewer"


def viewer_cookie(db_url: str, hours: int = 12) -> dict[str, str]:
    """A signed-in session of the read-only user BENCH_VIEWER on db_url (created if missing), as
    the browser's cookie carries it: {cookie name: token}. Viewers and browsers the bench drives
    open the pages signed in, as an operator's browser does after its first sign-in."""
    from cockpit import auth
    from cockpit.db.engine import get_engine

    with get_engine(db_url).begin() as conn:
        try:
            auth.add_user(conn, BENCH_VIEWER, "viewer", None, time.time())
        except auth.AuthError:  # exists already
            pass
        return {auth.SESSION_COOKIE: auth.start_session(conn, BENCH_VIEWER, time.time(), hours)}


def display_token(db_url: str) -> str:
    """A new read-only display token for a wall screen the bench opens."""
    from cockpit import auth
    from cockpit.db.engine import get_engine

    with get_engine(db_url).begin() as conn:
        return auth.add_token(conn, f"bench-wall-{time.time_ns()}", time.time())


def wait_for_health(url: str, process, timeout_s: float = 60) -> bool:
    """Poll a Streamlit server's /_stcore/health until it answers "ok" (True), its process
    exits or timeout_s passes (False)."""
    import urllib.request

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                return True
        except OSError:
            time.sleep(0.2)
    return False


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def median_of(fn: Callable[[], float], repeats: int) -> tuple[float, list[float]]:
    """Call fn (which returns one sample) `repeats` times: (median, samples)."""
    samples = [float(fn()) for _ in range(max(1, repeats))]
    return statistics.median(samples), samples


def at_most(value: float, limit: float) -> bool:
    return value <= limit


def at_least(value: float, limit: float) -> bool:
    return value >= limit


def machine() -> dict:
    return {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
            "system": platform.platform()}


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "–"
    if unit in ("events/s", "rows/s"):
        return f"{value:,.0f} {unit}"
    if abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 1:
        text = f"{value:.2f}"
    else:
        text = f"{value:.3f}"
    return f"{text} {unit}".strip()


def write_results(measurements: list[Measurement], out_dir: Path, *, smoke: bool, seconds: float) -> dict:
    """Write latest.json and latest.md in out_dir (the previous latest becomes previous.json)
    and return the results, each measurement with its previous value and change. Benchmarks
    this run left out (--only) are carried over from the previous results, marked with the time
    of the run that measured them, so latest always holds every benchmark."""
    out_dir.mkdir(parents=True, exist_ok=True)
    latest, previous_path = out_dir / "latest.json", out_dir / "previous.json"
    before_results = None
    if latest.exists():
        latest.replace(previous_path)
    if previous_path.exists():
        before_results = json.loads(previous_path.read_text())
    previous = {(m["benchmark"], m["case"]): m for m in (before_results or {}).get("measurements", [])}
    when = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    rows = []
    for m in measurements:
        row = asdict(m)
        before = previous.get((m.benchmark, m.case))
        row["previous"] = before["value"] if before else None
        row["change"] = (m.value / before["value"] - 1) if before and before["value"] else None
        row["measured_at"] = when
        rows.append(row)
    ran = {m.benchmark for m in measurements}
    if before_results and before_results.get("smoke") == smoke:
        for row in before_results["measurements"]:
            if row["benchmark"] not in ran:
                rows.append({**row, "measured_at": row.get("measured_at") or before_results["when"], "carried": True})
    results = {"when": when, "smoke": smoke, "seconds": round(seconds, 1), "machine": machine(), "measurements": rows}
    latest.write_text(json.dumps(results, indent=2))
    (out_dir / "latest.md").write_text(markdown_table(results))
    return results


def markdown_table(results: dict) -> str:
    lines = [
        f"Run {results['when']} on {results['machine']['cpus']} CPUs, Python {results['machine']['python']}"
        f"{' (smoke sizes)' if results['smoke'] else ''}, {results['seconds']} s.",
        "",
        "| benchmark | case | measured | target | met | baseline | ratio | previous | change |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results["measurements"]:
        met = "–" if r["met"] is None else ("yes" if r["met"] else "**no**")
        change = "–" if r["change"] is None else f"{r['change']:+.0%}"
        ratio = "–" if r["ratio"] is None else f"{r['ratio']:.2f}"
        lines.append(
            f"| {r['benchmark']} | {r['case']} | {_fmt(r['value'], r['unit'])} | {r['target'] or '–'} | {met} | "
            f"{_fmt(r['baseline'], r.get('baseline_unit') or r['unit'])} | {ratio} | {_fmt(r['previous'], r['unit'])} | {change} |"
        )
    carried = sorted({r["measured_at"] for r in results["measurements"] if r.get("carried")})
    notes = [f"- {r['benchmark']} / {r['case']}: {r['note']}" for r in results["measurements"] if r["note"]]
    if carried:
        notes.insert(0, f"- Benchmarks not run this time are carried over from the run(s) of {', '.join(carried)}.")
    return "\n".join(lines + ([""] + notes if notes else [])) + "\n"
