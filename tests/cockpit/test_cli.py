"""`python -m cockpit` end to end: every command, its --help, its exit codes and one-line errors."""
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from sqlalchemy import func, select

from cockpit.cli import build_parser
from cockpit.db.engine import get_engine
from cockpit.db.schema import Customer, Order, RefreshRun
from tests.cockpit.test_refresh import ROOT

COMMANDS = ["init", "seed", "refresh", "scheduler", "import", "customers", "status", "run"]


def run_cli(db_url, *args, env=None, timeout=300):
    full_env = {**os.environ, "COCKPIT_DB_URL": db_url, "COCKPIT_DROP_DIR": "/nonexistent", **(env or {})}
    done = subprocess.run([sys.executable, "-m", "cockpit", *args], cwd=ROOT, env=full_env,
                          capture_output=True, text=True, timeout=timeout)
    return done.returncode, done.stdout, done.stderr


def test_every_command_has_help():
    parser = build_parser()
    help_text = parser.format_help()
    for command in COMMANDS:
        assert command in help_text
    code, out, _ = run_cli("sqlite://", "seed", "--help")
    assert code == 0 and "--days" in out and "--scenario" in out and "--seed" in out


@pytest.mark.parametrize("command", COMMANDS)
def test_each_subcommand_help_exits_zero(command):
    code, out, _ = run_cli("sqlite://", command, "--help", timeout=60)
    assert code == 0 and out.startswith("usage: python -m cockpit " + command)


def test_init_seed_refresh_status_import_on_a_new_database(fresh_db_url, backend, tmp_path):
    url = fresh_db_url(backend)
    code, out, err = run_cli(url, "init")
    assert code == 0, err
    assert "schema at revision" in out
    code, out, err = run_cli(url, "seed", "--days", "1", "--seed", "5", "--quiet", "--now", "2026-11-20T09:30:00+08:00")
    assert code == 0, err
    with get_engine(url).connect() as conn:
        customers = conn.execute(select(func.count()).select_from(Customer)).scalar()
    assert "seeded 1 days (normal, seed 5)" in out and customers > 1000
    code, out, err = run_cli(url, "refresh", "--now", "2026-11-20T09:45:30+08:00")
    assert code == 0, err
    assert "refresh ok" in out and "15 minutes" in out
    code, out, err = run_cli(url, "status")
    assert code == 0 and "data as of 2026-11-20 09:44 Asia/Shanghai" in out, out + err
    export = tmp_path / "orders_manual.csv"
    with get_engine(url).connect() as conn:
        sku = conn.execute(select(Order.warehouse_id)).scalar()
    export.write_text(
        "order_id,customer_id,ts,channel,region,warehouse_id,status,sku,qty,unit_price\n"
        f"42,7,2026-11-20T09:40:00+08:00,organic,East,{sku},paid,NOPE,1,10\n"
    )
    code, out, err = run_cli(url, "import", str(export))
    assert code == 0, err
    assert "0 rows accepted, 1 rejected" in out and "row 2: unknown SKU" in out
    code, out, _ = run_cli(url, "import", str(export))
    assert "already imported" in out


@pytest.mark.parametrize("init_first, args, env, message", [
    (False, ["refresh"], {}, "no cockpit schema yet: run `python -m cockpit init` first"),
    (False, ["seed", "--days", "0"], {}, "--days must be at least 1"),
    (True, ["import", "/no/such/file.csv"], {}, "no such file"),
    (False, ["status"], {"COCKPIT_TIMEZONE": "Mars/Base"}, "COCKPIT_TIMEZONE='Mars/Base' is not an IANA timezone"),
    (True, ["refresh", "--now", "yesterday"], {}, "is not an ISO time"),
])
def test_user_mistakes_exit_2_with_one_line(fresh_db_url, init_first, args, env, message):
    url = fresh_db_url("sqlite")
    if init_first:
        assert run_cli(url, "init")[0] == 0
    code, out, err = run_cli(url, *args, env=env)
    assert code == 2
    assert err.strip().splitlines()[-1].startswith("error: ") and message in err
    assert "Traceback" not in err


def test_an_unreachable_database_is_one_line(tmp_path):
    code, _, err = run_cli("postgresql+psycopg://nobody@127.0.0.1:1/none", "status", timeout=60)
    assert code == 2 and "cannot reach the database" in err and "Traceback" not in err


def test_seeding_twice_needs_reset(fresh_db_url):
    url = fresh_db_url("sqlite")
    assert run_cli(url, "seed", "--days", "1", "--quiet")[0] == 0
    code, _, err = run_cli(url, "seed", "--days", "1", "--quiet")
    assert code == 2 and "--reset" in err
    code, out, err = run_cli(url, "seed", "--days", "1", "--quiet", "--reset", "--seed", "9")
    assert code == 0 and "seed 9" in out, err


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_run_seeds_an_empty_database_serves_the_app_and_stops_on_ctrl_c(db_url):
    port = free_port()
    env = {**os.environ, "COCKPIT_DB_URL": db_url, "COCKPIT_PORT": str(port), "COCKPIT_REFRESH_SECONDS": "5",
           "COCKPIT_DROP_DIR": "/nonexistent"}
    process = subprocess.Popen([sys.executable, "-m", "cockpit", "run", "--seed-days", "1"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline, healthy = time.time() + 180, False
        while time.time() < deadline and not healthy:
            try:
                healthy = urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read() == b"ok"
            except OSError:
                time.sleep(0.5)
        assert healthy, "the app never answered its health check"
        engine = get_engine(db_url)
        first_refresh = time.time()
        refreshed = False
        while time.time() < first_refresh + 30 and not refreshed:
            with engine.connect() as conn:
                refreshed = conn.execute(select(func.count()).select_from(RefreshRun).where(RefreshRun.host != "")).scalar() > 0
            time.sleep(0.5)
        assert refreshed, "the scheduler started by `run` never refreshed"
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, out
    assert "seeding 1 days of demo history" in out and "cockpit stopped" in out
