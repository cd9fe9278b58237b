"""Panel states on a tiny hand-made shop: the active profile's enabled rules applied to current
values, levels by thresholds and min_volume, worst-first readings and the thresholds in words."""
from __future__ import annotations

from dataclasses import replace
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import insert, select

from cockpit import panels
from cockpit.metrics import read
from cockpit.alerts import (
    DEFAULT_RULES,
    RULES,
    Rule,
    load_rules,
    save_rule,
    seed_default_rules,
    set_active_profile,
)
from cockpit.metrics.aggregate import rebuild_sku_days
from cockpit.db.schema import (
    AggSalesMinute,
    AggSkuMinute,
    Product,
    StockLevel,
    UvDay,
    UvHour,
    UvMinute,
    Warehouse,
)
from cockpit.panels import (
    LEVEL_ORDER,
    PANEL_METRICS,
    READING_COLUMNS,
    PanelState,
    entity_levels,
    panel_states,
    reading_levels,
    worse_level,
)
from cockpit.timebuckets import local_day_of

TZ = ZoneInfo("Asia/Shanghai")
S = 29_000_040  # an epoch minute on a whole hour
A = S + 59  # "as of": a 60-minute window is [S, S + 60)
PROFILE = "test"


# --- the tiny shop ----------------------------------------------------------------------------

VISITS = {v: [S + 5 * v] for v in range(1, 9)}  # 8 visitors in [S, S + 60)
PAYERS = {1: [S + 5], 2: [S + 10]}  # 2 paying
SALES = [(S, "organic", 3, 2, 250.0), (S + 59, "paid_search", 2, 2, 150.0)]  # 5 orders: conversion 5 / 8
LEVELS = [  # sku, warehouse_id, on_hand, safety_stock
    ("A", "W1", 50, 10),  # sells 2 a day: 25 days of cover, cover ratio 5
    ("A", "W2", 15, 0),  # sells 5 a day: 3 days; no safety stock: ratio inf
    ("B", "W1", 0, 5),  # sells 2 a day: 0 days, ratio 0
    ("C", "W1", 20, 10),  # sells nothing: days inf with volume 0, ratio 2
]
SKU_MINUTES = [("A", "W1", 14), ("A", "W2", 35), ("B", "W1", 14)]  # units sold at A - 100


def add_visits(conn, visits: dict[int, list[int]], activity: str) -> None:
    for model, column, bucket_of in [
        (UvMinute, "minute_utc", lambda m: m), (UvHour, "hour_utc", lambda m: m // 60),
        (UvDay, "day_local", lambda m: local_day_of(m, TZ)),
    ]:
        conn.execute(insert(model), [
            {column: bucket_of(minute), "activity": activity, "channel": "organic", "visitor_id": visitor,
             "first_minute": minute, "last_minute": minute}
            for visitor, (minute,) in visits.items()
        ])


@pytest.fixture
def shop(engine):
    with engine.begin() as conn:
        add_visits(conn, VISITS, "visit")
        add_visits(conn, PAYERS, "pay")
        conn.execute(insert(AggSalesMinute), [
            {"minute_utc": minute, "channel": channel, "is_returning": False, "orders": orders, "paid_orders": paid,
             "cancelled_orders": 0, "gmv": gmv, "units": orders}
            for minute, channel, orders, paid, gmv in SALES
        ])
        conn.execute(insert(Product), [
            {"sku": sku, "name": sku, "category": "misc", "price": 10.0, "cost": 5.0, "launched_ts_utc": 0}
            for sku in "ABC"
        ])
        conn.execute(insert(Warehouse), [
            {"warehouse_id": w, "name": w, "region": "east", "tier": "regional"} for w in ("W1", "W2")
        ])
        conn.execute(insert(StockLevel), [
            {"sku": sku, "warehouse_id": w, "on_hand": on_hand, "safety_stock": safety, "reorder_point": safety,
             "lead_time_days": 3.0, "updated_ts_utc": 0}
            for sku, w, on_hand, safety in LEVELS
        ])
        conn.execute(insert(AggSkuMinute), [
            {"minute_utc": A - 100, "sku": sku, "warehouse_id": w, "units_sold": sold, "revenue": 10.0 * sold,
             "units_returned": 0}
            for sku, w, sold in SKU_MINUTES
        ])
        rebuild_sku_days(conn)  # as rebuild_range keeps the daily rollup
    return engine


def rule(name, metric, entity_kind, window, direction, warn, critical, *, min_volume=0.0, profile=PROFILE) -> Rule:
    """A rule with the recovery level at its mildest threshold (always valid)."""
    return Rule(name=name, metric=metric, entity_kind=entity_kind, window_minutes=window, direction=direction,
                warn=warn, critical=critical, recovery=warn if warn is not None else critical,
                min_volume=min_volume, profile=profile)


def save(engine, *rules: Rule, activate: str | None = PROFILE) -> None:
    with engine.begin() as conn:
        for r in rules:
            assert save_rule(conn, r) == []
        if activate:
            set_active_profile(conn, activate)


def states(engine, as_of: int = A) -> dict[str, PanelState]:
    with engine.connect() as conn:
        return panel_states(conn, as_of, TZ)


CONVERSION = rule("Conversion", "conversion_rate", "shop", 60, "below", 0.5, 0.3)
DAYS = rule("Days of cover", "days_of_cover", "sku_warehouse", 1, "below", 5.0, 1.0, min_volume=1.0)
RATIO = rule("Cover ratio", "stock_cover_ratio", "sku_warehouse", 1, "below", 3.0, 1.0)


# --- levels -----------------------------------------------------------------------------------

def test_without_any_rule_every_panel_reads_no_rule_with_no_readings(engine):
    result = states(engine)
    assert set(result) == set(PANEL_METRICS)
    for name, state in result.items():
        assert (state.panel, state.level, state.rules) == (name, "no_rule", ())
        assert list(state.readings.columns) == READING_COLUMNS and state.readings.empty
        assert state.count("critical") == 0 and state.worst().empty and state.threshold_text() == ""


def test_moving_a_rules_thresholds_recolours_its_panel_from_ok_to_warn_to_critical_on_the_same_data(shop):
    # conversion over [S, S + 60) is 5 orders / 8 visitors = 0.625
    steps = [((0.5, 0.3), "ok"), ((0.7, 0.3), "warn"), ((0.8, 0.7), "critical"), ((0.5, 0.3), "ok")]
    for (warn, critical), level in steps:
        save(shop, replace(CONVERSION, warn=warn, critical=critical, recovery=warn))
        state = states(shop)["conversion"]
        assert state.level == level, (warn, critical)
        assert state.readings[["entity_id", "value", "volume", "level", "warn", "critical"]].values.tolist() == [
            ["shop", 0.625, 8.0, level, warn, critical]
        ]
    with shop.connect() as conn:
        assert len(load_rules(conn, PROFILE)) == 1  # saved over, not added


@pytest.mark.parametrize("min_volume, level", [(0.0, "warn"), (8.0, "warn"), (8.5, "no_data"), (500.0, "no_data")])
def test_an_entity_under_the_rules_min_volume_has_no_data_whatever_its_value(shop, min_volume, level):
    save(shop, replace(CONVERSION, warn=0.7, recovery=0.7, min_volume=min_volume))  # volume: 8 visitors
    state = states(shop)["conversion"]
    assert (state.level, state.readings["level"].tolist()) == (level, [level])
    assert state.readings["value"].tolist() == [0.625]  # the value is still shown


def test_a_panel_takes_the_worst_level_with_data_and_no_data_only_when_no_rule_has_any(shop):
    starved = replace(CONVERSION, warn=0.7, recovery=0.7, min_volume=9.0)
    paying = rule("Paying", "paying_conversion_rate", "shop", 60, "below", 0.2, 0.1)  # 2 / 8 = 0.25: ok
    save(shop, starved, paying)
    state = states(shop)["conversion"]
    assert state.level == "ok"
    assert state.readings[["metric", "level"]].values.tolist() == [
        ["paying_conversion_rate", "ok"], ["conversion_rate", "no_data"],
    ]
    save(shop, replace(paying, min_volume=9.0))
    assert states(shop)["conversion"].level == "no_data"


def test_a_rule_over_entities_that_do_not_exist_leaves_its_panel_at_no_data(engine):
    save(engine, DAYS)
    state = states(engine)["stock"]
    assert (state.level, len(state.readings), state.rules[0].name) == ("no_data", 0, "Days of cover")


def test_disabling_a_panels_rules_turns_it_to_no_rule_and_enabling_them_brings_them_back(shop):
    with shop.begin() as conn:
        seed_default_rules(conn, A)
    assert all(state.level != "no_rule" for state in states(shop).values())
    with shop.connect() as conn:
        conversion = [r for r in load_rules(conn, "default") if r.metric in PANEL_METRICS["conversion"]]
    assert len(conversion) == 2
    save(shop, *(replace(r, enabled=False) for r in conversion), activate=None)
    after = states(shop)
    assert (after["conversion"].level, after["conversion"].rules, after["conversion"].readings.empty) == (
        "no_rule", (), True)
    assert all(after[name].level != "no_rule" for name in PANEL_METRICS if name != "conversion")
    save(shop, *conversion, activate=None)
    assert {r.name for r in states(shop)["conversion"].rules} == {r.name for r in conversion}


def test_only_the_active_profiles_rules_colour_the_panels(shop):
    with shop.begin() as conn:
        seed_default_rules(conn, A)
    save(shop, DAYS)  # the only rule of profile "test", now active
    result = states(shop)
    assert {name for name, state in result.items() if state.level != "no_rule"} == {"stock"}
    assert [r.name for r in result["stock"].rules] == ["Days of cover"]
    with shop.begin() as conn:
        set_active_profile(conn, "sales-event")
    result = states(shop)
    assert all(state.level != "no_rule" for state in result.values())
    assert {r.window_minutes for r in result["conversion"].rules} == {30}
    assert set(result["conversion"].readings["window_minutes"]) == {30}


def test_an_invalid_rule_in_the_table_is_left_out_as_the_alert_evaluator_does(shop):
    values = {**DEFAULT_RULES[4], "profile": PROFILE, "warn": 0.01, "critical": 0.02}  # critical above warn
    with shop.begin() as conn:
        conn.execute(insert(RULES).values(values))
        set_active_profile(conn, PROFILE)
        assert conn.execute(select(RULES.c.metric).where(RULES.c.profile == PROFILE)).scalars().all() == [
            "conversion_rate"]
    assert states(shop)["conversion"].level == "no_rule"


def test_on_the_tiny_shop_the_default_rules_want_more_volume_than_it_has(shop):
    with shop.begin() as conn:
        seed_default_rules(conn, A)
    result = states(shop)
    # 8 visitors < 500, sales of 2-5 units a day < 8: not enough data to judge
    assert result["conversion"].level == "no_data" and result["stock"].level == "no_data"
    # "Shop visitors stopped" needs no volume: nobody visits in its 5 minutes [S + 55, S + 60)
    assert result["uv"].readings.query("metric == 'uv'")[["value", "level"]].values.tolist() == [[0.0, "critical"]]


# --- readings: order, counts, worst entities --------------------------------------------------

@pytest.fixture
def stock_panel(shop) -> PanelState:
    # days of cover: A|W1 25 ok, A|W2 3 warn, B|W1 0 critical, C|W1 inf on volume 0 < 1: no data
    # cover ratio:   A|W1 5 ok,  A|W2 inf ok, B|W1 0 critical, C|W1 2 warn
    save(shop, DAYS, RATIO)
    return states(shop)["stock"]


def test_readings_come_worst_level_first_and_keep_the_rules_order_within_a_level(stock_panel):
    assert stock_panel.readings[["level", "metric"]].values.tolist() == [
        ["critical", "days_of_cover"], ["critical", "stock_cover_ratio"],
        ["warn", "days_of_cover"], ["warn", "stock_cover_ratio"],
        ["ok", "days_of_cover"], ["ok", "stock_cover_ratio"], ["ok", "stock_cover_ratio"],
        ["no_data", "days_of_cover"],
    ]
    assert stock_panel.readings.loc[:3, "entity_id"].tolist() == ["B|W1", "B|W1", "A|W2", "C|W1"]
    assert stock_panel.level == "critical"


def test_readings_carry_the_rule_and_the_values_they_were_judged_on(stock_panel):
    readings = stock_panel.readings.set_index(["metric", "entity_id"])
    assert list(stock_panel.readings.columns) == READING_COLUMNS
    assert readings.loc[("days_of_cover", "A|W2"), ["value", "volume", "level"]].tolist() == [3.0, 5.0, "warn"]
    assert readings.loc[("days_of_cover", "C|W1"), "value"] == np.inf
    assert readings.loc[("stock_cover_ratio", "A|W2"), "value"] == np.inf
    by_rule = stock_panel.readings.groupby("rule_name")[
        ["rule_id", "entity_kind", "window_minutes", "direction", "warn", "critical"]].nunique()
    assert (by_rule == 1).all().all()
    assert stock_panel.readings.groupby("rule_name")["warn"].first().to_dict() == {"Cover ratio": 3.0,
                                                                                    "Days of cover": 5.0}


def test_counts_per_level_add_up_to_the_readings(stock_panel):
    counts = {level: stock_panel.count(level) for level in ("critical", "warn", "ok", "no_data")}
    assert counts == {"critical": 2, "warn": 2, "ok": 3, "no_data": 1}
    assert stock_panel.count("no_rule") == 0


def test_worst_lists_only_warn_and_critical_readings_worst_first_up_to_the_limit(stock_panel):
    assert stock_panel.worst()[["level", "entity_id"]].values.tolist() == [
        ["critical", "B|W1"], ["critical", "B|W1"], ["warn", "A|W2"], ["warn", "C|W1"],
    ]
    assert stock_panel.worst(1)["level"].tolist() == ["critical"]
    assert list(stock_panel.worst().columns) == READING_COLUMNS


def test_entity_levels_pick_each_entitys_worst_level_across_the_panels_rules(stock_panel):
    assert entity_levels(stock_panel) == {"A|W1": "ok", "A|W2": "warn", "B|W1": "critical", "C|W1": "warn"}
    assert entity_levels(stock_panel, "days_of_cover") == {
        "A|W1": "ok", "A|W2": "warn", "B|W1": "critical", "C|W1": "no_data"}
    assert entity_levels(stock_panel, "stock_cover_ratio") == {
        "A|W1": "ok", "A|W2": "ok", "B|W1": "critical", "C|W1": "warn"}
    assert entity_levels(stock_panel, "return_rate") == {}
    assert entity_levels(PanelState("stock", "no_rule")) == {}


def test_a_metric_watched_by_two_rules_with_the_same_window_is_read_once(shop, monkeypatch):
    calls = []

    def counting(conn, metric, entity_kind, window_minutes, as_of_minute, tz, memo=None):
        calls.append((metric, entity_kind, window_minutes, as_of_minute))
        return original(conn, metric, entity_kind, window_minutes, as_of_minute, tz, memo=memo)

    original = panels.metric_values
    monkeypatch.setattr(panels, "metric_values", counting)
    save(shop, DAYS, replace(DAYS, name="Days of cover, strict", warn=30.0, critical=20.0, recovery=30.0))
    state = states(shop)["stock"]
    assert calls == [("days_of_cover", "sku_warehouse", 1, A)]
    # the first rule: B|W1 critical, A|W2 warn; the strict one: A|W2 and B|W1 critical, A|W1 (25 days) warn
    assert (state.count("critical"), state.count("warn")) == (3, 2)
    assert entity_levels(state) == {"A|W1": "warn", "A|W2": "critical", "B|W1": "critical", "C|W1": "no_data"}


# --- thresholds in words ----------------------------------------------------------------------

def test_threshold_text_names_each_rules_metric_thresholds_direction_and_window(stock_panel):
    assert stock_panel.threshold_text() == (
        "Days of cover: warn below 5, critical below 1 (1 min); Stock cover ratio: warn below 3, critical below 1 (1 min)"
    )


@pytest.mark.parametrize("panel, text", [
    ("uv", "Visitors: critical below 1 (5 min); Sessions vs last week: warn below 0.65, critical below 0.45 (30 min)"),
    ("conversion", "Conversion rate: warn below 0.02, critical below 0.01 (60 min); "
                   "Paying conversion rate: warn below 0.015, critical below 0.0075 (60 min)"),
    ("ads", "ROI vs floor: warn below -1, critical below -1.3 (180 min); "
            "Spend vs last week: warn above 1.8, critical above 2.5 (15 min)"),
    ("returns", "Return rate: warn above 0.5, critical above 0.8 (360 min)"),
])
def test_threshold_text_of_the_default_rules_leaves_out_a_missing_threshold_and_says_above_or_below(
    engine, panel, text
):
    with engine.begin() as conn:
        seed_default_rules(conn, A)
    assert states(engine)[panel].threshold_text() == text


# --- the pure parts ---------------------------------------------------------------------------

@pytest.mark.parametrize("a, b, worse", [
    ("ok", "warn", "warn"), ("critical", "warn", "critical"), ("no_data", "ok", "ok"),
    ("no_rule", "no_data", "no_data"), ("critical", "critical", "critical"), ("no_rule", "critical", "critical"),
])
def test_worse_level_ranks_critical_over_warn_over_ok_over_no_data_over_no_rule(a, b, worse):
    assert worse_level(a, b) == worse_level(b, a) == worse
    assert list(LEVEL_ORDER) == ["no_rule", "no_data", "ok", "warn", "critical"]


def test_reading_levels_judge_each_value_by_the_thresholds_once_its_volume_suffices():
    below = rule("Low", "days_of_cover", "sku_warehouse", 1, "below", 0.6, 0.2, min_volume=5.0)
    values = pd.DataFrame({
        "entity_id": ["a", "b", "c", "d", "e", "f", "g"],
        "value": [0.5, np.nan, np.inf, 0.1, 0.9, 0.2, 0.6],
        "volume": [10.0, 10.0, 10.0, np.nan, 2.0, 5.0, 5.0],
    })
    before = values.copy()
    frame = reading_levels(below, values)
    assert frame["level"].tolist() == ["warn", "no_data", "ok", "no_data", "no_data", "warn", "ok"]
    pd.testing.assert_frame_equal(values, before)
    above = replace(below, direction="above", warn=0.5, critical=0.8, recovery=0.5, min_volume=0.0)
    assert reading_levels(above, values)["level"].tolist() == [
        "ok", "no_data", "critical", "no_data", "critical", "ok", "warn"]  # a NaN volume is never enough



def test_within_a_rule_and_level_the_entity_furthest_past_the_threshold_comes_first(shop):
    # cover ratios A|W1 5 and C|W1 2 are both warnings under a warn threshold of 6
    save(shop, replace(RATIO, warn=6.0, recovery=7.0))
    warn = states(shop)["stock"].readings.query("level == 'warn'")
    assert warn["entity_id"].tolist() == ["C|W1", "A|W1"]


def test_two_metrics_of_the_same_stock_levels_read_them_once(shop, monkeypatch):
    calls = []
    original = read.stock_water_levels

    def counting(conn, as_of_minute, **kwargs):
        calls.append(as_of_minute)
        return original(conn, as_of_minute, **kwargs)

    monkeypatch.setattr(read, "stock_water_levels", counting)
    save(shop, DAYS, RATIO)
    state = states(shop)["stock"]
    assert calls == [A]  # days of cover and cover ratio share one read
    assert set(state.readings["metric"]) == {"days_of_cover", "stock_cover_ratio"}
