"""Target 5: the overview in headless Chromium, from navigation start to fully drawn and idle
(<= 2.5 s), and the wall screen's fragment refresh (<= 200 ms of server time per run).

A shop of 8 days (smoke: 1 day; the incident scenario, seed 42) is seeded ending at the current
minute, so the freshness badge reads as live, not stale (bench.panel_reads' `seeded_shop` ends
at the latest 14:30, which a wall clock shows as stale data). Two app servers run on it, started
as `cockpit run` starts them (`python -m cockpit.ui.serve`):

- Page loads: COCKPIT_REFRESH_SECONDS=900, so no fragment tick lands inside a measured load.
  One warm-up load, then N loads, each in a fresh page of one browser context (the HTTP cache
  holds Streamlit's static bundle, as in an operator's browser), and a few first visits (a
  fresh context each, empty cache). A probe installed before navigation records, in
  performance.now() (milliseconds since navigation start), the last DOM mutation (a
  MutationObserver) and the last network activity (resource timing, websocket messages). The
  load is drawn when all six KPI tiles are present, every .js-plotly-plot has its .main-svg
  and Streamlit's status widget is gone; it is idle once nothing has changed for QUIET_MS.
  The figure is the moment of the last change, not the moment the wait ended.
- Wall screen: /?mode=wall with COCKPIT_REFRESH_SECONDS=2 and browser.gatherUsageStats on, so
  that the server sends its own timing of every run (ForwardMsg.page_profile.exec_time, from
  the start of the script run to its end; turning it on changed neither the server's CPU per
  run nor the round trip measurably in an A/B of four servers). Between ticks the bench runs
  `cockpit.jobs.refresh` one simulated minute ahead and waits for the fragment run that draws
  it, so the loader's cache misses (new data) are measured as well as its hits. The websocket frames are read
  through the Chrome DevTools protocol with the browser's own timestamps and decoded with
  streamlit.proto: a BackMsg rerun_script carrying a fragment id, then the ForwardMsg
  script_finished that ends the run. That interval (server time plus its queueing, loopback and
  the browser's network stack: an upper bound) is reported beside the server's own figure, and
  the server process's CPU time per fragment run (from /proc) beside both.

Chromium is Debian's /usr/bin/chromium (scripts/ensure-services.sh installs it); without it the
benchmark fails with a message, it never skips.

Run: .venv/bin/python -m bench.run --only browser [--smoke]
"""
from __future__ import annotations

import base64
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from bench.harness import BenchContext, Measurement, at_most, display_token, viewer_cookie, wait_for_health
from bench.panel_reads import LIVE_REFRESHES, SCENARIO, SEED, TZ, percentile
from cockpit import jobs
from cockpit.config import load_settings
from cockpit.db.engine import dispose_engines, get_engine, upgrade_schema
from cockpit.ingest.seed import seed_history
from cockpit.metrics import read

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1920, "height": 1080}
FULL_DAYS, SMOKE_DAYS = 8, 1  # 8 days: the overview's "a week ago" comparisons have data
LOADS_FULL, LOADS_SMOKE = 9, 1
FIRST_VISITS_FULL, FIRST_VISITS_SMOKE = 3, 1
TICKS_FULL, TICKS_SMOKE = 8, 2
LOAD_REFRESH_S = 900
WALL_REFRESH_S = 2
QUIET_MS = 500
TIMEOUT_MS = 60_000
OVERVIEW_TILES, OVERVIEW_CHARTS = 6, 2
LOAD_TARGET_S = 2.5
FRAGMENT_TARGET_MS = 200.0

# Installed before any page script runs: times (performance.now(), ms since navigation start)
# of the last DOM mutation, the last network activity and the first KPI tile.
IDLE_PROBE = """
(() => {
  const probe = window.__benchProbe = {lastMutation: 0, lastNetwork: 0, firstTile: null, mutations: 0, wsMessages: 0,
                                       firstSend: null, lastMessage: null};
  new MutationObserver(() => {
    probe.lastMutation = performance.now();
    probe.mutations += 1;
    if (probe.firstTile === null && document.querySelector('[data-testid=stMetric]')) probe.firstTile = probe.lastMutation;
  }).observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) probe.lastNetwork = Math.max(probe.lastNetwork, entry.responseEnd);
  }).observe({type: 'resource', buffered: true});
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', () => {
        probe.lastMessage = performance.now();
        probe.lastNetwork = Math.max(probe.lastNetwork, probe.lastMessage);
        probe.wsMessages += 1;
      });
    }
    send(data) {
      if (probe.firstSend === null) probe.firstSend = performance.now();
      return super.send(data);
    }
  };
})();
"""
DRAWN_JS = """
([tiles, charts]) => {
  const plots = [...document.querySelectorAll('.js-plotly-plot')];
  return document.querySelectorAll('[data-testid=stMetric]').length >= tiles && plots.length >= charts
    && plots.every((plot) => plot.querySelector('.main-svg')) && !document.querySelector('[data-testid=stStatusWidget]');
}
"""
QUIET_JS = """
([tiles, charts, quiet]) => {
  const probe = window.__benchProbe;
  return (%s)([tiles, charts]) && performance.now() - Math.max(probe.lastMutation, probe.lastNetwork) >= quiet;
}
""" % DRAWN_JS.strip()
READ_PROBE_JS = """
() => {
  const nav = performance.getEntriesByType('navigation')[0];
  return {...window.__benchProbe, now: performance.now(), domContentLoaded: nav ? nav.domContentLoadedEventEnd : null};
}
"""


class ChromiumMissing(RuntimeError):
    """Debian's chromium is not installed: the benchmark cannot run (it never skips)."""


def require_chromium(path: str = CHROMIUM) -> str:
    """The browser's path; raises ChromiumMissing (with the fix) when it is not installed."""
    if not os.path.exists(path):
        raise ChromiumMissing(f"the browser benchmark needs Debian's chromium at {path}: run "
                              f"`bash scripts/ensure-services.sh` (CI installs it) or `apt-get install -y chromium`")
    return path


def launch(playwright, path: str = CHROMIUM):
    """Debian's chromium, headless, driven by Playwright (its own browsers cannot be downloaded here)."""
    return playwright.chromium.launch(executable_path=require_chromium(path), args=CHROMIUM_ARGS)


# --- the app server ------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    """A running app server: its process, base URL and the file its output goes to."""

    process: subprocess.Popen
    url: str
    log: Path

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_server(env: dict, log: Path, *, usage_stats: bool = False, app: Path | None = None) -> Server:
    """An app server as `cockpit run` starts it (or plain `streamlit run app`); returns at once:
    call wait_healthy before use. usage_stats: let the server send its run timings (page_profile)."""
    port = free_port()
    target = ["-m", "cockpit.ui.serve"] if app is None else ["-m", "streamlit", "run", str(app)]
    with open(log, "wb") as sink:
        process = subprocess.Popen(
            [sys.executable, *target, "--server.port", str(port), "--server.headless", "true",
             "--browser.gatherUsageStats", "true" if usage_stats else "false"],
            cwd=ROOT, env={**os.environ, **env}, stdout=sink, stderr=subprocess.STDOUT)
    return Server(process, f"http://127.0.0.1:{port}", log)


def wait_healthy(server: Server, timeout_s: float = 60) -> None:
    """Return once the server answers its health check; raise with its output if it does not."""
    if wait_for_health(server.url, server.process, timeout_s):
        return
    tail = server.log.read_text(errors="replace")[-2000:] if server.log.exists() else ""
    raise RuntimeError(f"the app server at {server.url} did not become healthy; its output ends:\n{tail}")


# --- page loads ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class LoadSample:
    """One page load, in ms since navigation start. idle_ms: the last DOM mutation or network
    activity before the quiet period; waited_ms: when the bench stopped waiting; first_send_ms /
    last_message_ms: the first websocket message sent (the script run request) and the last one
    received (the server's end of the run)."""

    idle_ms: float
    last_mutation_ms: float
    last_network_ms: float
    first_tile_ms: float | None
    dom_content_loaded_ms: float | None
    first_send_ms: float | None
    last_message_ms: float | None
    waited_ms: float
    mutations: int
    ws_messages: int


def measure_load(page, url: str, *, tiles: int = OVERVIEW_TILES, charts: int = OVERVIEW_CHARTS,
                 quiet_ms: int = QUIET_MS, timeout_ms: int = TIMEOUT_MS) -> LoadSample:
    """Open url in `page` (fresh, not yet navigated) and wait until it shows `tiles` KPI tiles
    and `charts` drawn plotly charts, the script has finished, and nothing has changed for quiet_ms."""
    page.add_init_script(IDLE_PROBE)
    page.goto(url, wait_until="commit")
    page.wait_for_function(QUIET_JS, arg=[tiles, charts, quiet_ms], polling=50, timeout=timeout_ms)
    probe = page.evaluate(READ_PROBE_JS)
    return LoadSample(
        idle_ms=max(probe["lastMutation"], probe["lastNetwork"]), last_mutation_ms=probe["lastMutation"],
        last_network_ms=probe["lastNetwork"], first_tile_ms=probe["firstTile"],
        dom_content_loaded_ms=probe["domContentLoaded"], first_send_ms=probe["firstSend"],
        last_message_ms=probe["lastMessage"], waited_ms=probe["now"], mutations=probe["mutations"],
        ws_messages=probe["wsMessages"])


# --- websocket frames ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Frame:
    """A websocket frame as the browser's network stack saw it: ts in seconds (its monotonic clock)."""

    sent: bool
    ts: float
    payload: bytes


@dataclass(frozen=True)
class ScriptRun:
    """One script run as the browser saw it: its rerun request -> the server's script_finished
    (round_trip_ms), the server's own timing when it sent one (server_ms: page_profile.exec_time),
    the data minute it drew ("as of"; None when it drew no freshness caption) and how it ended."""

    fragment_id: str  # "" for a full run of the page
    sent_ts: float
    round_trip_ms: float
    server_ms: float | None
    as_of: str | None
    status: int  # ForwardMsg.ScriptFinishedStatus
    bytes_received: int  # the payloads of the run's messages (after websocket decompression)

    @property
    def fragment_ok(self) -> bool:
        return bool(self.fragment_id) and self.status == ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY


AS_OF = re.compile(rb"as of (\d{4}-\d\d-\d\d \d\d:\d\d)")


def record_frames(page) -> list[Frame]:
    """Record the page's websocket frames with the browser's timestamps (Chrome DevTools
    protocol; call before navigating). The list fills as Playwright delivers the events, i.e.
    during any later call on the page."""
    frames: list[Frame] = []
    cdp = page.context.new_cdp_session(page)

    def add(sent: bool):
        def handler(event):
            data = event["response"]
            payload = data["payloadData"].encode() if data.get("opcode") == 1 else base64.b64decode(data["payloadData"])
            frames.append(Frame(sent, float(event["timestamp"]), payload))
        return handler

    cdp.on("Network.webSocketFrameSent", add(True))
    cdp.on("Network.webSocketFrameReceived", add(False))
    cdp.send("Network.enable")
    return frames


def decode(frame: Frame) -> BackMsg | ForwardMsg | None:
    """The frame's protobuf message (BackMsg when sent, ForwardMsg when received); None if not one."""
    message = BackMsg() if frame.sent else ForwardMsg()
    try:
        message.ParseFromString(frame.payload)
    except Exception:  # protobuf's DecodeError, or a text frame
        return None
    return message


def script_runs(frames: list[Frame]) -> list[ScriptRun]:
    """Pair each rerun request with the script_finished that ends it. The server takes requests
    in order, so a request waiting behind another pairs with a later finish: that only overstates."""
    pending: list[dict] = []
    runs: list[ScriptRun] = []
    for frame in sorted(frames, key=lambda f: f.ts):
        message = decode(frame)
        if message is None:
            continue
        kind = message.WhichOneof("type")
        if frame.sent:
            if kind == "rerun_script":
                pending.append({"fragment_id": message.rerun_script.fragment_id, "ts": frame.ts,
                                "server_ms": None, "as_of": None, "bytes": 0})
            continue
        if not pending:
            continue
        head = pending[0]
        head["bytes"] += len(frame.payload)
        if kind == "page_profile":
            head["server_ms"] = message.page_profile.exec_time / 1000
        elif kind == "delta" and head["as_of"] is None:
            found = AS_OF.search(frame.payload)
            head["as_of"] = found.group(1).decode() if found else None
        elif kind == "script_finished":
            pending.pop(0)
            runs.append(ScriptRun(head["fragment_id"], head["ts"], (frame.ts - head["ts"]) * 1000, head["server_ms"],
                                  head["as_of"], message.script_finished, head["bytes"]))
    return runs


def fragment_runs(frames: list[Frame]) -> list[ScriptRun]:
    """The fragment reruns that finished successfully."""
    return [run for run in script_runs(frames) if run.fragment_ok]


def new_minute_runs(runs: list[ScriptRun]) -> list[ScriptRun]:
    """The fragment runs that drew a data minute other than the one on screen before them (runs
    that drew none, e.g. interrupted ones, leave the screen as it was)."""
    shown, found = None, []
    for run in runs:
        if run.as_of is None:
            continue
        if run.fragment_ok and run.as_of != shown:
            found.append(run)
        shown = run.as_of
    return found


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of process pid (all its threads) from /proc; None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- the shop --------------------------------------------------------------------------------------

def live_shop(ctx: BenchContext, days: int):
    """A shop of `days` ending now (bench.panel_reads' seed and scenario) followed by
    LIVE_REFRESHES one-minute refreshes; returns (db_url, refresh settings, its data minute)."""
    url = ctx.sqlite_url(f"browser-shop-{days}d")
    upgrade_schema(url)
    now_minute = int(time.time()) // 60 - LIVE_REFRESHES
    seed_history(get_engine(url), days=days, scenario=SCENARIO, seed=SEED, now_minute=now_minute, tz=TZ,
                 progress=False)
    settings = load_settings({"COCKPIT_DB_URL": url, "COCKPIT_SCENARIO": SCENARIO, "COCKPIT_SOURCES": "simulator",
                              "COCKPIT_TIMEZONE": TZ.key, "COCKPIT_SIM_SEED": str(SEED)})
    for step in range(1, LIVE_REFRESHES + 1):
        jobs.refresh(settings, now_ts=(now_minute + step) * 60 + 1)
    jobs.publish_views(settings)  # as the scheduler does after each refresh
    with get_engine(url).connect() as conn:
        minute = int(read.last_heartbeat(conn).data_minute_utc)
    return url, settings, minute


# --- the benchmark ---------------------------------------------------------------------------------

@dataclass
class WallRecord:
    frames: list[Frame]
    cpu_s: float | None  # the server's CPU time over the ticks (after the first full run)
    runs_in_window: int  # fragment runs in that time


def signed_in_context(browser, url: str, cookies: dict[str, str]):
    """A browser context holding the session cookie of a user who signed in before."""
    context = browser.new_context(viewport=VIEWPORT)
    context.add_cookies([{"name": name, "value": value, "url": url} for name, value in cookies.items()])
    return context


def measure_loads(browser, url: str, loads: int, first_visits: int, screenshot: Path, cookies: dict[str, str]):
    """One warm-up load, then `loads` fresh pages in one context and `first_visits` fresh contexts
    (empty HTTP cache), each signed in by its session cookie."""
    context = signed_in_context(browser, url, cookies)
    try:
        warm = context.new_page()  # fills the server's caches and the browser's HTTP cache
        measure_load(warm, url)
        warm.close()
        returning = []
        for index in range(loads):
            page = context.new_page()
            returning.append(measure_load(page, url))
            if index == loads - 1:
                page.screenshot(path=str(screenshot))
            page.close()
    finally:
        context.close()
    first = []
    for _ in range(first_visits):
        fresh = signed_in_context(browser, url, cookies)
        try:
            first.append(measure_load(fresh.new_page(), url))
        finally:
            fresh.close()
    return returning, first


def measure_wall(browser, server: Server, settings, start_minute: int, ticks: int, screenshot: Path) -> WallRecord:
    """Open the wall screen, then `ticks` times: refresh one simulated minute ahead and wait for
    the fragment run that draws it. Returns every frame seen."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        frames = record_frames(page)
        page.goto(server.url + "/?mode=wall&token=" + display_token(settings.db_url))
        page.wait_for_selector("[data-testid=stMetric]", timeout=TIMEOUT_MS)
        page.wait_for_selector("[data-testid=stStatusWidget]", state="detached", timeout=TIMEOUT_MS)
        cpu_before, runs_before = cpu_seconds(server.process.pid), len(fragment_runs(frames))
        minute = start_minute
        for _ in range(ticks):
            minute += 1
            report = jobs.refresh(settings, now_ts=(minute + 1) * 60 + 1)
            if report.status != "ok" or report.data_minute != minute:
                raise RuntimeError(f"the refresh of minute {minute} did not land: {report.status} {report.message}")
            jobs.publish_views(settings, report.data_minute)  # the scheduler's tick: refresh, then publish
            drawn = len(new_minute_runs(script_runs(frames)))
            deadline = time.monotonic() + TIMEOUT_MS / 1000
            while len(new_minute_runs(script_runs(frames))) == drawn:
                if time.monotonic() > deadline:
                    recent = [(run.fragment_id[:6], run.status, run.as_of, run.server_ms)
                              for run in script_runs(frames)[-5:]]
                    raise RuntimeError(f"the wall screen never drew the refresh of minute {minute}; its last runs "
                                       f"(fragment, status, as of, server ms): {recent}; server log "
                                       f"{server.log}:\n{server.log.read_text(errors='replace')[-1500:]}")
                page.wait_for_timeout(200)
        cpu_after, runs_after = cpu_seconds(server.process.pid), len(fragment_runs(frames))
        page.screenshot(path=str(screenshot))
        cpu = cpu_after - cpu_before if cpu_before is not None and cpu_after is not None else None
        return WallRecord(list(frames), cpu, runs_after - runs_before)
    finally:
        context.close()


def run(ctx: BenchContext) -> list[Measurement]:
    from playwright.sync_api import sync_playwright

    require_chromium()
    days = ctx.size(FULL_DAYS, SMOKE_DAYS)
    loads, first_visits = ctx.size(LOADS_FULL, LOADS_SMOKE), ctx.size(FIRST_VISITS_FULL, FIRST_VISITS_SMOKE)
    ticks = ctx.size(TICKS_FULL, TICKS_SMOKE)
    db_url, settings, start_minute = live_shop(ctx, days)
    dispose_engines()
    env = {"COCKPIT_DB_URL": db_url, "COCKPIT_TIMEZONE": TZ.key, "COCKPIT_SCENARIO": SCENARIO}
    servers = [start_server({**env, "COCKPIT_REFRESH_SECONDS": str(LOAD_REFRESH_S)}, ctx.workdir / "browser-load-server.log"),
               start_server({**env, "COCKPIT_REFRESH_SECONDS": str(WALL_REFRESH_S)}, ctx.workdir / "browser-wall-server.log",
                            usage_stats=True)]
    shots = ctx.workdir / "browser-overview.png", ctx.workdir / "browser-wall.png"
    try:
        for server in servers:
            wait_healthy(server)
        with sync_playwright() as playwright:
            browser = launch(playwright)
            try:
                returning, first = measure_loads(browser, servers[0].url, loads, first_visits, shots[0],
                                                 viewer_cookie(db_url))
                load_avg = os.getloadavg()[0]
                wall = measure_wall(browser, servers[1], settings, start_minute, ticks, shots[1])
            finally:
                browser.close()
    finally:
        for server in servers:
            server.stop()
    print(f"   screenshots: {shots[0]}, {shots[1]}", file=sys.stderr, flush=True)
    context = (f"{days}-day {SCENARIO} shop ending now, SQLite, 1920x1080; 1-min load average "
               f"{load_avg:.1f} on {os.cpu_count()} CPUs")
    return load_measurements(returning, first, context) + wall_measurements(wall, context)


def _ms(values: list[float | None]) -> str:
    present = [v for v in values if v is not None]
    return f"{statistics.median(present) / 1000:.2f} s" if present else "–"


def load_measurements(returning: list[LoadSample], first: list[LoadSample], context: str) -> list[Measurement]:
    result = []
    for case, samples, how in (("overview load to idle", returning, "a fresh page, browser cache warm"),
                               ("overview load to idle, first visit", first, "a fresh context, empty browser cache")):
        idle = [s.idle_ms / 1000 for s in samples]
        value = statistics.median(idle)
        result.append(Measurement(
            benchmark="browser", case=case, value=value, unit="s", target=f"<= {LOAD_TARGET_S:g} s",
            met=at_most(value, LOAD_TARGET_S), samples=[round(x, 3) for x in idle],
            note=f"{how} per load, median of {len(idle)}, p95 {percentile(idle, 95):.2f} s, max {max(idle):.2f} s; "
                 f"medians: DOMContentLoaded {_ms([s.dom_content_loaded_ms for s in samples])}, script run requested "
                 f"{_ms([s.first_send_ms for s in samples])}, first KPI tile {_ms([s.first_tile_ms for s in samples])}, "
                 f"last websocket message {_ms([s.last_message_ms for s in samples])}, last DOM mutation "
                 f"{_ms([s.last_mutation_ms for s in samples])} (idle = no change for {QUIET_MS} ms after it); {context}",
        ))
    return result


def _stats(samples: list[float]) -> str:
    return (f"median {statistics.median(samples):.0f}, p95 {percentile(samples, 95):.0f}, "
            f"max {max(samples):.0f} ms over {len(samples)} runs")


def wall_measurements(wall: WallRecord, context: str) -> list[Measurement]:
    every = script_runs(wall.frames)
    runs = [run for run in every if run.fragment_ok]
    if not runs:
        raise RuntimeError("no fragment run was recorded on the wall screen")
    server = [run.server_ms for run in runs if run.server_ms is not None]
    if len(server) != len(runs):
        raise RuntimeError(f"the server timed {len(server)} of {len(runs)} fragment runs (no page_profile: "
                           f"is browser.gatherUsageStats on?)")
    trips = [run.round_trip_ms for run in runs]
    fresh = [run.server_ms for run in new_minute_runs(every)]
    blank = sum(run.as_of is None for run in runs)
    sent_kb = statistics.median(run.bytes_received for run in runs) / 1000
    cpu = (f"; server CPU {wall.cpu_s / wall.runs_in_window * 1000:.0f} ms per fragment run (process CPU time over "
           f"{wall.runs_in_window} runs)" if wall.cpu_s is not None and wall.runs_in_window else "")
    return [
        Measurement(
            benchmark="browser", case="wall fragment refresh, server time (max)", value=max(server), unit="ms",
            target=f"<= {FRAGMENT_TARGET_MS:g} ms", met=at_most(max(server), FRAGMENT_TARGET_MS),
            samples=[round(x, 1) for x in server],
            note=f"Streamlit's own page_profile.exec_time of each fragment run at COCKPIT_REFRESH_SECONDS="
                 f"{WALL_REFRESH_S}: {_stats(server)}; the {len(fresh)} drawing a new data minute (loader cache "
                 f"miss): median {statistics.median(fresh) if fresh else 0:.0f}, max {max(fresh, default=0):.0f} ms"
                 f"{cpu}; {sent_kb:.0f} kB of messages per run (median){f'; {blank} runs drew no freshness caption' if blank else ''}; {context}",
        ),
        Measurement(
            benchmark="browser", case="wall fragment refresh, websocket round trip (max)", value=max(trips),
            unit="ms", samples=[round(x, 1) for x in trips],
            note=f"rerun request sent -> script_finished received, the browser's timestamps: {_stats(trips)}; an "
                 f"upper bound on server time (adds the server's queueing before and after the run, loopback and "
                 f"the browser's network stack)",
        ),
    ]
