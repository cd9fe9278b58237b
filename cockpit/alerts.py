"""Alert rules as data, their evaluation as a pure function, and the alert tables they feed."""
from __future__ import annotations

import json
import logging
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace

import pandas as pd
from sqlalchemy import Connection, delete, insert, select, update

from cockpit.db.dialect import upsert
from cockpit.db.schema import Alert, AlertRule, AlertState, Setting
from cockpit.metrics.read import METRICS  # what the reader serves, per entity kind: all a rule may watch
from cockpit.db.frames import to_frame
from cockpit.i18n import N_, say, t
from models.phrases import Phrase, phrase, word

log = logging.getLogger(__name__)

RULES = AlertRule.__table__
STATES = AlertState.__table__
ALERTS = Alert.__table__
SETTINGS = Setting.__table__

PROFILE_SETTING = "rule_profile"
DEFAULT_PROFILE = "default"

# Translated where drawn (t() in the session's language); alert texts translate them in render_message.
METRIC_LABELS = {
    "uv": N_("Visitors"),
    "conversion_rate": N_("Conversion rate"),
    "paying_conversion_rate": N_("Paying conversion rate"),
    "gmv": N_("GMV"),
    "orders": N_("Orders"),
    "aov": N_("Average order value"),
    "sessions_vs_last_week": N_("Sessions vs last week"),
    "orders_vs_last_week": N_("Orders vs last week"),
    "gmv_vs_last_week": N_("GMV vs last week"),
    "roi": N_("ROI"),
    "roi_vs_floor": N_("ROI vs floor"),
    "spend": N_("Spend"),
    "spend_vs_last_week": N_("Spend vs last week"),
    "stock_cover_ratio": N_("Stock cover ratio"),
    "days_of_cover": N_("Days of cover"),
    "return_rate": N_("Return rate"),
    "sessions_anomaly": N_("Sessions anomaly score"),
    "conversion_anomaly": N_("Conversion anomaly score"),
    "spend_anomaly": N_("Spend anomaly score"),
    "roi_anomaly": N_("ROI anomaly score"),
    "return_anomaly": N_("Returns anomaly score"),
}
# auto_action -> the entity kind it acts on (the verbs live in cockpit.actions).
AUTO_ACTIONS = {"pause_campaign": "campaign"}

DIRECTIONS = ("below", "above")
SEVERITY = {"ok": 0, "warn": 1, "critical": 2}
ALERTING = ("warn", "critical")
ACTIVE_STATUSES = ("open", "acknowledged")


@dataclass(frozen=True, kw_only=True)
class Rule:
    """One alert_rules row. Thresholds are in the metric's own unit; times in minutes."""

    name: str
    metric: str
    entity_kind: str
    window_minutes: int
    direction: str
    warn: float | None
    critical: float | None
    recovery: float
    hold_minutes: int = 0
    no_data_minutes: int = 0
    min_volume: float = 0.0
    auto_action: str | None = None
    enabled: bool = True
    profile: str = DEFAULT_PROFILE
    rule_id: int | None = None
    updated_ts_utc: int = 0


@dataclass(frozen=True, kw_only=True)
class EntityState:
    """One alert_states row: the evaluator's memory of one rule and entity."""

    rule_id: int | None
    entity_id: str
    level: str  # ok | warn | critical | no_data
    candidate_level: str  # the level the recent minutes point to; "no_data" while data is missing
    candidate_since_minute: int
    last_value: float | None
    last_data_minute: int | None
    updated_minute: int


@dataclass(frozen=True)
class Observation:
    """An entity's metric value over the rule's window and the volume it rests on."""

    value: float | None
    volume: float


@dataclass(frozen=True)
class Transition:
    """One change of an entity's level; `level` is the level after the change."""

    kind: str  # open | escalate | deescalate | resolve | no_data | data_back
    rule_id: int | None
    entity_id: str
    level: str
    value: float | None
    threshold: float | None
    message: str  # in the language in force when evaluated (COCKPIT_LANG in the scheduler)
    # What the message says as data (message_args), to show it again in any language.
    message_args: dict | None = field(default=None, compare=False)


# --- messages ---------------------------------------------------------------------------------

# Every alert text comes from these templates through render_message, in English or translated
# by the catalogue (cockpit.locales); an alert row keeps the values that fill them (message_args)
# so that each reader sees it in their own language.
MESSAGE_TEMPLATES = {
    "breach": N_("{metric} for {entity} is {value}, {direction} the {level} threshold {threshold}"),
    "resolve": N_("{metric} for {entity} is back to {value}, {recovered} the recovery level {threshold}"),
    "no_data": N_("No data for {metric} for {entity} for {minutes} minutes"),
    "data_back": N_("Data is back for {metric} for {entity}: {value}, within its thresholds"),
    "data_back_breach": N_(
        "Data is back for {metric} for {entity}: {value}, {direction} the {level} threshold {threshold}"
    ),
    "retired": N_("{metric} for {entity} is no longer watched (rule {rule} is disabled, invalid or "
                  "outside the active profile); alert closed"),
}
LEVEL_WORDS = {"warn": N_("warning"), "critical": N_("critical")}
DIRECTION_WORDS = {"below": N_("below"), "above": N_("above")}
# The good side of a rule's recovery level, by the rule's direction.
RECOVERED_WORDS = {"below": N_("at or above"), "above": N_("at or below")}
# message_args' keys besides "template"; values, thresholds and minutes are kept raw (numbers).
MESSAGE_ARG_KEYS = ("metric", "entity_kind", "entity_id", "rule", "value", "threshold", "level", "direction",
                    "minutes")


def metric_label(metric: str, lang: str | None = None) -> str:
    """The metric's label in `lang` (None: the language in force), its key when it has none."""
    return t(METRIC_LABELS[metric], lang) if metric in METRIC_LABELS else metric


def _number(value: float | None) -> Phrase | str:
    if value is None:
        return phrase("n/a")
    if math.isfinite(value) and abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _entity_phrase(entity_kind: str, entity_id: str) -> Phrase | str:
    if entity_kind == "shop":
        return phrase("the shop")
    if entity_kind == "sku_warehouse":
        sku, _, warehouse = entity_id.partition("|")
        return phrase("SKU {sku} in warehouse {warehouse}", sku=sku, warehouse=warehouse)
    if entity_kind == "sku":
        return phrase("SKU {sku}", sku=entity_id)
    if entity_kind == "channel":
        return phrase("channel {channel}", channel=entity_id)
    if entity_kind == "campaign":
        return phrase("campaign {campaign}", campaign=entity_id)
    return f"{entity_kind} {entity_id}"


def message_args(
    template: str,
    rule: Rule,
    entity_id: str,
    *,
    level: str | None = None,
    value: float | None = None,
    threshold: float | None = None,
    minutes: int | None = None,
) -> dict:
    """What one event's message says, as data: the MESSAGE_TEMPLATES key under "template" and
    the raw values that fill it (MESSAGE_ARG_KEYS; value and threshold in the metric's unit,
    minutes of silence for no_data). Stored as JSON in alerts.message_args."""
    if template not in MESSAGE_TEMPLATES:
        raise ValueError(f"message template {template!r} is unknown; use one of {', '.join(MESSAGE_TEMPLATES)}")
    return {
        "template": template, "metric": rule.metric, "entity_kind": rule.entity_kind, "entity_id": entity_id,
        "rule": rule.name, "value": _plain_number(value), "threshold": _plain_number(threshold), "level": level,
        "direction": rule.direction, "minutes": None if minutes is None else int(minutes),
    }


def _plain_number(value) -> float | None:
    """A float JSON can hold (None for a missing value; numpy scalars become floats)."""
    return None if value is None else float(value)


def message_phrase(args: Mapping) -> Phrase:
    """message_args `args` as a models.phrases.Phrase (str() the English text), e.g. to quote an
    alert inside an action's message. KeyError when `args` name no template."""
    direction = args.get("direction")
    return phrase(
        MESSAGE_TEMPLATES[args["template"]],
        metric=word(METRIC_LABELS, args.get("metric")),
        entity=_entity_phrase(args.get("entity_kind"), args.get("entity_id")),
        rule=phrase(args["rule"]) if args.get("rule") in SHIPPED_RULE_NAMES else args.get("rule"),
        value=_number(args.get("value")),
        threshold=_number(args.get("threshold")),
        level=word(LEVEL_WORDS, args.get("level")),
        direction=word(DIRECTION_WORDS, direction),
        recovered=word(RECOVERED_WORDS, direction),
        minutes=args.get("minutes"),
    )


def render_message(args: Mapping, lang: str | None = None) -> str:
    """The text of message_args `args` in `lang` (None: the language in force, else COCKPIT_LANG).
    KeyError or ValueError when `args` do not fit the template."""
    return say(message_phrase(args), lang)


def alert_message(template: str, rule: Rule, entity_id: str, *, lang: str | None = None, **values) -> str:
    """The text for one event in `lang` (None: the language in force, else COCKPIT_LANG);
    `template` and `values` (level, value, threshold, minutes) as message_args takes them."""
    return render_message(message_args(template, rule, entity_id, **values), lang)


def _said(template: str, rule: Rule, entity_id: str, **values) -> tuple[str, dict]:
    """(message in the language in force, message_args) of one event."""
    args = message_args(template, rule, entity_id, **values)
    return render_message(args), args


def stored_phrase(message: str, message_args: str | Mapping | None) -> Phrase | str:
    """A stored alert's message as a Phrase from its message_args (the JSON of
    alerts.message_args, or the dict of a Transition), to show or quote in any language; else its
    stored `message` (alerts written before migration 0012, or arguments this version cannot
    render)."""
    if not message_args or not isinstance(message_args, (str, Mapping)):  # None, "" or NaN from a frame
        return message
    try:
        said = message_phrase(json.loads(message_args) if isinstance(message_args, str) else message_args)
        str(said)  # arguments this version cannot render: the stored text instead
        return said
    except (ValueError, KeyError, TypeError, AttributeError, IndexError):
        log.debug("alert message_args %r cannot be rendered; using the stored message", message_args)
        return message


def shown_message(message: str, message_args: str | Mapping | None, lang: str | None = None) -> str:
    """A stored alert's text in `lang`: stored_phrase rendered in it, or the stored `message`."""
    said = stored_phrase(message, message_args)
    return say(said, lang) if isinstance(said, Phrase) else message


def shown_messages(frame: pd.DataFrame, lang: str | None = None) -> pd.Series:
    """shown_message of each row of a frame with `message` and (optionally) `message_args`
    columns, on the frame's index."""
    if "message_args" not in frame.columns:
        return frame["message"]
    return pd.Series([shown_message(message, args, lang) for message, args in
                      zip(frame["message"], frame["message_args"])], index=frame.index, dtype="object")


# --- validation -------------------------------------------------------------------------------

MAX_RULE_MINUTES = 90 * 1440  # the longest window, hold or no-data time a rule may have
# Counts, money, rates, ratios and days are never negative: a negative threshold on them would
# never fire ("below") or always fire ("above"). ROI and anomaly scores can be negative.
NON_NEGATIVE_METRICS = frozenset({
    "uv", "orders", "gmv", "conversion_rate", "paying_conversion_rate", "aov", "orders_vs_last_week",
    "gmv_vs_last_week", "sessions_vs_last_week", "spend", "spend_vs_last_week", "stock_cover_ratio", "days_of_cover",
    "return_rate",
})


MAX_RULE_ID = 2**31 - 1  # alert_rules.rule_id is an INTEGER


def rule_key_problems(rule: Rule) -> list[str]:
    """Problems with what identifies `rule` (name, profile, rule_id), each saying how to fix it.
    A rule with any cannot be looked up: PostgreSQL compares types strictly and stores no NUL."""
    problems = []
    if not isinstance(rule.name, str):
        problems.append(f"the rule's name must be text, not {rule.name!r}")
    elif not rule.name.strip():
        problems.append("the rule needs a name")
    elif len(rule.name) > 100:
        problems.append("the rule's name must be at most 100 characters")
    elif not _storable(rule.name):
        problems.append(f"the rule's name {rule.name!r} holds a NUL or an unpaired surrogate character; remove it")
    if not isinstance(rule.profile, str) or not rule.profile or len(rule.profile) > 32 or not _storable(rule.profile):
        problems.append(f"the profile must be a name of 1 to 32 characters, not {rule.profile!r}")
    if rule.rule_id is not None and (not _is_int(rule.rule_id) or not 1 <= rule.rule_id <= MAX_RULE_ID):
        problems.append(f"rule_id must be a whole number from 1 to {MAX_RULE_ID} (none for a new rule), "
                        f"not {rule.rule_id!r}")
    return problems


def validate_rule(rule: Rule) -> list[str]:
    """Human-readable problems with `rule`, each saying how to fix it; empty when it is valid.
    Values of the wrong type are problems too, never an exception."""
    problems = rule_key_problems(rule)
    if not isinstance(rule.entity_kind, str) or rule.entity_kind not in METRICS:
        problems.append(f"entity kind {rule.entity_kind!r} is unknown; choose one of {', '.join(METRICS)}")
    elif not isinstance(rule.metric, str) or rule.metric not in METRICS[rule.entity_kind]:
        problems.append(
            f"metric {rule.metric!r} is not available for entity kind {rule.entity_kind!r}; "
            f"choose one of {', '.join(METRICS[rule.entity_kind])}"
        )
    for name in ("warn", "critical", "recovery", "min_volume"):
        number = getattr(rule, name)
        if (number is not None or name in ("recovery", "min_volume")) and not _finite(number):
            problems.append(f"{name} must be a finite number, not {number!r}")
    if rule.warn is None and rule.critical is None:
        problems.append("set a warn threshold, a critical threshold or both")
    if isinstance(rule.metric, str) and rule.metric in NON_NEGATIVE_METRICS:
        for name in ("warn", "critical", "recovery"):
            number = getattr(rule, name)
            if _finite(number) and number < 0:
                problems.append(f"{name} must be 0 or more ({METRIC_LABELS.get(rule.metric, rule.metric)} is never "
                                f"negative), not {number}")
    if rule.direction not in DIRECTIONS:
        problems.append(f"direction {rule.direction!r} is unknown; use 'below' or 'above'")
    elif all(_finite(x) for x in (rule.warn, rule.critical, rule.recovery) if x is not None):
        worse = _worse(rule.direction)
        side = "below" if rule.direction == "below" else "above"
        good = "at or above" if rule.direction == "below" else "at or below"
        if rule.warn is not None and rule.critical is not None and not worse(rule.critical, rule.warn):
            problems.append(
                f"the critical threshold ({rule.critical}) must be {side} the warn threshold ({rule.warn}) "
                f"for direction {rule.direction!r}"
            )
        mildest_name, mildest = ("warn", rule.warn) if rule.warn is not None else ("critical", rule.critical)
        if mildest is not None and _finite(rule.recovery) and worse(rule.recovery, mildest):
            problems.append(
                f"the recovery level ({rule.recovery}) must be {good} the {mildest_name} threshold "
                f"({mildest}) for direction {rule.direction!r}, so that an alert resolves only on the good side"
            )
    if not _is_int(rule.hold_minutes) or rule.hold_minutes < 0:
        problems.append(f"hold_minutes must be a whole number of 0 or more, not {rule.hold_minutes!r}")
    if not _is_int(rule.no_data_minutes) or rule.no_data_minutes < 0:
        problems.append(f"no_data_minutes must be a whole number of 0 or more (0: never), not {rule.no_data_minutes!r}")
    if not _is_int(rule.window_minutes) or rule.window_minutes < 1:
        problems.append(f"window_minutes must be a whole number of at least 1, not {rule.window_minutes!r}")
    for name in ("window_minutes", "hold_minutes", "no_data_minutes"):
        number = getattr(rule, name)
        if _is_int(number) and number > MAX_RULE_MINUTES:
            problems.append(f"{name} must be at most {MAX_RULE_MINUTES} (90 days), not {number:,}")
    if _finite(rule.min_volume) and rule.min_volume < 0:
        problems.append(f"min_volume must be 0 or more, not {rule.min_volume}")
    if not isinstance(rule.enabled, bool):
        problems.append(f"enabled must be True or False, not {rule.enabled!r}")
    if rule.auto_action is not None:
        target = AUTO_ACTIONS.get(rule.auto_action) if isinstance(rule.auto_action, str) else None
        if target is None:
            problems.append(
                f"auto_action {rule.auto_action!r} is unknown; use one of {', '.join(AUTO_ACTIONS)} or none"
            )
        elif target != rule.entity_kind:
            problems.append(f"auto_action {rule.auto_action!r} acts on a {target}, not on a {rule.entity_kind}")
    return problems


def _finite(number) -> bool:
    if not isinstance(number, (int, float)) or isinstance(number, bool):
        return False
    try:
        return math.isfinite(number)
    except OverflowError:  # an int beyond the largest float
        return False


def _storable(text: str) -> bool:
    """Text a database column can hold: no NUL character, and UTF-8 (no unpaired surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def _is_int(number) -> bool:
    return isinstance(number, int) and not isinstance(number, bool)


def _worse(direction: str) -> Callable[[float, float], bool]:
    return operator.lt if direction == "below" else operator.gt


# --- evaluation (pure) ------------------------------------------------------------------------

def evaluate_rule(
    rule: Rule,
    states: Mapping[str, EntityState],
    observations: Mapping[str, Observation],
    now_minute: int,
) -> tuple[dict[str, EntityState], list[Transition]]:
    """Evaluate one rule for one minute; returns the new states and the level changes.

    `states` is the rule's memory per entity_id, `observations` this minute's value per entity;
    neither is modified. Semantics:

    - Levels. For direction "below" a value < critical is critical and a value < warn is warn
      ("above" mirrors it with >); either threshold may be None.
    - Hysteresis. An entity in warn or critical returns to ok only once the value is on the good
      side of `recovery` (for "below": value >= recovery); a value between the warn threshold
      and recovery keeps the current level, whichever it is.
    - Hold. A move to another level is taken once the values have pointed that way for
      `hold_minutes` consecutive minutes: candidate_since_minute <= now - hold_minutes, so hold 0
      moves at once. This holds for opening, escalating, de-escalating and resolving alike. A
      run of minutes that all point the same way (all worse, or all better, than the current
      level) counts as one run and moves to the mildest level seen in it, so a value wandering
      between warn and critical still opens at warn after the hold instead of restarting it.
    - No data. An entity has no data when it is missing from `observations`, its value is None
      or NaN, or its volume is below rule.min_volume. A minute without data interrupts a pending
      run. With no_data_minutes > 0, once now - last_data_minute (or, for an entity never seen
      with data, now - the minute its state was created) reaches no_data_minutes the level
      becomes "no_data" (a "no_data" transition). With no_data_minutes == 0 missing data leaves
      the level as it is. When data returns to an entity in "no_data" it is evaluated afresh
      from ok (a "data_back" transition to ok, or straight to warn/critical when hold is 0).
    - Entities. Every entity of `states` or `observations` is evaluated; a new entity starts at
      ok. A new entity without data gets a state only when no_data_minutes > 0 (to time its
      silence from then on).
    - Transitions. One per change of level: "open" when leaving ok, "escalate"/"deescalate"
      between warn and critical, "resolve" back to ok, "no_data" and "data_back" as above.
      `threshold` is the threshold crossed (recovery for "resolve", None for no-data events).

    A state's updated_minute moves to now_minute only when something else in it changed.
    Raises ValueError when validate_rule finds problems with `rule`.
    """
    problems = validate_rule(rule)
    if problems:
        raise ValueError(f"alert rule {rule.name!r} is invalid: " + "; ".join(problems))
    new_states: dict[str, EntityState] = {}
    transitions: list[Transition] = []
    for entity_id in sorted(set(states) | set(observations)):
        old = states.get(entity_id)
        obs = observations.get(entity_id)
        if _has_data(rule, obs):
            state, transition = _with_data(rule, old, entity_id, obs.value, now_minute)
        else:
            state, transition = _without_data(rule, old, entity_id, now_minute)
        if state is None:
            continue
        if old is not None and state != old and replace(state, updated_minute=old.updated_minute) == old:
            state = old  # nothing but the timestamp would change
        new_states[entity_id] = state
        if transition is not None:
            transitions.append(transition)
    return new_states, transitions


def _has_data(rule: Rule, obs: Observation | None) -> bool:
    if obs is None or obs.value is None or math.isnan(obs.value) or math.isnan(obs.volume):
        return False
    return obs.volume >= rule.min_volume


def instant_level(rule: Rule, value: float | None) -> str:
    """Where `value` stands by the rule's thresholds alone: "ok", "warn" or "critical", and
    "no_data" for None or NaN. No hold and no hysteresis (those belong to the alerts), so a
    panel coloured with it follows an edited rule at once. min_volume is the caller's to apply."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "no_data"
    return _instant_level(rule, value)


def rules_by_metric(rules: list[Rule]) -> dict[str, list[Rule]]:
    """The rules grouped by the metric they watch, each group in the order given."""
    grouped: dict[str, list[Rule]] = {}
    for rule in rules:
        grouped.setdefault(rule.metric, []).append(rule)
    return grouped


def _instant_level(rule: Rule, value: float) -> str:
    worse = _worse(rule.direction)
    if rule.critical is not None and worse(value, rule.critical):
        return "critical"
    if rule.warn is not None and worse(value, rule.warn):
        return "warn"
    return "ok"


def _target_level(rule: Rule, level: str, value: float) -> str:
    """Where this minute's value points, given the current level (hysteresis included)."""
    instant = _instant_level(rule, value)
    recovered = value >= rule.recovery if rule.direction == "below" else value <= rule.recovery
    if instant == "ok" and level in ALERTING and not recovered:
        return level
    return instant


def _side(level: str, relative_to: str) -> int:
    return (SEVERITY[level] > SEVERITY[relative_to]) - (SEVERITY[level] < SEVERITY[relative_to])


def _threshold(rule: Rule, level: str) -> float | None:
    return {"warn": rule.warn, "critical": rule.critical, "ok": rule.recovery}.get(level)


def _with_data(
    rule: Rule, old: EntityState | None, entity_id: str, value: float, now: int
) -> tuple[EntityState, Transition | None]:
    if old is None:
        old = EntityState(
            rule_id=rule.rule_id, entity_id=entity_id, level="ok", candidate_level="ok",
            candidate_since_minute=now, last_value=None, last_data_minute=None, updated_minute=now,
        )
    level = old.level
    if level == "no_data":
        # No level to be hysteretic about: start from ok, and the hold runs from now.
        target = _instant_level(rule, value)
        new_level = target if rule.hold_minutes == 0 else "ok"
        state = replace(
            old, level=new_level, candidate_level=target, candidate_since_minute=now,
            last_value=value, last_data_minute=now, updated_minute=now,
        )
        template = "data_back" if new_level == "ok" else "data_back_breach"
        threshold = _threshold(rule, new_level) if new_level in ALERTING else None
        message, args = _said(template, rule, entity_id, level=new_level, value=value, threshold=threshold)
        return state, Transition("data_back", rule.rule_id, entity_id, new_level, value, threshold, message, args)

    target = _target_level(rule, level, value)
    side = _side(target, level)
    if side == 0:
        candidate = level
        since = old.candidate_since_minute if old.candidate_level == level else now
    elif old.candidate_level in SEVERITY and _side(old.candidate_level, level) == side:
        # The run goes on; keep the level every minute of it has supported.
        pick = min if side > 0 else max
        candidate = pick(old.candidate_level, target, key=SEVERITY.__getitem__)
        since = old.candidate_since_minute
    else:
        candidate, since = target, now

    transition = None
    new_level = level
    if candidate != level and since <= now - rule.hold_minutes:
        new_level = candidate
        if new_level == "ok":
            kind = "resolve"
        elif level == "ok":
            kind = "open"
        else:
            kind = "escalate" if SEVERITY[new_level] > SEVERITY[level] else "deescalate"
        threshold = _threshold(rule, new_level)
        template = "resolve" if kind == "resolve" else "breach"
        message, args = _said(template, rule, entity_id, level=new_level, value=value, threshold=threshold)
        transition = Transition(kind, rule.rule_id, entity_id, new_level, value, threshold, message, args)
        # This minute may already point past the new level: it starts the next run.
        candidate, since = target, now
    state = replace(
        old, level=new_level, candidate_level=candidate, candidate_since_minute=since,
        last_value=value, last_data_minute=now, updated_minute=now,
    )
    return state, transition


def _without_data(
    rule: Rule, old: EntityState | None, entity_id: str, now: int
) -> tuple[EntityState | None, Transition | None]:
    if old is None:
        if rule.no_data_minutes == 0:
            return None, None  # nothing to remember: no level, no silence to time
        old = EntityState(
            rule_id=rule.rule_id, entity_id=entity_id, level="ok", candidate_level="no_data",
            candidate_since_minute=now, last_value=None, last_data_minute=None, updated_minute=now,
        )
    since = old.candidate_since_minute if old.candidate_level == "no_data" else now
    state = replace(old, candidate_level="no_data", candidate_since_minute=since, updated_minute=now)
    if rule.no_data_minutes == 0 or old.level == "no_data":
        return state, None
    silent_since = old.last_data_minute if old.last_data_minute is not None else since
    silent = now - silent_since
    if silent < rule.no_data_minutes:
        return state, None
    message, args = _said("no_data", rule, entity_id, minutes=silent)
    transition = Transition("no_data", rule.rule_id, entity_id, "no_data", None, None, message, args)
    return replace(state, level="no_data"), transition


# --- default rules ----------------------------------------------------------------------------

# One row per rule; the sales-event profile watches the same things, more tightly, for the peak.
# Volumes are what each value rests on: visitors for the shop's rates, the sessions last week's
# baseline expects for sessions_vs_last_week, spend (currency) for roi_vs_floor, units sold per
# day for the stock rules, units sold over the return rate's 7-day base for return_rate. At a
# 3-5% orders/visitor conversion it takes ~500 visitors before 2% is a signal rather than noise.
# "Shop visitors stopped" is the pipeline's heartbeat: no visitors at all is critical, and no
# data (a window the metrics layer reports as NaN) turns into a no_data alert.
#
# The numbers come from the simulated shop's steady state (a normal day, seed 42):
# - Traffic: a channel has 10-50 sessions in 30 minutes, so a 15-minute ratio swings from 0.5
#   to 2 on chance alone. Over 30 minutes against a two-hour baseline, a real drop to 0.3
#   still reads below 0.45 while chance rarely takes a channel below 0.65.
# - Stock: purchasing reorders at the reorder point, so a pair dipping below safety stock
#   while the replenishment is on its way is routine (15-45 of ~825 pairs at any time); what
#   needs a person is a SKU that sells running out within a day. Days of cover (on hand / the
#   last 7 days' daily sales) says that; pairs selling under 8 units a day are left to the
#   stock page.
# - ROI: a campaign gets 0.5-2 attributed orders an hour and its ROI sits within about one
#   point of its floor, so an hour's ROI is mostly chance (30-70% of hours have no order at
#   all). Only three hours with revenue far below the floor (ROI a point or more under it)
#   mean something, and only for a campaign spending 900+ in those hours: at 450 a campaign
#   had three orders in three hours and went critical on chance alone (seed 42, once the
#   simulator lost customers to bad service). Sparser campaigns are watched by the ROI anomaly
#   rule, whose score knows how few orders it rests on.
# - Returns: a SKU's daily return rate on a few sold units ranges from 0 to 150%. Returns are
#   counted over 6 hours against the units the SKU sells in 6 hours at its 7-day pace, and
#   only for SKUs selling 100+ units a week: normal values stay under about 0.4.
# - Anomaly rules (cockpit.metrics.anomalies): scores, not ratios, so their thresholds are the
#   detector's sensitivity in standard deviations: 4 (between SENSITIVITY "high" and
#   "medium") opens a warning, 6 goes critical. A channel's drop shows after about eight
#   minutes of a 10-minute window (it has ~2 sessions a minute), a bid misconfiguration
#   likewise, a SKU's return wave within five; bench/anomaly_detection.py measures the
#   delays and false alarms over several seeds. min_volume: the expected count (units sold a
#   week for returns, as for return_rate).
_DEFAULT_COLUMNS = (
    "profile", "name", "metric", "entity_kind", "window_minutes", "direction",
    "warn", "critical", "recovery", "hold_minutes", "no_data_minutes", "min_volume",
)
_DEFAULT_TABLE = [
    # profile       name                          metric                    entity_kind      window direction warn   critical recovery hold no_data min_volume
    ("default",     "Shop visitors stopped",      "uv",                     "shop",          5,     "below",  None,  1.0,     1.0,     0,   5,      0.0),
    ("default",     "Traffic drop by channel",    "sessions_vs_last_week",  "channel",       30,    "below",  0.65,  0.45,    0.8,     1,   0,      25.0),
    ("default",     "Orders drop",                "orders_vs_last_week",    "shop",          60,    "below",  0.6,   0.35,    0.8,     5,   0,      10.0),
    ("default",     "GMV drop",                   "gmv_vs_last_week",       "shop",          60,    "below",  0.5,   0.3,     0.75,    5,   0,      2500.0),
    ("default",     "Shop conversion low",        "conversion_rate",        "shop",          60,    "below",  0.02,  0.01,    0.025,   5,   0,      500.0),
    ("default",     "Shop paying conversion low", "paying_conversion_rate", "shop",          60,    "below",  0.015, 0.0075,  0.02,    5,   0,      500.0),
    ("default",     "Stock running out",          "days_of_cover",          "sku_warehouse", 1,     "below",  1.0,   0.25,    2.0,     0,   0,      8.0),
    ("default",     "Campaign under ROI floor",   "roi_vs_floor",           "campaign",      180,   "below",  -1.0,  -1.3,    -0.5,    10,  0,      900.0),
    ("default",     "Campaign overspending",      "spend_vs_last_week",     "campaign",      15,    "above",  1.8,   2.5,     1.3,     1,   0,      10.0),
    ("default",     "Return rate high",           "return_rate",            "sku",           360,   "above",  0.5,   0.8,     0.3,     0,   0,      100.0),
    ("default",     "Traffic anomaly by channel", "sessions_anomaly",       "channel",       10,    "below",  -4.0,  -6.0,    -2.0,    0,   0,      5.0),
    ("default",     "Conversion anomaly",         "conversion_anomaly",     "shop",          30,    "below",  -4.0,  -6.0,    -2.0,    0,   0,      10.0),
    ("default",     "Spend anomaly by campaign",  "spend_anomaly",          "campaign",      10,    "above",  4.0,   6.0,     2.0,     0,   0,      5.0),
    ("default",     "ROI anomaly by campaign",    "roi_anomaly",            "campaign",      180,   "below",  -4.0,  -6.0,    -2.0,    0,   0,      3.0),
    ("default",     "Returns anomaly by SKU",     "return_anomaly",         "sku",           30,    "above",  4.0,   6.0,     2.0,     0,   0,      100.0),
    ("sales-event", "Shop visitors stopped",      "uv",                     "shop",          3,     "below",  None,  1.0,     1.0,     0,   3,      0.0),
    ("sales-event", "Traffic drop by channel",    "sessions_vs_last_week",  "channel",       10,    "below",  0.7,   0.5,     0.85,    1,   0,      20.0),
    ("sales-event", "Orders drop",                "orders_vs_last_week",    "shop",          30,    "below",  0.7,   0.45,    0.85,    2,   0,      10.0),
    ("sales-event", "GMV drop",                   "gmv_vs_last_week",       "shop",          30,    "below",  0.6,   0.35,    0.8,     2,   0,      2500.0),
    ("sales-event", "Shop conversion low",        "conversion_rate",        "shop",          30,    "below",  0.025, 0.015,   0.03,    2,   0,      500.0),
    ("sales-event", "Shop paying conversion low", "paying_conversion_rate", "shop",          30,    "below",  0.02,  0.01,    0.025,   2,   0,      500.0),
    ("sales-event", "Stock running out",          "days_of_cover",          "sku_warehouse", 1,     "below",  2.0,   0.5,     3.0,     0,   0,      5.0),
    ("sales-event", "Campaign under ROI floor",   "roi_vs_floor",           "campaign",      120,   "below",  -0.8,  -1.2,    -0.4,    5,   0,      300.0),
    ("sales-event", "Campaign overspending",      "spend_vs_last_week",     "campaign",      15,    "above",  2.4,   3.2,     1.8,     1,   0,      10.0),
    ("sales-event", "Return rate high",           "return_rate",            "sku",           360,   "above",  0.5,   0.8,     0.3,     0,   0,      100.0),
    ("sales-event", "Traffic anomaly by channel", "sessions_anomaly",       "channel",       10,    "below",  -4.0,  -6.0,    -2.0,    0,   0,      5.0),
    ("sales-event", "Conversion anomaly",         "conversion_anomaly",     "shop",          30,    "below",  -4.0,  -6.0,    -2.0,    0,   0,      10.0),
    ("sales-event", "Spend anomaly by campaign",  "spend_anomaly",          "campaign",      10,    "above",  4.0,   6.0,     2.0,     0,   0,      5.0),
    ("sales-event", "ROI anomaly by campaign",    "roi_anomaly",            "campaign",      180,   "below",  -4.0,  -6.0,    -2.0,    0,   0,      3.0),
    ("sales-event", "Returns anomaly by SKU",     "return_anomaly",         "sku",           30,    "above",  4.0,   6.0,     2.0,     0,   0,      100.0),
]
# auto_action stays None: pausing a campaign automatically is something an operator opts into.
# The names of the rules the cockpit ships, as msgids: shown in the reader's language. A rule an
# admin adds or renames keeps the name they wrote.
SHIPPED_RULE_NAMES = (
    N_("Shop visitors stopped"), N_("Traffic drop by channel"), N_("Orders drop"), N_("GMV drop"),
    N_("Shop conversion low"), N_("Shop paying conversion low"), N_("Stock running out"),
    N_("Campaign under ROI floor"), N_("Campaign overspending"), N_("Return rate high"),
    N_("Traffic anomaly by channel"), N_("Conversion anomaly"), N_("Spend anomaly by campaign"),
    N_("ROI anomaly by campaign"), N_("Returns anomaly by SKU"),
)
ENTITY_KIND_WORDS = {"shop": N_("Shop"), "channel": N_("Channel"), "campaign": N_("Campaign"), "sku": N_("SKU"),
                     "sku_warehouse": N_("SKU in a warehouse")}
STATUS_WORDS = {"open": N_("open"), "acknowledged": N_("acknowledged"), "resolved": N_("resolved")}


def rule_name(name: str, lang: str | None = None) -> str:
    """A rule's name to show: a shipped rule's in `lang`, any other as written."""
    return t(name, lang) if name in SHIPPED_RULE_NAMES else name


DEFAULT_RULES: list[dict] = [
    {**dict(zip(_DEFAULT_COLUMNS, row)), "auto_action": None, "enabled": True} for row in _DEFAULT_TABLE
]


# --- rows and rules ---------------------------------------------------------------------------

_RULE_FIELDS = tuple(f.name for f in fields(Rule))
_STATE_FIELDS = tuple(f.name for f in fields(EntityState))


def rule_from_row(row) -> Rule:
    """A Rule from an alert_rules row (a SQLAlchemy Row or any mapping with its columns)."""
    mapping = getattr(row, "_mapping", row)
    return Rule(**{name: mapping[name] for name in _RULE_FIELDS if name in mapping})


def rule_to_values(rule: Rule) -> dict:
    """The alert_rules column values of `rule`; rule_id is left out while it is None."""
    values = asdict(rule)
    if values["rule_id"] is None:
        del values["rule_id"]
    return values


def seed_default_rules(conn: Connection, now_minute: int) -> int:
    """Insert the DEFAULT_RULES missing by (profile, name); edited rules are left alone.

    Returns how many rules were added."""
    existing = {tuple(row) for row in conn.execute(select(RULES.c.profile, RULES.c.name))}
    missing = [
        {**values, "updated_ts_utc": now_minute * 60}
        for values in DEFAULT_RULES
        if (values["profile"], values["name"]) not in existing
    ]
    if missing:
        conn.execute(insert(RULES), missing)
    return len(missing)


def load_rules(conn: Connection, profile: str) -> list[Rule]:
    """The enabled rules of `profile`, by rule_id."""
    rows = conn.execute(
        select(RULES).where(RULES.c.profile == profile, RULES.c.enabled.is_(True)).order_by(RULES.c.rule_id)
    )
    return [rule_from_row(row) for row in rows]


def active_profile(conn: Connection) -> str:
    """The rule profile in force (settings key "rule_profile"), "default" until one is set."""
    value = conn.execute(select(SETTINGS.c.value).where(SETTINGS.c.key == PROFILE_SETTING)).scalar()
    return value or DEFAULT_PROFILE


def set_active_profile(conn: Connection, profile: str) -> None:
    """Make `profile` the one evaluate_alerts uses; ValueError when no rule belongs to it."""
    known = conn.execute(select(RULES.c.profile).distinct()).scalars().all()
    if profile not in known:
        choices = ", ".join(sorted(known)) or "(none: seed the rules first)"
        raise ValueError(f"rule profile {profile!r} has no rules; choose one of {choices}")
    conn.execute(upsert(conn, SETTINGS, ["key"], ["value"]), {"key": PROFILE_SETTING, "value": profile})


def save_rule(conn: Connection, rule: Rule) -> list[str]:
    """Validate `rule` and store it; returns the problems instead of saving when it is invalid.

    With a rule_id, that rule is updated; without, the rule of the same (profile, name) is
    updated or a new one inserted. A rule's metric and entity kind cannot change: its alert
    states are per entity of that metric (create a new rule instead). updated_ts_utc is stored
    as given: set it with dataclasses.replace."""
    problems = validate_rule(rule)
    if problems:
        return problems
    if rule.rule_id is not None:
        existing = conn.execute(select(RULES).where(RULES.c.rule_id == rule.rule_id)).first()
        if existing is None:
            return [f"rule {rule.rule_id} does not exist; save it without a rule_id to create it"]
    else:
        existing = conn.execute(
            select(RULES).where(RULES.c.profile == rule.profile, RULES.c.name == rule.name)
        ).first()
    values = rule_to_values(rule)
    # A Float column stores floats: an int threshold beyond 2**63 would not even bind on SQLite.
    values.update({name: float(values[name]) for name in ("warn", "critical", "recovery", "min_volume")
                   if values[name] is not None})
    if existing is None:
        conn.execute(insert(RULES).values(values))
        return []
    if (existing.metric, existing.entity_kind) != (rule.metric, rule.entity_kind):
        return [
            f"rule {existing.name!r} watches {existing.metric} per {existing.entity_kind}; its metric and "
            "entity kind cannot change: create a new rule instead"
        ]
    clash = conn.execute(
        select(RULES.c.rule_id).where(
            RULES.c.profile == rule.profile, RULES.c.name == rule.name, RULES.c.rule_id != existing.rule_id
        )
    ).first()
    if clash is not None:
        return [f"profile {rule.profile!r} already has a rule named {rule.name!r}; choose another name"]
    values.pop("rule_id", None)
    conn.execute(update(RULES).where(RULES.c.rule_id == existing.rule_id).values(values))
    return []


# --- evaluation against the database ----------------------------------------------------------

ReadMetric = Callable[[str, str, int, int], pd.DataFrame]


def _observations(frame: pd.DataFrame, metric: str, entity_kind: str) -> dict[str, Observation]:
    missing = {"entity_id", "value", "volume"} - set(frame.columns)
    if missing:
        raise ValueError(
            f"read_metric({metric!r}, {entity_kind!r}) returned no column(s) {sorted(missing)}; "
            "it must return entity_id, value and volume"
        )
    entity_ids = frame["entity_id"].astype(str)
    if entity_ids.duplicated().any():
        raise ValueError(
            f"read_metric({metric!r}, {entity_kind!r}) returned entity_id(s) more than once: "
            f"{sorted(set(entity_ids[entity_ids.duplicated()]))[:5]}"
        )
    values = pd.to_numeric(frame["value"], errors="coerce").to_numpy(dtype="float64", na_value=math.nan)
    volumes = pd.to_numeric(frame["volume"], errors="coerce").to_numpy(dtype="float64", na_value=math.nan)
    observations = {
        entity_id: Observation(None if math.isnan(value) else float(value), float(volume))
        for entity_id, value, volume in zip(entity_ids, values, volumes)
    }
    if entity_kind == "shop":
        # The shop always exists: a reader that returns no row for it is reporting no data.
        observations.setdefault("shop", Observation(None, 0.0))
    return observations


def _state_from_row(row) -> EntityState:
    mapping = row._mapping
    return EntityState(**{name: mapping[name] for name in _STATE_FIELDS})


def evaluate_alerts(conn: Connection, now_minute: int, read_metric: ReadMetric) -> list[Transition]:
    """Evaluate the active profile's rules as of `now_minute` and update alert_states and alerts.

    read_metric(metric, entity_kind, window_minutes, as_of_minute) must return a DataFrame with
    columns entity_id (str, unique), value (float, NaN = no data) and volume (float); it is
    called once per distinct (metric, entity_kind, window_minutes). The caller owns the
    transaction. Alerts: one open row per rule and entity (open_key "rule_id:entity_id"),
    inserted when a level other than ok is reached, its level, value, threshold, message (in
    the language in force, COCKPIT_LANG in the scheduler) and message_args updated on every
    later change (an acknowledged alert stays acknowledged), and resolved (status,
    resolved_minute, open_key NULL) when the level returns to ok. Alerts and states of
    rules no longer evaluated (disabled, invalid, or outside the active profile) are closed and
    forgotten. Returns the transitions, those closures included (as "resolve").
    """
    rules = []
    for rule in load_rules(conn, active_profile(conn)):
        problems = validate_rule(rule)
        if problems:
            log.warning("alert rule %s (%r) is skipped: %s", rule.rule_id, rule.name, "; ".join(problems))
            continue
        rules.append(rule)
    rule_ids = [rule.rule_id for rule in rules]
    transitions = _retire_inactive(conn, now_minute, rule_ids)

    observations = {
        key: _observations(read_metric(key[0], key[1], key[2], now_minute), key[0], key[1])
        for key in dict.fromkeys((rule.metric, rule.entity_kind, rule.window_minutes) for rule in rules)
    }
    states: dict[int, dict[str, EntityState]] = {rule_id: {} for rule_id in rule_ids}
    for row in conn.execute(select(STATES).where(STATES.c.rule_id.in_(rule_ids))):
        states[row.rule_id][row.entity_id] = _state_from_row(row)
    open_ids = {
        (row.rule_id, row.entity_id): row.alert_id
        for row in conn.execute(
            select(ALERTS.c.alert_id, ALERTS.c.rule_id, ALERTS.c.entity_id).where(
                ALERTS.c.rule_id.in_(rule_ids), ALERTS.c.status.in_(ACTIVE_STATUSES)
            )
        )
    }

    changed: list[dict] = []
    for rule in rules:
        old = states[rule.rule_id]
        new, rule_transitions = evaluate_rule(
            rule, old, observations[(rule.metric, rule.entity_kind, rule.window_minutes)], now_minute
        )
        changed.extend(asdict(state) for entity_id, state in new.items() if old.get(entity_id) != state)
        for transition in rule_transitions:
            _apply_to_alerts(conn, transition, open_ids.get((rule.rule_id, transition.entity_id)), now_minute)
        transitions.extend(rule_transitions)
    if changed:
        key = ["rule_id", "entity_id"]
        conn.execute(upsert(conn, STATES, key, [name for name in _STATE_FIELDS if name not in key]), changed)
    return transitions


def _apply_to_alerts(conn: Connection, transition: Transition, alert_id: int | None, now_minute: int) -> None:
    if transition.level == "ok":
        if alert_id is not None:
            conn.execute(
                update(ALERTS)
                .where(ALERTS.c.alert_id == alert_id)
                .values(status="resolved", resolved_minute=now_minute, open_key=None)
            )
        return
    values = {
        "level": transition.level, "value": transition.value,
        "threshold": transition.threshold, "message": transition.message,
        "message_args": None if transition.message_args is None else json.dumps(transition.message_args, sort_keys=True),
    }
    if alert_id is not None:
        conn.execute(update(ALERTS).where(ALERTS.c.alert_id == alert_id).values(values))
        return
    conn.execute(
        insert(ALERTS).values(
            rule_id=transition.rule_id, entity_id=transition.entity_id, status="open",
            opened_minute=now_minute, open_key=f"{transition.rule_id}:{transition.entity_id}", **values,
        )
    )


def _retire_inactive(conn: Connection, now_minute: int, active_rule_ids: list[int]) -> list[Transition]:
    """Close the alerts and drop the states of rules that are no longer evaluated.

    Without this an alert of a disabled rule, or of the previous profile, would stay open for
    ever, and a stale state would come back with its old level if the rule were re-enabled."""
    rows = conn.execute(
        select(ALERTS.c.alert_id, ALERTS.c.entity_id, ALERTS.c.value, RULES)
        .join(RULES, RULES.c.rule_id == ALERTS.c.rule_id)
        .where(ALERTS.c.status.in_(ACTIVE_STATUSES), ALERTS.c.rule_id.not_in(active_rule_ids))
    ).all()
    transitions = []
    for row in rows:
        rule = rule_from_row(row)
        message, args = _said("retired", rule, row.entity_id)
        conn.execute(
            update(ALERTS)
            .where(ALERTS.c.alert_id == row.alert_id)
            .values(status="resolved", resolved_minute=now_minute, open_key=None)
        )
        transitions.append(Transition("resolve", rule.rule_id, row.entity_id, "ok", row.value, None, message, args))
    conn.execute(delete(STATES).where(STATES.c.rule_id.not_in(active_rule_ids)))
    return transitions


# --- reading and handling alerts --------------------------------------------------------------

ALERT_COLUMNS = [
    "alert_id", "rule_id", "rule_name", "metric", "entity_kind", "entity_id", "level", "status",
    "opened_minute", "resolved_minute", "value", "threshold", "message", "snoozed_until_minute", "message_args",
]


def _alerts_frame(conn: Connection, *conditions) -> pd.DataFrame:
    query = (
        select(
            ALERTS.c.alert_id, ALERTS.c.rule_id, RULES.c.name.label("rule_name"), RULES.c.metric,
            RULES.c.entity_kind, ALERTS.c.entity_id, ALERTS.c.level, ALERTS.c.status, ALERTS.c.opened_minute,
            ALERTS.c.resolved_minute, ALERTS.c.value, ALERTS.c.threshold, ALERTS.c.message,
            ALERTS.c.snoozed_until_minute, ALERTS.c.message_args,
        )
        .join(RULES, RULES.c.rule_id == ALERTS.c.rule_id)
        .where(*conditions)
        .order_by(ALERTS.c.opened_minute.desc(), ALERTS.c.alert_id.desc())
    )
    return to_frame(conn.execute(query).all(), ALERT_COLUMNS)


def open_alerts(conn: Connection) -> pd.DataFrame:
    """Open and acknowledged alerts with their rule's name, metric and entity kind, newest first.

    Columns: ALERT_COLUMNS; minutes are epoch minutes (UTC), value and threshold in the
    metric's unit, `message` in the language it was written in and `message_args` its JSON
    (None on alerts from before migration 0012): show it with shown_message / shown_messages."""
    return _alerts_frame(conn, ALERTS.c.status.in_(ACTIVE_STATUSES))


def recent_alerts(conn: Connection, since_minute: int) -> pd.DataFrame:
    """Alerts opened or resolved at or after `since_minute`, newest opened first (ALERT_COLUMNS)."""
    return _alerts_frame(
        conn, (ALERTS.c.opened_minute >= since_minute) | (ALERTS.c.resolved_minute >= since_minute)
    )


def _active_alert(conn: Connection, alert_id: int, actor: str, verb: str) -> dict:
    if not actor or not actor.strip():
        raise ValueError(f"say who does it: {verb} needs an actor")
    row = conn.execute(select(ALERTS).where(ALERTS.c.alert_id == alert_id)).first()
    if row is None:
        raise ValueError(f"alert {alert_id} does not exist")
    if row.status not in ACTIVE_STATUSES:
        raise ValueError(f"alert {alert_id} is {row.status}; only open or acknowledged alerts can be changed")
    return dict(row._mapping)


def acknowledge_alert(conn: Connection, alert_id: int, actor: str) -> tuple[dict, dict]:
    """Mark an open alert acknowledged (it stays so until it resolves); returns (before, after).

    Acknowledging twice changes nothing. ValueError for an unknown or resolved alert."""
    before = _active_alert(conn, alert_id, actor, "acknowledge")
    after = {**before, "status": "acknowledged"}
    if after != before:
        conn.execute(update(ALERTS).where(ALERTS.c.alert_id == alert_id).values(status="acknowledged"))
    return before, after


def snooze_alert(conn: Connection, alert_id: int, until_minute: int | None, actor: str) -> tuple[dict, dict]:
    """Snooze an open or acknowledged alert until `until_minute` (epoch minute; None wakes it).

    Returns (before, after). ValueError for an unknown or resolved alert."""
    before = _active_alert(conn, alert_id, actor, "snooze")
    after = {**before, "snoozed_until_minute": until_minute}
    if after != before:
        conn.execute(update(ALERTS).where(ALERTS.c.alert_id == alert_id).values(snoozed_until_minute=until_minute))
    return before, after



def all_rules(conn: Connection) -> list[Rule]:
    """Every rule of every profile, enabled or not, by profile and rule_id (for the editor)."""
    rows = conn.execute(select(RULES).order_by(RULES.c.profile, RULES.c.rule_id))
    return [rule_from_row(row) for row in rows]
