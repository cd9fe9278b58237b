"""Many viewers: 1, 10 and 50 real websocket sessions on the overview while the scheduler refreshes; database statements and server CPU per refresh interval.

For each session count, a fresh app server (`python -m cockpit.ui.serve`, as `cockpit run`
starts it) serves a copy of a seeded SQLite shop (8 days: the overview compares with a week
ago; smoke: the 1-day shop of bench.panel_reads). The servers run a copy of the app's code
taken once per run, so every session count runs the same code even if the working tree is
edited meanwhile. N viewers open the overview over Streamlit's own websocket protocol
(`Viewer`: BackMsg/ForwardMsg protobufs on /_stcore/stream, what a browser tab sends and
receives, without drawing anything). The bench plays the scheduler: at the start of every
interval of REFRESH_S seconds it runs `jobs.refresh` for the next minute, so every interval
has a new data minute and the loaders' caches turn over. Each viewer then reruns the
overview's live fragment once per interval, as its `@st.fragment(run_every=...)` timer does in
a browser; the viewers' timers are spread over the interval as independent browsers' would be.
The shop's clock starts at its seed's present (the latest 14:30 in its zone) and steps one
minute per interval, so the freshness line calls the data stale: an error line instead of the
caption, no extra query.

The database statements are counted inside the server process: the server is started through
this module (`python -m bench.viewers COUNT_FILE [streamlit options]`), which adds SQLAlchemy
cursor listeners to every engine and keeps the counts in a small memory-mapped file the bench
reads; the product's code is not changed. Transaction control (BEGIN, COMMIT) is not counted.
Server CPU is user + system time of the server process from /proc over the same intervals.
The figure with the target: statements per interval with 50 viewers over those with 1 viewer,
measured in the same run.

Run: .venv/bin/python -m bench.run --only viewers [--smoke]
"""
from __future__ import annotations

import asyncio
import mmap
import os
import shutil
import socket
import sqlite3
import statistics
import struct
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, event

from bench.harness import BenchContext, Measurement, at_most, viewer_cookie, wait_for_health
from bench.panel_reads import SCENARIO, SEED, TZ, seeded_shop

ROOT = Path(__file__).resolve().parent.parent
SESSIONS_FULL, SESSIONS_SMOKE = (1, 10, 50), (1, 3)
# 30 s: 50 overview runs of ~0.2 s CPU each fit in an interval with room to spare on this
# 2-core machine (at 10 s the server falls behind and runs queue). Smoke intervals are shorter
# than the heartbeat's cache time, so there the app sees a new minute only every few intervals.
REFRESH_S_FULL, REFRESH_S_SMOKE = 30, 2
INTERVALS_FULL, INTERVALS_SMOKE = 3, 2  # measured intervals
WARMUP_INTERVALS = 1  # one interval after the sessions opened, not measured
DAYS_FULL = 8
SPREAD = (0.05, 0.9)  # viewers' timers fall in this part of the interval; the rest lets runs finish
TARGET_RATIO = 1.2
OVERVIEW_TILES = 6
_FAILED_LOAD = ("could not be loaded", "Refresh failed")  # loaders.guarded's markers: a query failed


# --- the statement counter inside the server process -------------------------------------------

_COUNTS = struct.Struct("<qqdq")  # statements, of which heartbeat reads, seconds inside execute, sign-in checks
_SIGN_IN_TABLES = ("auth_sessions", "display_tokens")
_TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


@dataclass(frozen=True)
class Counts:
    statements: int = 0
    heartbeat: int = 0  # reads of refresh_runs (the freshness line's heartbeat)
    db_seconds: float = 0.0
    sign_in: int = 0  # reads of a session or display token (each page open checks its own)

    def __sub__(self, other: "Counts") -> "Counts":
        return Counts(self.statements - other.statements, self.heartbeat - other.heartbeat,
                      self.db_seconds - other.db_seconds, self.sign_in - other.sign_in)


class StatementCounter:
    """Counts the SQL statements every SQLAlchemy engine of this process executes, into a
    memory-mapped file another process can read at any time (`read_counts`)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.write_bytes(bytes(_COUNTS.size))
        self._file = open(self.path, "r+b")
        self._map = mmap.mmap(self._file.fileno(), _COUNTS.size)
        self._lock = threading.Lock()
        self._totals = [0, 0, 0.0, 0]

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_viewers_started"] = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        seconds = time.perf_counter() - conn.info.pop("bench_viewers_started", time.perf_counter())
        if statement.lstrip().upper().startswith(_TRANSACTION_CONTROL):
            return
        with self._lock:
            self._totals[0] += 1
            self._totals[1] += "refresh_runs" in statement
            self._totals[2] += seconds
            self._totals[3] += any(table in statement for table in _SIGN_IN_TABLES)
            _COUNTS.pack_into(self._map, 0, *self._totals)

    @contextmanager
    def installed(self):
        """Listen on the Engine class: every engine, including ones created later."""
        event.listen(Engine, "before_cursor_execute", self._before)
        event.listen(Engine, "after_cursor_execute", self._after)
        try:
            yield self
        finally:
            event.remove(Engine, "before_cursor_execute", self._before)
            event.remove(Engine, "after_cursor_execute", self._after)


def read_counts(path: Path) -> Counts:
    return Counts(*_COUNTS.unpack(Path(path).read_bytes()[:_COUNTS.size]))


def serve_counted(count_path: str, streamlit_args: list[str]) -> None:
    """The app server of cockpit.ui.serve with a StatementCounter writing to count_path."""
    from cockpit.ui import serve

    with StatementCounter(Path(count_path)).installed():
        serve.main(streamlit_args)


# --- the server process ------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process pid (all its threads, and children it waited for)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def proc_memory_mb(pid: int, key: str = "VmHWM") -> float:
    """A memory line of /proc/<pid>/status in MB (VmHWM: peak resident set; VmRSS: now)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(key)


class Server:
    """`python -m cockpit.ui.serve` (through serve_counted) on db_url, refreshing every refresh_s.

    The options are `cockpit run`'s, plus no file watcher: a deployed server's code does not
    change, while the bench's working tree may be edited during a run, and a watched module
    that reloads mid-run breaks the pickling of st.cache_data values."""

    def __init__(self, db_url: str, refresh_s: int, workdir: Path, code_root: Path = ROOT):
        self.db_url = db_url
        self.port = free_port()
        self.count_path = Path(workdir) / f"viewers-counts-{self.port}.bin"
        self.log_path = Path(workdir) / f"viewers-server-{self.port}.log"
        env = {**os.environ, "COCKPIT_DB_URL": db_url, "COCKPIT_REFRESH_SECONDS": str(refresh_s),
               "COCKPIT_TIMEZONE": TZ.key, "COCKPIT_SCENARIO": SCENARIO, "COCKPIT_SOURCES": "simulator"}
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.viewers", str(self.count_path), "--server.port", str(self.port),
             "--server.headless", "true", "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=code_root, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        self._wait_healthy()

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/_stcore/stream"

    def _wait_healthy(self, timeout_s: float = 60) -> None:
        if wait_for_health(f"http://127.0.0.1:{self.port}", self.proc, timeout_s):
            return
        self.stop()
        raise RuntimeError(f"the app server did not start; its log: {self.log_path}")

    def counts(self) -> Counts:
        return read_counts(self.count_path)

    def cpu_seconds(self) -> float:
        return proc_cpu_seconds(self.proc.pid)

    def memory_mb(self, key: str = "VmHWM") -> float:
        return proc_memory_mb(self.proc.pid, key)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


# --- one viewer: Streamlit's websocket protocol --------------------------------------------------

class Viewer:
    """One browser tab on a page, speaking Streamlit's protocol: a rerun_script BackMsg asks
    for a run, ForwardMsgs carry the page's elements until script_finished. Keeps the metric
    tiles it was sent (label -> value) and the overview fragment's id and interval."""

    def __init__(self, ws_url: str, page: str = "", query_string: str = "", expect_tiles: int = 0,
                 cookies: dict[str, str] | None = None):
        self.ws_url, self.page, self.query_string = ws_url, page, query_string
        self.cookies = cookies or {}  # sent with the websocket request, as a browser sends its cookies
        self.expect_tiles = expect_tiles  # when set, a run that draws another number of tiles is an error
        self.page_script_hash = ""
        self.fragment_id: str | None = None
        self.fragment_interval_s: float | None = None
        self.metrics: dict[str, str] = {}
        self.alerts: list[str] = []  # st.error / st.warning texts of the last run
        self.errors: list[str] = []
        self.run_seconds: list[float] = []
        self._ws = None
        self._reader: asyncio.Task | None = None
        self._finished: asyncio.Queue = asyncio.Queue()

    async def open(self, timeout_s: float = 120) -> None:
        """Connect and run the whole page once (what loading the URL does)."""
        from websockets.asyncio.client import connect

        headers = {"Cookie": "; ".join(f"{name}={value}" for name, value in self.cookies.items())} if self.cookies else None
        self._ws = await connect(self.ws_url, subprotocols=["streamlit"], max_size=None, open_timeout=timeout_s,
                                 additional_headers=headers)
        self._reader = asyncio.create_task(self._read())
        await self._run(timeout_s=timeout_s)

    async def rerun_fragment(self, timeout_s: float = 120) -> float:
        """Rerun the live fragment as its run_every timer does; returns the run's seconds."""
        if self.fragment_id is None:
            raise RuntimeError("the page has no run_every fragment")
        return await self._run(fragment_id=self.fragment_id, timeout_s=timeout_s)

    async def _run(self, fragment_id: str = "", timeout_s: float = 120) -> float:
        from streamlit.proto.BackMsg_pb2 import BackMsg

        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = self.query_string
        state.page_name = self.page
        state.page_script_hash = self.page_script_hash
        if fragment_id:
            state.fragment_id = fragment_id
            state.is_auto_rerun = True
        self.alerts, self.metrics = [], {}
        started = time.perf_counter()
        await self._ws.send(msg.SerializeToString())
        status = await asyncio.wait_for(self._finished.get(), timeout_s)
        if isinstance(status, Exception):
            raise status
        seconds = time.perf_counter() - started
        self.run_seconds.append(seconds)
        if self.expect_tiles and len(self.metrics) != self.expect_tiles:
            self.errors.append(f"a run drew {len(self.metrics)} tiles, not {self.expect_tiles}; "
                               f"its alerts: {self.alerts}")
        return seconds

    async def _read(self) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        done = {ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY,
                ForwardMsg.FINISHED_WITH_COMPILE_ERROR}
        try:
            async for data in self._ws:
                msg = ForwardMsg()
                msg.ParseFromString(data)
                kind = msg.WhichOneof("type")
                if kind == "new_session":
                    self.page_script_hash = msg.new_session.page_script_hash
                elif kind == "auto_rerun":
                    self.fragment_id = msg.auto_rerun.fragment_id
                    self.fragment_interval_s = msg.auto_rerun.interval
                elif kind == "page_not_found":
                    self.errors.append(f"page not found: {msg.page_not_found.page_name!r}")
                elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                    element = msg.delta.new_element
                    which = element.WhichOneof("type")
                    if which == "metric":
                        self.metrics[element.metric.label] = element.metric.body
                    elif which == "alert":
                        self.alerts.append(element.alert.body)
                        if any(sign in element.alert.body for sign in _FAILED_LOAD):
                            self.errors.append(element.alert.body)
                    elif which == "exception":
                        self.errors.append(f"{element.exception.type}: {element.exception.message}")
                elif kind == "script_finished":
                    if msg.script_finished == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                        self.errors.append("the script did not compile")
                    if msg.script_finished in done:
                        self._finished.put_nowait(msg.script_finished)
        except Exception as exc:  # the connection dropped: fail the run that waits
            self._finished.put_nowait(RuntimeError(f"websocket closed: {exc}"))

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)


# --- the scheduler and the measured intervals ----------------------------------------------------

def copy_shop(source_url: str, target_path: Path) -> str:
    """A copy of a SQLite shop (sqlite3's backup: consistent even in WAL mode); its URL."""
    for leftover in (target_path, target_path.with_name(target_path.name + "-wal"),
                     target_path.with_name(target_path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    source = sqlite3.connect(source_url.removeprefix("sqlite:///"))
    target = sqlite3.connect(target_path)
    with target:
        source.backup(target)
    source.close()
    target.close()
    return f"sqlite:///{target_path}"


class SteppedScheduler:
    """The scheduler's refresh, one simulated minute further at every call (jobs.refresh with
    now_ts stepped), in the bench process."""

    def __init__(self, db_url: str, data_minute: int):
        from cockpit.config import load_settings

        self.settings = load_settings({"COCKPIT_DB_URL": db_url, "COCKPIT_SCENARIO": SCENARIO,
                                       "COCKPIT_SOURCES": "simulator", "COCKPIT_TIMEZONE": TZ.key,
                                       "COCKPIT_SIM_SEED": str(SEED)})
        self.data_minute = data_minute
        self.seconds: list[float] = []

    def __call__(self) -> None:
        from cockpit import jobs

        started = time.perf_counter()
        report = jobs.refresh(self.settings, now_ts=(self.data_minute + 2) * 60 + 1)
        if report.status != "ok" or report.data_minute != self.data_minute + 1:
            raise RuntimeError(f"refresh {report.status} at {report.data_minute}: {report.message}")
        self.data_minute = report.data_minute
        self.seconds.append(time.perf_counter() - started)


@dataclass
class Phase:
    """What N viewers cost the server over the measured intervals."""

    sessions: int
    intervals: int
    refresh_s: int
    counts: Counts
    cpu_seconds: float
    peak_rss_mb: float
    rss_mb: float
    run_seconds: list[float] = field(default_factory=list)
    late_runs: int = 0  # fragment runs that started after their timer (the previous one was still running)
    metrics: dict[str, str] = field(default_factory=dict)

    @property
    def statements_per_interval(self) -> float:
        return self.counts.statements / self.intervals

    @property
    def cpu_per_interval(self) -> float:
        return self.cpu_seconds / self.intervals


async def _drive(server: Server, sessions: int, refresh_s: int, intervals: int, scheduler: SteppedScheduler,
                 open_concurrency: int = 5) -> Phase:
    viewers = [Viewer(server.ws_url, expect_tiles=OVERVIEW_TILES, cookies=viewer_cookie(server.db_url))
               for _ in range(sessions)]
    gate = asyncio.Semaphore(open_concurrency)

    async def open_one(viewer: Viewer):
        async with gate:
            await viewer.open()

    await asyncio.gather(*(open_one(v) for v in viewers))
    for viewer in viewers:
        if viewer.errors or viewer.fragment_id is None or len(viewer.metrics) != OVERVIEW_TILES:
            raise RuntimeError(f"a viewer did not get the overview: errors {viewer.errors}, alerts "
                               f"{viewer.alerts}, fragment {viewer.fragment_id}, tiles {viewer.metrics}")
        if viewer.fragment_interval_s != refresh_s:
            raise RuntimeError(f"the fragment reruns every {viewer.fragment_interval_s}s, not {refresh_s}s")
    for viewer in viewers:
        viewer.run_seconds.clear()
    loop = asyncio.get_running_loop()
    total = WARMUP_INTERVALS + intervals
    start = loop.time() + 0.2
    late = 0
    marks: dict[str, tuple[Counts, float]] = {}

    async def until(moment: float) -> None:
        await asyncio.sleep(max(0.0, moment - loop.time()))

    async def clock():
        for k in range(total):
            await until(start + k * refresh_s)
            if k == WARMUP_INTERVALS:
                marks["start"] = (server.counts(), server.cpu_seconds())
            await asyncio.to_thread(scheduler)

    async def timer(i: int, viewer: Viewer):
        nonlocal late
        low, high = SPREAD
        phase = (low + (high - low) * (i + 0.5) / sessions) * refresh_s
        for k in range(total):
            moment = start + k * refresh_s + phase
            if loop.time() > moment + 0.5:
                late += k >= WARMUP_INTERVALS
            await until(moment)
            await viewer.rerun_fragment()

    await asyncio.gather(clock(), *(timer(i, v) for i, v in enumerate(viewers)))
    await until(start + total * refresh_s)
    end_counts, end_cpu = server.counts(), server.cpu_seconds()
    start_counts, start_cpu = marks["start"]
    runs = [s for v in viewers for s in v.run_seconds[WARMUP_INTERVALS:]]
    errors = [e for v in viewers for e in v.errors]
    metrics = dict(viewers[0].metrics)
    await asyncio.gather(*(v.close() for v in viewers))
    if errors:
        raise RuntimeError(f"the overview failed in a viewer: {errors[:3]}")
    return Phase(sessions, intervals, refresh_s, end_counts - start_counts, end_cpu - start_cpu,
                 server.memory_mb("VmHWM"), server.memory_mb("VmRSS"), runs, late, metrics)


def measure_phase(base_url: str, data_minute: int, workdir: Path, sessions: int, refresh_s: int,
                  intervals: int, code_root: Path = ROOT) -> Phase:
    """A fresh copy of the shop, a fresh server, `sessions` viewers over `intervals` intervals."""
    from cockpit.db.engine import dispose_engines

    path = Path(workdir) / f"viewers-{sessions}.db"
    url = copy_shop(base_url, path)
    scheduler = SteppedScheduler(url, data_minute)
    try:
        with Server(url, refresh_s, workdir, code_root) as server:
            return asyncio.run(_drive(server, sessions, refresh_s, intervals, scheduler))
    finally:
        dispose_engines()
        for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            leftover.unlink(missing_ok=True)


_CODE_PARTS = ("app.py", "pages", "cockpit", "models", "data", "bench")


def code_snapshot(workdir: Path) -> Path:
    """A copy of the app's code under workdir (made once per workdir), which every phase's
    server runs: the phases stay comparable when the working tree is edited during the run."""
    target = Path(workdir) / "viewers-code"
    if not target.exists():
        building = target.with_name(target.name + ".partial")
        shutil.rmtree(building, ignore_errors=True)
        building.mkdir(parents=True)
        skip = shutil.ignore_patterns("__pycache__", "*.db", "*.db-*", "results")
        for part in _CODE_PARTS:
            if (ROOT / part).is_dir():
                shutil.copytree(ROOT / part, building / part, ignore=skip)
            else:
                shutil.copy2(ROOT / part, building / part)
        building.rename(target)
    return target


_PHASES: dict[tuple, Phase] = {}


def phases(ctx: BenchContext) -> dict[int, Phase]:
    """Every session count's phase, measured once per run (bench.memory reads the largest)."""
    sessions = SESSIONS_SMOKE if ctx.smoke else SESSIONS_FULL
    shop = seeded_shop(ctx) if ctx.smoke else seeded_shop(ctx, DAYS_FULL)
    found = {}
    for n in sessions:
        key = (str(ctx.workdir), ctx.smoke, n)
        if key not in _PHASES:
            _PHASES[key] = measure_phase(shop.url, shop.data_minute, ctx.workdir, n,
                                         ctx.size(REFRESH_S_FULL, REFRESH_S_SMOKE),
                                         ctx.size(INTERVALS_FULL, INTERVALS_SMOKE), code_snapshot(ctx.workdir))
        found[n] = _PHASES[key]
    return found


def shop_label(ctx: BenchContext) -> str:
    days = seeded_shop(ctx).days if ctx.smoke else DAYS_FULL
    return f"{days}-day {SCENARIO} shop on SQLite"


def run(ctx: BenchContext) -> list[Measurement]:
    found = phases(ctx)
    one, most = found[min(found)], found[max(found)]
    shop = shop_label(ctx)
    measurements = []
    for n, phase in found.items():
        runs = sorted(phase.run_seconds)
        p50 = statistics.median(runs) if runs else float("nan")
        p95 = runs[min(len(runs) - 1, int(0.95 * len(runs)))] if runs else float("nan")
        per = phase.intervals
        common = (f"{phase.intervals} intervals of {phase.refresh_s}s, the scheduler adding a minute in each; {shop}; "
                  f"fragment run p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms"
                  f"{f', {phase.late_runs} late' if phase.late_runs else ''}")
        measurements.append(Measurement(
            benchmark="viewers", case=f"{n} session{'s' if n > 1 else ''}: database statements per interval",
            value=phase.statements_per_interval, unit="statements", samples=[phase.counts.statements / per],
            note=f"of which heartbeat reads {phase.counts.heartbeat / per:.1f}; wall time inside execute calls "
                 f"{phase.counts.db_seconds / per * 1000:.0f} ms per interval (waits for the server's GIL included); "
                 f"{common}"))
        measurements.append(Measurement(
            benchmark="viewers", case=f"{n} session{'s' if n > 1 else ''}: server CPU per interval",
            value=phase.cpu_per_interval, unit="s", samples=[phase.cpu_per_interval],
            note=f"server process user+system time; {phase.cpu_per_interval / phase.refresh_s:.0%} of one core; "
                 f"{phase.cpu_per_interval / n * 1000:.0f} ms per session per interval"))
    ratio = most.statements_per_interval / one.statements_per_interval if one.statements_per_interval else float("inf")
    measurements.append(Measurement(
        benchmark="viewers", case=f"database cost, {most.sessions} sessions / {one.sessions} session", value=ratio,
        unit="x", target=f"<= {TARGET_RATIO}", met=at_most(ratio, TARGET_RATIO),
        baseline=one.statements_per_interval, baseline_unit="statements", ratio=ratio, samples=[ratio],
        note=f"statements per interval, {most.sessions} sessions: {most.statements_per_interval:.1f}, "
             f"1 session: {one.statements_per_interval:.1f}; counted in the server process"))
    return measurements


if __name__ == "__main__":  # the app server with its statement counter: see serve_counted
    serve_counted(sys.argv[1], sys.argv[2:])
