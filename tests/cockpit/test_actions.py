"""Actions: idempotent, audited verbs on both backends, and the scheduler's automatic pause."""
from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import replace
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from sqlalchemy import func, insert, select, update

from cockpit import actions, alerts, jobs
from cockpit.actions import (
    REVIEW_DAYS,
    acknowledge,
    action_markers,
    action_transaction,
    audit_log,
    entity_state_token,
    intent_key,
    pause_campaign,
    recommend_channel,
    replenish_sku,
    replenishment_suggestion,
    resume_campaign,
    run_auto_actions,
    set_rule_profile,
    snooze,
    update_rule,
)
from cockpit.config import load_settings
from cockpit.db.engine import get_engine, upgrade_schema
from cockpit.metrics.aggregate import rebuild_sku_days
from cockpit.db.schema import (
    ActionLog,
    AggCampaignMinute,
    AggSkuMinute,
    Alert,
    AlertRule,
    Campaign,
    Channel,
    Product,
    RefreshRun,
    ReplenishmentOrder,
    StockLevel,
    Warehouse,
)
from cockpit.timebuckets import day_start_minute, local_day_of
from tests.support.signin import ensure_users

TZ = ZoneInfo("Asia/Shanghai")
T0 = 1_795_000_000 // 60  # 2026-11-18 11:06 UTC, 19:06 in Shanghai
NOW = T0 * 60 + 30
MIDNIGHT = day_start_minute(local_day_of(T0, TZ), TZ)  # 2026-11-17 16:00 UTC

# campaign_id, channel, daily_budget, roi_floor, status
CAMPAIGNS = [
    ("CMP-PS", "paid_search", 1000.0, 0.5, "active"),
    ("CMP-FEED-A", "feed_ads", 500.0, 0.2, "active"),
    ("CMP-FEED-B", "feed_ads", 500.0, 0.2, "paused"),
    ("CMP-LIVE", "live_stream", 800.0, 0.2, "active"),
    ("CMP-KOL", "kol_seeding", 300.0, 0.2, "active"),
    ("CMP-SOC", "social_referral", 300.0, 0.2, "active"),
]
# minute, campaign_id, spend, revenue
SPEND = [
    (T0 - 10, "CMP-PS", 100.0, 50.0),  # ROI -0.5 over the last hour, floor 0.5
    (T0 - 300, "CMP-FEED-A", 450.0, 0.0),  # today, before the 3-hour window
    (T0 - 20, "CMP-FEED-A", 50.0, 200.0),  # ROI 3.0 in the window, but the budget is spent
    (T0 - 20, "CMP-FEED-B", 10.0, 50.0),  # paused: never recommended
    (T0 - 30, "CMP-LIVE", 200.0, 400.0),  # ROI 1.0, 600 left today
    (MIDNIGHT - 1, "CMP-LIVE", 5000.0, 0.0),  # yesterday: does not use today's budget
    (T0 - 30, "CMP-KOL", 100.0, 150.0),  # ROI 0.5, 200 left today
    (T0 - 30, "CMP-SOC", 10.0, 60.0),  # social is not a channel budget moves to
]


def seed(engine) -> None:
    # The actors these tests use: admins may do every verb (rules too), operators the rest.
    ensure_users(engine, ana="admin", bob="admin", **{f"user{i}": "operator" for i in range(8)})
    with engine.begin() as conn:
        conn.execute(insert(Product), [
            {"sku": "FOO-1", "name": "Foo kettle", "category": "kitchen", "price": 30.0, "cost": 12.0,
             "supplier_id": None, "launched_ts_utc": 0},
        ])
        conn.execute(insert(Warehouse), [
            {"warehouse_id": "WH-EAST", "name": "East", "region": "east", "tier": "regional"},
            {"warehouse_id": "WH-WEST", "name": "West", "region": "west", "tier": "regional"},
        ])
        conn.execute(insert(StockLevel), [
            {"sku": "FOO-1", "warehouse_id": "WH-EAST", "on_hand": 30, "safety_stock": 40, "reorder_point": 60,
             "lead_time_days": 5.0, "updated_ts_utc": 0},
            {"sku": "FOO-1", "warehouse_id": "WH-WEST", "on_hand": 500, "safety_stock": 40, "reorder_point": 60,
             "lead_time_days": 2.0, "updated_ts_utc": 0},
        ])
        conn.execute(insert(ReplenishmentOrder), [
            {"replenishment_id": "RO-OPEN", "sku": "FOO-1", "warehouse_id": "WH-EAST", "qty": 20,
             "created_ts_utc": 0, "expected_ts_utc": 0, "status": "open", "source": "purchasing", "created_by": "x"},
            {"replenishment_id": "RO-DONE", "sku": "FOO-1", "warehouse_id": "WH-EAST", "qty": 999,
             "created_ts_utc": 0, "expected_ts_utc": 0, "status": "received", "source": "purchasing",
             "created_by": "x"},
        ])
        # 36 units in (T0 - 3 days, T0]: 12 units/day; the rows just outside must not count.
        conn.execute(insert(AggSkuMinute), [
            {"minute_utc": m, "sku": "FOO-1", "warehouse_id": "WH-EAST", "units_sold": u, "revenue": 30.0 * u,
             "units_returned": 0}
            for m, u in ((T0, 10), (T0 - 3 * 1440 + 1, 26), (T0 - 3 * 1440, 100), (T0 + 1, 100))
        ])
        rebuild_sku_days(conn)  # as rebuild_range keeps the daily rollup
        conn.execute(insert(Channel), [
            {"channel": c, "name": c, "kind": k}
            for c, k in (("paid_search", "paid"), ("feed_ads", "paid"), ("live_stream", "content"),
                         ("kol_seeding", "content"), ("social_referral", "social"))
        ])
        conn.execute(insert(Campaign), [
            {"campaign_id": c, "channel": ch, "name": c, "daily_budget": b, "roi_floor": f, "status": s,
             "start_ts_utc": 0}
            for c, ch, b, f, s in CAMPAIGNS
        ])
        channel_of = {c[0]: c[1] for c in CAMPAIGNS}
        conn.execute(insert(AggCampaignMinute), [
            {"minute_utc": m, "campaign_id": c, "channel": channel_of[c], "spend": s, "impressions": 0,
             "clicks": 0, "orders": 0, "revenue": r}
            for m, c, s, r in SPEND
        ])


@pytest.fixture
def shop(engine):
    seed(engine)
    return engine


def count(conn, model, *where) -> int:
    return conn.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def status_of(conn, campaign_id: str) -> str:
    return conn.execute(select(Campaign.status).where(Campaign.campaign_id == campaign_id)).scalar_one()


# --- replenishment ----------------------------------------------------------------------------

def test_the_suggestion_covers_lead_time_and_review_at_the_three_day_pace(shop):
    with shop.connect() as conn:
        s = replenishment_suggestion(conn, "FOO-1", "WH-EAST", NOW)
    assert (s.name, s.on_hand, s.on_order, s.safety_stock, s.reorder_point) == ("Foo kettle", 30, 20, 40, 60)
    assert s.velocity_3d == 12.0 and s.lead_time_days == 5.0 and s.review_days == REVIEW_DAYS == 7
    assert s.suggested_qty == 12 * (5 + 7) + 40 - 30 - 20 == 134
    assert s.expected_ts_utc == NOW + 5 * 86400
    assert "12.00 units/day" in s.explanation and "order 134 units" in s.explanation


def forecast_of(days: int, mean: float, sd: float) -> pd.DataFrame:
    day0 = pd.Timestamp("2026-11-18")
    return pd.DataFrame({"day": pd.date_range(day0, periods=days, freq="D"), "mean": mean, "lower": 0.0,
                         "upper": mean + 1.96 * sd})


def test_with_a_forecast_the_suggestion_covers_forecast_demand_and_its_error_for_this_warehouses_share(shop):
    # WH-WEST sold 34 units a week and a half ago: WH-EAST's share of the SKU is 136 / 170 = 0.8.
    with shop.begin() as conn:
        conn.execute(insert(AggSkuMinute), [{"minute_utc": T0 - 10 * 1440, "sku": "FOO-1", "warehouse_id": "WH-WEST",
                                             "units_sold": 34, "revenue": 30.0 * 34, "units_returned": 0}])
        rebuild_sku_days(conn)
    with shop.connect() as conn:
        s = replenishment_suggestion(conn, "FOO-1", "WH-EAST", NOW, forecast=forecast_of(14, 10.0, 2.0))
    # 12 days (lead 5 + review 7) of 10 a day; error sqrt(12 x 2^2); both x 0.8.
    demand, safety = 0.8 * 120, 0.8 * 1.65 * math.sqrt(12 * 4)
    assert s.method == "forecast"
    assert s.demand_units == pytest.approx(demand) and s.safety_units == pytest.approx(safety)
    assert s.suggested_qty == math.ceil(demand + safety - 30 - 20) == 56
    assert "forecast demand 96.0 units" in s.explanation and "sells 80% of the SKU" in s.explanation


def test_a_short_forecast_repeats_its_last_week_and_no_forecast_falls_back_to_the_pace(shop):
    with shop.connect() as conn:
        short = replenishment_suggestion(conn, "FOO-1", "WH-EAST", NOW, forecast=forecast_of(5, 10.0, 2.0))
        without = replenishment_suggestion(conn, "FOO-1", "WH-EAST", NOW, forecast=None)
        empty = replenishment_suggestion(conn, "FOO-1", "WH-EAST", NOW, forecast=forecast_of(0, 10.0, 2.0))
    assert short.demand_units == pytest.approx(120.0)  # the only warehouse selling: share 1
    assert without.method == empty.method == "velocity" and without.suggested_qty == 134


def test_a_well_stocked_pair_is_suggested_nothing_and_an_unknown_pair_is_an_error(shop):
    with shop.connect() as conn:
        assert replenishment_suggestion(conn, "FOO-1", "WH-WEST", NOW).suggested_qty == 0
        with pytest.raises(ValueError, match="no stock level for SKU 'FOO-1' in warehouse 'WH-NOPE'"):
            replenishment_suggestion(conn, "FOO-1", "WH-NOPE", NOW)


def test_replenishing_opens_one_order_and_audits_before_and_after(shop):
    with action_transaction(shop) as conn:
        result = replenish_sku(conn, "FOO-1", "WH-EAST", 134, "ana", "k1", NOW, tz=TZ)
    assert result.result == "done" and not result.duplicate and not result.automatic
    assert (result.verb, result.entity_kind, result.entity_id, result.actor) == (
        "replenish_sku", "sku_warehouse", "FOO-1|WH-EAST", "ana")
    rid = f"RO-A-{result.action_id}"
    assert result.before == {"on_hand": 30, "on_order": 20, "open_orders": ["RO-OPEN"]}
    assert result.after == {"on_hand": 30, "on_order": 154, "open_orders": sorted(["RO-OPEN", rid]),
                            "replenishment_id": rid, "qty": 134, "expected_ts_utc": NOW + 5 * 86400}
    # 2026-11-23 11:06:30 UTC is 19:06 in Shanghai
    assert result.message == f"Replenishment {rid} of 134 units for FOO-1 at WH-EAST, expected 2026-11-23 19:06 CST"
    with shop.connect() as conn:
        order = conn.execute(select(ReplenishmentOrder).where(ReplenishmentOrder.replenishment_id == rid)).one()
        assert (order.qty, order.status, order.source, order.created_by) == (134, "open", "action", "ana")
        assert (order.created_ts_utc, order.expected_ts_utc) == (NOW, NOW + 5 * 86400)
        audit = conn.execute(select(ActionLog)).one()
        assert (audit.idempotency_key, audit.result, audit.ts_utc) == ("k1", "done", NOW)
        assert json.loads(audit.after_json)["qty"] == 134


def test_the_same_key_twice_orders_once_and_the_second_call_is_a_duplicate(shop):
    with action_transaction(shop) as conn:
        first = replenish_sku(conn, "FOO-1", "WH-EAST", 50, "ana", "same", NOW)
    with action_transaction(shop) as conn:
        second = replenish_sku(conn, "FOO-1", "WH-EAST", 70, "bob", "same", NOW + 5)
    assert second.duplicate and not first.duplicate
    assert replace(second, duplicate=False) == first  # it describes the first call
    with shop.connect() as conn:
        assert count(conn, ReplenishmentOrder, ReplenishmentOrder.source == "action") == 1
        assert count(conn, ActionLog) == 1


def _race(engine, call, n=2):
    barrier = threading.Barrier(n)
    results, errors = [], []

    def worker(i):
        try:
            barrier.wait()
            with action_transaction(engine) as conn:
                results.append(call(conn, i))
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    return results


def test_two_screens_sending_the_same_key_at_once_open_exactly_one_order(shop):
    results = _race(shop, lambda conn, i: replenish_sku(conn, "FOO-1", "WH-EAST", 40 + i, f"user{i}", "race", NOW))
    assert sorted(r.duplicate for r in results) == [False, True]
    assert results[0].action_id == results[1].action_id
    with shop.connect() as conn:
        assert count(conn, ReplenishmentOrder, ReplenishmentOrder.source == "action") == 1
        assert count(conn, ActionLog) == 1


def test_on_postgresql_a_concurrent_insert_of_the_same_key_waits_and_then_does_nothing(fresh_db_url):
    """Without the actions lock: ON CONFLICT DO NOTHING itself waits for the first transaction.
    (SQLite has no such case: its writers are serialised by BEGIN IMMEDIATE.)"""
    url = fresh_db_url("postgresql")
    upgrade_schema(url)
    shop = get_engine(url)
    seed(shop)
    claimed, outcome = threading.Event(), {}

    def first():
        with shop.begin() as conn:
            outcome["first"] = replenish_sku(conn, "FOO-1", "WH-EAST", 10, "ana", "slow", NOW)
            claimed.set()
            time.sleep(0.5)

    thread = threading.Thread(target=first)
    thread.start()
    assert claimed.wait(10)
    started = time.perf_counter()
    with shop.begin() as conn:
        outcome["second"] = replenish_sku(conn, "FOO-1", "WH-EAST", 10, "bob", "slow", NOW)
    waited = time.perf_counter() - started
    thread.join()
    assert outcome["second"].duplicate and outcome["second"].action_id == outcome["first"].action_id
    assert waited > 0.2
    with shop.connect() as conn:
        assert count(conn, ReplenishmentOrder, ReplenishmentOrder.source == "action") == 1


def test_intent_keys_follow_the_state_a_screen_saw(shop):
    with shop.connect() as conn:
        token = replenishment_suggestion(conn, "FOO-1", "WH-EAST", NOW).state_token
    key_a = intent_key("replenish_sku", "FOO-1|WH-EAST", token)
    key_b = intent_key("replenish_sku", "FOO-1|WH-EAST", token)
    assert key_a == key_b
    assert intent_key("replenish_sku", "FOO-1|WH-WEST", token) != key_a
    assert len(intent_key("update_rule", "x" * 500, "y" * 5000)) <= 200
    with action_transaction(shop) as conn:
        first = replenish_sku(conn, "FOO-1", "WH-EAST", 134, "ana", key_a, NOW)
    with action_transaction(shop) as conn:  # a second browser that saw the same state
        again = replenish_sku(conn, "FOO-1", "WH-EAST", 134, "bob", key_b, NOW + 3)
    assert again.duplicate and again.action_id == first.action_id
    with shop.connect() as conn:
        after = replenishment_suggestion(conn, "FOO-1", "WH-EAST", NOW + 5)
    assert after.state_token != token and after.on_order == 154 and after.suggested_qty == 0
    key_c = intent_key("replenish_sku", "FOO-1|WH-EAST", after.state_token)
    assert key_c != key_a
    with action_transaction(shop) as conn:  # a deliberate second order after seeing the first
        second = replenish_sku(conn, "FOO-1", "WH-EAST", 5, "ana", key_c, NOW + 10)
    assert second.result == "done" and not second.duplicate
    assert second.before["open_orders"] == sorted(["RO-OPEN", first.after["replenishment_id"]])


@pytest.mark.parametrize("qty", [0, -5, 2.5, True, "10"])
def test_a_quantity_that_is_not_a_positive_whole_number_is_refused_and_audited(shop, qty):
    with action_transaction(shop) as conn:
        result = replenish_sku(conn, "FOO-1", "WH-EAST", qty, "ana", "bad-qty", NOW)
    assert result.result == "refused" and "whole number of units above 0" in result.message
    assert result.before == result.after == {"on_hand": 30, "on_order": 20, "open_orders": ["RO-OPEN"]}
    with shop.connect() as conn:
        assert count(conn, ReplenishmentOrder) == 2
        assert conn.execute(select(ActionLog.result, ActionLog.verb)).one() == ("refused", "replenish_sku")


@pytest.mark.parametrize("actor", ["", "   ", None])
def test_an_action_without_an_actor_is_an_error_and_writes_nothing(shop, actor):
    with action_transaction(shop) as conn:
        with pytest.raises(ValueError, match="actor"):
            replenish_sku(conn, "FOO-1", "WH-EAST", 5, actor, "k", NOW)
        with pytest.raises(ValueError, match="actor"):
            pause_campaign(conn, "CMP-PS", actor, "k", NOW)
    with shop.connect() as conn:
        assert count(conn, ActionLog) == 0 and status_of(conn, "CMP-PS") == "active"


# --- campaigns --------------------------------------------------------------------------------

def test_recommend_channel_picks_the_best_roi_with_budget_left_today(shop):
    with shop.connect() as conn:
        rec = recommend_channel(conn, "paid_search", NOW, TZ)
        # feed_ads has the best ROI (3.0) but its only active campaign spent its 500 today
        assert (rec.channel, rec.roi, rec.spare_budget, rec.campaign_ids) == ("live_stream", 1.0, 600.0, ("CMP-LIVE",))
        assert "live_stream" in rec.reason and "600.00" in rec.reason
        other = recommend_channel(conn, "live_stream", NOW, TZ)
        assert (other.channel, other.roi, other.spare_budget) == ("kol_seeding", 0.5, 200.0)
        conn.execute(update(Campaign).where(Campaign.campaign_id == "CMP-FEED-A").values(daily_budget=600.0))
        rec = recommend_channel(conn, "paid_search", NOW, TZ)
        assert (rec.channel, rec.roi, rec.spare_budget) == ("feed_ads", 3.0, 100.0)
        conn.execute(update(Campaign).where(Campaign.channel != "social_referral").values(status="paused"))
        assert recommend_channel(conn, "paid_search", NOW, TZ) is None
        conn.rollback()


def test_pause_and_resume_flip_the_status_and_are_audited(shop):
    with action_transaction(shop) as conn:
        paused = pause_campaign(conn, "CMP-PS", "ana", "p1", NOW, reason="ROI below floor", tz=TZ)
    assert paused.result == "done" and (paused.verb, paused.entity_kind, paused.entity_id) == (
        "pause_campaign", "campaign", "CMP-PS")
    assert paused.before == {"status": "active", "channel": "paid_search", "roi_60m": -0.5, "roi_floor": 0.5,
                             "spend_today": 100.0, "daily_budget": 1000.0}
    assert paused.after["status"] == "paused"
    assert paused.after["recommendation"]["channel"] == "live_stream"
    assert "Paused campaign CMP-PS" in paused.message and "live_stream" in paused.message
    assert paused.message.endswith("Reason: ROI below floor")
    with action_transaction(shop) as conn:
        assert status_of(conn, "CMP-PS") == "paused"
        resumed = resume_campaign(conn, "CMP-PS", "bob", "r1", NOW + 60, tz=TZ)
    assert resumed.result == "done" and resumed.before["status"] == "paused" and resumed.after["status"] == "active"
    assert "recommendation" not in resumed.after
    with shop.connect() as conn:
        assert status_of(conn, "CMP-PS") == "active"
        log = audit_log(conn)
    assert list(log["verb"]) == ["resume_campaign", "pause_campaign"]
    assert list(log["actor"]) == ["bob", "ana"] and list(log["result"]) == ["done", "done"]


def test_pausing_a_paused_campaign_is_refused_and_changes_nothing(shop):
    with action_transaction(shop) as conn:
        pause_campaign(conn, "CMP-PS", "ana", "p1", NOW)
        again = pause_campaign(conn, "CMP-PS", "bob", "p2", NOW + 1)
        not_paused = resume_campaign(conn, "CMP-LIVE", "bob", "r1", NOW + 1)
    assert again.result == "refused" and not again.duplicate
    assert again.message == "Not paused: campaign CMP-PS is already paused."
    assert again.before == again.after and again.after["status"] == "paused"
    assert not_paused.result == "refused" and "already active" in not_paused.message
    with shop.connect() as conn:
        assert status_of(conn, "CMP-PS") == "paused" and status_of(conn, "CMP-LIVE") == "active"
        assert count(conn, ActionLog, ActionLog.result == "refused") == 2


def test_an_unknown_campaign_is_an_error(shop):
    with action_transaction(shop) as conn:
        with pytest.raises(ValueError, match="campaign 'CMP-NOPE' does not exist"):
            pause_campaign(conn, "CMP-NOPE", "ana", "p1", NOW)
        assert count(conn, ActionLog) == 0


def test_a_campaign_state_token_changes_with_every_flip(shop):
    with action_transaction(shop) as conn:
        first = entity_state_token(conn, "campaign", "CMP-PS")
        pause_campaign(conn, "CMP-PS", "ana", intent_key("pause_campaign", "CMP-PS", first), NOW)
        middle = entity_state_token(conn, "campaign", "CMP-PS")
        resume_campaign(conn, "CMP-PS", "ana", intent_key("resume_campaign", "CMP-PS", middle), NOW)
        last = entity_state_token(conn, "campaign", "CMP-PS")
        again = pause_campaign(conn, "CMP-PS", "ana", intent_key("pause_campaign", "CMP-PS", last), NOW)
    assert len({first, middle, last}) == 3
    assert again.result == "done" and not again.duplicate


# --- alerts and rules -------------------------------------------------------------------------

ROI_RULE = alerts.Rule(
    name="Campaign under ROI floor", metric="roi_vs_floor", entity_kind="campaign", window_minutes=60,
    direction="below", warn=0.0, critical=-0.5, recovery=0.1, hold_minutes=0, min_volume=20.0,
)


def add_rule(conn, **changes) -> alerts.Rule:
    assert alerts.save_rule(conn, replace(ROI_RULE, **changes)) == []
    row = conn.execute(select(AlertRule).where(AlertRule.name == changes.get("name", ROI_RULE.name))).one()
    return alerts.rule_from_row(row)


def add_alert(conn, rule_id: int, entity_id: str, status: str = "open") -> int:
    return conn.execute(
        insert(Alert).values(
            rule_id=rule_id, entity_id=entity_id, level="critical", status=status, opened_minute=T0 - 5,
            value=-1.0, threshold=-0.5, message="ROI vs floor for campaign CMP-PS is -1, below",
            open_key=None if status == "resolved" else f"{rule_id}:{entity_id}",
        ).returning(Alert.alert_id)
    ).scalar_one()


def test_acknowledge_and_snooze_are_audited_and_a_resolved_alert_is_refused(shop):
    with action_transaction(shop) as conn:
        rule = add_rule(conn)
        alert_id = add_alert(conn, rule.rule_id, "CMP-PS")
        gone = add_alert(conn, rule.rule_id, "CMP-LIVE", status="resolved")
    with action_transaction(shop) as conn:
        token = entity_state_token(conn, "alert", str(alert_id))
        ack = acknowledge(conn, alert_id, "ana", "a1", NOW)
        assert entity_state_token(conn, "alert", str(alert_id)) != token
        twice = acknowledge(conn, alert_id, "bob", "a2", NOW)
        snoozed = snooze(conn, alert_id, 30, "ana", "s1", NOW)
        zero = snooze(conn, alert_id, 0, "ana", "s2", NOW)
        refused = [acknowledge(conn, gone, "ana", "a3", NOW), snooze(conn, gone, 30, "ana", "s3", NOW)]
    assert ack.result == "done"
    assert (ack.verb, ack.entity_kind, ack.entity_id) == ("acknowledge_alert", "alert", str(alert_id))
    assert ack.before["status"] == "open" and ack.after["status"] == "acknowledged"
    assert twice.result == "refused" and "already acknowledged" in twice.message
    assert snoozed.result == "done" and snoozed.before["snoozed_until_minute"] is None
    assert snoozed.after["snoozed_until_minute"] == T0 + 30
    assert zero.result == "refused" and "above 0" in zero.message
    assert [r.result for r in refused] == ["refused", "refused"]
    assert all("resolved" in r.message for r in refused)
    with shop.connect() as conn:
        row = conn.execute(select(Alert).where(Alert.alert_id == alert_id)).one()
        assert (row.status, row.snoozed_until_minute) == ("acknowledged", T0 + 30)
        resolved = conn.execute(select(Alert).where(Alert.alert_id == gone)).one()
        assert (resolved.status, resolved.snoozed_until_minute) == ("resolved", None)
        assert count(conn, ActionLog) == 6
        with pytest.raises(ValueError, match="alert 9999 does not exist"):
            acknowledge(conn, 9999, "ana", "a9", NOW)


def test_an_invalid_rule_is_refused_with_its_problems_and_a_valid_one_is_saved(shop):
    with action_transaction(shop) as conn:
        rule = add_rule(conn)
    with action_transaction(shop) as conn:
        bad = update_rule(conn, replace(rule, warn=-1.0, critical=-0.5), "ana", "u1", NOW)
    assert bad.result == "refused" and "critical threshold (-0.5) must be below the warn threshold" in bad.message
    assert bad.before == bad.after and bad.before["warn"] == 0.0 and bad.entity_id == str(rule.rule_id)
    with shop.connect() as conn:
        assert alerts.rule_from_row(conn.execute(select(AlertRule)).one()) == rule
    with action_transaction(shop) as conn:
        good = update_rule(conn, replace(rule, warn=-0.1, hold_minutes=3), "ana", "u2", NOW)
    assert good.result == "done" and good.entity_kind == "rule" and good.entity_id == str(rule.rule_id)
    assert (good.before["warn"], good.after["warn"], good.before["hold_minutes"], good.after["hold_minutes"]) == (
        0.0, -0.1, 0, 3)
    assert good.after["updated_ts_utc"] == NOW
    assert "changed hold_minutes, warn" in good.message
    with shop.connect() as conn:
        row = conn.execute(select(AlertRule)).one()
        assert (row.warn, row.hold_minutes, row.updated_ts_utc) == (-0.1, 3, NOW)
    with action_transaction(shop) as conn:
        new = update_rule(conn, replace(ROI_RULE, name="Second ROI watch"), "ana", "u3", NOW)
    assert new.result == "done" and new.before == {} and new.after["name"] == "Second ROI watch"
    assert new.entity_id == str(new.after["rule_id"]) != str(rule.rule_id) and "created" in new.message


def test_switching_the_rule_profile_is_audited_and_an_empty_profile_is_refused(shop):
    with action_transaction(shop) as conn:
        empty = set_rule_profile(conn, "sales-event", "ana", "sp1", NOW)
        alerts.seed_default_rules(conn, T0)
        done = set_rule_profile(conn, "sales-event", "ana", "sp2", NOW)
        same = set_rule_profile(conn, "sales-event", "ana", "sp3", NOW)
        assert alerts.active_profile(conn) == "sales-event"
    assert empty.result == "refused" and "has no rules" in empty.message
    assert done.result == "done" and (done.before, done.after) == ({"profile": "default"}, {"profile": "sales-event"})
    assert same.result == "refused" and "already active" in same.message


# --- reading ----------------------------------------------------------------------------------

def test_the_audit_log_and_the_chart_markers(shop):
    with action_transaction(shop) as conn:
        pause_campaign(conn, "CMP-PS", "ana", "p1", NOW)
        pause_campaign(conn, "CMP-PS", "bob", "p2", NOW + 60)  # refused: no marker
        replenish_sku(conn, "FOO-1", "WH-EAST", 12, "ana", "r1", NOW + 120)
        resume_campaign(conn, "CMP-PS", "ana", "p3", NOW + 600)
    with shop.connect() as conn:
        log = audit_log(conn)
        assert list(log.columns) == actions.AUDIT_COLUMNS
        assert list(log["verb"]) == ["resume_campaign", "replenish_sku", "pause_campaign", "pause_campaign"]
        assert list(log["result"]) == ["done", "done", "refused", "done"]
        assert json.loads(log["after_json"].iloc[1])["qty"] == 12
        assert len(audit_log(conn, since_ts=NOW + 60)) == 3
        assert len(audit_log(conn, limit=2)) == 2
        assert list(audit_log(conn, entity_kind="sku_warehouse")["entity_id"]) == ["FOO-1|WH-EAST"]
        markers = action_markers(conn, NOW, NOW + 600)
        assert list(markers.columns) == actions.MARKER_COLUMNS
        assert list(markers["label"].map(str)) == ["paused CMP-PS", "ordered 12 × FOO-1 at WH-EAST"]
        assert list(markers["ts_utc"]) == [NOW, NOW + 120] and not markers["automatic"].any()
        only = action_markers(conn, NOW, NOW + 601, entity_kind="campaign", entity_id="CMP-PS")
        assert list(only["label"].map(str)) == ["paused CMP-PS", "resumed CMP-PS"]


# --- automatic actions ------------------------------------------------------------------------

def test_an_auto_action_rule_pauses_its_campaign_once_per_alert(shop):
    with action_transaction(shop) as conn:
        rule = add_rule(conn, auto_action="pause_campaign")
        plain = add_rule(conn, name="ROI watch without action")
        alert_id = add_alert(conn, rule.rule_id, "CMP-PS")
        opened = alerts.Transition("open", rule.rule_id, "CMP-PS", "critical", -1.0, -0.5, "ROI under floor")
        ignored = [
            alerts.Transition("open", plain.rule_id, "CMP-LIVE", "warn", -0.1, 0.0, "no auto action"),
            alerts.Transition("resolve", rule.rule_id, "CMP-KOL", "ok", 0.5, 0.1, "resolved"),
        ]
        results = run_auto_actions(conn, [opened, *ignored], NOW, TZ)
    assert len(results) == 1
    paused = results[0]
    assert paused.result == "done" and paused.automatic and paused.actor == "scheduler"
    assert paused.message.endswith("Reason: ROI under floor")
    with shop.connect() as conn:
        row = conn.execute(select(ActionLog)).one()
        assert row.idempotency_key == f"auto:{rule.rule_id}:CMP-PS:{T0 - 5}" and row.automatic
        assert status_of(conn, "CMP-PS") == "paused" and status_of(conn, "CMP-LIVE") == "active"
    # An operator resumes it; the same alert escalating later does not overrule them.
    with action_transaction(shop) as conn:
        resume_campaign(conn, "CMP-PS", "ana", "r1", NOW + 60)
        escalated = run_auto_actions(conn, [replace(opened, kind="escalate")], NOW + 120, TZ)
        assert escalated[0].duplicate and status_of(conn, "CMP-PS") == "active"
    # A new alert (opened at another minute) acts again.
    with action_transaction(shop) as conn:
        conn.execute(update(Alert).where(Alert.alert_id == alert_id).values(status="resolved", open_key=None))
        conn.execute(insert(Alert).values(
            rule_id=rule.rule_id, entity_id="CMP-PS", level="warn", status="open", opened_minute=T0 + 10,
            value=-0.2, threshold=0.0, message="again", open_key=f"{rule.rule_id}:CMP-PS",
        ))
        reopened = run_auto_actions(conn, [replace(opened, level="warn")], (T0 + 10) * 60, TZ)
        assert reopened[0].result == "done" and not reopened[0].duplicate
        assert status_of(conn, "CMP-PS") == "paused"


def settings_for(db_url):
    return load_settings({"COCKPIT_DB_URL": db_url, "COCKPIT_SOURCES": "", "COCKPIT_TIMEZONE": "Asia/Shanghai"})


@pytest.mark.parametrize("hold", [0, 2])
def test_the_refresh_pauses_a_campaign_under_its_floor_for_hold_minutes(shop, db_url, hold):
    with shop.begin() as conn:
        rule = add_rule(conn, auto_action="pause_campaign", hold_minutes=hold)
        conn.execute(insert(RefreshRun).values(started_ts_utc=0, data_minute_utc=T0 - 1, status="ok"))
    settings = settings_for(db_url)
    for minute in range(hold):  # the minutes the breach must last before it counts
        report = jobs.refresh(settings, now_ts=(T0 + minute) * 60 + 5)
        assert report.status == "ok" and report.auto_actions == []
        with shop.connect() as conn:
            assert status_of(conn, "CMP-PS") == "active"
    report = jobs.refresh(settings, now_ts=(T0 + hold) * 60 + 5)
    assert [t.kind for t in report.transitions] == ["open"]
    assert [(r.verb, r.entity_id, r.result, r.actor, r.automatic) for r in report.auto_actions] == [
        ("pause_campaign", "CMP-PS", "done", "scheduler", True)]
    with shop.connect() as conn:
        assert status_of(conn, "CMP-PS") == "paused"
        row = conn.execute(select(ActionLog)).one()
        assert (row.actor, row.automatic, row.verb) == ("scheduler", True, "pause_campaign")
        assert row.idempotency_key == f"auto:{rule.rule_id}:CMP-PS:{T0 - 1 + hold}"
        assert "ROI vs floor for campaign CMP-PS" in row.message
    again = jobs.refresh(settings, now_ts=(T0 + hold + 1) * 60 + 5)
    assert again.auto_actions == []
    with shop.connect() as conn:
        assert count(conn, ActionLog) == 1
