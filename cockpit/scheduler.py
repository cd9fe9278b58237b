"""Wires the jobs to APScheduler, with a database lease so one scheduler per deployment works.

Every scheduler process ticks; only the holder of the lease (a row in scheduler_lock, renewed
each tick) runs the jobs. A standby takes the lease over once the holder has stopped renewing
it for LEASE_FACTOR intervals. The refresh itself also takes the database's write lock, so
even two leaders could never refresh at once.
"""
from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Callable
from datetime import datetime, timedelta, timezone

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine, delete, or_, update

from cockpit import alerts, jobs
from cockpit.config import Settings
from cockpit.db.dialect import insert_ignore
from cockpit.db.engine import get_engine, shown_url
from cockpit.db.schema import SchedulerLock

log = logging.getLogger(__name__)
LEASE_NAME = "scheduler"
LEASE_FACTOR = 1.5
JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 30}
RETRY_FIRST_S = 1.0  # the first retry after a failed tick; doubled up to settings.retry_max_seconds


@dataclass(frozen=True)
class SlowJob:
    """A job beside the refresh: `function(settings)` run on an APScheduler trigger, only by
    the scheduler that holds the lease. Later features (model fits, the weekly report) add
    theirs to SLOW_JOBS."""

    job_id: str
    function: Callable[[Settings], object]
    trigger: str
    trigger_args: dict = field(default_factory=dict)
    interval_setting: str | None = None  # a Settings field giving the interval in minutes
    at_start_after_s: float | None = None  # also run this many seconds after the start
    in_shop_timezone: bool = False  # a cron trigger's hours are the shop's (COCKPIT_TIMEZONE)


SLOW_JOBS: list[SlowJob] = [
    SlowJob("retention", jobs.apply_retention, "interval", {"hours": 1}),
    # Alert messages: soon after an alert opens (the refresh records it), retries when due.
    SlowJob("notifications", jobs.notify_job, "interval", {"seconds": 30}, at_start_after_s=20),
    # Forecasts once soon after the start (a fresh demo shows them within a minute), then on
    # COCKPIT_FORECAST_MINUTES.
    SlowJob("forecasts", jobs.forecast_job, "interval", interval_setting="forecast_minutes", at_start_after_s=15),
    SlowJob("attribution", jobs.attribution_job, "interval", interval_setting="attribution_minutes",
            at_start_after_s=45),
    # Customer scores likewise: soon after the start, then every COCKPIT_CUSTOMER_MINUTES.
    SlowJob("customer_value", jobs.customer_value_job, "interval", interval_setting="customer_minutes",
            at_start_after_s=30),
    # Every Monday at 06:00 in the shop's timezone, and once after a start (a scheduler down on
    # Monday morning writes the missing report when it is back; an existing one is kept).
    SlowJob("weekly_report", jobs.weekly_report_job, "cron", {"day_of_week": "mon", "hour": 6, "minute": 0},
            at_start_after_s=90, in_shop_timezone=True),
]


@dataclass
class Backoff:
    """When to try the database again after failures: first_s, then twice as long each time,
    at most max_s apart; a success resets it."""

    first_s: float
    max_s: float
    failures: int = 0
    next_try_ts: float = 0.0
    down_since_ts: float | None = None

    def failed(self, now: float) -> float:
        """Record a failure at `now`; returns the delay until the next attempt."""
        self.failures += 1
        if self.down_since_ts is None:
            self.down_since_ts = now
        delay = min(self.max_s, self.first_s * 2 ** (self.failures - 1))
        self.next_try_ts = now + delay
        return delay

    def succeeded(self) -> None:
        self.failures, self.next_try_ts, self.down_since_ts = 0, 0.0, None

    def due(self, now: float) -> bool:
        return now >= self.next_try_ts


def holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def try_acquire_lease(engine: Engine, holder: str, ttl_s: float, now: float | None = None) -> bool:
    """Take or renew the scheduler lease; True if `holder` holds it afterwards."""
    now = time.time() if now is None else now
    table = SchedulerLock.__table__
    with engine.begin() as conn:
        conn.execute(insert_ignore(conn, table).values(name=LEASE_NAME, holder=holder, expires_ts_utc=now + ttl_s))
        taken = conn.execute(
            update(table)
            .where(table.c.name == LEASE_NAME, or_(table.c.holder == holder, table.c.expires_ts_utc < now))
            .values(holder=holder, expires_ts_utc=now + ttl_s)
        ).rowcount
    return taken == 1


def release_lease(engine: Engine, holder: str) -> None:
    table = SchedulerLock.__table__
    with engine.begin() as conn:
        conn.execute(delete(table).where(table.c.name == LEASE_NAME, table.c.holder == holder))


class CockpitScheduler:
    """The scheduler process: a BackgroundScheduler whose jobs run only while it leads."""

    def __init__(self, settings: Settings, holder: str | None = None):
        self.settings = settings
        self.holder = holder or holder_id()
        self.engine = get_engine(settings.db_url)
        self.ttl_s = settings.refresh_seconds * LEASE_FACTOR
        self.is_leader = False
        self.last_report: jobs.RefreshReport | None = None
        self.scheduler = BackgroundScheduler(job_defaults=JOB_DEFAULTS, timezone="UTC")
        self.backoff = Backoff(RETRY_FIRST_S, max(RETRY_FIRST_S, settings.retry_max_seconds))
        self._ticking = threading.Lock()  # the interval tick and a retry never run together
        self.prepared = False

    def tick(self, now_ts: float | None = None) -> jobs.RefreshReport | None:
        """One interval: renew or take the lease, then refresh if leading. After a failure
        (the database unreachable or locked) the ticks wait for the backoff and a retry is
        scheduled; the first refresh that works catches the missed minutes up. now_ts: the
        clock (a soak test's accelerated time); default now."""
        if not self._ticking.acquire(blocking=False):
            return None
        try:
            return self._tick(time.time() if now_ts is None else now_ts, now_ts)
        finally:
            self._ticking.release()

    def _tick(self, now: float, now_ts: float | None) -> jobs.RefreshReport | None:
        if not self.backoff.due(now):
            log.debug("backing off: next attempt at %.0f", self.backoff.next_try_ts)
            return None
        try:
            self.is_leader = try_acquire_lease(self.engine, self.holder, self.ttl_s, now=now)
        except Exception as exc:
            self.is_leader = False
            self._failed(now, "could not reach the database for the scheduler lease", exc)
            return None
        if not self.is_leader:
            log.debug("standby: another scheduler holds the lease")
            self._back(now)
            return None
        try:
            if not self.prepared:
                self.prepare()
            self.last_report = jobs.refresh(self.settings, now_ts=now_ts)
            log.info(
                "refresh %s: data as of minute %s, %d events in %.2fs",
                self.last_report.status, self.last_report.data_minute, self.last_report.events, self.last_report.duration_s,
            )
        except Exception as exc:
            self._failed(now, "refresh failed", exc)
            return None
        self._back(now)
        if self.last_report.status == "ok":
            try:
                jobs.publish_views(self.settings, self.last_report.data_minute)
            except Exception:  # the pages compute the views themselves meanwhile
                log.exception("publishing the views failed; the app servers compute them until the next tick")
        return self.last_report

    def renew(self) -> None:
        """Every third of an interval: a leader renews its lease, so that a long tick (a
        catch-up, the views on a busy machine) never lets it lapse; a standby tries to take
        a lapsed lease and then refreshes at once, so a dead leader is replaced within
        LEASE_FACTOR + 1/3 intervals of its last renewal instead of waiting for the next tick."""
        was_leader = self.is_leader
        try:
            self.is_leader = try_acquire_lease(self.engine, self.holder, self.ttl_s)
        except Exception as exc:  # the tick notices and backs off
            log.debug("could not renew or take the lease: %s", exc)
            return
        if self.is_leader and not was_leader:
            log.info("took over the lease from a scheduler that stopped renewing it")
            self.tick()

    def _failed(self, now: float, what: str, exc: Exception) -> None:
        """Log a failure and schedule the retry after the backoff delay."""
        delay = self.backoff.failed(now)
        log.warning("%s (%s: %s); attempt %d failed, retrying in %.0fs", what, type(exc).__name__,
                    str(exc).splitlines()[0][:200] if str(exc) else "", self.backoff.failures, delay)
        if self.scheduler.running:
            self.scheduler.add_job(self.tick, "date", id="refresh-retry", replace_existing=True,
                                   run_date=datetime.fromtimestamp(time.time() + delay, tz=timezone.utc))

    def _back(self, now: float) -> None:
        if self.backoff.failures:
            log.warning("database reachable again after %d failed attempts (%.1fs down); caught up",
                        self.backoff.failures, now - (self.backoff.down_since_ts or now))
        self.backoff.succeeded()

    def prepare(self) -> None:
        """Default rules in place, and the rule profile from COCKPIT_RULE_PROFILE if set."""
        with self.engine.begin() as conn:
            alerts.seed_default_rules(conn, int(time.time()) // 60)
            if self.settings.rule_profile:
                alerts.set_active_profile(conn, self.settings.rule_profile)
        self.prepared = True

    def run_slow_job(self, job: SlowJob) -> None:
        if not self.is_leader:
            return
        try:
            job.function(self.settings)
            log.info("job %s done", job.job_id)
        except Exception:
            log.exception("job %s failed; it runs again at its next time", job.job_id)

    def start(self) -> None:
        """Tick once now (catching up after downtime), then every interval, aligned to the
        clock plus one second so each minute is complete before it is ingested."""
        interval = self.settings.refresh_seconds
        first = (int(time.time()) // interval + 1) * interval + 1
        self.scheduler.add_job(
            self.tick, "interval", seconds=interval, id="refresh", replace_existing=True,
            start_date=datetime.fromtimestamp(first, tz=timezone.utc),
        )
        self.scheduler.add_job(self.tick, id="refresh-at-start", replace_existing=True)
        self.scheduler.add_job(self.renew, "interval", seconds=max(1.0, interval / 3), id="lease", replace_existing=True)
        for job in SLOW_JOBS:
            trigger_args = dict(job.trigger_args)
            if job.interval_setting:
                trigger_args["minutes"] = getattr(self.settings, job.interval_setting)
            if job.in_shop_timezone:
                trigger_args["timezone"] = self.settings.tz
            if job.at_start_after_s is not None:
                trigger_args["next_run_time"] = datetime.now(timezone.utc) + timedelta(seconds=job.at_start_after_s)
            self.scheduler.add_job(
                self.run_slow_job, job.trigger, args=[job], id=job.job_id, replace_existing=True, **trigger_args
            )
        try:
            self.prepare()
        except Exception as exc:  # the database is down at start: the first tick that reaches it prepares
            log.warning("could not prepare the rules (%s); retrying with the first refresh", exc)
        self.scheduler.start()

    def stop(self) -> None:
        self.scheduler.shutdown(wait=True)
        if self.is_leader:
            release_lease(self.engine, self.holder)


def run_forever(settings: Settings) -> None:
    """Run the scheduler in the foreground until SIGINT or SIGTERM."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    cockpit_scheduler = CockpitScheduler(settings)
    cockpit_scheduler.start()
    log.info("scheduler %s started: refresh every %ss on %s", cockpit_scheduler.holder, settings.refresh_seconds,
             shown_url(settings.db_url))  # never the password: logs get shared
    try:
        while not stop.wait(1.0):
            pass
    finally:
        cockpit_scheduler.stop()
        log.info("scheduler stopped")
