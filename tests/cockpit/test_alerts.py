"""Alert rules: the pure evaluator minute by minute, and the alert tables on both backends."""
from __future__ import annotations

import math
from dataclasses import replace

import pandas as pd
import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from cockpit.alerts import (
    ALERT_COLUMNS,
    DEFAULT_RULES,
    METRIC_LABELS,
    METRICS,
    EntityState,
    Observation,
    Rule,
    acknowledge_alert,
    active_profile,
    evaluate_alerts,
    evaluate_rule,
    load_rules,
    open_alerts,
    recent_alerts,
    rule_from_row,
    rule_to_values,
    save_rule,
    seed_default_rules,
    set_active_profile,
    snooze_alert,
    validate_rule,
)
from cockpit.db.schema import Alert, AlertRule, AlertState

MISSING = object()  # the entity is absent from the observations
LOW = object()  # the entity is present with too little volume
START = 100


def traffic_rule(**changes) -> Rule:
    """A "below" rule: warn under 0.6, critical under 0.4, resolved at 0.8 or more."""
    base = Rule(
        rule_id=7, name="Traffic drop", metric="sessions_vs_last_week", entity_kind="channel",
        window_minutes=15, direction="below", warn=0.6, critical=0.4, recovery=0.8,
        hold_minutes=0, no_data_minutes=0, min_volume=20.0,
    )
    return replace(base, **changes)


def observe(item) -> dict[str, Observation]:
    if item is MISSING:
        return {}
    if item is LOW:
        return {"ads": Observation(0.5, 19.0)}
    return {"ads": Observation(item, 100.0)}


def play(rule: Rule, sequence, states=None):
    """Feed one observation per minute from START; returns (level per minute, [(minute, kind, level)], states)."""
    states = dict(states or {})
    levels, events = [], []
    for offset, item in enumerate(sequence):
        states, transitions = evaluate_rule(rule, states, observe(item), START + offset)
        levels.append(states["ads"].level if "ads" in states else None)
        events.extend((offset, t.kind, t.level) for t in transitions)
    return levels, events, states


# --- hold -------------------------------------------------------------------------------------

def test_one_noisy_minute_at_a_time_never_opens_an_alert():
    levels, events, _ = play(traffic_rule(hold_minutes=2), [0.5, 0.9, 0.3, 0.9, 0.5, 0.9])
    assert events == []
    assert levels == ["ok"] * 6


@pytest.mark.parametrize("hold", [0, 1, 2, 5])
def test_a_breach_opens_on_the_minute_it_has_lasted_hold_minutes(hold):
    levels, events, _ = play(traffic_rule(hold_minutes=hold), [0.9] + [0.5] * (hold + 1))
    assert levels == ["ok"] * (hold + 1) + ["warn"]
    assert events == [(hold + 1, "open", "warn")]


def test_resolving_also_waits_for_the_hold_and_a_dead_band_minute_restarts_it():
    rule = traffic_rule(hold_minutes=2)
    _, _, states = play(rule, [0.5, 0.5, 0.5])
    levels, events, _ = play(rule, [0.9, 0.7, 0.9, 0.9, 0.9], states)
    assert levels == ["warn", "warn", "warn", "warn", "ok"]
    assert events == [(4, "resolve", "ok")]


def test_escalation_and_deescalation_each_wait_for_the_hold():
    levels, events, _ = play(traffic_rule(hold_minutes=1), [0.5, 0.5, 0.3, 0.3, 0.5, 0.5, 0.9, 0.9])
    assert levels == ["ok", "warn", "warn", "critical", "critical", "warn", "warn", "ok"]
    assert events == [(1, "open", "warn"), (3, "escalate", "critical"), (5, "deescalate", "warn"), (7, "resolve", "ok")]


@pytest.mark.parametrize(
    "sequence, opened_at",
    [
        ([0.3, 0.5, 0.3], "warn"),  # every minute was at least warn: warn is what the hold proved
        ([0.3, 0.3, 0.3], "critical"),
        ([0.5, 0.5, 0.3], "warn"),
    ],
)
def test_a_value_wandering_between_warn_and_critical_opens_after_the_hold_at_the_mildest_level(sequence, opened_at):
    levels, events, _ = play(traffic_rule(hold_minutes=2), sequence)
    assert events == [(2, "open", opened_at)]


def test_an_alert_opens_once_however_long_the_breach_lasts():
    levels, events, _ = play(traffic_rule(), [0.5] * 30)
    assert events == [(0, "open", "warn")]
    assert set(levels) == {"warn"}


# --- hysteresis -------------------------------------------------------------------------------

OSCILLATING = [0.5, 0.7, 0.55, 0.75, 0.5, 0.79, 0.81]


def test_a_value_oscillating_between_warn_and_recovery_does_not_flap():
    levels, events, _ = play(traffic_rule(), OSCILLATING)
    assert events == [(0, "open", "warn"), (6, "resolve", "ok")]
    assert levels == ["warn"] * 6 + ["ok"]


def test_without_a_recovery_margin_the_same_values_would_flap():
    _, events, _ = play(traffic_rule(recovery=0.6), OSCILLATING)
    assert [kind for _, kind, _ in events] == ["open", "resolve"] * 3


def test_values_better_than_warn_but_short_of_recovery_keep_critical():
    levels, events, _ = play(traffic_rule(), [0.3, 0.7, 0.5, 0.7, 0.85])
    assert levels == ["critical", "critical", "warn", "warn", "ok"]
    assert events == [(0, "open", "critical"), (2, "deescalate", "warn"), (4, "resolve", "ok")]


def test_direction_above_mirrors_below():
    rule = Rule(
        rule_id=1, name="Returns", metric="return_rate", entity_kind="sku", window_minutes=1440,
        direction="above", warn=0.15, critical=0.3, recovery=0.1, min_volume=20.0,
    )
    levels, events, _ = play(rule, [0.1, 0.2, 0.35, 0.12, 0.2, 0.05])
    assert levels == ["ok", "warn", "critical", "critical", "warn", "ok"]
    assert [kind for _, kind, _ in events] == ["open", "escalate", "deescalate", "resolve"]


def test_a_rule_with_only_a_critical_threshold_has_no_warn_level():
    levels, _, _ = play(traffic_rule(warn=None, critical=0.4, recovery=0.5), [0.45, 0.3, 0.45, 0.5])
    assert levels == ["ok", "critical", "critical", "ok"]


# --- no data ----------------------------------------------------------------------------------

@pytest.mark.parametrize("gap", [None, math.nan, MISSING, LOW], ids=["none", "nan", "missing", "low-volume"])
def test_no_data_is_its_own_level_after_no_data_minutes_and_data_back_returns_from_it(gap):
    levels, events, _ = play(traffic_rule(no_data_minutes=3), [0.9, gap, gap, gap, gap, 0.9])
    assert levels == ["ok", "ok", "ok", "no_data", "no_data", "ok"]
    assert events == [(3, "no_data", "no_data"), (5, "data_back", "ok")]


@pytest.mark.parametrize(
    "hold, expected", [(0, [(3, "data_back", "warn")]), (2, [(3, "data_back", "ok"), (5, "open", "warn")])]
)
def test_data_coming_back_in_breach_goes_through_the_hold_like_any_breach(hold, expected):
    _, events, _ = play(traffic_rule(no_data_minutes=2, hold_minutes=hold), [0.9, None, None, 0.5, 0.5, 0.5])
    assert events[0] == (2, "no_data", "no_data")
    assert events[1:] == expected


def test_without_no_data_minutes_missing_data_leaves_an_open_alert_as_it_is():
    levels, events, _ = play(traffic_rule(), [0.5, None, MISSING, LOW, None])
    assert levels == ["warn"] * 5
    assert events == [(0, "open", "warn")]


def test_a_minute_without_data_restarts_a_pending_hold():
    _, events, _ = play(traffic_rule(hold_minutes=2), [0.5, None, 0.5, 0.5, 0.5])
    assert events == [(4, "open", "warn")]


def test_an_entity_never_seen_with_data_goes_no_data_counting_from_its_first_appearance():
    levels, events, states = play(traffic_rule(no_data_minutes=3), [LOW, LOW, MISSING, LOW])
    assert levels == ["ok", "ok", "ok", "no_data"]
    assert events == [(3, "no_data", "no_data")]
    assert states["ads"].last_data_minute is None


def test_an_entity_without_data_gets_no_state_when_no_data_never_alerts():
    levels, events, states = play(traffic_rule(), [LOW, MISSING, LOW])
    assert (levels, events, states) == ([None, None, None], [], {})


# --- the function itself ----------------------------------------------------------------------

def test_new_entities_start_at_ok_and_every_known_entity_is_evaluated():
    rule = traffic_rule(no_data_minutes=1)
    old = {"seo": EntityState(rule_id=7, entity_id="seo", level="ok", candidate_level="ok",
                              candidate_since_minute=90, last_value=0.9, last_data_minute=90, updated_minute=90)}
    states, transitions = evaluate_rule(rule, old, {"ads": Observation(0.9, 100.0)}, START)
    assert states["ads"].level == "ok" and states["ads"].last_data_minute == START
    assert states["seo"].level == "no_data"
    assert [(t.entity_id, t.kind) for t in transitions] == [("seo", "no_data")]


def test_evaluating_the_same_minute_twice_changes_nothing():
    rule = traffic_rule(hold_minutes=1)
    states, _ = evaluate_rule(rule, {}, {"ads": Observation(0.5, 100.0)}, START)
    again, transitions = evaluate_rule(rule, states, {"ads": Observation(0.5, 100.0)}, START)
    assert (again, transitions) == (states, [])


def test_evaluate_rule_leaves_its_inputs_alone_and_keeps_updated_minute_when_nothing_changed():
    rule = traffic_rule()
    states, _ = evaluate_rule(rule, {}, {"ads": Observation(0.5, 100.0)}, START)
    states, _ = evaluate_rule(rule, states, {}, START + 1)
    frozen = dict(states)
    later, _ = evaluate_rule(rule, states, {}, START + 5)
    assert states == frozen
    assert later["ads"].updated_minute == START + 1


@pytest.mark.parametrize(
    "rule, entity_id, sequence, message",
    [
        (
            Rule(rule_id=3, name="ROI", metric="roi_vs_floor", entity_kind="campaign", window_minutes=60,
                 direction="below", warn=0.0, critical=-0.5, recovery=0.1),
            "C-3", [-0.62], "ROI vs floor for campaign C-3 is -0.62, below the critical threshold -0.5",
        ),
        (
            traffic_rule(), "ads", [0.5, 0.85],
            "Sessions vs last week for channel ads is back to 0.85, at or above the recovery level 0.8",
        ),
        (
            Rule(name="Stock", metric="stock_cover_ratio", entity_kind="sku_warehouse", window_minutes=1,
                 direction="below", warn=1.0, critical=0.2, recovery=1.2),
            "SKU-1|WH-2", [0.5],
            "Stock cover ratio for SKU SKU-1 in warehouse WH-2 is 0.5, below the warning threshold 1",
        ),
        (
            traffic_rule(no_data_minutes=5), "ads", [0.9, None, None, None, None, None],
            "No data for Sessions vs last week for channel ads for 5 minutes",
        ),
    ],
)
def test_messages_are_plain_english_with_value_and_threshold(rule, entity_id, sequence, message):
    states, transitions = {}, []
    for offset, value in enumerate(sequence):
        states, transitions = evaluate_rule(rule, states, {entity_id: Observation(value, 100.0)}, START + offset)
    assert [t.message for t in transitions] == [message]


# --- validation -------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "changes, problem",
    [
        ({"direction": "sideways"}, "direction 'sideways' is unknown"),
        ({"warn": None, "critical": None}, "set a warn threshold, a critical threshold or both"),
        ({"warn": 0.3, "critical": 0.4}, "the critical threshold (0.4) must be below the warn threshold (0.3)"),
        ({"recovery": 0.5}, "the recovery level (0.5) must be at or above the warn threshold (0.6)"),
        ({"warn": None, "recovery": 0.3}, "the recovery level (0.3) must be at or above the critical threshold (0.4)"),
        (
            {"direction": "above", "warn": 0.4, "critical": 0.6, "recovery": 0.5},
            "must be at or below the warn threshold (0.4)",
        ),
        ({"hold_minutes": -1}, "hold_minutes must be a whole number of 0 or more"),
        ({"no_data_minutes": -5}, "no_data_minutes must be a whole number of 0 or more"),
        ({"window_minutes": 0}, "window_minutes must be a whole number of at least 1"),
        ({"metric": "bounce_rate"}, "metric 'bounce_rate' is not available for entity kind 'channel'"),
        ({"entity_kind": "planet"}, "entity kind 'planet' is unknown"),
        ({"warn": math.nan}, "warn must be a finite number"),
        ({"auto_action": "pause_campaign"}, "acts on a campaign, not on a channel"),
    ],
)
def test_validation_names_the_problem_and_evaluation_refuses_the_rule(changes, problem):
    rule = traffic_rule(**changes)
    assert any(problem in text for text in validate_rule(rule)), validate_rule(rule)
    with pytest.raises(ValueError, match="invalid"):
        evaluate_rule(rule, {}, {}, START)


def test_a_sound_rule_and_every_default_rule_validate_cleanly():
    assert validate_rule(traffic_rule()) == []
    assert [validate_rule(Rule(**values)) for values in DEFAULT_RULES] == [[]] * len(DEFAULT_RULES)


def test_both_default_profiles_watch_every_panel_with_the_same_rules():
    by_profile: dict[str, dict[str, dict]] = {}
    for values in DEFAULT_RULES:
        by_profile.setdefault(values["profile"], {})[values["name"]] = values
    assert set(by_profile) == {"default", "sales-event"}
    assert set(by_profile["default"]) == set(by_profile["sales-event"])
    for rules in by_profile.values():
        assert {values["entity_kind"] for values in rules.values()} == set(METRICS)
        assert all(values["auto_action"] is None for values in rules.values())
    calm, peak = by_profile["default"], by_profile["sales-event"]
    assert all(peak[name]["hold_minutes"] <= calm[name]["hold_minutes"] for name in calm)
    campaign = "Campaign under ROI floor"
    assert (calm[campaign]["hold_minutes"], peak[campaign]["hold_minutes"]) == (10, 5)
    assert peak["Traffic drop by channel"]["warn"] > calm["Traffic drop by channel"]["warn"]
    assert calm["Shop visitors stopped"]["no_data_minutes"] == 5


def test_every_metric_a_rule_may_watch_has_a_label_for_its_messages():
    assert {metric for metrics in METRICS.values() for metric in metrics} <= set(METRIC_LABELS)


def test_a_rule_survives_the_round_trip_through_row_values():
    rule = traffic_rule(profile="sales-event", auto_action=None)
    assert rule_from_row(rule_to_values(rule)) == rule
    assert "rule_id" not in rule_to_values(replace(rule, rule_id=None))


# --- the database -----------------------------------------------------------------------------

T0 = 29_000_000  # an epoch minute in 2025


class ScriptedMetrics:
    """A read_metric stand-in: per metric {entity_id: (value, volume)}, edited between minutes."""

    def __init__(self):
        self.values = {
            "uv": {"shop": (2000.0, 2000.0)},
            "conversion_rate": {"shop": (0.035, 2000.0)},
            "paying_conversion_rate": {"shop": (0.03, 2000.0)},
            "sessions_vs_last_week": {"ads": (1.0, 100.0)},
        }
        self.calls: list[tuple] = []

    def __call__(self, metric, entity_kind, window_minutes, as_of_minute):
        self.calls.append((metric, entity_kind, window_minutes, as_of_minute))
        rows = self.values.get(metric, {})
        return pd.DataFrame({
            "entity_id": pd.Series(list(rows), dtype="str"),
            "value": pd.Series([value for value, _ in rows.values()], dtype="float64"),
            "volume": pd.Series([volume for _, volume in rows.values()], dtype="float64"),
        })


def run(engine, metrics, minutes, **values):
    """Evaluate each minute in its own transaction, as the scheduler does; returns (minute, kind, level, rule name)."""
    metrics.values.update(values)
    events = []
    for minute in minutes:
        with engine.begin() as conn:
            names = {rule.rule_id: rule.name for rule in load_rules(conn, active_profile(conn))}
            for t in evaluate_alerts(conn, minute, metrics):
                events.append((minute, t.kind, t.level, names.get(t.rule_id, t.rule_id)))
    return events


def alert_rows(engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(select(Alert.__table__).order_by(Alert.alert_id))]


@pytest.fixture
def seeded(engine):
    with engine.begin() as conn:
        seed_default_rules(conn, T0)
    return engine


def test_default_rules_are_seeded_once_and_edits_survive_a_reseed(engine):
    with engine.begin() as conn:
        assert seed_default_rules(conn, T0) == len(DEFAULT_RULES)
    with engine.begin() as conn:
        assert seed_default_rules(conn, T0 + 1) == 0
        traffic = next(r for r in load_rules(conn, "default") if r.name == "Traffic drop by channel")
        assert save_rule(conn, replace(traffic, warn=0.65)) == []
        conn.execute(
            AlertRule.__table__.delete().where(AlertRule.name == "Return rate high", AlertRule.profile == "default")
        )
    with engine.begin() as conn:
        assert seed_default_rules(conn, T0 + 2) == 1
        rules = {r.name: r for r in load_rules(conn, "default")}
    assert rules["Traffic drop by channel"].warn == 0.65
    assert "Return rate high" in rules and len(rules) == sum(r["profile"] == "default" for r in DEFAULT_RULES) == 15


def test_a_breach_opens_one_alert_row_escalates_it_resolves_it_and_a_new_breach_opens_a_second(seeded):
    metrics = ScriptedMetrics()
    traffic = "Traffic drop by channel"  # default profile: warn 0.65, critical 0.45, recovery 0.8, hold 1
    with seeded.begin() as conn:  # a second rule on the same reading, which never fires here
        assert save_rule(conn, Rule(name="Traffic collapse", metric="sessions_vs_last_week", entity_kind="channel",
                                    window_minutes=30, direction="below", warn=None, critical=0.2, recovery=0.5)) == []
    assert run(seeded, metrics, range(T0, T0 + 3), sessions_vs_last_week={"ads": (0.5, 100.0)}) == [
        (T0 + 1, "open", "warn", traffic)
    ]
    [first] = alert_rows(seeded)
    assert (first["status"], first["level"], first["value"], first["threshold"]) == ("open", "warn", 0.5, 0.65)
    assert first["open_key"] == f"{first['rule_id']}:ads" and first["opened_minute"] == T0 + 1

    assert run(seeded, metrics, range(T0 + 3, T0 + 6), sessions_vs_last_week={"ads": (0.3, 100.0)}) == [
        (T0 + 4, "escalate", "critical", traffic)
    ]
    [first] = alert_rows(seeded)
    assert (first["status"], first["level"], first["value"], first["threshold"]) == ("open", "critical", 0.3, 0.45)

    assert run(seeded, metrics, range(T0 + 6, T0 + 9), sessions_vs_last_week={"ads": (0.9, 100.0)}) == [
        (T0 + 7, "resolve", "ok", traffic)
    ]
    [first] = alert_rows(seeded)
    assert (first["status"], first["resolved_minute"], first["open_key"]) == ("resolved", T0 + 7, None)

    assert run(seeded, metrics, range(T0 + 9, T0 + 12), sessions_vs_last_week={"ads": (0.5, 100.0)}) == [
        (T0 + 10, "open", "warn", traffic)
    ]
    first, second = alert_rows(seeded)
    assert first["status"] == "resolved" and second["status"] == "open"
    assert second["alert_id"] != first["alert_id"] and second["opened_minute"] == T0 + 10
    with seeded.connect() as conn:
        state = conn.execute(
            select(AlertState.__table__).where(AlertState.rule_id == second["rule_id"], AlertState.entity_id == "ads")
        ).one()
        keys = {(r.metric, r.entity_kind, r.window_minutes) for r in load_rules(conn, "default")}
    assert (state.level, state.last_data_minute) == ("warn", T0 + 11)
    # each distinct (metric, entity kind, window) is read once per minute, as of that minute
    last_minute = [call[:3] for call in metrics.calls if call[3] == T0 + 11]
    assert len(keys) == 15 and sorted(last_minute) == sorted(keys)


def test_shop_visitors_go_no_data_when_the_reader_has_nothing_and_come_back(seeded):
    metrics = ScriptedMetrics()
    # A reader with no shop row at all is reporting no data: the shop always exists.
    events = run(seeded, metrics, range(T0, T0 + 6), uv={})
    assert events == [(T0 + 5, "no_data", "no_data", "Shop visitors stopped")]
    with seeded.connect() as conn:
        [alert] = open_alerts(conn).to_dict("records")
    assert (alert["rule_name"], alert["level"], alert["value"]) == ("Shop visitors stopped", "no_data", None)
    assert alert["message"] == "No data for Visitors for the shop for 5 minutes"
    assert run(seeded, metrics, [T0 + 6], uv={"shop": (math.nan, 0.0)}) == []
    assert run(seeded, metrics, [T0 + 7], uv={"shop": (1500.0, 1500.0)}) == [
        (T0 + 7, "data_back", "ok", "Shop visitors stopped")
    ]
    with seeded.connect() as conn:
        assert open_alerts(conn).empty


def test_an_acknowledged_alert_stays_acknowledged_until_it_resolves(seeded):
    metrics = ScriptedMetrics()
    run(seeded, metrics, range(T0, T0 + 3), sessions_vs_last_week={"ads": (0.5, 100.0)})
    [alert] = alert_rows(seeded)
    with seeded.begin() as conn:
        before, after = acknowledge_alert(conn, alert["alert_id"], "ops@shop")
        assert (before["status"], after["status"]) == ("open", "acknowledged")
        assert acknowledge_alert(conn, alert["alert_id"], "ops@shop")[0]["status"] == "acknowledged"
        before, after = snooze_alert(conn, alert["alert_id"], T0 + 60, "ops@shop")
        assert (before["snoozed_until_minute"], after["snoozed_until_minute"]) == (None, T0 + 60)
    run(seeded, metrics, range(T0 + 3, T0 + 6), sessions_vs_last_week={"ads": (0.3, 100.0)})
    [alert] = alert_rows(seeded)
    assert (alert["status"], alert["level"], alert["snoozed_until_minute"]) == ("acknowledged", "critical", T0 + 60)
    run(seeded, metrics, range(T0 + 6, T0 + 9), sessions_vs_last_week={"ads": (0.9, 100.0)})
    [alert] = alert_rows(seeded)
    assert alert["status"] == "resolved"
    with seeded.begin() as conn, pytest.raises(ValueError, match="is resolved"):
        acknowledge_alert(conn, alert["alert_id"], "ops@shop")


def test_switching_profile_changes_the_rules_evaluated_and_closes_the_old_profiles_alerts(seeded):
    metrics = ScriptedMetrics()
    with seeded.begin() as conn:
        assert active_profile(conn) == "default"
    run(seeded, metrics, range(T0, T0 + 3), sessions_vs_last_week={"ads": (0.3, 100.0)})
    with seeded.begin() as conn:
        set_active_profile(conn, "sales-event")
        with pytest.raises(ValueError, match="has no rules"):
            set_active_profile(conn, "black-friday")
        assert active_profile(conn) == "sales-event"
    events = run(seeded, metrics, range(T0 + 3, T0 + 5))
    # the default rule's alert is closed; the sales-event rule (hold 1) opens its own
    assert [(minute, kind) for minute, kind, _, _ in events] == [(T0 + 3, "resolve"), (T0 + 4, "open")]
    assert ("sessions_vs_last_week", "channel", 10, T0 + 4) in metrics.calls
    with seeded.connect() as conn:
        alerts = open_alerts(conn)
        profiles = {rule_id: profile for rule_id, profile in conn.execute(select(AlertRule.rule_id, AlertRule.profile))}
        resolved = recent_alerts(conn, T0 + 3)
    assert list(alerts.columns) == ALERT_COLUMNS
    assert [profiles[rule_id] for rule_id in alerts["rule_id"]] == ["sales-event"]
    assert list(resolved["status"]) == ["open", "resolved"]  # newest opened first
    closed = resolved.iloc[1]
    assert (profiles[closed["rule_id"]], closed["resolved_minute"], closed["level"]) == ("default", T0 + 3, "critical")


def test_the_database_refuses_a_second_open_alert_for_one_rule_and_entity(seeded):
    run(seeded, ScriptedMetrics(), range(T0, T0 + 3), sessions_vs_last_week={"ads": (0.5, 100.0)})
    [alert] = alert_rows(seeded)
    columns = ("rule_id", "entity_id", "level", "status", "opened_minute", "message", "open_key")
    duplicate = {key: alert[key] for key in columns}
    with pytest.raises(IntegrityError), seeded.begin() as conn:
        conn.execute(insert(Alert.__table__).values(duplicate))
    with seeded.begin() as conn:  # resolved alerts hold NULL and never collide
        conn.execute(insert(Alert.__table__), [{**duplicate, "status": "resolved", "open_key": None}] * 2)
    assert len(alert_rows(seeded)) == 3


def test_save_rule_refuses_problems_updates_thresholds_and_inserts_new_rules(seeded):
    with seeded.begin() as conn:
        traffic = next(r for r in load_rules(conn, "default") if r.name == "Traffic drop by channel")
        problems = save_rule(conn, replace(traffic, warn=0.3))
        assert problems and "must be below the warn threshold" in problems[0]
        assert save_rule(conn, replace(traffic, metric="roi")) == [
            "rule 'Traffic drop by channel' watches sessions_vs_last_week per channel; its metric and entity "
            "kind cannot change: create a new rule instead"
        ]
        edited = replace(traffic, warn=0.7, critical=0.5, hold_minutes=4)
        assert save_rule(conn, edited) == []
        assert save_rule(conn, Rule(name="GMV low", metric="gmv", entity_kind="shop", window_minutes=60,
                                    direction="below", warn=1000.0, critical=100.0, recovery=1500.0)) == []
        assert save_rule(conn, replace(edited, enabled=False, name="Traffic drop (off)")) == []
    with seeded.connect() as conn:
        rules = {r.name: r for r in load_rules(conn, "default")}
    assert "Traffic drop by channel" not in rules and "Traffic drop (off)" not in rules  # disabled
    assert rules["GMV low"].rule_id is not None
    with seeded.connect() as conn:
        row = conn.execute(select(AlertRule.__table__).where(AlertRule.rule_id == traffic.rule_id)).one()
    saved = rule_from_row(row)
    assert (saved.warn, saved.critical, saved.hold_minutes, saved.enabled) == (0.7, 0.5, 4, False)
