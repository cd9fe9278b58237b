"""Alert rules from any values, generated: validation answers with problems (evaluation with a
ValueError), never with another exception, and the rule editor's action saves a valid rule
exactly and leaves the stored rules untouched when it refuses one."""
from __future__ import annotations

import math
import uuid
from dataclasses import fields, replace
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from cockpit import alerts
from cockpit.actions import update_rule
from cockpit.alerts import Observation, Rule, evaluate_rule, rule_from_row, rule_to_values, validate_rule
from cockpit.db.engine import get_engine
from cockpit.db.schema import AlertRule
from cockpit.metrics.read import METRICS
from tests.support.signin import ensure_users
from tests.support.transactions import rolled_back

NOW = 1_795_000_000  # epoch seconds
ADMIN = "ana"
# No example database: the tree is shared, and regressions are kept as @example.
PROPERTY = settings(max_examples=100, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
THRESHOLDS = ("warn", "critical", "recovery", "min_volume")
FIELDS = [f.name for f in fields(Rule)]


@pytest.fixture(scope="module")
def rules_db(module_db_url):
    """The default rules of both profiles and an admin who may edit them."""
    engine = get_engine(module_db_url)
    ensure_users(engine, **{ADMIN: "admin"})
    with engine.begin() as conn:
        alerts.seed_default_rules(conn, NOW // 60)
    return engine


def stored_rules(conn) -> dict[int, dict]:
    return {row.rule_id: dict(row._mapping) for row in conn.execute(select(AlertRule))}


# --- generated values -------------------------------------------------------------------------

INJECTIONS = ["'; DROP TABLE alert_rules; --", "1 OR 1=1", "Robert'); DELETE FROM users;--", "%s", "{name}", ":name"]
ODD_TEXTS = ["", " ", "\t", "\x00", "a\x00b", "x" * 101, "x" * 33, "规则" * 60, "🙂", "\u202eevil", "\ud800"]
# Values of the wrong type, as a form, a JSON body or a hand-written script could hand over.
WRONG_TYPES = st.sampled_from([None, [], ["x"], {}, {"a": 1}, b"bytes", (1,), 1j, Decimal("1.5"), np.float32(1.0),
                               np.int64(3), True, False, "1", "nan"])
TEXTS = st.one_of(st.text(max_size=120), st.sampled_from(INJECTIONS + ODD_TEXTS))
NUMBERS = st.one_of(
    st.floats(),
    st.integers(-(10**400), 10**400),
    st.sampled_from([0.0, -0.0, 1e308, -1e308, 5e-324, math.inf, -math.inf, math.nan, 2**63, 2**70 + 1, 10**30]),
)
MINUTES = st.one_of(st.integers(-10, 10**4), st.integers(-(2**70), 2**70),
                    st.sampled_from([2**31 - 1, 2**31, 2**63, 10**12]), st.floats())
KINDS = list(METRICS)
ALL_METRICS = sorted({m for metrics in METRICS.values() for m in metrics})


def or_wrong(strategy):
    """Mostly `strategy`, sometimes a value of the wrong type."""
    return st.one_of(strategy, strategy, strategy, WRONG_TYPES)


VALUES = {
    "name": or_wrong(TEXTS),
    "metric": or_wrong(st.one_of(st.sampled_from(ALL_METRICS), TEXTS)),
    "entity_kind": or_wrong(st.one_of(st.sampled_from(KINDS), TEXTS)),
    "window_minutes": or_wrong(MINUTES),
    "direction": or_wrong(st.sampled_from(["below", "above", "Below", "sideways", ""])),
    "warn": or_wrong(st.one_of(st.none(), NUMBERS)),
    "critical": or_wrong(st.one_of(st.none(), NUMBERS)),
    "recovery": or_wrong(NUMBERS),
    "hold_minutes": or_wrong(MINUTES),
    "no_data_minutes": or_wrong(MINUTES),
    "min_volume": or_wrong(NUMBERS),
    "auto_action": or_wrong(st.sampled_from([None, None, "pause_campaign", "drop_table", ""])),
    "enabled": or_wrong(st.booleans()),
    "profile": or_wrong(st.one_of(st.sampled_from([alerts.DEFAULT_PROFILE, "sales-event"]), TEXTS)),
    "rule_id": or_wrong(st.one_of(st.none(), st.integers(1, 40), st.integers(-(2**70), 2**70))),
    "updated_ts_utc": or_wrong(st.integers(0, 2**40)),
}
ANY_RULE = st.fixed_dictionaries(VALUES).map(lambda values: Rule(**values))
DEFAULTS = range(len(alerts.DEFAULT_RULES))


def default_rule(index: int) -> Rule:
    return Rule(**alerts.DEFAULT_RULES[index])


# A stored default rule with a few fields replaced by generated values.
EDITS = st.fixed_dictionaries({}, optional={name: VALUES[name] for name in FIELDS if name != "updated_ts_utc"})


@st.composite
def valid_edits(draw) -> dict:
    """Changes that keep a default rule valid: its thresholds scaled by one positive factor (their
    order and signs stay), a new name, windows, hold and volume in range."""
    index = draw(st.sampled_from(DEFAULTS))
    rule = default_rule(index)
    scale = draw(st.floats(0.01, 100))
    changes = {name: getattr(rule, name) * scale for name in ("warn", "critical", "recovery")
               if getattr(rule, name) is not None}
    changes.update(
        name=draw(st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), min_size=1,
                          max_size=100).filter(str.strip)),
        window_minutes=draw(st.integers(1, 1440)), hold_minutes=draw(st.integers(0, 1440)),
        no_data_minutes=draw(st.integers(0, 1440)), min_volume=draw(st.floats(0, 1e6)), enabled=draw(st.booleans()),
    )
    return {"index": index, **changes}


def problems_of(rule: Rule) -> list[str]:
    problems = validate_rule(rule)
    assert isinstance(problems, list) and all(isinstance(p, str) and p.strip() for p in problems)
    return problems


# --- pure properties --------------------------------------------------------------------------

@PROPERTY
@given(rule=ANY_RULE)
# Regressions: a name, profile, entity kind or automatic action of the wrong type, and a
# threshold too large for a float, raised TypeError, AttributeError or OverflowError.
@example(rule=replace(default_rule(0), name=5))
@example(rule=replace(default_rule(0), profile=7))
@example(rule=replace(default_rule(0), entity_kind=["shop"]))
@example(rule=replace(default_rule(0), metric={"uv": 1}))
@example(rule=replace(default_rule(0), auto_action=[]))
@example(rule=replace(default_rule(0), critical=10**400))
def test_any_rule_values_get_problems_that_say_how_to_fix_them_never_another_exception(rule):
    problems_of(rule)


@PROPERTY
@given(rule=ANY_RULE, value=st.one_of(st.none(), st.floats()), volume=st.floats())
def test_evaluating_a_rule_raises_a_value_error_exactly_when_validation_finds_problems(rule, value, volume):
    problems = problems_of(rule)
    if problems:
        with pytest.raises(ValueError) as refused:
            evaluate_rule(rule, {}, {"e1": Observation(value, volume)}, NOW // 60)
        assert all(problem in str(refused.value) for problem in problems)
    else:
        states, transitions = evaluate_rule(rule, {}, {"e1": Observation(value, volume)}, NOW // 60)
        assert set(states) <= {"e1"} and len(transitions) <= 1


@PROPERTY
@given(rule=ANY_RULE)
def test_a_rule_read_back_from_its_column_values_is_the_same_rule(rule):
    values = rule_to_values(rule)
    assert rule_from_row(values) == rule
    # A joined row carries other tables' columns too: they are ignored.
    assert rule_from_row({**values, "alert_id": 3, "entity_id": "shop", "level": "warn"}) == rule


# --- the audited action -----------------------------------------------------------------------

def expected_outcome(conn, rule: Rule, rows: dict[int, dict]) -> str:
    """What update_rule must answer: "done", or "refused" for an invalid rule, a rule_id that
    does not exist, a change of metric or entity kind, or a name another rule of the profile has."""
    if problems_of(rule):
        return "refused"
    if rule.rule_id is not None:
        target = rows.get(rule.rule_id)
        if target is None:
            return "refused"
    else:
        target = next((r for r in rows.values() if (r["profile"], r["name"]) == (rule.profile, rule.name)), None)
    if target is None:
        return "done"
    if (target["metric"], target["entity_kind"]) != (rule.metric, rule.entity_kind):
        return "refused"
    clash = any((r["profile"], r["name"]) == (rule.profile, rule.name) and r["rule_id"] != target["rule_id"]
                for r in rows.values())
    return "refused" if clash else "done"


def check_update(engine, rule: Rule) -> str:
    """update_rule(rule) answers done or refused as expected, never raises; a refusal leaves every
    stored rule as it was, and a saved rule reads back as given (floats as the column stores them)."""
    with rolled_back(engine) as conn:
        rows = stored_rules(conn)
        expected = expected_outcome(conn, rule, rows)
        result = update_rule(conn, rule, ADMIN, f"prop-{uuid.uuid4().hex}", NOW)
        after = stored_rules(conn)
        event(f"update_rule {result.result}")
        assert result.result == expected, result.message
        assert result.message.strip()
        if expected == "refused":
            assert after == rows and result.before == result.after
            assert all(problem in result.message for problem in validate_rule(rule))
            return expected
        rule_id = int(result.entity_id)
        saved = rule_to_values(replace(rule, rule_id=rule_id, updated_ts_utc=NOW))
        saved.update({name: float(saved[name]) for name in THRESHOLDS if saved[name] is not None})
        assert after[rule_id] == saved
        assert rule_from_row(conn.execute(select(AlertRule).where(AlertRule.rule_id == rule_id)).one()) == Rule(**saved)
        assert {k: v for k, v in after.items() if k != rule_id} == {k: v for k, v in rows.items() if k != rule_id}
        assert result.after == {name: value for name, value in saved.items()}
    return expected


def stored_default(engine, index: int) -> Rule:
    values = alerts.DEFAULT_RULES[index]
    with engine.connect() as conn:
        return rule_from_row(conn.execute(select(AlertRule).where(
            AlertRule.profile == values["profile"], AlertRule.name == values["name"])).one())


@PROPERTY
@given(index=st.sampled_from(DEFAULTS), edits=EDITS)
# Regressions: a rule_id, name or profile of the wrong type, or a name holding a NUL, failed the
# lookup or the audit row on PostgreSQL; a threshold beyond a 64-bit integer failed SQLite's insert;
# `enabled` other than true or false failed the update.
@example(index=1, edits={"rule_id": "1; DROP TABLE alert_rules"})
@example(index=1, edits={"rule_id": 2**70})
@example(index=1, edits={"rule_id": None, "name": 42})
@example(index=1, edits={"rule_id": None, "name": "a\x00b"})
@example(index=1, edits={"profile": ["default"]})
@example(index=1, edits={"warn": 2**70 + 1, "critical": 2**69, "recovery": 2**71})
@example(index=1, edits={"enabled": "yes"})
def test_any_rule_edit_is_saved_exactly_or_refused_leaving_every_stored_rule_as_it_was(rules_db, index, edits):
    check_update(rules_db, replace(stored_default(rules_db, index), **edits))


@PROPERTY
@given(edits=valid_edits())
def test_a_valid_rule_edit_is_saved_and_reads_back_exactly(rules_db, edits):
    index = edits.pop("index")
    rule = replace(stored_default(rules_db, index), **edits)
    assert problems_of(rule) == []
    taken = {v["name"] for i, v in enumerate(alerts.DEFAULT_RULES) if v["profile"] == rule.profile and i != index}
    assert check_update(rules_db, rule) == ("refused" if rule.name in taken else "done")
