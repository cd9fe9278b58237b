"""A real headless Chromium against a running app: every page draws its numbers and charts,
the wall screen fits a 1920x1080 TV and rotates, a replenish click and a campaign pause work
end to end. Screenshots go to test-artifacts/."""
import os
import re
import subprocess
import sys
import time
import urllib.request
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect, sync_playwright
from sqlalchemy import select, update

from cockpit import auth
from cockpit.config import load_settings
from cockpit.db.engine import get_engine, upgrade_schema
from cockpit.db.schema import ActionLog, Campaign, ReplenishmentOrder, StockLevel
from cockpit.ingest.seed import seed_history
from cockpit.jobs import refresh
from tests.cockpit.test_cli import free_port
from tests.cockpit.test_refresh import ROOT
from tests.support.signin import TEST_PASSWORD, display_token, ensure_users, session_token

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TV = {"width": 1920, "height": 1080}


def serve_app(port: int, env: dict) -> subprocess.Popen:
    """The app server as `cockpit run` starts it, once it answers its health check."""
    server = subprocess.Popen(
        [sys.executable, "-m", "cockpit.ui.serve", "--server.port", str(port), "--server.headless", "true",
         "--browser.gatherUsageStats", "false"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.3)
    return server


@pytest.fixture(scope="module")
def running_app(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'cockpit.db'}"
    upgrade_schema(url)
    now = int(time.time()) // 60 * 60
    seed_history(get_engine(url), days=2, scenario="normal", seed=4, now_minute=now // 60 - 1,
                 tz=ZoneInfo("Asia/Shanghai"), progress=False)
    # Two days from the catalog's opening stock can leave every pair above its reorder point (seeded
    # at 07:30 Shanghai time they all are); the stock table, its export and the replenish click need
    # a pair that needs attention, so a stock count has found one short, as warehouses do.
    with get_engine(url).begin() as conn:
        sku, warehouse_id, safety = conn.execute(select(
            StockLevel.sku, StockLevel.warehouse_id, StockLevel.safety_stock).order_by(
            StockLevel.on_hand - StockLevel.safety_stock, StockLevel.sku).limit(1)).one()
        conn.execute(update(StockLevel).where(StockLevel.sku == sku, StockLevel.warehouse_id == warehouse_id)
                     .values(on_hand=max(safety - 1, 0)))
    refresh(load_settings({"COCKPIT_DB_URL": url, "COCKPIT_SOURCES": "simulator"}), now_ts=now)
    port = free_port()
    # No scheduler runs here: a long refresh interval keeps the seeded data from reading as stale.
    env = {**os.environ, "COCKPIT_DB_URL": url, "COCKPIT_REFRESH_SECONDS": "900"}
    server = serve_app(port, env)
    yield f"http://127.0.0.1:{port}", url
    server.terminate()
    server.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
    assert os.path.exists(CHROMIUM), "Debian's chromium is missing: scripts/ensure-services.sh installs it"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def signed_in_page(browser, url: str, db_url: str, viewport=None, user: str = "operator", role: str = "operator"):
    """A new page whose browser holds the session cookie of `user` (as after signing in once);
    a wall URL gets a display token instead."""
    context = browser.new_context(viewport=viewport or {"width": 1920, "height": 2400})
    if "mode=wall" in url:
        url += f"&token={display_token(db_url)}"
    else:
        context.add_cookies([{"name": auth.SESSION_COOKIE, "value": session_token(db_url, user, role), "url": url}])
    page = context.new_page()
    page.on("close", lambda _: context.close())
    page.goto(url)
    return page


def open_page(browser, url: str, db_url: str, viewport=None, charts: bool = True):
    page = signed_in_page(browser, url, db_url, viewport)
    page.wait_for_selector("[data-testid=stMetric]", timeout=60_000)
    if charts:
        page.wait_for_selector(".js-plotly-plot .main-svg", timeout=60_000)
    wait_until_drawn(page)
    return page


def wait_until_drawn(page) -> None:
    """The script has finished and every element is drawn: a new browser loads each element
    kind's code on first use and shows a grey skeleton in its place until then (metrics,
    radios, charts and tables read as missing text in the meantime)."""
    page.wait_for_selector("[data-testid=stStatusWidget]", state="detached", timeout=60_000)
    page.wait_for_function("!document.querySelector('[data-testid=stSkeleton]')", timeout=60_000)
    time.sleep(1)  # plotly finishes drawing after the status widget goes


def assert_clean(text: str) -> None:
    assert "Traceback" not in text and "could not be loaded" not in text and "Page not found" not in text


# The first visit of a fresh server is a page's own URL: a bookmark or a TV reconnecting after a
# restart must land on its page, not on "Page not found".
@pytest.mark.parametrize("path,name,tiles", [
    ("/traffic-conversion", "traffic", 5), ("/", "overview", 6), ("/stock-levels", "stock", 5),
    ("/ads-roi", "ads", 5), ("/alerts-actions", "alerts", 4),
])
def test_every_page_renders_its_numbers_in_chromium(running_app, browser, artifacts_dir, path, name, tiles):
    base, db_url = running_app
    page = open_page(browser, base + path, db_url, charts=name != "alerts")
    page.screenshot(path=str(artifacts_dir / f"{name}.png"))
    values = page.locator("[data-testid=stMetricValue]").all_inner_texts()
    text = page.inner_text("body")
    page.close()
    assert len(values) == tiles
    assert any(re.search(r"\d", value) for value in values)
    assert "Data as of" in text
    assert_clean(text)


def test_the_wall_screen_fits_a_tv_without_controls(running_app, browser, artifacts_dir):
    base, db_url = running_app
    page = open_page(browser, base + "/?mode=wall", db_url, viewport=TV)
    assert page.get_by_text("Page not found").count() == 0
    page.screenshot(path=str(artifacts_dir / "wall.png"))
    scroll, visible = page.evaluate(
        "(() => { const m = document.querySelector('[data-testid=stMain]'); return [m.scrollHeight, m.clientHeight]; })()")
    sidebar_visible = page.locator("[data-testid=stSidebar]").is_visible()
    buttons = page.locator("[data-testid=stMain] [data-testid^=stBaseButton]").count()
    background = page.evaluate("getComputedStyle(document.querySelector('.stApp')).backgroundColor")
    page.close()
    assert scroll <= visible + 4, f"the wall screen scrolls: {scroll}px of content in {visible}px"
    assert not sidebar_visible
    assert buttons == 0
    assert background == "rgb(11, 13, 18)"


def test_the_wall_screen_rotates_through_its_playlist(running_app, browser):
    base, db_url = running_app
    page = open_page(browser, base + "/?mode=wall&rotate=overview,ads&every=10", db_url, viewport=TV)
    page.wait_for_url(re.compile(r"/ads-roi\?"), timeout=40_000)
    assert "mode=wall" in page.url and "rotate=overview%2Cads" in page.url.replace(",", "%2C")
    page.wait_for_selector("text=Ads & ROI", timeout=30_000)
    page.close()


def test_replenish_click_creates_a_tracked_order(running_app, browser, artifacts_dir):
    base, db_url = running_app
    engine = get_engine(db_url)
    with engine.connect() as conn:
        sku, warehouse_id = conn.execute(select(StockLevel.sku, StockLevel.warehouse_id).order_by(
            StockLevel.on_hand - StockLevel.safety_stock, StockLevel.sku).limit(1)).one()
    page = open_page(browser, f"{base}/stock-levels?sku={sku}&wh={warehouse_id}", db_url)
    page.get_by_role("button", name="Replenish…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Quantity to order", timeout=30_000)
    dialog.get_by_label("Quantity to order").fill("42")
    page.screenshot(path=str(artifacts_dir / "replenish-dialog.png"))
    dialog.get_by_role("button", name="Confirm replenishment").click()
    expect(page.get_by_text(re.compile("Done: Replenishment"))).to_be_visible(timeout=30_000)
    page.screenshot(path=str(artifacts_dir / "replenish-done.png"))
    page.close()
    with engine.connect() as conn:
        orders = conn.execute(select(ReplenishmentOrder.qty, ReplenishmentOrder.status).where(
            ReplenishmentOrder.sku == sku, ReplenishmentOrder.warehouse_id == warehouse_id,
            ReplenishmentOrder.source == "action")).all()
        audit = conn.execute(select(ActionLog.verb, ActionLog.actor).where(ActionLog.verb == "replenish_sku")).all()
    assert [(o.qty, o.status) for o in orders] == [(42, "open")]
    assert audit == [("replenish_sku", "operator")]


def test_pause_click_pauses_the_campaign_and_names_a_better_channel(running_app, browser, artifacts_dir):
    base, db_url = running_app
    engine = get_engine(db_url)
    with engine.connect() as conn:
        campaign_id = conn.execute(select(Campaign.campaign_id).where(Campaign.status == "active")
                                   .order_by(Campaign.campaign_id)).scalars().first()
    page = open_page(browser, f"{base}/ads-roi?campaign={campaign_id}", db_url)
    page.get_by_role("button", name="Pause…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(campaign_id, timeout=30_000)
    page.screenshot(path=str(artifacts_dir / "pause-dialog.png"))
    dialog.get_by_role("button", name="Confirm pause").click()
    expect(page.get_by_text(re.compile("Done: "))).to_be_visible(timeout=30_000)
    expect(page.get_by_role("button", name="Resume…")).to_be_visible(timeout=30_000)
    page.screenshot(path=str(artifacts_dir / "pause-done.png"))
    page.close()
    with engine.connect() as conn:
        assert conn.execute(select(Campaign.status).where(Campaign.campaign_id == campaign_id)).scalar() == "paused"


@pytest.fixture(scope="module")
def live_app(tmp_path_factory):
    """The scheduler and the app on a seeded database, refreshing every 10 seconds."""
    url = f"sqlite:///{tmp_path_factory.mktemp('live') / 'cockpit.db'}"
    upgrade_schema(url)
    seed_history(get_engine(url), days=1, scenario="normal", seed=5, now_minute=int(time.time()) // 60,
                 tz=ZoneInfo("Asia/Shanghai"), progress=False)
    port = free_port()
    env = {**os.environ, "COCKPIT_DB_URL": url, "COCKPIT_REFRESH_SECONDS": "10", "COCKPIT_SOURCES": "simulator"}
    children = [
        subprocess.Popen([sys.executable, "-m", "cockpit", "scheduler"], cwd=ROOT, env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        serve_app(port, env),
    ]
    yield f"http://127.0.0.1:{port}", url
    for child in children:
        child.terminate()
    for child in children:
        child.wait(timeout=30)


def test_the_panels_follow_the_scheduler_without_a_reload(live_app, browser):
    page = open_page(browser, *live_app)
    page.evaluate("window.__not_reloaded = true")
    caption = page.get_by_text(re.compile(r"Data as of .* refreshed \d+s ago")).first
    first = caption.inner_text()
    deadline = time.time() + 60
    while caption.inner_text() == first and time.time() < deadline:
        time.sleep(1)
    assert caption.inner_text() != first, "the freshness line never changed: the fragment does not tick"
    assert page.evaluate("window.__not_reloaded === true")
    page.close()


def open_text_page(browser, url: str, db_url: str) -> tuple:
    """Pages without KPI tiles: wait until the page says how fresh its data is and has finished."""
    page = signed_in_page(browser, url, db_url)
    page.wait_for_function("document.body.innerText.includes('Data as of')", timeout=60_000)
    wait_until_drawn(page)
    return page, page.inner_text("body")


def test_the_analytics_pages_render_in_chromium_once_the_scheduler_has_computed(running_app, browser,
                                                                               artifacts_dir):
    from sqlalchemy import func

    from cockpit.db.schema import CustomerScore, Product
    from cockpit.jobs import attribution_job, customer_value_job, forecast_job

    base, url = running_app
    settings = load_settings({"COCKPIT_DB_URL": url})
    for job in (customer_value_job, attribution_job, forecast_job):  # what the scheduler's slow jobs do
        job(settings)
    with get_engine(url).connect() as conn:
        customer_id = conn.execute(select(func.min(CustomerScore.customer_id))).scalar()
        sku = conn.execute(select(func.min(Product.sku))).scalar()
    expected = {
        f"/product?sku={sku}": "Alert history",
        "/forecasts-anomalies": "Sales forecast, next 14 days", "/customers": "customers scored as of",
        f"/customer?id={customer_id}": "Segment history", "/experiments": "Experiments",
        "/service": "Resolved by the bot", "/attribution": "Channel credit by model",
    }
    for path, words in expected.items():
        page, text = open_text_page(browser, base + path, url)
        page.screenshot(path=str(artifacts_dir / f"{path.strip('/').split('?')[0]}.png"))
        page.close()
        assert_clean(text)
        assert words in text, (path, text[:500])


def test_the_weekly_report_reads_in_chromium(tmp_path, browser, artifacts_dir):
    """A stored report shows inside the page, charts drawn, from a 14-day shop (one whole week)."""
    from cockpit import report

    url = f"sqlite:///{tmp_path / 'cockpit.db'}"
    upgrade_schema(url)
    now = int(time.time()) // 60 * 60
    seed_history(get_engine(url), days=14, scenario="normal", seed=8, now_minute=now // 60 - 1,
                 tz=ZoneInfo("Asia/Shanghai"), progress=False)
    settings = load_settings({"COCKPIT_DB_URL": url})
    built = report.ensure_last_week_report(get_engine(url), settings)  # what the Monday job does
    assert built is not None
    port = free_port()
    server = serve_app(port, {**os.environ, "COCKPIT_DB_URL": url, "COCKPIT_REFRESH_SECONDS": "900"})
    try:
        page, text = open_text_page(browser, f"http://127.0.0.1:{port}/reports", url)
        frame = page.frame_locator("iframe").first
        frame.locator("h1").wait_for(timeout=30_000)
        inner = frame.locator("body").inner_text()
        images = frame.locator("img").evaluate_all("(all) => all.map(i => i.complete && i.naturalWidth)")
        page.screenshot(path=str(artifacts_dir / "reports.png"))
        page.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert_clean(text)
    assert f"{len(built.findings)} finding(s)" in text and "Download PDF" in text
    assert "Operations health report" in inner and built.findings[0] in inner
    assert len(images) == len(report.CHART_TITLES) and all(width and width > 300 for width in images)


def test_signing_in_in_chromium_survives_a_reload_and_signing_out_ends_it(running_app, browser, artifacts_dir):
    base, db_url = running_app
    ensure_users(get_engine(db_url), password=TEST_PASSWORD, chromeuser="viewer")
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    try:
        page = context.new_page()
        page.goto(base + "/stock-levels")
        page.get_by_role("textbox", name="User name").fill("chromeuser")
        page.get_by_role("textbox", name="Password").fill(TEST_PASSWORD)
        page.screenshot(path=str(artifacts_dir / "sign-in.png"))
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_selector("[data-testid=stMetric]", timeout=60_000)
        assert "/stock-levels" in page.url and page.get_by_role("heading", name="Stock water-level").count()
        page.wait_for_function("document.cookie.includes('cockpit_session=')", timeout=30_000)
        page.reload()  # a new Streamlit session: the cookie signs it in
        page.wait_for_selector("[data-testid=stMetric]", timeout=60_000)
        expect(page.get_by_text("Signed in as chromeuser")).to_be_visible(timeout=30_000)
        assert page.locator("input[type=password]").count() == 0
        second = context.new_page()  # a new tab too
        second.goto(base + "/ads-roi")
        second.wait_for_selector("[data-testid=stMetric]", timeout=60_000)
        second.close()
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_selector("input[type=password]", timeout=30_000)
        page.wait_for_function("!document.cookie.includes('cockpit_session=')", timeout=30_000)
        page.reload()
        page.wait_for_selector("input[type=password]", timeout=60_000)
        assert page.locator("[data-testid=stMetric]").count() == 0
    finally:
        context.close()
    with get_engine(db_url).connect() as conn:
        from cockpit.db.schema import AuthSession
        ended = conn.execute(select(AuthSession.ended_ts_utc).where(AuthSession.username == "chromeuser")).scalars().all()
    assert len(ended) == 1 and ended[0] is not None


# Markup in a link someone was sent shows as the text it is: a "[sign in](…)" in a product ID
# must not become a clickable link inside the cockpit's own error message.
def test_markup_in_a_link_is_shown_as_typed_not_rendered(running_app, browser):
    from urllib.parse import quote

    base, db_url = running_app
    payloads = {"/product?sku=": "[Sign in again](https://evil.example/login) **now**",
                "/customer?id=": "[Go](https://evil.example/x) <b>now</b>",  # IDs are cut at 40
                "/stock-levels?wh=x&sku=": "[Sign in again](https://evil.example/login) _now_"}
    for path, payload in payloads.items():
        page, text = open_text_page(browser, base + path + quote(payload), db_url)
        alerts = page.locator("[data-testid=stAlertContainer]")
        expect(alerts.filter(has_text=payload).first).to_be_visible(timeout=30_000)
        links = page.locator("[data-testid=stMain] a[href*='evil.example']").count()
        emphasis = page.locator("[data-testid=stMain] [data-testid=stAlertContainer] :is(strong, em, b)").count()
        page.close()
        assert_clean(text)
        assert payload in text and links == 0 and emphasis == 0, (path, text[-400:])


def test_a_table_downloads_as_excel_and_a_chart_as_png_in_chromium(running_app, browser, tmp_path):
    import pandas as pd

    base, db_url = running_app
    page = open_page(browser, base + "/stock-levels", db_url)
    try:
        with page.expect_download(timeout=30_000) as excel:
            page.get_by_role("button", name="Excel").first.click()
        path = tmp_path / excel.value.suggested_filename
        excel.value.save_as(path)
        assert re.fullmatch(r"cockpit-stock-levels-\d{8}-\d{4}\.xlsx", path.name)
        sheet = pd.read_excel(path)
        with get_engine(db_url).connect() as conn:
            pairs = conn.execute(select(StockLevel.sku, StockLevel.warehouse_id, StockLevel.on_hand)).all()
        on_hand = {(sku, wh): qty for sku, wh, qty in pairs}
        # The table as shown (the pairs that need attention, by default): rows and headers as on the page,
        # each pair's stock as the database holds it (no scheduler runs here).
        assert {"SKU", "Product", "Warehouse", "State", "On hand"} <= set(sheet.columns) and "pair" not in sheet
        shown = {(sku, wh): qty for sku, wh, qty in sheet[["SKU", "Warehouse", "On hand"]].itertuples(
            index=False, name=None)}
        assert len(shown) == len(sheet) >= 1 and all(on_hand[pair] == qty for pair, qty in shown.items())
        assert sheet["State"].notna().all()
        chart = page.locator(".js-plotly-plot").first
        chart.hover()
        with page.expect_download(timeout=30_000) as png:
            chart.locator(".modebar-btn[data-title^='Download plot']").click()
        image = tmp_path / png.value.suggested_filename
        png.value.save_as(image)
        assert image.suffix == ".png" and image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert image.stat().st_size > 10_000 and image.name.startswith("cockpit-")
    finally:
        page.close()
