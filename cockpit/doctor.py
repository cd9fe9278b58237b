"""`python -m cockpit doctor`: checks the configuration, the database, the scheduler and the app, and says what to fix."""
from __future__ import annotations

import os
import re
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.engine import URL, make_url

from cockpit.config import ConfigError, Settings

STATUSES = ("ok", "warn", "fail")
# The pages call the data stale after two intervals; the doctor waits one more before it
# blames the scheduler, so a refresh that is merely slow today is not reported as a stop.
STALE_INTERVALS = 3
# The engine waits 10 s for a server that does not answer (cockpit.db.engine); a doctor
# should say so sooner.
DATABASE_TIMEOUT_S = 5.0
APP_TIMEOUT_S = 3.0

START_SCHEDULER = "start the scheduler: `python -m cockpit scheduler` or `python -m cockpit run`"
RUN_INIT = "run `python -m cockpit init`"


@dataclass(frozen=True)
class Check:
    """One finding. status: ok, warn or fail; detail: what was found; fix: what to do about
    it ('' when ok)."""

    name: str
    status: str
    detail: str
    fix: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"Check status {self.status!r}: use one of {', '.join(STATUSES)}")


def run_checks(settings: Settings, *, app_url: str | None = None, now_ts: float | None = None) -> list[Check]:
    """Check the configuration, the database (reachable, schema at the code's head revision,
    data present), the scheduler's heartbeat and lease, the users, the alert channels and, when app_url is given
    (e.g. http://localhost:8501), the app's health endpoint. now_ts: the clock in epoch
    seconds (default now). A check whose prerequisite failed is left out: with the database
    unreachable there is no schema to compare, so the list can be shorter than eight."""
    now = time.time() if now_ts is None else now_ts
    checks = [_configuration(settings)]
    if checks[0].status != "fail":
        database, engine = _database(settings.db_url)
        checks.append(database)
        if engine is not None:
            schema = _schema(engine)
            checks.append(schema)
            if schema.status == "ok":  # the queries below need every table of the head revision
                with engine.connect() as conn:
                    checks += [_data(conn), _scheduler(conn, settings, now), _users(conn),
                               _notifications(conn, settings, now)]
    if app_url:
        checks.append(_app(app_url))
    return checks


def configuration_failure(error: Exception) -> Check:
    """The configuration check when `load_settings` raised ConfigError: its message names the
    variable and what it must be; the fix says to correct or unset it."""
    variable = re.match(r"COCKPIT_[A-Z0-9_]+", str(error))
    name = variable.group(0) if variable else "the variable named above"
    return Check("configuration", "fail", str(error),
                 f"set {name} to a valid value, or unset it to use its default (README \"Configuration\" "
                 "lists every setting); the other checks run once the settings load")


def has_failure(checks: list[Check]) -> bool:
    return any(check.status == "fail" for check in checks)


MARKS = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}


def report_lines(checks: list[Check]) -> list[str]:
    """The report as printed: one line per check (mark, name, detail), a `fix:` line under
    each check that is not ok, and a closing summary."""
    width = max(len(check.name) for check in checks)
    lines = []
    for check in checks:
        lines.append(f"{MARKS[check.status]}  {check.name:<{width}}  {check.detail}")
        if check.status != "ok" and check.fix:
            lines.append(f"{'':4}  {'':<{width}}  fix: {check.fix}")
    counts = {status: sum(check.status == status for check in checks) for status in STATUSES}
    lines.append(f"{counts['ok']} ok, {counts['warn']} warning(s), {counts['fail']} failure(s)"
                 + (": fix the failures first" if counts["fail"] else ""))
    return lines


# --- the checks ----------------------------------------------------------------------------------


def _configuration(settings: Settings) -> Check:
    """Settings built in code skip load_settings' validation, so the values that would break
    every later step are checked again here."""
    problems = []
    try:
        ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(f"timezone {settings.timezone!r} is not an IANA timezone such as Asia/Shanghai")
    if settings.refresh_seconds < 1:
        problems.append(f"refresh interval {settings.refresh_seconds} s must be at least 1 s")
    if problems:
        return Check("configuration", "fail", "; ".join(problems),
                     "set COCKPIT_TIMEZONE and COCKPIT_REFRESH_SECONDS to valid values, or unset them for the defaults")
    detail = (f"timezone {settings.timezone}, refresh every {settings.refresh_seconds} s, "
              f"sources {', '.join(settings.sources) or 'none'}; database {_describe(make_url(settings.db_url))}")
    if _in_memory(make_url(settings.db_url)):
        return Check("configuration", "warn", detail + " (nothing is kept between commands)",
                     "set COCKPIT_DB_URL to a file (sqlite:///path/cockpit.db) or a PostgreSQL URL")
    return Check("configuration", "ok", detail)


def _database(db_url: str) -> tuple[Check, Engine | None]:
    """Whether the database answers within DATABASE_TIMEOUT_S; the engine when it does. A
    SQLite file that does not exist is reported, not created (connecting would create it)."""
    from cockpit.db.engine import get_engine

    url = make_url(db_url)
    sqlite = url.get_backend_name() == "sqlite"
    if sqlite and not _in_memory(url):
        problem = _sqlite_file_problem(Path(url.database))
        if problem is not None:
            return problem, None
    try:
        engine = get_engine(db_url)
    except Exception as exc:  # e.g. the URL names a driver that is not installed
        return Check("database", "fail", f"cannot use {_describe(url)}: {_first_line(exc)}",
                     "check COCKPIT_DB_URL: sqlite:///path/cockpit.db or postgresql+psycopg://user:password@host:5432/name"), None
    started = time.perf_counter()
    error = _probe(engine, DATABASE_TIMEOUT_S)
    if error is not None:
        if sqlite:
            fix = f"check that {Path(url.database).resolve()} is a cockpit SQLite database this user can read and write"
        else:
            fix = (f"check that the PostgreSQL server is running and accepts connections at {url.host or 'localhost'}:"
                   f"{url.port or 5432}, and that the database name, user and password in COCKPIT_DB_URL are right")
        return Check("database", "fail", f"cannot reach {_describe(url)}: {_first_line(error)}", fix), None
    version = ".".join(str(part) for part in (engine.dialect.server_version_info or ()))
    return Check("database", "ok", f"{engine.dialect.name} {version} answered in "
                 f"{(time.perf_counter() - started) * 1000:.0f} ms"), engine


def _sqlite_file_problem(path: Path) -> Check | None:
    shown = path.resolve()
    where = "create it there, or point COCKPIT_DB_URL at the file you meant"
    if not shown.parent.is_dir():
        return Check("database", "fail", f"the folder {shown.parent} of the SQLite file does not exist",
                     f"{RUN_INIT} to {where}")
    if not shown.exists():
        return Check("database", "fail", f"no SQLite file at {shown}", f"{RUN_INIT} to {where}")
    # SQLite writes its -wal and -shm files beside the database, so the folder must be
    # writable even for a process that only reads.
    for needed, what in ((shown.parent, "folder"), (shown, "file")):
        if not os.access(needed, os.R_OK | os.W_OK):
            return Check("database", "fail", f"the SQLite {what} {needed} is not writable for this user",
                         f"make {needed} readable and writable for the user running the cockpit "
                         "(SQLite writes its -wal and -shm files beside the database)")
    return None


def _probe(engine: Engine, timeout_s: float) -> BaseException | None:
    """Connect and run SELECT 1; the error, a TimeoutError after timeout_s, or None."""
    outcome: list[BaseException | None] = []

    def attempt() -> None:
        try:
            with engine.connect() as conn:
                conn.execute(select(1))
            outcome.append(None)
        except Exception as exc:
            outcome.append(exc)

    # A daemon thread, so a server that never answers costs timeout_s instead of the engine's
    # connect timeout; the abandoned attempt ends by itself when that timeout strikes.
    thread = threading.Thread(target=attempt, name="doctor-database-probe", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if not outcome:
        return TimeoutError(f"no answer within {timeout_s:.0f} s")
    return outcome[0]


def _schema(engine: Engine) -> Check:
    from cockpit.db.engine import known_revisions, schema_revision

    revision, known = schema_revision(engine), known_revisions()
    head = known[0]
    if revision is None:
        return Check("schema", "fail", f"no cockpit schema yet (this code expects revision {head})",
                     f"{RUN_INIT} to create it")
    if revision == head:
        return Check("schema", "ok", f"at revision {head}, the newest this code knows")
    if revision in known:
        behind = known.index(revision)
        return Check("schema", "fail", f"at revision {revision}, {behind} migration(s) behind this code's {head}",
                     f"{RUN_INIT} to migrate it (stop the scheduler and the app first)")
    return Check("schema", "fail", f"at revision {revision}, which this code does not know (its newest is {head})",
                 "this code is older than the database: update the cockpit to the version that migrated it")


def _data(conn: Connection) -> Check:
    from cockpit.db.schema import Customer, RefreshRun

    customers = conn.execute(select(func.count()).select_from(Customer)).scalar_one()
    runs = conn.execute(select(func.count()).select_from(RefreshRun)).scalar_one()
    detail = f"{customers:,} customers, {runs:,} refresh run(s)"
    if not customers:
        return Check("data", "warn", f"no shop data yet ({detail})",
                     "run `python -m cockpit seed --days N` for demo history, or import your shop's exports "
                     "(`python -m cockpit import FILE`)")
    return Check("data", "ok", detail)


def _scheduler(conn: Connection, settings: Settings, now: float) -> Check:
    """Fresh when the last good refresh finished within STALE_INTERVALS intervals. The lease
    row (cockpit.scheduler) tells a stopped scheduler (fail: start one) from a running one
    whose refreshes do not finish (warn: read its log)."""
    from cockpit.db.schema import RefreshRun, SchedulerLock
    from cockpit.metrics.read import last_heartbeat
    from cockpit.timebuckets import datetime_of_minute

    beat = last_heartbeat(conn)
    last = conn.execute(select(RefreshRun.status, RefreshRun.finished_ts_utc, RefreshRun.message)
                        .order_by(RefreshRun.run_id.desc()).limit(1)).first()
    # The table holds only the scheduler's lease; an expired row is a scheduler that stopped
    # without releasing it.
    lease = conn.execute(select(SchedulerLock.holder).where(SchedulerLock.expires_ts_utc >= now)
                         .order_by(SchedulerLock.expires_ts_utc.desc()).limit(1)).first()
    leader = f"scheduler {lease.holder} holds the lease" if lease else "no scheduler holds the lease"
    failed = ""
    if last is not None and last.status == "failed":
        failed = f"; the last refresh failed {_ago(now - (last.finished_ts_utc or now))} ago: {_first_line(last.message)}"
    read_log = "read the scheduler's log: its refreshes fail or do not finish (the error above, a long catch-up)"
    if beat is None:
        if lease:
            return Check("scheduler", "warn", f"no refresh has finished yet; {leader}{failed}",
                         "wait for its first refresh, or " + read_log)
        return Check("scheduler", "fail", f"no refresh has finished yet; {leader}{failed}", START_SCHEDULER)
    lag = max(0.0, now - beat.finished_ts_utc)
    as_of = f"{datetime_of_minute(beat.data_minute_utc, settings.tz):%Y-%m-%d %H:%M} {settings.timezone}"
    detail = f"last refresh {_ago(lag)} ago, data as of {as_of}; {leader}{failed}"
    limit = STALE_INTERVALS * settings.refresh_seconds
    if lag > limit:
        detail += f" (stale: more than {STALE_INTERVALS} refresh intervals, {_ago(limit)})"
        if lease:
            return Check("scheduler", "warn", detail, read_log)
        return Check("scheduler", "fail", detail, START_SCHEDULER)
    if failed:
        return Check("scheduler", "warn", detail,
                     "read the scheduler's log for the failure; the next refresh retries and catches the minutes up")
    return Check("scheduler", "ok", detail)


def _users(conn: Connection) -> Check:
    from cockpit import auth

    users = auth.list_users(conn)
    admins = users[(users["role"] == "admin") & ~users["disabled"]]
    if users.empty:
        return Check("users", "warn", "no user yet: nobody can sign in to the app",
                     f"{RUN_INIT}: it creates the admin user and prints its password once")
    if admins.empty:
        return Check("users", "warn", f"{len(users)} user(s) but no enabled admin: nobody can edit alert rules or users",
                     "`python -m cockpit users add NAME --role admin` (prints a generated password), or "
                     "`python -m cockpit users set-role NAME admin` for an existing user")
    return Check("users", "ok", f"{len(users)} user(s), {len(admins)} enabled admin(s)")


def _notifications(conn: Connection, settings: Settings, now: float) -> Check:
    """The alert channels file reads, and no message was given up on in the last day."""
    from cockpit import notify
    from cockpit.db.schema import Notification

    if settings.notify_file is None:
        return Check("notifications", "ok", "no channels configured: alerts show in the app only "
                     "(COCKPIT_NOTIFY_FILE, README \"Alert notifications\")")
    try:
        channels = notify.load_channels(settings.notify_file, settings.smtp_password)
    except ConfigError as exc:
        return Check("notifications", "fail", str(exc), "correct the file (README \"Alert notifications\" shows "
                     "the format); no alert message is sent until it reads")
    failed = conn.execute(select(Notification.channel, func.count()).where(
        Notification.status == "failed", Notification.created_ts_utc >= now - 86400)
        .group_by(Notification.channel)).all()
    names = ", ".join(channel.name for channel in channels) or "none"
    if failed:
        where = ", ".join(f"{channel} ({count})" for channel, count in failed)
        return Check("notifications", "warn", f"channels {names}; messages given up on in the last 24 h: {where}",
                     "see Alerts & actions > Alert messages for the errors; check the channel's URL, key or "
                     "SMTP settings")
    return Check("notifications", "ok", f"{len(channels)} channel(s): {names}")


def _app(app_url: str) -> Check:
    """The Streamlit server's own health endpoint answers `ok` once the app is serving."""
    health = app_url.rstrip("/") + "/_stcore/health"
    fix = "start it with `python -m cockpit run`, or pass --app-url with the address it runs at"
    try:
        with urllib.request.urlopen(health, timeout=APP_TIMEOUT_S) as response:
            body = response.read(100)
    except urllib.error.HTTPError as exc:
        return Check("app", "warn", f"{app_url} answers HTTP {exc.code} at /_stcore/health: not the cockpit app", fix)
    except (OSError, ValueError) as exc:  # refused, timed out, no such host, or not a URL
        reason = getattr(exc, "reason", exc)
        return Check("app", "warn", f"the app is not running at {app_url} ({_first_line(reason)})", fix)
    if body.strip() != b"ok":
        return Check("app", "warn", f"{app_url} answers {body[:40]!r} at /_stcore/health, not ok", fix)
    return Check("app", "ok", f"the app answers at {app_url}")


# --- wording -----------------------------------------------------------------------------------


def _in_memory(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def _describe(url: URL) -> str:
    """The database for a person: a SQLite file's absolute path, else the URL without its password."""
    if url.get_backend_name() == "sqlite":
        return "in-memory SQLite" if _in_memory(url) else f"SQLite file {Path(url.database).resolve()}"
    return url.render_as_string(hide_password=True)


def _first_line(error: object) -> str:
    """An error's first line, without the SQLAlchemy wrapper and its background link."""
    text = str(getattr(error, "orig", None) or error).strip()
    return (text.splitlines()[0] if text else type(error).__name__)[:300]


def _ago(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.0f} days"
