"""The README's screenshots, made here: a 30-day shop whose incident began half an hour ago
(a channel's traffic down, a SKU's returns up, a campaign's ROI fallen, a SKU out of stock),
with the scheduler's slow jobs done, each main page opened in headless Chromium and checked
for its numbers before it is photographed into test-artifacts/screenshots/.
`scripts/screenshots.sh` copies them to docs/screenshots/ for the README."""
import os
import re
import time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from cockpit.config import load_settings
from cockpit.db.engine import get_engine, upgrade_schema
from cockpit.db.schema import User
from cockpit.ingest.seed import seed_history
from cockpit.jobs import attribution_job, customer_value_job, forecast_job, refresh
from data import simulator
from tests.cockpit.test_cli import free_port
from tests.pages.test_browser import assert_clean, browser, serve_app, signed_in_page, wait_until_drawn  # noqa: F401
from tests.support.signin import ensure_users

DAYS = 30
SEED = 5
TZ = ZoneInfo("Asia/Shanghai")
FULL_HD = {"width": 1600, "height": 1000}


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('screenshots') / 'cockpit.db'}"
    upgrade_schema(url)
    now = int(time.time()) // 60 * 60
    seed_history(get_engine(url), days=DAYS, scenario="incident", seed=SEED, now_minute=now // 60 - 1, tz=TZ,
                 progress=False)
    settings = load_settings({"COCKPIT_DB_URL": url, "COCKPIT_SOURCES": "simulator", "COCKPIT_SCENARIO": "incident",
                              "COCKPIT_SIM_SEED": str(SEED)})
    refresh(settings, now_ts=now)
    for job in (customer_value_job, attribution_job, forecast_job):
        job(settings)
    start = (now // 60 - 1 - DAYS * 1440) // 60 * 60
    targets = simulator.incident_targets(simulator.build_catalog(SEED, start))
    port = free_port()
    server = serve_app(port, {**os.environ, "COCKPIT_DB_URL": url, "COCKPIT_REFRESH_SECONDS": "900"})
    yield f"http://127.0.0.1:{port}", url, targets
    server.terminate()
    server.wait(timeout=30)


@pytest.fixture(scope="module")
def folder(artifacts_dir):
    path = artifacts_dir / "screenshots"
    path.mkdir(exist_ok=True)
    return path


PAGES = [  # (file name, path, words the page must show)
    ("overview", "/", "Open alerts"),
    ("traffic", "/traffic-conversion", "Funnel"),
    ("stock", "/stock-levels", "Lowest water levels"),
    ("ads", "/ads-roi", "ROI"),
    ("alerts", "/alerts-actions", "Alert rules"),
    ("customers", "/customers", "Segments"),
    ("forecasts", "/forecasts-anomalies", "Sales forecast, next 14 days"),
    ("logistics", "/logistics", "Delivery"),
    ("products", "/products", "Slow movers"),
]


@pytest.mark.parametrize("name, path, words", PAGES, ids=[p[0] for p in PAGES])
def test_each_main_page_is_photographed_with_its_numbers(shop, browser, folder, name, path, words):
    base, url, _ = shop
    page = signed_in_page(browser, base + path, url, viewport=FULL_HD)
    try:
        page.wait_for_function("document.body.innerText.includes('Data as of')", timeout=60_000)
        page.wait_for_function(f"document.body.innerText.includes({words!r})", timeout=60_000)
        wait_until_drawn(page)
        text = page.inner_text("body")
        assert_clean(text)
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
    finally:
        page.close()


def test_product_360_of_the_sku_whose_returns_spiked(shop, browser, folder):
    base, url, targets = shop
    page = signed_in_page(browser, f"{base}/product?sku={targets['return_sku']}", url, viewport=FULL_HD)
    try:
        page.wait_for_selector("[data-testid=stMetric]", timeout=60_000)
        wait_until_drawn(page)
        text = page.inner_text("body")
        assert_clean(text)
        assert targets["return_sku"] in text and "Return spike" in text
        page.screenshot(path=str(folder / "product360.png"), full_page=True)
    finally:
        page.close()


def test_the_wall_screen_during_the_incident(shop, browser, folder):
    base, url, _ = shop
    page = signed_in_page(browser, base + "/?mode=wall", url, viewport={"width": 1920, "height": 1080})
    try:
        page.wait_for_selector("[data-testid=stMetric]", timeout=60_000)
        wait_until_drawn(page)
        assert "CRITICAL" in page.inner_text("body")
        page.screenshot(path=str(folder / "wall.png"))
    finally:
        page.close()


def test_the_overview_in_chinese_for_a_user_who_chose_it(shop, browser, folder):
    """The same shop through the eyes of a user whose account says zh-CN: the navigation, tiles
    and alerts in Chinese, money as ¥."""
    base, url, _ = shop
    ensure_users(get_engine(url), mei="operator")
    with get_engine(url).begin() as conn:
        conn.execute(update(User).where(User.username == "mei").values(language="zh-CN"))
    page = signed_in_page(browser, base + "/", url, viewport=FULL_HD, user="mei", role="operator")
    try:
        page.wait_for_function("document.body.innerText.includes('数据截至')", timeout=60_000)
        wait_until_drawn(page)
        text = page.inner_text("body")
        assert_clean(text)
        for words in ("总览", "库存水位", "告警", "简体中文"):
            assert words in text, words
        assert re.search(r"¥[\d,]+", text) and "CN¥" not in text
        assert "Data as of" not in text and "Open alerts" not in text and "Deploy" not in text
        page.screenshot(path=str(folder / "overview-zh.png"), full_page=True)
    finally:
        page.close()
