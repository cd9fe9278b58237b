"""Several app servers behind one port, on PostgreSQL, as README "Several app servers" sets it up
on loopback: two Streamlit app processes behind nginx (the configuration `python -m cockpit
nginx-config` prints, websockets through), two schedulers of which one refreshes and the other
stands by and takes over when it stops. Browsers reach both app processes through nginx's one
port and read the same numbers."""
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import sync_playwright

from cockpit import deploy
from cockpit.db.engine import get_engine, upgrade_schema
from cockpit.db.schema import SchedulerLock
from cockpit.ingest.seed import seed_history
from tests.cockpit.test_cli import free_port
from tests.cockpit.test_refresh import ROOT
from tests.cockpit.test_scheduler import wait_for
from tests.pages.test_browser import CHROMIUM, CHROMIUM_ARGS, serve_app, wait_until_drawn
from tests.support.signin import ensure_users, session_token

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
REFRESH_S = 3


def test_the_configuration_keeps_a_browser_on_one_app_process_and_lets_websockets_through(tmp_path):
    text = deploy.server_block("8080", [8501, 8502])
    assert "hash $cookie_cockpit_session consistent;" in text
    assert "server 127.0.0.1:8501" in text and "server 127.0.0.1:8502" in text
    assert "proxy_set_header Upgrade $http_upgrade;" in text and "proxy_read_timeout 86400s;" in text
    with pytest.raises(ValueError, match="app ports repeat"):
        deploy.server_block("80", [8501, 8501])
    with pytest.raises(ValueError, match="at least one app port"):
        deploy.server_block("80", [])
    # nginx itself accepts the whole file.
    (tmp_path / "conf").mkdir()
    conf = tmp_path / "conf" / "nginx.conf"
    for name in ("client", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / "conf" / "temp" / name).mkdir(parents=True)
    conf.write_text(deploy.standalone_config(f"127.0.0.1:{free_port()}", [8501, 8502], tmp_path / "conf"))
    checked = subprocess.run([NGINX, "-t", "-p", str(tmp_path / "conf"), "-c", str(conf)], capture_output=True,
                             text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr


def refresh_lines(log: Path) -> int:
    return sum(" refresh ok:" in line or " refresh skipped:" in line for line in log.read_text().splitlines())


def test_two_app_processes_behind_nginx_serve_the_same_numbers_and_one_scheduler_refreshes(fresh_db_url, tmp_path):
    assert os.path.exists(NGINX), "nginx is missing: scripts/ensure-services.sh installs it"
    url = fresh_db_url("postgresql")
    upgrade_schema(url)
    engine = get_engine(url)
    seed_history(engine, days=1, scenario="normal", seed=11, now_minute=int(time.time()) // 60,
                 tz=ZoneInfo("Asia/Shanghai"), progress=False)
    users = [f"ops{i}" for i in range(12)]
    ensure_users(engine, **{name: "viewer" for name in users})
    env = {**os.environ, "COCKPIT_DB_URL": url, "COCKPIT_REFRESH_SECONDS": str(REFRESH_S),
           "COCKPIT_SOURCES": "simulator", "COCKPIT_TIMEZONE": "Asia/Shanghai"}
    processes: list[subprocess.Popen] = []
    logs = [tmp_path / "scheduler-a.log", tmp_path / "scheduler-b.log"]
    try:
        for log in logs:
            processes.append(subprocess.Popen([sys.executable, "-m", "cockpit", "scheduler"], cwd=ROOT, env=env,
                                              stdout=subprocess.DEVNULL, stderr=log.open("w")))
            time.sleep(1)  # the first one takes the lease
        app_ports = [free_port(), free_port()]
        processes += [serve_app(port, env) for port in app_ports]
        listen = free_port()
        result = subprocess.run([sys.executable, "-m", "cockpit", "nginx-config", "--listen", f"127.0.0.1:{listen}",
                                 "--app-port", str(app_ports[0]), "--app-port", str(app_ports[1]),
                                 "--standalone", str(tmp_path / "nginx")],
                                cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        conf = tmp_path / "nginx" / "nginx.conf"
        conf.write_text(result.stdout)
        processes.append(subprocess.Popen([NGINX, "-p", str(tmp_path / "nginx"), "-c", str(conf)],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        base = f"http://127.0.0.1:{listen}"
        assert wait_for(lambda: _health(base), 30), "nginx does not answer"

        # One scheduler refreshes, the other stands by.
        assert wait_for(lambda: refresh_lines(logs[0]) >= 3, 60), logs[0].read_text()[-2000:]
        time.sleep(2 * REFRESH_S)
        counts = [refresh_lines(log) for log in logs]
        assert counts[0] >= 3 and counts[1] == 0, (counts, logs[1].read_text()[-2000:])
        with engine.connect() as conn:
            holder = conn.execute(SchedulerLock.__table__.select()).one().holder
        assert f"scheduler {holder} started" in logs[0].read_text()

        # The leader stops; the standby takes over within the lease's one and a half intervals.
        processes[0].send_signal(signal.SIGTERM)
        processes[0].wait(timeout=30)
        assert wait_for(lambda: refresh_lines(logs[1]) >= 1, 8 * REFRESH_S), logs[1].read_text()[-2000:]
        assert "took over the lease" in logs[1].read_text()
        processes[1].send_signal(signal.SIGTERM)  # no more refreshes: the numbers hold still below
        processes[1].wait(timeout=30)

        # Browsers (users) spread over both app processes through nginx's one port, and every
        # one reads the same numbers.
        served: dict[str, list[str]] = {}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for user in users:
                context = browser.new_context(viewport={"width": 1600, "height": 1200})
                context.add_cookies([{"name": "cockpit_session", "value": session_token(url, user, "viewer"),
                                      "url": base}])
                page = context.new_page()
                response = page.goto(base + "/")
                page.wait_for_selector("[data-testid=stMetric]", timeout=60_000)
                wait_until_drawn(page)
                values = page.locator("[data-testid=stMetricValue]").all_inner_texts()
                app = response.headers["x-cockpit-app"]
                served.setdefault(app, values)
                assert values == served[app] == next(iter(served.values())), (user, app, served)
                context.close()
                if len(served) == 2 and user != users[0]:
                    break
            browser.close()
        assert set(served) == {f"127.0.0.1:{port}" for port in app_ports}, served
        assert any(any(ch.isdigit() for ch in value) for value in next(iter(served.values())))
        streams = [line for line in (tmp_path / "nginx" / "access.log").read_text().splitlines()
                   if "/_stcore/stream" in line and " 101 " in line]
        assert {line.rsplit("upstream=", 1)[1] for line in streams} == set(served)  # websockets through both
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def _health(base: str) -> bool:
    try:
        return urllib.request.urlopen(base + "/_stcore/health", timeout=2).read() == b"ok"
    except OSError:
        return False
