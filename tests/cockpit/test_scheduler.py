"""Schedulers: one leads per database and refreshes every interval; a standby takes over when it dies."""
import os
import signal
import subprocess
import sys
import time
from collections import Counter

from sqlalchemy import select

from cockpit.db.engine import get_engine
from cockpit.db.schema import RefreshRun, SchedulerLock
from cockpit.ingest.seed import seed_history
from tests.cockpit.test_refresh import ROOT, TZ
from tests.support.figures import record
from tests.support.recount import assert_aggregates_match_raw


def start_scheduler(db_url, log=subprocess.DEVNULL):
    env = {**os.environ, "COCKPIT_DB_URL": db_url, "COCKPIT_SOURCES": "simulator", "COCKPIT_REFRESH_SECONDS": "2"}
    return subprocess.Popen([sys.executable, "-m", "cockpit", "scheduler"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=log)


def refresh_hosts(engine, since: float) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(RefreshRun.host).where(RefreshRun.started_ts_utc > since, RefreshRun.status == "ok")).scalars())


def ok_run_starts(engine, since: float, until: float) -> list[float]:
    with engine.connect() as conn:
        return list(conn.execute(select(RefreshRun.started_ts_utc).where(
            RefreshRun.started_ts_utc >= since, RefreshRun.started_ts_utc < until, RefreshRun.status == "ok")
            .order_by(RefreshRun.started_ts_utc)).scalars())


def lease_holder(engine) -> str | None:
    with engine.connect() as conn:
        return conn.execute(select(SchedulerLock.holder)).scalar()


def wait_for(predicate, timeout_s):
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    return None


def test_two_schedulers_one_leads_and_the_standby_takes_over(db_url, tmp_path):
    engine = get_engine(db_url)
    # History ending three minutes ago: the first tick catches up, later ones ingest each minute.
    seed_history(engine, days=1, scenario="normal", seed=3, now_minute=int(time.time()) // 60 - 3, tz=TZ, progress=False)
    started = time.time()
    first = start_scheduler(db_url)
    try:
        leader = wait_for(lambda: lease_holder(engine), 30)
        assert leader, "no scheduler took the lease"
        second_log = tmp_path / "second.log"
        with open(second_log, "w") as log:
            second = start_scheduler(db_url, log)
        try:
            assert wait_for(lambda: " started: refresh every" in second_log.read_text(), 60), "the second never started"
            both_from = time.time()
            holders = set()
            for _ in range(16):  # four intervals with both running, the lease sampled throughout
                time.sleep(0.5)
                holders.add(lease_holder(engine).split(":")[1])
            assert holders == {str(first.pid)}, "the first scheduler should lead throughout"
            assert wait_for(lambda: refresh_hosts(engine, started), 10), "the leader never refreshed"
            first.send_signal(signal.SIGKILL)  # dies without releasing its lease
            first.wait()
            died = time.time()
            # Exactly one refresh per interval while both ran: ticks are aligned to the clock
            # (every 2 s at odd seconds), so two refreshing schedulers would share a slot.
            slots = Counter(int(start - 1) // 2 for start in ok_run_starts(engine, both_from, died))
            assert slots and max(slots.values()) == 1, slots
            new_leader = wait_for(lambda: (h := lease_holder(engine)) and h.split(":")[1] == str(second.pid), 15)
            assert new_leader, "the standby did not take over"
            taken_over = wait_for(lambda: ok_run_starts(engine, died, time.time() + 1), 15)
            assert taken_over, "the standby never refreshed"
            # The lease lapses 1.5 intervals after the dead leader's last tick; the standby's
            # next aligned tick, at most two intervals after the death, takes it and refreshes.
            takeover_s = taken_over[0] - died
            assert takeover_s <= 2 * 2 + 0.5, takeover_s
            record("two_schedulers", interval_s=2, refreshes_while_both_ran=sum(slots.values()),
                   most_refreshes_in_one_interval=max(slots.values()), takeover_s=round(takeover_s, 2))
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
    with engine.connect() as conn:
        assert_aggregates_match_raw(conn)
        runs = conn.execute(select(RefreshRun.started_ts_utc, RefreshRun.finished_ts_utc)
                            .where(RefreshRun.started_ts_utc > started).order_by(RefreshRun.started_ts_utc)).all()
    # Refreshes never overlapped in time, whichever scheduler ran them.
    assert all(later[0] >= earlier[1] - 1e-3 for earlier, later in zip(runs, runs[1:]))
    assert len(runs) >= 3


def test_slow_jobs_run_only_on_the_leading_scheduler(db_url):
    from cockpit.config import load_settings
    from cockpit.scheduler import SLOW_JOBS, CockpitScheduler, SlowJob

    calls = []
    job = SlowJob("probe", lambda settings: calls.append(settings.db_url), "interval", {"hours": 1})
    settings = load_settings({"COCKPIT_DB_URL": db_url})
    standby, leader = CockpitScheduler(settings, holder="b"), CockpitScheduler(settings, holder="a")
    leader.is_leader = True
    standby.run_slow_job(job)
    leader.run_slow_job(job)
    assert calls == [db_url]
    assert "retention" in {j.job_id for j in SLOW_JOBS}


def test_the_start_line_of_the_log_names_the_database_without_its_password(monkeypatch, caplog):
    import logging
    import threading

    from cockpit import scheduler
    from cockpit.config import load_settings

    class Idle:  # the scheduler itself is not what this test is about
        holder = "test-holder"

        def __init__(self, settings):
            pass

        def start(self):
            pass

        def stop(self):
            pass

    stopped = threading.Event()
    stopped.set()  # run_forever's wait returns at once
    monkeypatch.setattr(scheduler, "CockpitScheduler", Idle)
    monkeypatch.setattr(scheduler.threading, "Event", lambda: stopped)
    monkeypatch.setattr(scheduler.signal, "signal", lambda *args: None)  # pytest keeps its own handlers
    settings = load_settings({"COCKPIT_DB_URL": "postgresql+psycopg://ops:s3cret-pw@db.example.com:5432/cockpit"})
    with caplog.at_level(logging.INFO, logger="cockpit.scheduler"):
        scheduler.run_forever(settings)
    started = [r.getMessage() for r in caplog.records if "started: refresh every" in r.getMessage()]
    assert started == ["scheduler test-holder started: refresh every 60s on "
                       "postgresql+psycopg://ops:***@db.example.com:5432/cockpit"]
    assert "s3cret-pw" not in caplog.text
