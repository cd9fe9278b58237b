"""Alert texts in either language, on SQLite and PostgreSQL: an alert the default rules open over
real stock figures keeps what its message says as data (alerts.message_args), shows in English
or Simplified Chinese from it with the figures it was opened on, and an alert written before
message_args existed shows the text it was stored with."""
from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from sqlalchemy import insert, select, update

from cockpit import alerts
from cockpit.db.schema import AggSkuDay, Alert, AlertRule, Product, StockLevel, Warehouse
from cockpit.i18n import using
from cockpit.metrics.read import VELOCITY_DAYS, metric_values

TZ = ZoneInfo("Asia/Shanghai")
# 2026-11-11 00:00 UTC (08:00 in Shanghai) minus a minute: the 7-day sales window ending at this
# minute is exactly the seven whole UTC days before it, read from agg_sku_day.
DAY = int(datetime(2026, 11, 11, tzinfo=ZoneInfo("UTC")).timestamp()) // 86400
T0 = DAY * 1440 - 1
UNITS_PER_DAY = 12
WATCHED = ("Stock running out", "Shop visitors stopped")  # two of the default rules, as shipped


def open_stock_alerts(engine, on_hand: dict[str, int], minute: int = T0, lang: str | None = None) -> list:
    """A shop with the default "Stock running out" and "Shop visitors stopped" rules, SKUs in
    WH-EAST selling UNITS_PER_DAY a day for a week with `on_hand` in stock and no visitors;
    evaluates the rules at `minute` with the cockpit's own metric reader (in `lang`). Returns the
    transitions."""
    with engine.begin() as conn:
        if conn.execute(select(Warehouse.warehouse_id)).first() is None:
            conn.execute(insert(Warehouse).values(warehouse_id="WH-EAST", name="East", region="east", tier="regional"))
            for values in alerts.DEFAULT_RULES:
                if values["profile"] == alerts.DEFAULT_PROFILE and values["name"] in WATCHED:
                    assert alerts.save_rule(conn, alerts.Rule(**values)) == []
        known = set(conn.execute(select(StockLevel.sku)).scalars())
        for sku, units in on_hand.items():
            if sku in known:
                conn.execute(update(StockLevel).where(StockLevel.sku == sku).values(on_hand=units))
                continue
            conn.execute(insert(Product).values(sku=sku, name=f"Product {sku}", category="tea", price=50.0, cost=20.0,
                                                launched_ts_utc=0))
            conn.execute(insert(StockLevel).values(sku=sku, warehouse_id="WH-EAST", on_hand=units, safety_stock=20,
                                                   reorder_point=40, lead_time_days=3.0, updated_ts_utc=T0 * 60))
            conn.execute(insert(AggSkuDay), [
                {"day_utc": day, "sku": sku, "warehouse_id": "WH-EAST", "units_sold": UNITS_PER_DAY,
                 "revenue": UNITS_PER_DAY * 50.0, "units_returned": 0} for day in range(DAY - VELOCITY_DAYS, DAY)])
    with engine.begin() as conn, using(lang):
        return alerts.evaluate_alerts(
            conn, minute, lambda metric, kind, window, at: metric_values(conn, metric, kind, window, at, TZ))


def open_by_entity(engine) -> dict[str, dict]:
    with engine.connect() as conn:
        return {row["entity_id"]: row for row in alerts.open_alerts(conn).to_dict("records")}


def cover(on_hand: int) -> str:
    """Days of cover as an alert writes it: on hand / units sold a day over the last week."""
    sold_in_week = UNITS_PER_DAY * VELOCITY_DAYS
    return f"{on_hand / (sold_in_week / VELOCITY_DAYS):.3g}"


def test_an_alert_opened_by_the_rules_stores_its_message_args_and_reads_in_either_language(engine):
    transitions = open_stock_alerts(engine, {"LANG-1": 2, "LANG-2": 9, "LANG-3": 40})
    assert sorted((t.entity_id, t.kind, t.level) for t in transitions) == [
        ("LANG-1|WH-EAST", "open", "critical"), ("LANG-2|WH-EAST", "open", "warn"), ("shop", "open", "critical")]
    found = open_by_entity(engine)
    assert set(found) == {"LANG-1|WH-EAST", "LANG-2|WH-EAST", "shop"}  # LANG-3 has 3.3 days: fine

    critical = found["LANG-1|WH-EAST"]
    assert json.loads(critical["message_args"]) == {
        "template": "breach", "metric": "days_of_cover", "entity_kind": "sku_warehouse",
        "entity_id": "LANG-1|WH-EAST", "rule": "Stock running out", "value": pytest.approx(2 / UNITS_PER_DAY),
        "threshold": 0.25, "level": "critical", "direction": "below", "minutes": None}
    assert cover(2) == "0.167"
    english = f"Days of cover for SKU LANG-1 in warehouse WH-EAST is {cover(2)}, below the critical threshold 0.25"
    assert critical["message"] == english  # written in COCKPIT_LANG, English by default
    assert alerts.shown_message(critical["message"], critical["message_args"], "en") == english
    assert alerts.shown_message(critical["message"], critical["message_args"], "zh-CN") == (
        f"可售天数（SKU LANG-1 · 仓库 WH-EAST）为 {cover(2)}，低于严重阈值 0.25")

    warn, shop = found["LANG-2|WH-EAST"], found["shop"]
    assert alerts.shown_message(warn["message"], warn["message_args"], "zh-CN") == (
        f"可售天数（SKU LANG-2 · 仓库 WH-EAST）为 {cover(9)}，低于警告阈值 1")
    assert cover(9) == "0.75" and warn["message"].endswith("is 0.75, below the warning threshold 1")
    assert shop["message"] == "Visitors for the shop is 0, below the critical threshold 1"
    assert alerts.shown_message(shop["message"], shop["message_args"], "zh-CN") == "访客数（全店）为 0，低于严重阈值 1"

    # The warning worsens and the critical SKU is restocked: the row's message_args follow the
    # escalation, and the resolution's text reads in either language too.
    transitions = open_stock_alerts(engine, {"LANG-1": 30, "LANG-2": 1})
    assert sorted((t.entity_id, t.kind, t.level) for t in transitions) == [
        ("LANG-1|WH-EAST", "resolve", "ok"), ("LANG-2|WH-EAST", "escalate", "critical")]
    escalated = open_by_entity(engine)["LANG-2|WH-EAST"]
    args = json.loads(escalated["message_args"])
    assert (args["level"], args["threshold"], args["value"]) == ("critical", 0.25, pytest.approx(1 / UNITS_PER_DAY))
    assert alerts.shown_message(escalated["message"], escalated["message_args"], "zh-CN") == (
        f"可售天数（SKU LANG-2 · 仓库 WH-EAST）为 {cover(1)}，低于严重阈值 0.25")
    resolved = next(t for t in transitions if t.kind == "resolve")
    assert resolved.message == (
        f"Days of cover for SKU LANG-1 in warehouse WH-EAST is back to {cover(30)}, at or above the recovery level 2")
    assert alerts.shown_message(resolved.message, resolved.message_args, "zh-CN") == (
        f"可售天数（SKU LANG-1 · 仓库 WH-EAST）已回到 {cover(30)}，不低于恢复线 2")


def test_with_cockpit_lang_chinese_the_stored_text_is_chinese_and_english_is_still_there(engine):
    open_stock_alerts(engine, {"LANG-1": 2}, lang="zh-CN")
    with engine.connect() as conn:
        frame = alerts.open_alerts(conn)
    stock = frame[frame["entity_id"] == "LANG-1|WH-EAST"]
    assert stock["message"].tolist() == [f"可售天数（SKU LANG-1 · 仓库 WH-EAST）为 {cover(2)}，低于严重阈值 0.25"]
    assert alerts.shown_messages(stock, "en").tolist() == [
        f"Days of cover for SKU LANG-1 in warehouse WH-EAST is {cover(2)}, below the critical threshold 0.25"]


def test_an_alert_from_before_message_args_shows_its_stored_text_in_any_language(engine):
    open_stock_alerts(engine, {"LANG-1": 2})
    with engine.begin() as conn:
        rule_id = conn.execute(select(AlertRule.rule_id).where(AlertRule.name == "Stock running out")).scalar_one()
        old = "Days of cover for SKU OLD-1 in warehouse WH-EAST is 0.1, below the critical threshold 0.25"
        conn.execute(insert(Alert).values(
            rule_id=rule_id, entity_id="OLD-1|WH-EAST", level="critical", status="open", opened_minute=T0 - 60,
            value=0.1, threshold=0.25, message=old, open_key=f"{rule_id}:OLD-1|WH-EAST"))
        # arguments this version cannot render (a template it does not know) fall back alike
        conn.execute(insert(Alert).values(
            rule_id=rule_id, entity_id="ODD-1|WH-EAST", level="warn", status="open", opened_minute=T0 - 30,
            value=0.5, threshold=1.0, message="stored text", message_args='{"template": "gone"}',
            open_key=f"{rule_id}:ODD-1|WH-EAST"))
    with engine.connect() as conn:
        frame = alerts.open_alerts(conn).set_index("entity_id")
    assert pd.isna(frame.loc["OLD-1|WH-EAST", "message_args"])
    assert frame.loc["ODD-1|WH-EAST", "message_args"] == '{"template": "gone"}'
    shown = alerts.shown_messages(frame, "zh-CN")
    assert shown["OLD-1|WH-EAST"] == old and shown["ODD-1|WH-EAST"] == "stored text"
    assert shown["LANG-1|WH-EAST"] == f"可售天数（SKU LANG-1 · 仓库 WH-EAST）为 {cover(2)}，低于严重阈值 0.25"


TRAFFIC = alerts.Rule(rule_id=7, name="Traffic drop", metric="sessions_vs_last_week", entity_kind="channel",
                      window_minutes=15, direction="below", warn=0.6, critical=0.4, recovery=0.8, no_data_minutes=5)
SPEND = alerts.Rule(rule_id=8, name="Overspend", metric="spend_vs_last_week", entity_kind="campaign",
                    window_minutes=15, direction="above", warn=1.8, critical=2.5, recovery=1.3)


@pytest.mark.parametrize("rule, entity, template, values, english, chinese", [
    (TRAFFIC, "ads", "no_data", {"minutes": 7},
     "No data for Sessions vs last week for channel ads for 7 minutes", "访问次数较上周（渠道 ads）已 7 分钟无数据"),
    (TRAFFIC, "ads", "data_back", {"level": "ok", "value": 0.91},
     "Data is back for Sessions vs last week for channel ads: 0.91, within its thresholds",
     "访问次数较上周（渠道 ads）数据已恢复：0.91，在阈值范围内"),
    (TRAFFIC, "ads", "data_back_breach", {"level": "critical", "value": 0.3, "threshold": 0.4},
     "Data is back for Sessions vs last week for channel ads: 0.3, below the critical threshold 0.4",
     "访问次数较上周（渠道 ads）数据已恢复：0.3，低于严重阈值 0.4"),
    (SPEND, "CMP-7", "breach", {"level": "warn", "value": 2.04, "threshold": 1.8},
     "Spend vs last week for campaign CMP-7 is 2.04, above the warning threshold 1.8",
     "花费较上周（广告计划 CMP-7）为 2.04，高于警告阈值 1.8"),
    (SPEND, "CMP-7", "resolve", {"level": "ok", "value": 1.1, "threshold": 1.3},
     "Spend vs last week for campaign CMP-7 is back to 1.1, at or below the recovery level 1.3",
     "花费较上周（广告计划 CMP-7）已回到 1.1，不高于恢复线 1.3"),
    (SPEND, "CMP-7", "retired", {},
     "Spend vs last week for campaign CMP-7 is no longer watched (rule Overspend is disabled, invalid or outside "
     "the active profile); alert closed",
     "花费较上周（广告计划 CMP-7）已不再监控（规则 Overspend 已停用、无效或不在当前方案中）；告警已关闭"),
])
def test_every_template_reads_in_both_languages_from_the_same_args(rule, entity, template, values, english, chinese):
    args = alerts.message_args(template, rule, entity, **values)
    assert json.loads(json.dumps(args)) == args  # what alerts.message_args stores
    assert alerts.alert_message(template, rule, entity, **values) == english  # COCKPIT_LANG: en in the tests
    assert alerts.render_message(args, "en") == english
    assert alerts.alert_message(template, rule, entity, **values, lang="zh-CN") == chinese
    assert alerts.shown_message("ignored", json.dumps(args), "zh-CN") == chinese
    with using("zh-CN"):  # the language in force (the scheduler's COCKPIT_LANG)
        assert alerts.alert_message(template, rule, entity, **values) == chinese


def test_metric_labels_and_threshold_words_have_chinese_names():
    assert alerts.metric_label("days_of_cover", "zh-CN") == "可售天数"
    assert alerts.metric_label("not_a_metric", "zh-CN") == "not_a_metric"
    assert {alerts.metric_label(metric, "zh-CN") for metric in alerts.METRIC_LABELS}.isdisjoint(
        set(alerts.METRIC_LABELS.values()) - {"GMV", "ROI"})
