"""Every page driven by AppTest on a seeded database (SQLite file and PostgreSQL): no exception,
the numbers the database implies, threshold states that follow the rules, and actions that
happen once and are audited."""
import json
import os
import re
import time
from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest
import streamlit as st
from sqlalchemy import func, select, update
from streamlit.testing.v1 import AppTest

from cockpit import alerts
from cockpit.config import load_settings
from cockpit.db.engine import get_engine
from cockpit.db.schema import ActionLog, AdSpend, Alert, AlertRule, Campaign, ReplenishmentOrder, StockLevel
from cockpit.db.schema import Session as SessionRow
from cockpit.ingest.seed import seed_history
from cockpit.jobs import refresh
from cockpit.metrics.read import last_heartbeat
from cockpit.timebuckets import day_start_minute, local_day_of
from tests.cockpit.test_refresh import ROOT
from tests.support.signin import sign_in_app

TZ = ZoneInfo("Asia/Shanghai")
PAGES = ["pages/01_overview.py", "pages/02_traffic.py", "pages/03_stock.py", "pages/04_ads.py", "pages/05_alerts.py",
         "pages/06_forecasts.py", "pages/07_customers.py", "pages/08_customer.py", "pages/09_experiments.py",
         "pages/11_attribution.py"]


@pytest.fixture(scope="module")
def seeded_url(module_db_url):
    now = int(time.time()) // 60 * 60
    seed_history(get_engine(module_db_url), days=2, scenario="normal", seed=21, now_minute=now // 60 - 1, tz=TZ,
                 progress=False)
    settings = load_settings({"COCKPIT_DB_URL": module_db_url, "COCKPIT_SOURCES": "simulator"})
    refresh(settings, now_ts=now)  # evaluates the alert rules once
    return module_db_url


def app_for(db_url, monkeypatch, page: str | None = None, *, user: str | None = "tester", role: str = "admin",
            **params) -> AppTest:
    """The app signed in as `user` with `role` (a wall URL with a display token), on `page`;
    user None: not signed in at all."""
    monkeypatch.setenv("COCKPIT_DB_URL", db_url)
    monkeypatch.setenv("COCKPIT_TIMEZONE", "Asia/Shanghai")
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(os.path.join(ROOT, "app.py"), default_timeout=90)
    for name, value in params.items():
        at.query_params[name] = value
    if user is not None:
        sign_in_app(at, db_url, user, role)
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def today_window(conn):
    beat = last_heartbeat(conn)
    return day_start_minute(local_day_of(beat.data_minute_utc, TZ), TZ), beat.data_minute_utc + 1


def metrics_by_label(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def badges(at) -> list[str]:
    """The level of every state tile on the page, in order."""
    found = []
    for element in at.markdown:
        match = re.search(r'class="cockpit-badge cockpit-(\w+)"', element.value)
        if match:
            found.append(match.group(1))
    return found


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_without_exception_and_says_how_fresh_its_data_is(seeded_url, monkeypatch, page):
    at = app_for(seeded_url, monkeypatch, page)
    assert any("Data as of" in caption.value for caption in at.caption)
    assert not [e.value for e in at.error if "could not be loaded" in e.value]
    # Every table downloads as CSV and Excel, every chart as PNG.
    labels = [button.label for button in at.download_button]
    assert labels.count("Excel") == labels.count("CSV") >= len(at.dataframe), (page, labels, len(at.dataframe))
    for chart in at.get("plotly_chart"):
        config = json.loads(chart.proto.config)
        assert config["modeBarButtons"] == [["toImage"]] and config["toImageButtonOptions"]["format"] == "png"


def test_traffic_page_shows_todays_sessions_counted_from_raw_sessions(seeded_url, monkeypatch):
    at = app_for(seeded_url, monkeypatch, "pages/02_traffic.py")
    with get_engine(seeded_url).connect() as conn:
        start, end = today_window(conn)
        sessions = conn.execute(select(func.count()).select_from(SessionRow).where(
            SessionRow.ts_utc >= start * 60, SessionRow.ts_utc < end * 60)).scalar()
    assert sessions > 0
    assert metrics_by_label(at)["Sessions"] == f"{sessions:,}"
    assert len(at.get("plotly_chart")) >= 3


def test_stock_page_counts_pairs_below_safety_stock(seeded_url, monkeypatch):
    at = app_for(seeded_url, monkeypatch, "pages/03_stock.py")
    with get_engine(seeded_url).connect() as conn:
        below = conn.execute(select(func.count()).select_from(StockLevel).where(
            StockLevel.on_hand < StockLevel.safety_stock)).scalar()
        total = conn.execute(select(func.count()).select_from(StockLevel)).scalar()
    assert metrics_by_label(at)["Below safety stock"] == f"{below}"
    assert total > 0


# When no pair needs attention the table under the default filters is empty: the page says so and how
# to list them, rather than showing an empty table that reads like missing data.
def test_the_stock_table_says_why_it_is_empty_when_every_pair_is_healthy(db_url, monkeypatch):
    now = int(time.time()) // 60 * 60
    seed_history(get_engine(db_url), days=1, scenario="normal", seed=5, now_minute=now // 60 - 1, tz=TZ,
                 progress=False)
    settings = load_settings({"COCKPIT_DB_URL": db_url, "COCKPIT_SOURCES": "simulator"})
    with get_engine(db_url).begin() as conn:
        conn.execute(update(StockLevel).values(on_hand=StockLevel.reorder_point + 10))
        total = conn.execute(select(func.count()).select_from(StockLevel)).scalar()
    refresh(settings, now_ts=now, sources=[])
    at = app_for(db_url, monkeypatch, "pages/03_stock.py")
    table = at.dataframe[0].value
    assert len(table) == 0 and total > 0
    assert [i.value for i in at.info] == [f"No SKU-warehouse pair matches these filters: all {total} pairs are "
                                          "outside the chosen levels. Add “OK” to Level to list them."]
    at.multiselect(key="stock_pos").select("ok").run()
    assert len(at.dataframe[0].value) == total and not at.info

    with get_engine(db_url).begin() as conn:
        sku, warehouse_id = conn.execute(select(StockLevel.sku, StockLevel.warehouse_id).limit(1)).one()
        conn.execute(update(StockLevel).where(StockLevel.sku == sku, StockLevel.warehouse_id == warehouse_id)
                     .values(on_hand=0))
    refresh(settings, now_ts=now + 60, sources=[])
    at = app_for(db_url, monkeypatch, "pages/03_stock.py")
    shown = at.dataframe[0].value
    assert list(zip(shown["sku"], shown["warehouse_id"])) == [(sku, warehouse_id)] and not at.info


def test_ads_page_shows_todays_spend_summed_from_raw_ad_spend(seeded_url, monkeypatch):
    at = app_for(seeded_url, monkeypatch, "pages/04_ads.py")
    with get_engine(seeded_url).connect() as conn:
        start, end = today_window(conn)
        spend = conn.execute(select(func.sum(AdSpend.spend)).where(
            AdSpend.minute_utc >= start, AdSpend.minute_utc < end)).scalar()
    assert metrics_by_label(at)["Spend today"] == f"CN¥{spend:,.0f}"


def test_alerts_page_counts_the_open_alerts(seeded_url, monkeypatch):
    at = app_for(seeded_url, monkeypatch, "pages/05_alerts.py")
    with get_engine(seeded_url).connect() as conn:
        levels = conn.execute(select(Alert.level).where(Alert.status.in_(("open", "acknowledged")))).scalars().all()
    shown = metrics_by_label(at)
    assert shown["Critical"] == str(levels.count("critical"))
    assert shown["Warning"] == str(levels.count("warn"))


def test_the_conversion_tile_turns_red_when_its_rule_is_moved_above_the_data(seeded_url, monkeypatch):
    engine = get_engine(seeded_url)
    at = app_for(seeded_url, monkeypatch)
    before = badges(at)
    assert len(before) == 6 and before[3] in ("ok", "no_data")
    with engine.begin() as conn:
        rule = next(r for r in alerts.load_rules(conn, alerts.active_profile(conn)) if r.metric == "conversion_rate")
        assert not alerts.save_rule(conn, replace(rule, min_volume=0.0, warn=0.98, critical=0.97, recovery=0.99))
    try:
        after = badges(app_for(seeded_url, monkeypatch))
        assert after[3] == "critical"
        assert after[:3] == before[:3]
    finally:
        with engine.begin() as conn:
            alerts.save_rule(conn, rule)


def test_the_wall_screen_is_read_only_and_has_no_sidebar_controls(seeded_url, monkeypatch):
    at = app_for(seeded_url, monkeypatch, mode="wall")
    assert len(at.metric) == 6
    assert not at.button and not at.text_input  # no actions, no "acting as"
    stock = app_for(seeded_url, monkeypatch, "pages/03_stock.py", mode="wall", sku="X", wh="Y")
    assert not stock.button


def low_pair(conn):
    return conn.execute(select(StockLevel.sku, StockLevel.warehouse_id).order_by(
        (StockLevel.on_hand - StockLevel.safety_stock), StockLevel.sku).limit(1)).one()


def open_replenish_dialog(db_url, monkeypatch, sku, warehouse_id, actor):
    at = app_for(db_url, monkeypatch, "pages/03_stock.py", user=actor, role="operator", sku=sku, wh=warehouse_id)
    at.button(key="stock_replenish").click().run()
    assert not at.exception, at.exception
    return at


def test_replenish_from_the_stock_page_creates_one_order_even_from_two_browsers(seeded_url, monkeypatch):
    engine = get_engine(seeded_url)
    with engine.connect() as conn:
        sku, warehouse_id = low_pair(conn)
        orders_before = conn.execute(select(func.count()).select_from(ReplenishmentOrder)).scalar()
    first = open_replenish_dialog(seeded_url, monkeypatch, sku, warehouse_id, "ana")
    second = open_replenish_dialog(seeded_url, monkeypatch, sku, warehouse_id, "ben")
    first.number_input(key="replenish_qty").set_value(77)
    first.button(key="replenish_confirm").click().run()
    assert not first.exception, first.exception
    assert any("Done" in s.value for s in first.success)
    second.button(key="replenish_confirm").click().run()  # same state seen: the same intent
    assert any("Already done" in i.value for i in second.info)
    with engine.connect() as conn:
        created = conn.execute(select(ReplenishmentOrder).where(ReplenishmentOrder.sku == sku,
                                                                ReplenishmentOrder.source == "action")).all()
        audit = conn.execute(select(ActionLog).where(ActionLog.verb == "replenish_sku")).all()
        orders_after = conn.execute(select(func.count()).select_from(ReplenishmentOrder)).scalar()
    assert orders_after == orders_before + 1
    assert [(o.qty, o.warehouse_id, o.created_by) for o in created] == [(77, warehouse_id, "ana")]
    assert len(audit) == 1 and audit[0].actor == "ana" and '"on_order"' in audit[0].before_json
    assert created[0].replenishment_id in audit[0].after_json


def test_pause_and_resume_a_campaign_from_its_drill_down(seeded_url, monkeypatch):
    engine = get_engine(seeded_url)
    with engine.connect() as conn:
        campaign_id = conn.execute(select(Campaign.campaign_id).where(Campaign.status == "active")
                                   .order_by(Campaign.campaign_id)).scalars().first()
    at = app_for(seeded_url, monkeypatch, "pages/04_ads.py", campaign=campaign_id)
    at.button(key="ads_pause").click().run()
    at.button(key="pause_confirm").click().run()
    assert not at.exception, at.exception
    with engine.connect() as conn:
        assert conn.execute(select(Campaign.status).where(Campaign.campaign_id == campaign_id)).scalar() == "paused"
    assert at.button(key="ads_resume")
    at.button(key="ads_resume").click().run()
    at.button(key="resume_confirm").click().run()
    with engine.connect() as conn:
        assert conn.execute(select(Campaign.status).where(Campaign.campaign_id == campaign_id)).scalar() == "active"
        verbs = conn.execute(select(ActionLog.verb, ActionLog.before_json, ActionLog.after_json).where(
            ActionLog.entity_id == campaign_id).order_by(ActionLog.action_id)).all()
    assert [v.verb for v in verbs] == ["pause_campaign", "resume_campaign"]
    assert '"active"' in verbs[0].before_json and '"paused"' in verbs[0].after_json


def test_acknowledge_an_alert_and_edit_a_rule_from_the_alerts_page(seeded_url, monkeypatch):
    engine = get_engine(seeded_url)
    with engine.begin() as conn:
        rule = next(r for r in alerts.load_rules(conn, alerts.active_profile(conn)) if r.metric == "conversion_rate")
        conn.execute(update(Alert).where(Alert.status == "acknowledged").values(status="open"))
        alert_id = conn.execute(select(Alert.alert_id).where(Alert.status == "open")).scalars().first()
    if alert_id is not None:
        at = app_for(seeded_url, monkeypatch, "pages/05_alerts.py")
        at.button(key=f"alerts_ack_{alert_id}").click().run()
        at.button(key="ack_confirm").click().run()
        assert not at.exception, at.exception
        with engine.connect() as conn:
            assert conn.execute(select(Alert.status).where(Alert.alert_id == alert_id)).scalar() == "acknowledged"
    at = app_for(seeded_url, monkeypatch, "pages/05_alerts.py", rule=str(rule.rule_id))
    at.number_input(key="rules_warn").set_value(0.022)
    at.number_input(key="rules_critical").set_value(0.05)  # critical above warn on a "below" rule: invalid
    at.button(key="rules_save").click().run()
    assert not at.exception, at.exception
    with engine.connect() as conn:
        stored = conn.execute(select(AlertRule.warn, AlertRule.critical).where(AlertRule.rule_id == rule.rule_id)).one()
    assert (stored.warn, stored.critical) == (rule.warn, rule.critical)
    assert any("Not done" in w.value for w in at.warning)
    at.number_input(key="rules_warn").set_value(0.022)
    at.number_input(key="rules_critical").set_value(0.012)
    at.button(key="rules_save").click().run()
    with engine.connect() as conn:
        stored = conn.execute(select(AlertRule.warn, AlertRule.critical).where(AlertRule.rule_id == rule.rule_id)).one()
        audit = conn.execute(select(ActionLog.result, ActionLog.before_json, ActionLog.after_json).where(
            ActionLog.verb == "update_rule").order_by(ActionLog.action_id)).all()
    assert (stored.warn, stored.critical) == (0.022, 0.012)
    assert [row.result for row in audit] == ["refused", "done"]
    assert '"warn": 0.022' in audit[1].after_json and f'"warn": {rule.warn}' in audit[1].before_json
    with engine.begin() as conn:
        alerts.save_rule(conn, rule)


def test_a_failing_query_keeps_the_last_good_numbers_with_a_marker(seeded_url, monkeypatch):
    at = app_for(seeded_url, monkeypatch)
    good = metrics_by_label(at)
    st.cache_data.clear()  # the next run must query again; the last good values live on

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr("cockpit.metrics.read.kpis", broken)
    at.run()
    assert not at.exception, at.exception
    assert any("Refresh failed" in w.value and "database went away" in w.value for w in at.warning)
    assert metrics_by_label(at) == good


def test_snoozing_an_alert_hides_it_from_the_overview_until_it_wakes(seeded_url, monkeypatch):
    engine = get_engine(seeded_url)
    with engine.begin() as conn:
        row = conn.execute(select(Alert.alert_id, Alert.message).where(Alert.status.in_(("open", "acknowledged")))
                           .order_by(Alert.alert_id)).first()
        if row is None:  # a quiet shop: open one by hand so there is something to snooze
            rule_id = conn.execute(select(AlertRule.rule_id)).scalars().first()
            conn.execute(Alert.__table__.insert().values(
                rule_id=rule_id, entity_id="shop", level="warn", status="open", opened_minute=1,
                message="a hand-made alert", open_key=f"{rule_id}:shop"))
            row = conn.execute(select(Alert.alert_id, Alert.message).where(Alert.status == "open")).first()
    overview = app_for(seeded_url, monkeypatch)
    assert any(row.message in e.value for e in [*overview.error, *overview.warning])
    at = app_for(seeded_url, monkeypatch, "pages/05_alerts.py")
    at.button(key=f"alerts_snooze_{row.alert_id}").click().run()
    at.selectbox(key="snooze_minutes").set_value(120)
    at.button(key="snooze_confirm").click().run()
    assert not at.exception, at.exception
    with engine.connect() as conn:
        until = conn.execute(select(Alert.snoozed_until_minute).where(Alert.alert_id == row.alert_id)).scalar()
        audit = conn.execute(select(ActionLog.verb, ActionLog.result).where(ActionLog.verb == "snooze_alert")).all()
    assert until is not None and until > time.time() // 60 + 100
    assert audit == [("snooze_alert", "done")]
    overview = app_for(seeded_url, monkeypatch)
    assert not any(row.message in e.value for e in [*overview.error, *overview.warning])


def test_the_forecasts_page_waits_for_the_first_fit_then_shows_each_series_verdict(seeded_url, monkeypatch):
    from cockpit import forecasting, snapshots

    engine = get_engine(seeded_url)
    with engine.begin() as conn:
        conn.execute(snapshots.SNAPSHOTS.delete().where(snapshots.SNAPSHOTS.c.name == forecasting.VIEW))
    at = app_for(seeded_url, monkeypatch, "pages/06_forecasts.py")
    assert any("No forecast yet" in info.value for info in at.info)
    run = forecasting.publish_forecasts(engine, TZ)
    at = app_for(seeded_url, monkeypatch, "pages/06_forecasts.py")
    series = at.selectbox(key="forecast_series")
    assert len(series.options) == run.series > 0
    # Two days of history: every series says it cannot be forecast yet, in words.
    assert any("Not enough history" in warning.value for warning in at.warning)
    # A normal shop has no promotion: the hour-by-hour section says none is planned.
    assert any("No promotion is planned" in info.value for info in at.info)
    assert at.radio(key="forecast_sensitivity").value == "medium"
    at.radio(key="forecast_sensitivity").set_value("high").run()
    assert not at.exception


def test_the_attribution_page_waits_for_the_first_run_then_credits_every_paid_order(seeded_url, monkeypatch):
    from cockpit import attribution, snapshots
    from cockpit.db.schema import Order

    engine = get_engine(seeded_url)
    with engine.begin() as conn:
        conn.execute(snapshots.SNAPSHOTS.delete().where(snapshots.SNAPSHOTS.c.name == attribution.VIEW))
    at = app_for(seeded_url, monkeypatch, "pages/11_attribution.py")
    assert any("No attribution yet" in info.value for info in at.info)
    run = attribution.publish_attribution(engine, TZ)
    with engine.connect() as conn:
        paid = conn.execute(select(func.count()).select_from(Order).where(
            Order.paid_ts_utc.is_not(None), Order.ts_utc < (run.data_minute + 1) * 60)).scalar()
    assert run.orders == paid > 0  # two seeded days: all inside the 30-day period
    at = app_for(seeded_url, monkeypatch, "pages/11_attribution.py")
    credit = at.dataframe[0].value
    # Every model hands out exactly the period's paid orders.
    for column in ("Last touch", "First touch", "Linear", "Time decay", "Position-based", "Data-driven (Markov)"):
        assert credit[column].sum() == pytest.approx(paid), column
    split = at.dataframe[2].value
    assert (split["New: orders"] + split["Returning: orders"]).sum() <= paid
    at.radio(key="attribution_measure").set_value("revenue").run()
    assert not at.exception

