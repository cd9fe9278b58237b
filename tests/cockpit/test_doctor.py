"""`python -m cockpit doctor`: each check on a real SQLite file and on PostgreSQL, and the CLI's report and exit codes."""
import http.server
import socket
import re
import threading
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import column, insert, table, update

from cockpit import auth, doctor, jobs
from cockpit.config import Settings, load_settings
from cockpit.db.engine import get_engine, head_revision, known_revisions
from cockpit.db.schema import RefreshRun, SchedulerLock
from cockpit.ingest.seed import seed_history
from cockpit.metrics.read import last_heartbeat
from tests.cockpit.test_cli import free_port, run_cli

TZ = ZoneInfo("Asia/Shanghai")
ORDER = ["configuration", "database", "schema", "data", "scheduler", "users", "notifications", "app"]


def settings_for(db_url: str, **env) -> Settings:
    return load_settings({"COCKPIT_DB_URL": db_url, "COCKPIT_SOURCES": "simulator", **env})


def by_name(checks) -> dict:
    return {check.name: check for check in checks}


def statuses(checks) -> dict:
    return {check.name: check.status for check in checks}


@pytest.fixture(scope="module")
def seeded_url(module_db_url):
    """What `seed --days 1` leaves behind, then one refresh at the present: history ending now,
    a fresh heartbeat, the first admin."""
    engine = get_engine(module_db_url)
    seed_history(engine, days=1, scenario="normal", seed=7, now_minute=int(time.time()) // 60, tz=TZ, progress=False)
    with engine.begin() as conn:
        auth.ensure_first_admin(conn, "a doctor's long password", time.time())
    assert jobs.refresh(settings_for(module_db_url)).status == "ok"
    return module_db_url


@pytest.fixture
def health_server():
    """A stand-in for Streamlit's health endpoint on a free port: `ok` at /_stcore/health, 404 elsewhere."""

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            found = self.path == "/_stcore/health"
            body = b"ok" if found else b"not found"
            self.send_response(200 if found else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # keep the test output clean
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def add_runs(db_url: str, *rows: dict) -> None:
    with get_engine(db_url).begin() as conn:
        for row in rows:
            conn.execute(insert(RefreshRun.__table__).values(
                started_ts_utc=row["finished"] - 1, finished_ts_utc=row["finished"], duration_s=1.0,
                data_minute_utc=int(row["finished"]) // 60 - 1 if row["status"] == "ok" else None,
                events_ingested=10, minutes_ingested=1, status=row["status"], message=row.get("message", ""),
                host="test"))


# --- a healthy setup ----------------------------------------------------------------------------


def test_a_seeded_refreshed_database_passes_every_check_but_the_app_that_is_not_running(seeded_url):
    app_url = f"http://127.0.0.1:{free_port()}"  # a port nothing listens on
    checks = doctor.run_checks(settings_for(seeded_url), app_url=app_url)
    assert [check.name for check in checks] == ORDER
    assert statuses(checks) == {**dict.fromkeys(ORDER, "ok"), "app": "warn"}
    found = by_name(checks)
    assert found["schema"].detail == f"at revision {head_revision()}, the newest this code knows"
    assert "timezone Asia/Shanghai, refresh every 60 s, sources simulator" in found["configuration"].detail
    assert "no scheduler holds the lease" in found["scheduler"].detail
    assert found["users"].detail == "1 user(s), 1 enabled admin(s)"
    assert found["app"].detail.startswith(f"the app is not running at {app_url} (")
    assert found["app"].fix.startswith("start it with `python -m cockpit run`")
    assert all(check.fix == "" for check in checks if check.status == "ok")


def test_the_app_check_is_ok_when_the_health_endpoint_answers_ok(seeded_url, health_server):
    found = by_name(doctor.run_checks(settings_for(seeded_url), app_url=health_server))
    assert (found["app"].status, found["app"].detail) == ("ok", f"the app answers at {health_server}")
    elsewhere = by_name(doctor.run_checks(settings_for(seeded_url), app_url=health_server + "/other"))["app"]
    assert elsewhere.status == "warn" and "answers HTTP 404" in elsewhere.detail


def test_the_cli_prints_one_line_per_check_and_exits_0_when_nothing_fails(seeded_url, health_server):
    code, out, err = run_cli(seeded_url, "doctor", "--app-url", health_server, timeout=120)
    assert code == 0, out + err
    lines = out.splitlines()
    assert [line.split()[:2] for line in lines[:8]] == [["ok", name] for name in ORDER]
    assert lines[8] == "8 ok, 0 warning(s), 0 failure(s)" and "fix:" not in out
    code, out, _ = run_cli(seeded_url, "doctor", "--no-app", timeout=120)
    assert code == 0 and not re.search(r"^ok +app ", out, re.M) and out.splitlines()[-1] == "7 ok, 0 warning(s), 0 failure(s)"


def test_the_data_minute_is_shown_in_the_shop_timezone(seeded_url):
    with get_engine(seeded_url).connect() as conn:
        beat = last_heartbeat(conn)
    found = by_name(doctor.run_checks(settings_for(seeded_url), now_ts=beat.finished_ts_utc + 30))
    minute = f"{datetime.fromtimestamp(beat.data_minute_utc * 60, TZ):%Y-%m-%d %H:%M}"
    assert found["scheduler"].detail.startswith(f"last refresh 30 s ago, data as of {minute} Asia/Shanghai;")


# --- the scheduler --------------------------------------------------------------------------------


def test_a_heartbeat_older_than_three_intervals_fails_the_scheduler_check_with_the_start_fix(seeded_url):
    with get_engine(seeded_url).connect() as conn:
        finished = last_heartbeat(conn).finished_ts_utc
    settings = settings_for(seeded_url)
    fresh = by_name(doctor.run_checks(settings, now_ts=finished + 3 * 60 - 5))["scheduler"]
    stale = by_name(doctor.run_checks(settings, now_ts=finished + 3 * 60 + 5))["scheduler"]
    far = by_name(doctor.run_checks(settings, now_ts=finished + 3 * 86400))["scheduler"]
    assert fresh.status == "ok"
    assert stale.status == "fail" and "(stale: more than 3 refresh intervals, 3 min)" in stale.detail
    assert stale.fix == "start the scheduler: `python -m cockpit scheduler` or `python -m cockpit run`"
    assert far.status == "fail" and far.detail.startswith("last refresh 3 days ago")


def test_a_running_scheduler_whose_refreshes_fail_is_a_warning_naming_the_error(db_url):
    t = 1_800_000_000.0
    add_runs(db_url, {"status": "ok", "finished": t},
             {"status": "failed", "finished": t + 60, "message": "OperationalError: database is locked\nmore"})
    with get_engine(db_url).begin() as conn:
        conn.execute(insert(SchedulerLock.__table__).values(name="scheduler", holder="box:42:abc123",
                                                            expires_ts_utc=t + 3600))
    settings = settings_for(db_url)
    soon = by_name(doctor.run_checks(settings, now_ts=t + 90))["scheduler"]
    assert soon.status == "warn"
    assert soon.detail == ("last refresh 90 s ago, data as of 2027-01-15 15:59 Asia/Shanghai; scheduler box:42:abc123 "
                           "holds the lease; the last refresh failed 30 s ago: OperationalError: database is locked")
    assert "read the scheduler's log" in soon.fix
    stale = by_name(doctor.run_checks(settings, now_ts=t + 600))["scheduler"]
    assert stale.status == "warn" and "stale" in stale.detail and "read the scheduler's log" in stale.fix
    # The lease lapsed: the scheduler stopped, and starting one is the fix.
    stopped = by_name(doctor.run_checks(settings, now_ts=t + 3601))["scheduler"]
    assert stopped.status == "fail" and "no scheduler holds the lease" in stopped.detail
    assert stopped.fix.startswith("start the scheduler")


def test_an_empty_schema_warns_about_data_and_users_and_fails_the_scheduler(db_url):
    checks = doctor.run_checks(settings_for(db_url))
    assert statuses(checks) == {"configuration": "ok", "database": "ok", "schema": "ok", "data": "warn",
                                "scheduler": "fail", "users": "warn", "notifications": "ok"}
    found = by_name(checks)
    assert found["data"].detail == "no shop data yet (0 customers, 0 refresh run(s))"
    assert "`python -m cockpit seed --days N`" in found["data"].fix and "import" in found["data"].fix
    assert found["scheduler"].detail == "no refresh has finished yet; no scheduler holds the lease"
    assert found["users"].fix.startswith("run `python -m cockpit init`")
    with get_engine(db_url).begin() as conn:
        auth.add_user(conn, "vera", "viewer", "a viewer's long password", time.time())
    users = by_name(doctor.run_checks(settings_for(db_url)))["users"]
    assert users.status == "warn" and users.detail.startswith("1 user(s) but no enabled admin")
    assert "`python -m cockpit users add NAME --role admin`" in users.fix


# --- the database and its schema ------------------------------------------------------------------


def test_a_fresh_empty_database_fails_the_schema_check_with_the_init_fix(fresh_db_url, backend):
    url = fresh_db_url(backend)
    get_engine(url).connect().close()  # an empty database: for SQLite, an empty file
    checks = doctor.run_checks(settings_for(url))
    assert statuses(checks) == {"configuration": "ok", "database": "ok", "schema": "fail"}
    schema = by_name(checks)["schema"]
    assert schema.detail == f"no cockpit schema yet (this code expects revision {head_revision()})"
    assert schema.fix == "run `python -m cockpit init` to create it"
    code, out, err = run_cli(url, "doctor", "--no-app", timeout=120)
    assert code == 1 and "Traceback" not in err
    assert "FAIL  schema" in out and "fix: run `python -m cockpit init` to create it" in out
    assert out.splitlines()[-1] == "2 ok, 0 warning(s), 1 failure(s): fix the failures first"


def test_a_schema_behind_the_code_needs_init_and_one_ahead_needs_newer_code(db_url):
    versions = table("alembic_version", column("version_num"))
    older = known_revisions()[2]
    with get_engine(db_url).begin() as conn:
        conn.execute(update(versions).values(version_num=older))
    behind = by_name(doctor.run_checks(settings_for(db_url)))["schema"]
    assert behind.status == "fail"
    assert behind.detail == f"at revision {older}, 2 migration(s) behind this code's {head_revision()}"
    assert behind.fix.startswith("run `python -m cockpit init` to migrate it")
    with get_engine(db_url).begin() as conn:
        conn.execute(update(versions).values(version_num="9999_from_the_future"))
    ahead = by_name(doctor.run_checks(settings_for(db_url)))["schema"]
    assert ahead.status == "fail" and "9999_from_the_future, which this code does not know" in ahead.detail
    assert ahead.fix.startswith("this code is older than the database")


def test_a_missing_sqlite_file_is_reported_and_not_created(tmp_path):
    for path, detail in [(tmp_path / "no" / "such" / "cockpit.db", f"the folder {tmp_path / 'no' / 'such'} of the SQLite file does not exist"),
                         (tmp_path / "cockpit.db", f"no SQLite file at {tmp_path / 'cockpit.db'}")]:
        checks = doctor.run_checks(settings_for(f"sqlite:///{path}"))
        assert statuses(checks) == {"configuration": "ok", "database": "fail"}
        assert by_name(checks)["database"].detail == detail
        assert by_name(checks)["database"].fix.startswith("run `python -m cockpit init` to create it there")
        assert not path.exists() and not (tmp_path / "no").exists()


def test_an_unreachable_postgresql_fails_the_database_check_at_once_and_hides_the_password():
    port = free_port()  # closed again: connections are refused
    started = time.perf_counter()
    checks = doctor.run_checks(settings_for(f"postgresql+psycopg://doctor:s3cret@127.0.0.1:{port}/none"))
    assert time.perf_counter() - started < 3
    assert statuses(checks) == {"configuration": "ok", "database": "fail"}
    database = by_name(checks)["database"]
    assert database.detail.startswith(f"cannot reach postgresql+psycopg://doctor:***@127.0.0.1:{port}/none: ")
    assert "refused" in database.detail.lower()
    assert database.fix.startswith(f"check that the PostgreSQL server is running and accepts connections at 127.0.0.1:{port}")
    assert "s3cret" not in " ".join(check.detail + check.fix for check in checks)


def test_a_server_that_never_answers_fails_after_the_doctors_timeout(monkeypatch):
    monkeypatch.setattr(doctor, "DATABASE_TIMEOUT_S", 1.0)
    with socket.socket() as silent:  # accepts TCP connections (the backlog) but never speaks
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        started = time.perf_counter()
        checks = doctor.run_checks(settings_for(f"postgresql+psycopg://doctor@127.0.0.1:{silent.getsockname()[1]}/none"))
        took = time.perf_counter() - started
    assert 1.0 <= took < 2.5  # the engine's own connect timeout is 10 s
    assert by_name(checks)["database"].status == "fail"
    assert by_name(checks)["database"].detail.endswith(": no answer within 1 s")


# --- the configuration ----------------------------------------------------------------------------


@pytest.mark.parametrize("env, detail, fix", [
    ({"COCKPIT_TIMEZONE": "Mars/Base"}, "COCKPIT_TIMEZONE='Mars/Base' is not an IANA timezone such as Asia/Shanghai",
     "set COCKPIT_TIMEZONE to a valid value, or unset it to use its default"),
    ({"COCKPIT_REFRESH_SECONDS": "0"}, "COCKPIT_REFRESH_SECONDS=0 must be at least 1",
     "set COCKPIT_REFRESH_SECONDS to a valid value"),
])
def test_a_bad_environment_is_a_failed_configuration_check_not_a_traceback(tmp_path, env, detail, fix):
    code, out, err = run_cli(f"sqlite:///{tmp_path / 'cockpit.db'}", "doctor", env=env, timeout=120)
    assert code == 1 and "Traceback" not in err and err == ""
    lines = out.splitlines()
    assert lines[0] == f"FAIL  configuration  {detail}"
    assert lines[1].strip().startswith(f"fix: {fix}")
    assert lines[-1] == "0 ok, 0 warning(s), 1 failure(s): fix the failures first"


def test_settings_built_in_code_are_checked_too(tmp_path):
    settings = Settings(db_url=f"sqlite:///{tmp_path / 'cockpit.db'}", timezone="Mars/Base", refresh_seconds=0)
    checks = doctor.run_checks(settings)
    assert [check.name for check in checks] == ["configuration"]
    assert checks[0].status == "fail"
    assert checks[0].detail == ("timezone 'Mars/Base' is not an IANA timezone such as Asia/Shanghai; "
                                "refresh interval 0 s must be at least 1 s")


def test_an_in_memory_database_is_a_configuration_warning():
    configuration = doctor.run_checks(Settings(db_url="sqlite://"))[0]
    assert configuration.status == "warn" and "in-memory SQLite" in configuration.detail
    assert configuration.fix.startswith("set COCKPIT_DB_URL to a file")


# --- the report ---------------------------------------------------------------------------------


def test_the_report_marks_each_check_and_puts_the_fix_under_what_is_not_ok():
    checks = [doctor.Check("database", "ok", "sqlite 3.40 answered in 2 ms"),
              doctor.Check("app", "warn", "the app is not running at http://x:1", "start it"),
              doctor.Check("schema", "fail", "no cockpit schema yet", "run init")]
    assert doctor.report_lines(checks) == [
        "ok    database  sqlite 3.40 answered in 2 ms",
        "WARN  app       the app is not running at http://x:1",
        "                fix: start it",
        "FAIL  schema    no cockpit schema yet",
        "                fix: run init",
        "1 ok, 1 warning(s), 1 failure(s): fix the failures first",
    ]
    assert doctor.has_failure(checks) and not doctor.has_failure(checks[:2])


def test_a_check_refuses_an_unknown_status():
    with pytest.raises(ValueError, match="use one of ok, warn, fail"):
        doctor.Check("x", "bad", "")


# --- alert channels -----------------------------------------------------------------------------

def test_a_broken_channel_file_fails_and_a_given_up_message_warns(seeded_url, tmp_path):
    from cockpit.db.schema import Notification

    path = tmp_path / "notify.toml"
    path.write_text("[[channel]]\nname = 'ops'\nkind = 'teams'\nurl = 'https://x'\n")
    broken = by_name(doctor.run_checks(settings_for(seeded_url, COCKPIT_NOTIFY_FILE=str(path))))["notifications"]
    assert broken.status == "fail" and "kind 'teams' is not one of webhook" in broken.detail
    assert "README \"Alert notifications\"" in broken.fix
    path.write_text("[[channel]]\nname = 'ops'\nkind = 'slack'\nurl = 'https://hooks.example.com/x'\n")
    assert by_name(doctor.run_checks(settings_for(seeded_url, COCKPIT_NOTIFY_FILE=str(path))))["notifications"] \
        == doctor.Check("notifications", "ok", "1 channel(s): ops")
    now = time.time()
    with get_engine(seeded_url).begin() as conn:
        conn.execute(insert(Notification).values(
            channel="ops", rule_id=None, level="critical", alert_ids="[1]", subject="s", body="b", link="l",
            created_ts_utc=int(now) - 3600, status="failed", attempts=8, next_attempt_ts_utc=int(now),
            last_error="HTTP 404 from the slack endpoint"))
    try:
        warned = by_name(doctor.run_checks(settings_for(seeded_url, COCKPIT_NOTIFY_FILE=str(path))))["notifications"]
        assert warned.status == "warn" and "given up on in the last 24 h: ops (1)" in warned.detail
        later = doctor.run_checks(settings_for(seeded_url, COCKPIT_NOTIFY_FILE=str(path)), now_ts=now + 2 * 86400)
        assert by_name(later)["notifications"].status == "ok"
    finally:
        with get_engine(seeded_url).begin() as conn:
            conn.execute(Notification.__table__.delete())
    unset = by_name(doctor.run_checks(settings_for(seeded_url)))["notifications"]
    assert unset.status == "ok" and unset.detail.startswith("no channels configured")
