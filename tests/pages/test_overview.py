"""The overview page, driven by AppTest on a seeded database: no exception, the database's numbers."""
import os
import time
from zoneinfo import ZoneInfo

import pytest
import streamlit as st
from sqlalchemy import func, select, update
from streamlit.testing.v1 import AppTest

from cockpit.db.engine import get_engine
from cockpit.db.schema import Order, RefreshRun
from cockpit.ingest.seed import seed_history
from cockpit.metrics.read import kpis, last_heartbeat
from cockpit.timebuckets import day_start_minute, local_day_of
from tests.cockpit.test_refresh import ROOT
from tests.support.signin import sign_in_app

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def seeded_url(module_db_url):
    seed_history(get_engine(module_db_url), days=2, scenario="normal", seed=21,
                 now_minute=int(time.time()) // 60, tz=TZ, progress=False)
    return module_db_url


def app_for(db_url, monkeypatch) -> AppTest:
    monkeypatch.setenv("COCKPIT_DB_URL", db_url)
    monkeypatch.setenv("COCKPIT_TIMEZONE", "Asia/Shanghai")
    st.cache_data.clear()
    st.cache_resource.clear()
    return sign_in_app(AppTest.from_file(os.path.join(ROOT, "app.py"), default_timeout=60), db_url)


def test_overview_shows_todays_numbers_from_the_database(seeded_url, monkeypatch):
    at = app_for(seeded_url, monkeypatch).run()
    assert not at.exception
    with get_engine(seeded_url).connect() as conn:
        beat = last_heartbeat(conn)
        today = day_start_minute(local_day_of(beat.data_minute_utc, TZ), TZ)
        expected = kpis(conn, today, beat.data_minute_utc + 1, TZ)
        orders_counted = conn.execute(select(func.count()).select_from(Order).where(
            Order.ts_utc >= today * 60, Order.ts_utc < (beat.data_minute_utc + 1) * 60)).scalar()
    assert expected.orders == orders_counted > 0
    shown = {m.label: m.value for m in at.metric}
    assert shown["UV"] == f"{expected.uv:,}"
    assert shown["Orders"] == f"{expected.orders:,}"
    assert shown["GMV"] == f"CN¥{expected.gmv:,.0f}"  # English writes the yuan CN¥
    assert shown["Conversion"] == f"{expected.conversion_rate:.2%}"
    assert any("Data as of" in c.value for c in at.caption)
    assert len(at.get("plotly_chart")) == 2
    # UV, orders and GMV carry sparklines as inline SVG, not as st.metric chart data (Vega-Lite)
    assert sum('class="cockpit-spark"' in m.value for m in at.markdown) == 3
    assert not any(m.proto.chart_data for m in at.metric)


def test_overview_warns_when_the_scheduler_is_late(seeded_url, monkeypatch):
    engine = get_engine(seeded_url)
    with engine.begin() as conn:
        conn.execute(update(RefreshRun).values(finished_ts_utc=time.time() - 3600))
    try:
        at = app_for(seeded_url, monkeypatch).run()
        assert not at.exception
        assert any("Stale data" in e.value for e in at.error)
        assert at.metric  # the last good numbers stay on screen
    finally:
        with engine.begin() as conn:
            conn.execute(update(RefreshRun).values(finished_ts_utc=time.time()))


def test_overview_on_an_empty_database_says_so(db_url, monkeypatch):
    at = app_for(db_url, monkeypatch).run()
    assert not at.exception
    assert any("No data yet" in w.value for w in at.warning)
