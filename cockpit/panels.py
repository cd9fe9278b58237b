"""Threshold states of the cockpit's panels: the alert rules in force applied to current values.

A panel's colour is where its metrics stand against the rules' thresholds now (no hold, no
hysteresis: that is the alerts' job), so editing a rule recolours the panel at the next read.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from cockpit import alerts
from cockpit.i18n import t
from cockpit.metrics.read import metric_values

# Which rule metrics colour which panel.
PANEL_METRICS: dict[str, tuple[str, ...]] = {
    "uv": ("uv", "sessions_vs_last_week"),
    "orders": ("orders", "orders_vs_last_week"),
    "gmv": ("gmv", "aov", "gmv_vs_last_week"),
    "conversion": ("conversion_rate", "paying_conversion_rate"),
    "stock": ("stock_cover_ratio", "days_of_cover"),
    "ads": ("roi_vs_floor", "roi", "spend", "spend_vs_last_week"),
    "returns": ("return_rate",),
}
LEVEL_ORDER = {"no_rule": -2, "no_data": -1, "ok": 0, "warn": 1, "critical": 2}
READING_COLUMNS = [
    "rule_id", "rule_name", "metric", "entity_kind", "window_minutes", "direction", "warn", "critical",
    "entity_id", "value", "volume", "level",
]


@dataclass(frozen=True)
class PanelState:
    """One panel's state: its worst level, the rules behind it and every entity's reading.

    level: critical | warn | ok | no_data (rules exist, none has enough data) | no_rule.
    readings: READING_COLUMNS, one row per rule and entity, worst first."""

    panel: str
    level: str
    rules: tuple[alerts.Rule, ...] = ()
    readings: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=READING_COLUMNS))

    def count(self, level: str) -> int:
        return int((self.readings["level"] == level).sum())

    def worst(self, limit: int = 5) -> pd.DataFrame:
        """The entities at warn or critical, worst first."""
        alerting = self.readings[self.readings["level"].isin(alerts.ALERTING)]
        return alerting.head(limit)

    def threshold_text(self, lang: str | None = None) -> str:
        """The thresholds in words in `lang` (None: the language in force), e.g. "Conversion
        rate: warn below 0.02, critical below 0.01 (60 min)"."""
        parts = []
        for rule in self.rules:
            values = {"metric": alerts.metric_label(rule.metric, lang), "warn": rule.warn, "critical": rule.critical,
                      "minutes": rule.window_minutes,
                      "direction": t(alerts.DIRECTION_WORDS[rule.direction], lang)
                      if rule.direction in alerts.DIRECTION_WORDS else rule.direction}
            if rule.warn is not None and rule.critical is not None:
                parts.append(t("{metric}: warn {direction} {warn:g}, critical {direction} {critical:g} ({minutes} min)",
                               lang, **values))
            elif rule.warn is not None:
                parts.append(t("{metric}: warn {direction} {warn:g} ({minutes} min)", lang, **values))
            elif rule.critical is not None:
                parts.append(t("{metric}: critical {direction} {critical:g} ({minutes} min)", lang, **values))
        return "; ".join(parts)


def worse_level(a: str, b: str) -> str:
    return a if LEVEL_ORDER[a] >= LEVEL_ORDER[b] else b


def reading_levels(rule: alerts.Rule, values: pd.DataFrame) -> pd.DataFrame:
    """The metric_values frame of one rule with each entity's level by the rule's thresholds.

    An entity under the rule's min_volume has no data, as the alert evaluator sees it."""
    frame = values.copy()
    enough = frame["volume"].to_numpy(dtype="float64") >= rule.min_volume
    frame["level"] = [
        alerts.instant_level(rule, value) if ok else "no_data"
        for value, ok in zip(frame["value"].to_numpy(dtype="float64"), enough)
    ]
    for name in ("rule_id", "metric", "entity_kind", "window_minutes", "direction", "warn", "critical"):
        frame[name] = getattr(rule, name)
    frame["rule_name"] = rule.name
    return frame[READING_COLUMNS]


def panel_states(conn: Connection, as_of_minute: int, tz: ZoneInfo) -> dict[str, PanelState]:
    """Every panel's state as of `as_of_minute` under the active profile's enabled rules."""
    rules = [rule for rule in alerts.load_rules(conn, alerts.active_profile(conn)) if not alerts.validate_rule(rule)]
    cache: dict[tuple, pd.DataFrame] = {}
    memo: dict = {}
    states = {}
    for panel, metrics in PANEL_METRICS.items():
        panel_rules = tuple(rule for rule in rules if rule.metric in metrics)
        if not panel_rules:
            states[panel] = PanelState(panel, "no_rule")
            continue
        frames = []
        for rule in panel_rules:
            key = (rule.metric, rule.entity_kind, rule.window_minutes)
            if key not in cache:
                cache[key] = metric_values(conn, rule.metric, rule.entity_kind, rule.window_minutes, as_of_minute, tz,
                                           memo=memo)
            frames.append(reading_levels(rule, cache[key]))
        readings = pd.concat(frames, ignore_index=True)
        # Worst level first; within a level the rules' order, and within a rule the entity
        # furthest past the thresholds first (the overview shows the first few).
        severity = readings["level"].map(LEVEL_ORDER).to_numpy()
        position = readings["rule_id"].map({rule.rule_id: i for i, rule in enumerate(panel_rules)}).to_numpy()
        sign = np.where(readings["direction"] == "below", -1.0, 1.0)
        values = readings["value"].astype("float64").to_numpy()
        badness = np.where(np.isnan(values), -np.inf, sign * values)
        readings = readings.iloc[np.lexsort((-badness, position, -severity))].reset_index(drop=True)
        level = "no_data"
        for value in readings["level"]:
            level = worse_level(level, value)
        states[panel] = PanelState(panel, level, panel_rules, readings)
    return states


def entity_levels(state: PanelState, metric: str | None = None) -> dict[str, str]:
    """entity_id -> its worst level on this panel (optionally for one metric only)."""
    readings = state.readings if metric is None else state.readings[state.readings["metric"] == metric]
    levels: dict[str, str] = {}
    for entity_id, level in zip(readings["entity_id"], readings["level"]):
        levels[entity_id] = worse_level(levels.get(entity_id, "no_rule"), level)
    return levels
