"""A real headless Chromium against a running app: the overview draws its numbers and charts."""
import os
import subprocess
import sys
import time
import urllib.request
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import sync_playwright

from cockpit.db.engine import get_engine, upgrade_schema
from cockpit.ingest.seed import seed_history
from tests.cockpit.test_cli import free_port
from tests.cockpit.test_refresh import ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def running_app(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'cockpit.db'}"
    upgrade_schema(url)
    seed_history(get_engine(url), days=2, scenario="normal", seed=4, now_minute=int(time.time()) // 60,
                 tz=ZoneInfo("Asia/Shanghai"), progress=False)
    port = free_port()
    env = {**os.environ, "COCKPIT_DB_URL": url}
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.headless", "true",
         "--browser.gatherUsageStats", "false"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.3)
    yield f"http://127.0.0.1:{port}"
    server.terminate()
    server.wait(timeout=30)


def test_the_overview_renders_numbers_and_charts_in_chromium(running_app, artifacts_dir):
    assert os.path.exists(CHROMIUM), "Debian's chromium is missing: scripts/ensure-services.sh installs it"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1920, "height": 1080})
        page.goto(running_app)
        page.wait_for_selector("[data-testid=stMetric]", timeout=60_000)
        page.wait_for_selector(".js-plotly-plot .main-svg", timeout=60_000)
        page.wait_for_selector("[data-testid=stStatusWidget]", state="detached", timeout=60_000)
        page.screenshot(path=str(artifacts_dir / "overview.png"), full_page=True)
        values = page.locator("[data-testid=stMetricValue]").all_inner_texts()
        labels = page.locator("[data-testid=stMetricLabel]").all_inner_texts()
        text = page.inner_text("body")
        browser.close()
    assert len(values) == 6
    uv = int(values[labels.index(next(l for l in labels if l.startswith("UV")))].replace(",", ""))
    assert uv > 0
    assert "Data as of" in text and "Traceback" not in text and "Error" not in text
