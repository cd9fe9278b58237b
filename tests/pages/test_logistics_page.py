"""The Logistics & supply page (AppTest) on a seeded shop: tiles from the page's figures, both
windows, the cost split switch, and no error."""
import time
from zoneinfo import ZoneInfo

import pytest

from cockpit import logistics
from cockpit.db.engine import get_engine
from cockpit.ingest.seed import seed_history
from cockpit.metrics.read import last_heartbeat
from cockpit.ui.logistics_charts import days_text
from tests.pages.test_pages import app_for

TZ = ZoneInfo("Asia/Shanghai")
PAGE = "pages/14_logistics.py"


@pytest.fixture(scope="module")
def seeded_url(module_db_url):
    seed_history(get_engine(module_db_url), days=5, scenario="normal", seed=41, now_minute=int(time.time()) // 60,
                 tz=TZ, progress=False)
    return module_db_url


def test_the_tiles_show_the_windows_figures(seeded_url, monkeypatch):
    at = app_for(seeded_url, monkeypatch, PAGE)
    with get_engine(seeded_url).connect() as conn:
        value = logistics.logistics_page(conn, last_heartbeat(conn).data_minute_utc, TZ, 7)
    tiles = {m.label: m.value for m in at.metric}
    assert tiles["Parcels delivered"] == f"{value['delivery']['parcels']:,}"
    assert tiles["Delivery time, median"] == days_text(value["delivery"]["median_days"])
    assert tiles["Late, in flight now"] == f"{len(value['late']):,}"
    assert [h.value for h in at.subheader] == ["Delivery time", "Late parcels in flight", "Logistics cost",
                                               "Returns by sales channel", "Suppliers"]
    assert not at.exception and not at.error


def test_the_window_and_the_cost_split_switch(seeded_url, monkeypatch):
    at = app_for(seeded_url, monkeypatch, PAGE)
    at.button_group(key="logistics_days").set_value(30).run()
    assert not at.exception
    with get_engine(seeded_url).connect() as conn:
        month = logistics.logistics_page(conn, last_heartbeat(conn).data_minute_utc, TZ, 30)
    assert {m.label: m.value for m in at.metric}["Parcels delivered"] == f"{month['delivery']['parcels']:,}"
    for split, first_header in (("carrier", "Carrier"), ("region", "Region")):
        at.button_group(key="logistics_split").set_value(split).run()
        assert not at.exception
        assert any(first_header in table.value.columns for table in at.dataframe)
