"""Hostile input on every page that takes some (AppTest on a seeded shop, SQLite file and
PostgreSQL): SQL-injection strings, LIKE wildcards, huge and negative numbers, unicode, NUL
bytes, markup and blanks in the search box and the drill-down URLs get a clear message, never a
traceback, and leave the tables as they were; hostile thresholds and action quantities are
bounded by their widgets and refused, with a clear message, by cockpit.actions itself."""
import math
import re
import time
import uuid
from dataclasses import replace

import pytest
from sqlalchemy import func, select, update

from cockpit import actions, alerts
from cockpit.db.engine import get_engine
from cockpit.db.schema import (
    ActionLog,
    Alert,
    AlertRule,
    Campaign,
    Channel,
    Clearance,
    Customer,
    Product,
    ReplenishmentOrder,
    StockLevel,
)
from cockpit.ui.action_dialogs import PENDING, SNOOZE_CHOICES
from tests.pages.test_pages import app_for, seeded_url  # noqa: F401  (seeded_url is the module's shop)
from tests.support.signin import ensure_users

# Text that reaches SQL (bound parameters), LIKE patterns, number parsing and markdown.
HOSTILE = ["' OR 1=1 --", "'); DROP TABLE products; --", "%", "_", "雪" * 300, "<script>alert(1)</script>",
           str(10**18), "9" * 40, "-5", "0", "nan", "²", "[sign in](https://evil.example/login)", "**urgent** `x`"]
# Nothing is left of these once surrounding whitespace and control characters are dropped.
BLANK = ["", "   ", "\x00"]
TABLES = (Product, StockLevel, Campaign, Channel, Customer, AlertRule, ReplenishmentOrder, Clearance)
OPERATOR, ADMIN = "hostile_operator", "hostile_admin"


def table_counts(url: str) -> dict[str, int]:
    with get_engine(url).connect() as conn:
        return {model.__tablename__: conn.execute(select(func.count()).select_from(model)).scalar() for model in TABLES}


def shown(markdown: str) -> str:
    """What a reader sees of a Markdown text with code spans: the text between the fences (pages
    quote what a person typed as code, see shell.quoted)."""
    return re.sub(r"(`+) (.*?) \1(?!`)", r"\2", markdown)


def messages(at) -> list[str]:
    """Every error, warning and info box on the page, as read."""
    return [shown(box.value) for boxes in (at.error, at.warning, at.info) for box in boxes]


def said(at, fragment: str) -> bool:
    return any(fragment in text for text in messages(at))


def visit(at, **params):
    """The same page again with only `params` in its URL."""
    at.query_params.clear()
    at.query_params.update(params)
    at.run()
    assert not at.exception, (params, at.exception)
    return at


def key() -> str:
    return f"hostile-{uuid.uuid4().hex}"


def audit_rows(url: str) -> int:
    with get_engine(url).connect() as conn:
        return conn.execute(select(func.count()).select_from(ActionLog)).scalar()


def last_audit(url: str):
    with get_engine(url).connect() as conn:
        return conn.execute(select(ActionLog.verb, ActionLog.result, ActionLog.actor)
                            .order_by(ActionLog.action_id.desc()).limit(1)).one()


# --- the search box and the drill-down URLs -----------------------------------------------------

def test_hostile_product_ids_in_the_url_get_a_clear_message_and_change_nothing(seeded_url, monkeypatch):
    before = table_counts(seeded_url)
    at = app_for(seeded_url, monkeypatch, "pages/13_product.py")
    for value in HOSTILE:
        visit(at, sku=value)
        if len(value) > 200:
            assert said(at, f"The link's product ID has {len(value)} characters"), value
        else:
            assert said(at, f"No product has the ID {value}. Type part of its name"), value
        assert not at.metric, value  # no product opened
    for value in BLANK:
        visit(at, sku=value)
        assert said(at, "Enter a product ID or part of its name"), repr(value)
    assert table_counts(seeded_url) == before


def test_hostile_text_in_the_product_search_box_is_matched_literally_or_gets_a_clear_message(seeded_url, monkeypatch):
    before = table_counts(seeded_url)
    with get_engine(seeded_url).connect() as conn:
        catalogue = conn.execute(select(Product.sku, Product.name)).all()
    at = app_for(seeded_url, monkeypatch, "pages/13_product.py")
    assert at.text_input(key="product_query").max_chars == 200
    for value in HOSTILE + ["-", "雪"]:
        at.text_input(key="product_query").set_value(value).run()
        assert not at.exception, (value, at.exception)
        typed = value[:200]  # the box keeps its first 200 characters
        assert at.text_input(key="product_query").value == typed
        needle = typed.lower()
        matches = [sku for sku, name in catalogue if needle in sku.lower() or needle in name.lower()]
        if not matches:  # "%" and "_" are no wildcards: they match only themselves
            assert said(at, f"No product ID or name contains {typed}: check the spelling"), value
        else:
            options = at.selectbox(key="product_pick").options
            assert len(options) == min(10, len(matches)), value
            assert all(needle in option.lower() for option in options), value
    for value in BLANK:
        at.text_input(key="product_query").set_value(value).run()
        assert not at.exception, (repr(value), at.exception)
        assert said(at, "Enter a product ID or part of its name"), repr(value)
    assert table_counts(seeded_url) == before


def test_hostile_customer_ids_get_a_clear_message_and_change_nothing(seeded_url, monkeypatch):
    before = table_counts(seeded_url)
    at = app_for(seeded_url, monkeypatch, "pages/08_customer.py")
    for value in HOSTILE + ["１２３"]:
        at.text_input(key="customer_id_input").set_value(value).run()  # the box opens /customer?id=<value>
        assert not at.exception, (value, at.exception)
        assert at.query_params.get("id") == value
        if value.isdecimal() and len(value) <= 19:  # a well-formed ID (full-width digits too) nobody has
            assert said(at, f"No customer with ID {int(value)}."), value
        else:
            assert said(at, f"{value[:40]}") and said(at, "is not a customer ID: IDs are whole numbers of at most "
                                                         "19 digits"), value
        assert not at.metric, value
    for value in BLANK:
        at.text_input(key="customer_id_input").set_value(value).run()
        assert not at.exception, (repr(value), at.exception)
        assert "id" not in at.query_params and said(at, "Enter a customer ID"), repr(value)
    for value in ("'); DROP TABLE customers; --", "²", "9" * 40, "\x00"):  # the same from a link
        linked = app_for(seeded_url, monkeypatch, "pages/08_customer.py", id=value)
        assert said(linked, "is not a customer ID" if value.strip("\x00") else "Enter a customer ID"), repr(value)
    assert table_counts(seeded_url) == before


def test_hostile_stock_drill_downs_say_there_is_no_such_stock_row_and_change_nothing(seeded_url, monkeypatch):
    before = table_counts(seeded_url)
    with get_engine(seeded_url).connect() as conn:
        real_sku = conn.execute(select(StockLevel.sku).order_by(StockLevel.sku).limit(1)).scalar()
    at = app_for(seeded_url, monkeypatch, "pages/03_stock.py", user=OPERATOR, role="operator")
    for value in HOSTILE:
        visit(at, sku=value, wh=value)
        assert said(at, f"No stock row for SKU {value} at warehouse {value}: select a row"), value
        assert "stock_replenish" not in [b.key for b in at.button], value
    visit(at, sku=real_sku, wh="' OR 1=1 --")  # a real SKU does not open with a hostile warehouse
    assert said(at, f"No stock row for SKU {real_sku} at warehouse ' OR 1=1 --:")
    assert "stock_replenish" not in [b.key for b in at.button]
    for value in BLANK:
        visit(at, sku=value, wh=value)
        assert not said(at, "No stock row"), repr(value)
        assert not [h for h in at.subheader if h.value.startswith("SKU ")], repr(value)  # no drill-down opened
    assert table_counts(seeded_url) == before


def test_hostile_campaign_ids_say_there_is_no_such_campaign_and_change_nothing(seeded_url, monkeypatch):
    before = table_counts(seeded_url)
    with get_engine(seeded_url).connect() as conn:
        statuses = dict(conn.execute(select(Campaign.campaign_id, Campaign.status)).all())
    at = app_for(seeded_url, monkeypatch, "pages/04_ads.py", user=OPERATOR, role="operator")
    for value in HOSTILE:
        visit(at, campaign=value)
        assert said(at, f"No campaign {value}: select a campaign in the table above."), value
        assert not {"ads_pause", "ads_resume"} & {b.key for b in at.button}, value
    for value in BLANK:
        visit(at, campaign=value)
        assert not said(at, "No campaign"), repr(value)
        assert not [h for h in at.subheader if h.value.startswith("Campaign ")], repr(value)
    assert table_counts(seeded_url) == before
    with get_engine(seeded_url).connect() as conn:
        assert dict(conn.execute(select(Campaign.campaign_id, Campaign.status)).all()) == statuses


def test_hostile_channels_say_there_is_no_such_channel_and_change_nothing(seeded_url, monkeypatch):
    before = table_counts(seeded_url)
    at = app_for(seeded_url, monkeypatch, "pages/02_traffic.py")
    for value in HOSTILE:
        visit(at, channel=value)
        assert said(at, f"No channel {value}: select a channel in the funnel table above."), value
        assert not said(at, "could not be loaded"), value
    for value in BLANK:
        visit(at, channel=value)
        assert not said(at, "No channel"), repr(value)
        assert not [h for h in at.subheader if h.value.startswith("Channel: ")], repr(value)
    with get_engine(seeded_url).connect() as conn:
        channel = conn.execute(select(Channel.channel).order_by(Channel.channel).limit(1)).scalar()
    visit(at, channel=channel)  # a real channel still opens
    assert not said(at, "No channel") and any(shown(h.value) == f"Channel: {channel}" for h in at.subheader)
    assert table_counts(seeded_url) == before


# --- the rule editor ----------------------------------------------------------------------------

def conversion_rule(url: str) -> alerts.Rule:
    with get_engine(url).connect() as conn:
        return next(r for r in alerts.load_rules(conn, alerts.active_profile(conn)) if r.metric == "conversion_rate")


def stored_rule(url: str, rule_id: int) -> dict:
    with get_engine(url).connect() as conn:
        return dict(conn.execute(select(AlertRule).where(AlertRule.rule_id == rule_id)).one()._mapping)


def test_the_rule_editor_bounds_its_minutes_and_refuses_hostile_thresholds_with_a_clear_message(seeded_url,
                                                                                                monkeypatch):
    rule = conversion_rule(seeded_url)  # direction "below": critical must be below warn
    stored = stored_rule(seeded_url, rule.rule_id)
    at = app_for(seeded_url, monkeypatch, "pages/05_alerts.py", rule=str(rule.rule_id))
    for name, least in (("rules_window", 1), ("rules_hold", 0), ("rules_no_data", 0)):
        widget = at.number_input(key=name)
        assert (widget.min, widget.max) == (least, alerts.MAX_RULE_MINUTES), name
    hostile = [
        ({"rules_warn": 0.01, "rules_critical": 0.02}, "the critical threshold (0.02) must be below the warn threshold"),
        ({"rules_warn": 1e300}, "must be at or above the warn threshold (1e+300)"),
        ({"rules_warn": -5.0, "rules_critical": -10.0}, "warn must be 0 or more (Conversion rate is never negative)"),
    ]
    for values, problem in hostile:
        at = app_for(seeded_url, monkeypatch, "pages/05_alerts.py", rule=str(rule.rule_id))  # a fresh form
        for name, value in values.items():
            at.number_input(key=name).set_value(value)
        at.button(key="rules_save").click().run()
        assert not at.exception, (values, at.exception)
        assert any(w.value.startswith("Not done: Rule 'Shop conversion low' not saved:") and problem in w.value
                   for w in at.warning), values
        assert stored_rule(seeded_url, rule.rule_id) == stored, values


@pytest.mark.parametrize("change, problem", [
    ({"window_minutes": 10**12}, f"window_minutes must be at most {alerts.MAX_RULE_MINUTES} (90 days)"),
    ({"window_minutes": -5}, "window_minutes must be a whole number of at least 1"),
    ({"hold_minutes": 3 * 10**9}, f"hold_minutes must be at most {alerts.MAX_RULE_MINUTES}"),
    ({"hold_minutes": -1}, "hold_minutes must be a whole number of 0 or more"),
    ({"no_data_minutes": 10**18}, f"no_data_minutes must be at most {alerts.MAX_RULE_MINUTES}"),
    ({"warn": math.nan}, "warn must be a finite number"),
    ({"critical": math.inf}, "critical must be a finite number"),
    ({"min_volume": -3.0}, "min_volume must be 0 or more"),
    ({"warn": -5.0, "critical": -10.0}, "critical must be 0 or more (Conversion rate is never negative), not -10.0"),
    ({"warn": 0.01, "critical": 0.02}, "the critical threshold (0.02) must be below the warn threshold (0.01)"),
], ids=["huge-window", "negative-window", "huge-hold", "negative-hold", "huge-no-data", "nan-warn", "inf-critical",
        "negative-volume", "negative-thresholds", "wrong-order"])
def test_update_rule_refuses_a_hostile_rule_and_writes_only_the_audit_row(seeded_url, change, problem):
    engine = get_engine(seeded_url)
    ensure_users(engine, **{ADMIN: "admin"})
    rule = conversion_rule(seeded_url)
    stored, audits = stored_rule(seeded_url, rule.rule_id), audit_rows(seeded_url)
    with actions.action_transaction(engine) as conn:
        result = actions.update_rule(conn, replace(rule, **change), ADMIN, key(), time.time())
    assert result.result == "refused" and problem in result.message, result.message
    assert stored_rule(seeded_url, rule.rule_id) == stored
    assert audit_rows(seeded_url) == audits + 1 and last_audit(seeded_url) == ("update_rule", "refused", ADMIN)


# --- action quantities --------------------------------------------------------------------------

def low_pair(url: str):
    with get_engine(url).connect() as conn:
        return conn.execute(select(StockLevel.sku, StockLevel.warehouse_id).order_by(
            StockLevel.on_hand - StockLevel.safety_stock, StockLevel.sku).limit(1)).one()


def test_the_replenish_dialog_bounds_the_quantity(seeded_url, monkeypatch):
    sku, warehouse_id = low_pair(seeded_url)
    at = app_for(seeded_url, monkeypatch, "pages/03_stock.py", user=OPERATOR, role="operator", sku=sku,
                 wh=warehouse_id)
    at.button(key="stock_replenish").click().run()
    assert not at.exception, at.exception
    qty = at.number_input(key="replenish_qty")
    assert (qty.min, qty.max) == (1, actions.MAX_REPLENISH_QTY)
    assert 1 <= qty.value <= actions.MAX_REPLENISH_QTY


@pytest.mark.parametrize("qty, problem", [
    (-5, "whole number of units above 0, not -5"), (0, "whole number of units above 0, not 0"),
    (10**18, f"one order is at most {actions.MAX_REPLENISH_QTY:,} units"),
    (actions.MAX_REPLENISH_QTY + 1, f"one order is at most {actions.MAX_REPLENISH_QTY:,} units"),
    (math.nan, "whole number of units above 0, not nan"), (2.5, "whole number of units above 0, not 2.5"),
], ids=["negative", "zero", "huge", "one-too-many", "nan", "fraction"])
def test_replenish_sku_refuses_a_hostile_quantity_and_writes_only_the_audit_row(seeded_url, qty, problem):
    engine = get_engine(seeded_url)
    ensure_users(engine, **{OPERATOR: "operator"})
    sku, warehouse_id = low_pair(seeded_url)
    before, audits = table_counts(seeded_url), audit_rows(seeded_url)
    with actions.action_transaction(engine) as conn:
        result = actions.replenish_sku(conn, sku, warehouse_id, qty, OPERATOR, key(), time.time())
    assert result.result == "refused" and result.message.startswith("Not replenished:") and problem in result.message
    assert result.before == result.after
    assert table_counts(seeded_url) == before
    assert audit_rows(seeded_url) == audits + 1 and last_audit(seeded_url) == ("replenish_sku", "refused", OPERATOR)


@pytest.mark.parametrize("sku", ["' OR 1=1 --", "%", "雪" * 300, ""])
def test_replenish_sku_names_an_unknown_stock_pair_and_writes_nothing(seeded_url, sku):
    engine = get_engine(seeded_url)
    ensure_users(engine, **{OPERATOR: "operator"})
    before, audits = table_counts(seeded_url), audit_rows(seeded_url)
    with actions.action_transaction(engine) as conn:
        with pytest.raises(ValueError, match="no stock level for SKU .*; pick a pair from the stock page"):
            actions.replenish_sku(conn, sku, "'); DROP TABLE products; --", 5, OPERATOR, key(), time.time())
    assert table_counts(seeded_url) == before and audit_rows(seeded_url) == audits


# A NUL byte in an id is refused by name before any SQL: PostgreSQL would fail on it with a
# database error deep inside the transaction.
@pytest.mark.parametrize("verb", ["replenish", "pause", "resume", "start_clearance", "end_clearance", "profile", "actor"])
def test_actions_refuse_control_characters_in_ids_by_name_and_write_nothing(seeded_url, verb):
    engine = get_engine(seeded_url)
    ensure_users(engine, **{OPERATOR: "operator", ADMIN: "admin"})
    with engine.connect() as conn:
        sku, warehouse_id = conn.execute(select(StockLevel.sku, StockLevel.warehouse_id).limit(1)).one()
        campaign_id = conn.execute(select(Campaign.campaign_id).limit(1)).scalar()
    calls = {
        "replenish": lambda conn, now: actions.replenish_sku(conn, sku + "\x00", warehouse_id, 5, OPERATOR, key(), now),
        "pause": lambda conn, now: actions.pause_campaign(conn, campaign_id + "\x00", OPERATOR, key(), now),
        "resume": lambda conn, now: actions.resume_campaign(conn, "\x00" + campaign_id, OPERATOR, key(), now),
        "start_clearance": lambda conn, now: actions.start_clearance(conn, sku + "\x00", "flash_sale", 20, 3,
                                                                     OPERATOR, key(), now),
        "end_clearance": lambda conn, now: actions.end_clearance(conn, sku + "\x1b", OPERATOR, key(), now),
        "profile": lambda conn, now: actions.set_rule_profile(conn, "normal\x00", ADMIN, key(), now),
        "actor": lambda conn, now: actions.replenish_sku(conn, sku, warehouse_id, 5, OPERATOR + "\x00", key(), now),
    }
    before, audits = table_counts(seeded_url), audit_rows(seeded_url)
    with actions.action_transaction(engine) as conn:
        with pytest.raises(ValueError, match="holds control characters"):
            calls[verb](conn, time.time())
    assert table_counts(seeded_url) == before and audit_rows(seeded_url) == audits


def open_alert(url: str) -> int:
    """An open alert's id (one made by hand in a quiet shop)."""
    with get_engine(url).begin() as conn:
        alert_id = conn.execute(select(Alert.alert_id).where(Alert.status == "open").order_by(Alert.alert_id)).scalar()
        if alert_id is None:
            rule_id = conn.execute(select(AlertRule.rule_id).order_by(AlertRule.rule_id)).scalars().first()
            conn.execute(Alert.__table__.insert().values(
                rule_id=rule_id, entity_id="shop", level="warn", status="open", opened_minute=1,
                message="a hand-made alert", open_key=f"{rule_id}:shop"))
            alert_id = conn.execute(select(Alert.alert_id).where(Alert.status == "open")).scalar()
        conn.execute(update(Alert).where(Alert.alert_id == alert_id).values(snoozed_until_minute=None))
        return alert_id


def test_the_snooze_dialog_offers_only_durations_the_action_accepts(seeded_url, monkeypatch):
    alert_id = open_alert(seeded_url)
    at = app_for(seeded_url, monkeypatch, "pages/05_alerts.py", user=OPERATOR, role="operator")
    at.button(key=f"alerts_snooze_{alert_id}").click().run()
    assert not at.exception, at.exception
    offered = [int(option) for option in at.selectbox(key="snooze_minutes").options]
    assert offered == list(SNOOZE_CHOICES)
    assert all(1 <= minutes <= actions.MAX_SNOOZE_MINUTES for minutes in offered)


@pytest.mark.parametrize("minutes, problem", [
    (-5, "whole number above 0, not -5"), (0, "whole number above 0, not 0"), (math.nan, "whole number above 0, not nan"),
    (10**18, f"at most {actions.MAX_SNOOZE_MINUTES} minutes (a week)"),
    (actions.MAX_SNOOZE_MINUTES + 1, "disable the alert's rule to silence it for longer"),
], ids=["negative", "zero", "nan", "huge", "one-too-many"])
def test_snooze_refuses_a_hostile_duration_and_writes_only_the_audit_row(seeded_url, minutes, problem):
    engine = get_engine(seeded_url)
    ensure_users(engine, **{OPERATOR: "operator"})
    alert_id = open_alert(seeded_url)
    audits = audit_rows(seeded_url)
    with actions.action_transaction(engine) as conn:
        result = actions.snooze(conn, alert_id, minutes, OPERATOR, key(), time.time())
    assert result.result == "refused" and result.message.startswith("Not snoozed:") and problem in result.message
    with engine.connect() as conn:
        assert conn.execute(select(Alert.snoozed_until_minute).where(Alert.alert_id == alert_id)).scalar() is None
    assert audit_rows(seeded_url) == audits + 1 and last_audit(seeded_url) == ("snooze_alert", "refused", OPERATOR)


def clearance_form(url, monkeypatch):
    at = app_for(url, monkeypatch, "pages/15_products.py", user=OPERATOR, role="operator")
    assert at.selectbox(key="products_clear_sku").value, "the seeded shop has slow movers to clear"
    return at


def test_the_clearance_form_bounds_the_discount_and_the_days(seeded_url, monkeypatch):
    at = clearance_form(seeded_url, monkeypatch)
    discount, days = at.slider(key="products_clear_pct"), at.number_input(key="products_clear_days")
    assert (discount.min, discount.max) == actions.CLEARANCE_DISCOUNT_PCT
    assert (days.min, days.max) == (1, actions.CLEARANCE_MAX_DAYS)


def test_hostile_clearances_that_get_past_the_form_are_refused_on_the_page_and_a_corrected_one_is_not(
        seeded_url, monkeypatch):
    """As if a tampered browser sent values the form's widgets cannot hold: the dialog's
    confirm button (an on_click callback) reaches start_clearance, which refuses each; the
    refusals do not make the corrected choice a "duplicate" of them."""
    at = clearance_form(seeded_url, monkeypatch)
    sku = at.selectbox(key="products_clear_sku").value
    hostile = [(-5, 3, "the discount must be 5 to 70 percent, not -5"),
               (math.nan, 3, "the discount must be 5 to 70 percent, not nan"),
               (30, 10**18, "whole number of days from 1 to 14, not 1000000000000000000")]
    for discount, days, problem in hostile + [(30, 3, None)]:
        before, audits = table_counts(seeded_url), audit_rows(seeded_url)
        at.session_state[PENDING] = {"kind": "clearance", "sku": sku, "clearance_kind": "flash_sale",
                                     "discount_pct": discount, "days": days}
        at.run()
        assert not at.exception, at.exception
        at.button(key="clearance_confirm").click().run()
        assert not at.exception, at.exception
        if problem is None:
            assert any(s.value.startswith(f"Done: Flash sale of {sku}") for s in at.success), messages(at)
            break
        assert any(w.value.startswith("Not done: Not started:") and problem in w.value for w in at.warning), (
            discount, days, messages(at))
        assert table_counts(seeded_url) == before
        assert audit_rows(seeded_url) == audits + 1
        assert last_audit(seeded_url) == ("start_clearance", "refused", OPERATOR)
    with get_engine(seeded_url).connect() as conn:
        assert conn.execute(select(Clearance.discount_pct, Clearance.created_by).where(Clearance.sku == sku)).all() == [
            (30.0, OPERATOR)]


@pytest.mark.parametrize("discount, days, problem", [
    (0, 3, "the discount must be 5 to 70 percent, not 0"),
    (10**18, 3, "the discount must be 5 to 70 percent, not 1000000000000000000"),
    (math.inf, 3, "the discount must be 5 to 70 percent, not inf"),
    (30, -5, "whole number of days from 1 to 14, not -5"),
    (30, 0, "whole number of days from 1 to 14, not 0"),
    (30, 2.5, "whole number of days from 1 to 14, not 2.5"),
], ids=["zero-discount", "huge-discount", "inf-discount", "negative-days", "zero-days", "fraction-days"])
def test_start_clearance_refuses_a_hostile_discount_or_length_and_writes_only_the_audit_row(seeded_url, discount, days,
                                                                                            problem):
    engine = get_engine(seeded_url)
    ensure_users(engine, **{OPERATOR: "operator"})
    with engine.connect() as conn:
        sku = conn.execute(select(StockLevel.sku).where(StockLevel.on_hand > 0).order_by(StockLevel.sku)).scalar()
    before, audits = table_counts(seeded_url), audit_rows(seeded_url)
    with actions.action_transaction(engine) as conn:
        result = actions.start_clearance(conn, sku, "flash_sale", discount, days, OPERATOR, key(), time.time())
    assert result.result == "refused" and problem in result.message, result.message
    assert table_counts(seeded_url) == before
    assert audit_rows(seeded_url) == audits + 1 and last_audit(seeded_url) == ("start_clearance", "refused", OPERATOR)
