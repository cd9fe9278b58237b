"""The Product 360 page (AppTest): opened from a URL with a product ID, with an unknown ID (a
clear message, no traceback), found by name, and, in the incident, the SKU with the return
spike shows the spike and its dominant cause; SKU panels elsewhere link to it."""
import time
from zoneinfo import ZoneInfo

import pytest

from cockpit.db.engine import get_engine
from cockpit.ingest.seed import seed_history
from cockpit.ui import charts
from cockpit.ui.product_charts import product_url
from data import simulator
from tests.pages.test_pages import app_for

TZ = ZoneInfo("Asia/Shanghai")
PAGE = "pages/13_product.py"
DAYS, SEED = 8, 31


@pytest.fixture(scope="module")
def incident_url(module_db_url):
    now = int(time.time()) // 60
    seed_history(get_engine(module_db_url), days=DAYS, scenario="incident", seed=SEED, now_minute=now, tz=TZ,
                 anchor_minute=now - 300, progress=False)
    catalog = simulator.build_catalog(SEED, (now - DAYS * 1440) // 60 * 60)
    return module_db_url, simulator.incident_targets(catalog)["return_sku"]


def test_a_product_opened_by_url_shows_its_spike_and_cause(incident_url, monkeypatch):
    url, sku = incident_url
    at = app_for(url, monkeypatch, PAGE, sku=sku)
    assert not at.exception and not [e for e in at.error if not e.value.startswith("Return spike")]
    headers = [h.value for h in at.subheader]
    assert any(sku in h.replace("\\", "") for h in headers)  # the subheader escapes Markdown (shell.literal)
    assert [h for h in headers if h in ("Stock", "Delivery", "Returns", "Reviews", "Alert history")] == [
        "Stock", "Delivery", "Returns", "Reviews", "Alert history"]
    spike = [e.value for e in at.error if e.value.startswith("Return spike")]
    assert spike and "of them for a quality problem" in spike[0]
    assert [m.label for m in at.metric][:2] == ["Units sold, 30 d", "Revenue, 30 d"]


def test_an_unknown_id_gets_a_clear_message(incident_url, monkeypatch):
    url, _ = incident_url
    at = app_for(url, monkeypatch, PAGE, sku="NOPE-0000")
    assert not at.exception
    assert any("No product has the ID ` NOPE-0000 `" in e.value for e in at.error)
    hostile = app_for(url, monkeypatch, PAGE, sku="' OR 1=1 --")
    assert not hostile.exception
    assert any("No product has the ID" in e.value for e in hostile.error)


def test_typing_a_name_offers_suggestions_and_opens_the_pick(incident_url, monkeypatch):
    url, sku = incident_url
    at = app_for(url, monkeypatch, PAGE)
    assert any("Enter a product ID" in i.value for i in at.info)
    at.text_input(key="product_query").set_value("watch").run()
    pick = at.selectbox(key="product_pick")
    assert len(pick.options) >= 1 and all("watch" in option.lower() for option in pick.options)
    chosen = pick.options[0].split(" · ")[0]  # options read "SKU · name (category)"
    at.selectbox(key="product_pick").set_value(pick.options[0]).run()  # the pick opens
    assert not at.exception
    assert at.text_input(key="product_query").value == chosen
    assert any(chosen in h.value.replace("\\", "") for h in at.subheader)
    at.text_input(key="product_query").set_value(sku.lower()).run()  # an exact ID opens at once
    assert not at.exception
    assert any(sku in h.value.replace("\\", "") for h in at.subheader) and at.text_input(key="product_query").value == sku


def test_sku_panels_link_to_the_product_page():
    assert product_url("APP-1996") == "/product?sku=APP-1996"
    assert product_url("A&B") == "/product?sku=A%26B"
    assert charts.drill_target("sku", "APP-1996") == ("pages/13_product.py", {"sku": "APP-1996"})
