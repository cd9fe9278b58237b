"""Faults caused for real against a running scheduler process: the database unreachable (a cut
TCP proxy in front of PostgreSQL, a SQLite write lock held by another process) and the
scheduler SIGKILLed in the middle of its refresh. Afterwards every minute is ingested once and
the aggregates equal a brute-force recount of the raw events."""
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from cockpit.db.engine import get_engine
from cockpit.db.schema import AggTrafficMinute, CartAdd, PageView, RefreshRun, Session
from cockpit.ingest.seed import seed_history
from cockpit.ingest.simulator_source import read_watermark
from tests.cockpit.test_refresh import ROOT, TZ
from tests.cockpit.test_scheduler import wait_for
from tests.support.figures import record
from tests.support.proxy import TcpProxy
from tests.support.recount import assert_aggregates_match_raw, assert_stock_matches_movements, row_counts

INTERVAL_S = 2
RETRY_MAX_S = 4


def start_scheduler(db_url, output, **env):
    env = {**os.environ, "COCKPIT_DB_URL": db_url, "COCKPIT_SOURCES": "simulator",
           "COCKPIT_REFRESH_SECONDS": str(INTERVAL_S), "COCKPIT_RETRY_MAX_SECONDS": str(RETRY_MAX_S), **env}
    return subprocess.Popen([sys.executable, "-m", "cockpit", "scheduler"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=output, text=True)


def stop(process):
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def watermark(engine) -> int:
    with engine.connect() as conn:
        return read_watermark(conn)[0]


def ok_run_starts(engine, since: float) -> list[float]:
    with engine.connect() as conn:
        return list(conn.execute(select(RefreshRun.started_ts_utc).where(
            RefreshRun.started_ts_utc >= since, RefreshRun.status == "ok").order_by(RefreshRun.started_ts_utc)).scalars())


def assert_each_minute_ingested_once(engine, start_mark: int, since: float) -> int:
    """The runs since `since` ingested every minute after start_mark exactly once, and every
    such minute with visitors has its traffic aggregated (none lost); the aggregates equal a
    recount (none doubled). Returns how many minutes that was."""
    with engine.connect() as conn:
        end_mark = read_watermark(conn)[0]
        ingested = conn.execute(select(func.coalesce(func.sum(RefreshRun.minutes_ingested), 0)).where(
            RefreshRun.started_ts_utc >= since, RefreshRun.status == "ok")).scalar()
        covered = set(conn.execute(select(AggTrafficMinute.minute_utc).distinct().where(
            AggTrafficMinute.minute_utc > start_mark, AggTrafficMinute.minute_utc <= end_mark)).scalars())
        # At the shop's night trough (about 4 a.m.) a minute can pass without a visitor.
        visited = {ts // 60 for model in (Session, PageView, CartAdd) for ts in conn.execute(
            select(model.ts_utc).where(model.ts_utc >= (start_mark + 1) * 60, model.ts_utc < (end_mark + 1) * 60)).scalars()}
        assert ingested == end_mark - start_mark, "a minute was ingested twice or skipped"
        assert len(visited) > (end_mark - start_mark) // 2
        assert covered == visited, "minutes without aggregated traffic"
        assert_aggregates_match_raw(conn)
        assert_stock_matches_movements(conn)
    return end_mark - start_mark


class Outage:
    """The database made unreachable for the scheduler: PostgreSQL behind a proxy that is cut,
    SQLite with its write lock held by another connection (BEGIN EXCLUSIVE)."""

    def __init__(self, backend: str, db_url: str):
        self.backend, self.db_url = backend, db_url
        self.proxy = TcpProxy() if backend == "postgresql" else None
        self.holder = None

    @property
    def scheduler_url(self) -> str:
        if self.proxy is None:
            return self.db_url
        return self.db_url.replace("@127.0.0.1:5432/", f"@127.0.0.1:{self.proxy.port}/")

    def cut(self) -> None:
        if self.proxy is not None:
            self.proxy.cut()
        else:
            self.holder = sqlite3.connect(make_url(self.db_url).database, isolation_level=None, timeout=30)
            self.holder.execute("BEGIN EXCLUSIVE")

    def restore(self) -> None:
        if self.proxy is not None:
            self.proxy.restore()
        else:
            self.holder.execute("ROLLBACK")
            self.holder.close()

    def close(self) -> None:
        if self.proxy is not None:
            self.proxy.cut()


def test_the_scheduler_backs_off_while_the_database_is_unreachable_and_catches_up(db_url, backend, tmp_path):
    engine = get_engine(db_url)
    # History ending 10 minutes ago, caught up two minutes a tick: the outage comes while the
    # scheduler is behind, and the minutes it could not ingest must be caught up afterwards.
    seed_history(engine, days=1, scenario="normal", seed=3, now_minute=int(time.time()) // 60 - 10, tz=TZ,
                 progress=False)
    start_mark = watermark(engine)
    outage = Outage(backend, db_url)
    log_path = tmp_path / "scheduler.log"
    started = time.time()
    with open(log_path, "w") as log:
        process = start_scheduler(outage.scheduler_url, log, COCKPIT_MAX_CATCHUP_MINUTES="2")
    try:
        assert wait_for(lambda: ok_run_starts(engine, started), 60), "the scheduler never refreshed"
        cut_at = time.time()
        outage.cut()
        # On SQLite longer than the 10 s a writer waits for the lock before it fails.
        time.sleep(8 if backend == "postgresql" else 24)
        if backend == "postgresql":  # the test reads directly, the scheduler through the cut proxy
            assert not ok_run_starts(engine, cut_at + 1), "a refresh ran while the database was unreachable"
        stalled_mark = watermark(engine)
        assert stalled_mark < int(time.time()) // 60 - 1, "it had caught up before the outage; the test proves nothing"
        restored_at = time.time()
        outage.restore()
        first = wait_for(lambda: ok_run_starts(engine, restored_at - 0.5), 60)
        assert first, "the scheduler did not come back after the outage"
        recovery_s = first[0] - restored_at
        assert wait_for(lambda: watermark(engine) >= int(time.time()) // 60 - 1, 60), "it did not catch up"
        caught_up_s = time.time() - restored_at
    finally:
        stop(process)
        outage.close()
    text = log_path.read_text()
    delays = [int(d) for d in re.findall(r"retrying in (\d+)s", text)]
    assert delays and delays[0] == 1 and delays == sorted(delays) and max(delays) <= RETRY_MAX_S, delays
    if backend == "postgresql":  # a lock wait (SQLite's busy timeout) makes each attempt last 10 s
        assert delays[:3] == [1, 2, 4], delays
    assert "database reachable again" in text
    assert watermark(engine) > stalled_mark
    minutes = assert_each_minute_ingested_once(engine, start_mark, started)
    # SQLite: an attempt already waiting for the lock gets it as soon as it is released.
    assert recovery_s < RETRY_MAX_S + 3
    record(f"db_outage[{backend}]", outage_s=round(restored_at - cut_at, 1), retry_delays_s=delays,
           recovery_s=round(max(recovery_s, 0.0), 2), caught_up_s=round(caught_up_s, 1),
           behind_minutes_at_restore=int(time.time()) // 60 - 1 - stalled_mark, minutes_ingested=minutes, events_lost=0, events_doubled=0)


def test_the_scheduler_process_killed_mid_refresh_loses_and_doubles_nothing(db_url, backend, tmp_path):
    """The real scheduler process (lease, refresh, views), SIGKILLed at random moments after
    its refresh took the lock. History ends hours ago and each tick catches up at most 30
    minutes, so every restart begins with a refresh long enough to be killed mid-way."""
    engine = get_engine(db_url)
    seed_history(engine, days=1, scenario="normal", seed=5, now_minute=int(time.time()) // 60 - 150, tz=TZ,
                 progress=False)
    start_mark, started = watermark(engine), time.time()
    rng = random.Random(8)
    killed_mid_way = committed = 0
    max_delay = 1.5
    for _attempt in range(8):
        with engine.connect() as conn:
            before, mark = row_counts(conn), read_watermark(conn)[0]
        process = start_scheduler(db_url, subprocess.PIPE, COCKPIT_MAX_CATCHUP_MINUTES="30")
        for line in process.stderr:
            if "refresh started" in line:
                break
        time.sleep(rng.uniform(0.0, max_delay))
        process.send_signal(signal.SIGKILL)
        process.wait()
        process.stderr.close()
        with engine.connect() as conn:
            if read_watermark(conn)[0] == mark:
                assert row_counts(conn) == before, "a killed refresh left part of its work behind"
                killed_mid_way += 1
                if killed_mid_way >= 2:
                    break
            else:  # it committed first: all of its work is there, counted once
                assert_aggregates_match_raw(conn)
                committed += 1
                max_delay /= 2
    assert killed_mid_way >= 1, f"no refresh was killed mid-way ({committed} committed first)"
    # The lease of the killed holder lapses (1.5 intervals); a new scheduler then catches up.
    with open(tmp_path / "scheduler.log", "w") as log:
        process = start_scheduler(db_url, log, COCKPIT_MAX_CATCHUP_MINUTES="120")
    try:
        assert wait_for(lambda: watermark(engine) >= int(time.time()) // 60 - 1, 90), "it did not catch up"
    finally:
        stop(process)
    minutes = assert_each_minute_ingested_once(engine, start_mark, started)
    record(f"scheduler_sigkill[{backend}]", kills=killed_mid_way + committed, killed_mid_refresh=killed_mid_way,
           minutes_ingested=minutes, events_lost=0, events_doubled=0)
