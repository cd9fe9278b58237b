"""Action messages in either language: each audited action keeps its message as data
(actions.message_args), which renders in Chinese with the same figures and ids as the English
message, while actions.message stays the English text; a zh-CN session sees its results and the
audit log in Chinese. Real actions on both backends."""
from __future__ import annotations

import json
import re
import time
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select, update

from cockpit import actions, alerts
from cockpit.config import load_settings
from cockpit.db.engine import get_engine
from cockpit.db.schema import ActionLog, Alert, StockLevel, User
from cockpit.i18n import say
from cockpit.ingest.seed import seed_history
from cockpit.jobs import refresh
from models.phrases import Phrase, from_json
from tests.cockpit.test_actions import NOW, T0, TZ, add_rule, seed
from tests.pages.test_pages import app_for
from tests.support.signin import ensure_users

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
FIGURE = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")
# English a Chinese message keeps: acronyms and the time zone of the shop's times.
KEPT = {"ROI", "SKU", "CST"}


@pytest.fixture
def shop(engine):
    seed(engine)
    ensure_users(engine, vera="viewer")
    return engine


def stored(engine, action_id: int):
    with engine.connect() as conn:
        return conn.execute(select(ActionLog.message, ActionLog.message_args)
                            .where(ActionLog.action_id == action_id)).one()


def chinese(engine, result: actions.ActionResult) -> str:
    """The stored message_args of `result` in Chinese, checked against the stored English."""
    row = stored(engine, result.action_id)
    said = from_json(row.message_args)
    assert isinstance(said, Phrase)
    assert row.message == result.message == str(said) == str(result.phrase)
    return say(said, "zh-CN")


def assert_same_facts(english: str, zh: str, *data: str) -> None:
    """The Chinese text is Chinese, holds every figure of the English one (as often), and the
    data (ids, channels, times) as they are; no English word of ours is left."""
    assert CJK.search(zh), zh
    assert Counter(FIGURE.findall(zh)) == Counter(FIGURE.findall(english)), (english, zh)
    rest = zh
    for value in sorted(data, key=len, reverse=True):
        assert value in english and value in zh, (value, zh)
        rest = rest.replace(value, " ")
    left = set(re.findall(r"[A-Za-z]{2,}", rest)) - KEPT
    assert not left, (left, zh)


def test_a_replenishment_reads_in_chinese_with_the_same_order_quantity_and_time(shop):
    with actions.action_transaction(shop) as conn:
        result = actions.replenish_sku(conn, "FOO-1", "WH-EAST", 134, "ana", "k1", NOW, tz=TZ)
    rid = f"RO-A-{result.action_id}"
    assert result.message == f"Replenishment {rid} of 134 units for FOO-1 at WH-EAST, expected 2026-11-23 19:06 CST"
    zh = chinese(shop, result)
    assert zh == f"补货单 {rid}：为 WH-EAST 补货 FOO-1 共 134 件，预计 2026-11-23 19:06 CST 到货"
    assert_same_facts(result.message, zh, rid, "FOO-1", "WH-EAST")


def test_the_quantity_explanation_reads_in_chinese(shop):
    with shop.connect() as conn:
        s = actions.replenishment_suggestion(conn, "FOO-1", "WH-EAST", NOW)
    assert s.explanation == str(s.explanation_phrase)
    zh = say(s.explanation_phrase, "zh-CN")
    assert "日均销量 12.00 件" in zh and "因此订购 134 件" in zh
    assert_same_facts(s.explanation, zh)


def test_a_pause_with_its_better_channel_reads_in_chinese(shop):
    with actions.action_transaction(shop) as conn:
        paused = actions.pause_campaign(conn, "CMP-PS", "ana", "p1", NOW, reason="ROI below floor", tz=TZ)
    assert paused.message == (
        "Paused campaign CMP-PS (paid_search); ROI over the last 60 minutes -0.50 against a floor of 0.50, 100.00 of "
        "1,000.00 spent today. Consider moving budget to live_stream: live_stream has the best ROI among channels "
        "with budget left today: 1.00 over the last 3 h, with 600.00 of daily budget unspent in CMP-LIVE. "
        "Reason: ROI below floor")
    zh = chinese(shop, paused)
    assert zh.startswith("已暂停广告计划 CMP-PS（paid_search）；近 60 分钟 ROI 为 -0.50，底线 0.50；")
    assert "可考虑把预算转到 live_stream：live_stream 在今天仍有预算的渠道中 ROI 最高" in zh
    assert zh.endswith("原因：ROI below floor")  # the reason the operator gave is theirs, kept as written
    assert_same_facts(paused.message, zh.removesuffix("ROI below floor"), "CMP-PS", "paid_search", "live_stream",
                      "CMP-LIVE")
    assert paused.after["recommendation"]["reason"] in paused.message  # the stored state stays English


def test_an_automatic_pause_quotes_its_alert_in_the_readers_language(shop):
    with actions.action_transaction(shop) as conn:
        rule = add_rule(conn, auto_action="pause_campaign")
        args = alerts.message_args("breach", rule, "CMP-PS", level="critical", value=-1.0, threshold=-0.5)
        conn.execute(insert(Alert).values(
            rule_id=rule.rule_id, entity_id="CMP-PS", level="critical", status="open", opened_minute=T0 - 5,
            value=-1.0, threshold=-0.5, message=alerts.render_message(args, "zh-CN"),
            open_key=f"{rule.rule_id}:CMP-PS"))
        # the scheduler wrote the alert in Chinese (COCKPIT_LANG); the audit log keeps English and the data
        opened = alerts.Transition("open", rule.rule_id, "CMP-PS", "critical", -1.0, -0.5,
                                   alerts.render_message(args, "zh-CN"), message_args=args)
        [paused] = actions.run_auto_actions(conn, [opened], NOW, TZ)
    assert paused.done and paused.automatic
    assert paused.message.endswith("Reason: ROI vs floor for campaign CMP-PS is -1, below the critical threshold -0.5")
    zh = chinese(shop, paused)
    assert zh.endswith("原因：" + alerts.render_message(args, "zh-CN"))
    assert_same_facts(paused.message, zh, "CMP-PS", "paid_search", "live_stream", "CMP-LIVE")


def test_refusals_read_in_chinese(shop):
    with actions.action_transaction(shop) as conn:
        actions.pause_campaign(conn, "CMP-PS", "ana", "p1", NOW, tz=TZ)
        again = actions.pause_campaign(conn, "CMP-PS", "bob", "p2", NOW + 1, tz=TZ)
        too_many = actions.replenish_sku(conn, "FOO-1", "WH-EAST", 2_000_000, "ana", "k1", NOW, tz=TZ)
        viewer = actions.replenish_sku(conn, "FOO-1", "WH-EAST", 10, "vera", "k2", NOW, tz=TZ)
    assert [r.result for r in (again, too_many, viewer)] == ["refused"] * 3
    assert again.message == "Not paused: campaign CMP-PS is already paused."
    assert chinese(shop, again) == "未暂停：广告计划 CMP-PS 当前已是“已暂停”。"
    assert too_many.message == ("Not replenished: one order is at most 1,000,000 units, not 2,000,000; "
                                "check the quantity")
    assert_same_facts(too_many.message, chinese(shop, too_many))
    assert viewer.message == "Not allowed: 'vera' is a viewer; this needs the operator role."
    zh = chinese(shop, viewer)
    assert zh.startswith("不允许：'vera'") and "operator" in zh
    assert_same_facts(viewer.message, zh, "'vera'", "viewer", "operator")


def test_an_acknowledgement_quotes_the_alert_in_chinese(shop):
    with actions.action_transaction(shop) as conn:
        rule = add_rule(conn)
        args = alerts.message_args("breach", rule, "CMP-PS", level="critical", value=-1.0, threshold=-0.5)
        english = alerts.render_message(args, "en")
        alert_id = conn.execute(insert(Alert).values(
            rule_id=rule.rule_id, entity_id="CMP-PS", level="critical", status="open", opened_minute=T0 - 5,
            value=-1.0, threshold=-0.5, message=english, message_args=json.dumps(args),
            open_key=f"{rule.rule_id}:CMP-PS").returning(Alert.alert_id)).scalar_one()
        ack = actions.acknowledge(conn, alert_id, "ana", "a1", NOW)
        twice = actions.acknowledge(conn, alert_id, "bob", "a2", NOW)
    assert ack.message == f"Acknowledged alert {alert_id}: {english}"
    zh = chinese(shop, ack)
    assert zh == f"已确认告警 {alert_id}：{alerts.render_message(args, 'zh-CN')}"
    assert_same_facts(ack.message, zh, "CMP-PS")
    assert chinese(shop, twice) == f"未确认：告警 {alert_id} 当前已是“已确认”。"


def test_an_action_audited_before_message_args_shows_its_stored_text(shop):
    with actions.action_transaction(shop) as conn:
        result = actions.replenish_sku(conn, "FOO-1", "WH-EAST", 5, "ana", "k1", NOW, tz=TZ)
        conn.execute(update(ActionLog).where(ActionLog.action_id == result.action_id).values(message_args=None))
        again = actions.replenish_sku(conn, "FOO-1", "WH-EAST", 5, "ana", "k1", NOW, tz=TZ)
        log = actions.audit_log(conn)
    assert again.duplicate and again.phrase == again.message == result.message
    assert log["message_args"].isna().all() and list(log["message"]) == [result.message]
    assert actions.stored_message(result.message, None) == result.message
    assert actions.stored_message(result.message, '{"template": "{missing}", "values": {}}') == result.message


# --- the interface --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def seeded_url(module_db_url):
    now = int(time.time()) // 60 * 60
    seed_history(get_engine(module_db_url), days=2, scenario="normal", seed=21, now_minute=now // 60 - 1, tz=TZ,
                 progress=False)
    refresh(load_settings({"COCKPIT_DB_URL": module_db_url, "COCKPIT_SOURCES": "simulator"}), now_ts=now)
    engine = get_engine(module_db_url)
    ensure_users(engine, lin="operator", ana="operator")
    with engine.begin() as conn:
        conn.execute(update(User).where(User.username == "lin").values(language="zh-CN"))
    return module_db_url


def audit_messages(at) -> list[str]:
    [table] = [d.value for d in at.dataframe if "before_json" in d.value.columns]
    return list(table["message"])


def test_a_chinese_session_sees_its_result_and_the_audit_log_in_chinese(seeded_url, monkeypatch):
    engine = get_engine(seeded_url)
    with engine.connect() as conn:
        sku, warehouse_id = conn.execute(select(StockLevel.sku, StockLevel.warehouse_id)
                                         .order_by(StockLevel.sku, StockLevel.warehouse_id)).first()
    at = app_for(seeded_url, monkeypatch, "pages/03_stock.py", user="lin", role="operator", sku=sku, wh=warehouse_id)
    assert at.session_state["ui_language"] == "zh-CN"  # lin chose Chinese: the sign-in gate says so
    at.button(key="stock_replenish").click().run()
    at.number_input(key="replenish_qty").set_value(41)
    at.button(key="replenish_confirm").click().run()
    assert not at.exception, at.exception
    with engine.connect() as conn:
        row = conn.execute(select(ActionLog.message, ActionLog.message_args).where(
            ActionLog.verb == "replenish_sku", ActionLog.actor == "lin")).one()
    zh = say(from_json(row.message_args), "zh-CN")
    assert row.message.startswith("Replenishment RO-A-") and f"of 41 units for {sku} at {warehouse_id}" in row.message
    assert "共 41 件" in zh
    assert [s.value for s in at.success] == [f"已完成：{zh}"]

    chinese_log = app_for(seeded_url, monkeypatch, "pages/05_alerts.py", user="lin", role="operator")
    assert zh in audit_messages(chinese_log) and row.message not in audit_messages(chinese_log)
    english_log = app_for(seeded_url, monkeypatch, "pages/05_alerts.py", user="ana", role="operator")  # COCKPIT_LANG
    assert row.message in audit_messages(english_log) and zh not in audit_messages(english_log)
