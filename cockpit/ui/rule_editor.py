"""The alert-rule editor: pick a profile and a rule, change its thresholds, save through the
audited update_rule action (validation problems are shown, nothing is saved)."""
from __future__ import annotations

import json
import time
from dataclasses import asdict, replace

import pandas as pd
import streamlit as st

from cockpit import actions, alerts
from cockpit.db.engine import get_engine
from cockpit.ui import exports, loaders, shell
from cockpit.ui.action_dialogs import LAST_RESULT
from cockpit.ui.charts import translated
from cockpit.ui.i18n import N_, t

RULE_LABELS = {
    "rule_id": st.column_config.NumberColumn(N_("Id"), format="%d"), "name": N_("Rule"), "metric": N_("Metric"),
    "entity_kind": N_("Per"), "window_minutes": N_("Window (min)"), "direction": N_("Alerts when"),
    "warn": N_("Warn at"), "critical": N_("Critical at"), "recovery": N_("Recovered at"), "hold_minutes": N_("Hold (min)"),
    "no_data_minutes": N_("No-data after (min)"), "min_volume": N_("Min. volume"), "auto_action": N_("Automatic action"),
    "enabled": N_("Enabled"),
}
RULE_COLUMNS = ["rule_id", "name", "metric", "entity_kind", "window_minutes", "direction", "warn", "critical",
                "recovery", "hold_minutes", "no_data_minutes", "min_volume", "auto_action", "enabled"]


def _save(verb, *args) -> None:
    with actions.action_transaction(get_engine(loaders.settings().db_url)) as conn:
        result = verb(conn, *args)
    st.session_state[LAST_RESULT] = result
    loaders.clear_after_action()
    st.rerun()


PROFILE_NAMES = {"default": N_("Default"), "sales-event": N_("Sales event")}  # the profiles the cockpit ships


def profile_name(profile: str) -> str:
    """A shipped profile's name in the session's language; one an admin added, as they wrote it."""
    return t(PROFILE_NAMES[profile]) if profile in PROFILE_NAMES else profile


def render(rules: list[alerts.Rule], active: str) -> None:
    profiles = sorted({rule.profile for rule in rules}) or [alerts.DEFAULT_PROFILE]
    top = st.columns([2, 2, 4], vertical_alignment="bottom")
    profile = top[0].selectbox(t("Profile"), profiles, index=profiles.index(active) if active in profiles else 0,
                               key="rules_profile", format_func=profile_name)
    top[2].markdown(t("Active profile: **{profile}**", profile=profile_name(active)))
    admin = shell.can("admin")
    if not admin:
        st.caption(t("Admins edit the alert rules and switch profiles; you see them read-only."))
    if profile != active and admin:
        with top[1].popover(t("Make “{profile}” active…", profile=profile_name(profile))):
            st.write(t("Alerts will be evaluated with the “{profile}” rules from the next refresh.",
                       profile=profile_name(profile)))
            if st.button(t("Confirm switch"), type="primary", key="rules_switch_confirm"):
                token = loaders.state_token(loaders.settings().db_url, "profile", profile)
                key = actions.intent_key("set_rule_profile", profile, token)
                _save(actions.set_rule_profile, profile, shell.actor(), key, time.time())
    mine = [rule for rule in rules if rule.profile == profile]
    table = pd.DataFrame([asdict(rule) for rule in mine], columns=RULE_COLUMNS + ["profile", "updated_ts_utc"])
    table["metric"] = table["metric"].map(lambda m: t(alerts.METRIC_LABELS[m]) if m in alerts.METRIC_LABELS else m)
    table = table.assign(name=table["name"].map(alerts.rule_name),
                         entity_kind=translated(table["entity_kind"], alerts.ENTITY_KIND_WORDS),
                         direction=translated(table["direction"], alerts.DIRECTION_WORDS))
    event = exports.table(table[RULE_COLUMNS], hide_index=True, on_select="rerun", selection_mode="single-row",
                         key="rules_table", column_config=RULE_LABELS, name="alert-rules")
    rows = event.selection.rows if event and event.selection else []
    if rows:
        shell.set_params(rule=str(int(table.iloc[rows[0]]["rule_id"])))
    chosen = next((rule for rule in mine if str(rule.rule_id) == shell.param("rule")), None)
    if chosen is None or not admin:
        if admin:
            st.caption(t("Select a rule to edit its thresholds."))
        return
    _form(chosen)


def _optional(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _form(rule: alerts.Rule) -> None:
    label = t(alerts.METRIC_LABELS[rule.metric]) if rule.metric in alerts.METRIC_LABELS else rule.metric
    with st.form(f"rules_form_{rule.rule_id}"):
        st.markdown(t("**{name}** · {metric} per {kind}, alerting when {direction} the thresholds",
                      name=alerts.rule_name(rule.name), metric=label,
                      kind=t(alerts.ENTITY_KIND_WORDS[rule.entity_kind]) if rule.entity_kind in alerts.ENTITY_KIND_WORDS
                      else rule.entity_kind, direction=t(rule.direction)))
        a, b, c = st.columns(3)
        warn = a.number_input(t("Warn at"), value=_optional(rule.warn), format="%.4f", key="rules_warn")
        critical = b.number_input(t("Critical at"), value=_optional(rule.critical), format="%.4f", key="rules_critical")
        recovery = c.number_input(t("Recovered at"), value=float(rule.recovery), format="%.4f", key="rules_recovery")
        d, e, f, g = st.columns(4)
        most = alerts.MAX_RULE_MINUTES  # the widgets hold what validate_rule accepts
        window = d.number_input(t("Window (min)"), min_value=1, max_value=most,
                                value=min(max(1, int(rule.window_minutes)), most), key="rules_window")
        hold = e.number_input(t("Hold (min)"), min_value=0, max_value=most,
                              value=min(max(0, int(rule.hold_minutes)), most), key="rules_hold")
        no_data = f.number_input(t("No-data alert after (min, 0 = never)"), min_value=0, max_value=most,
                                 value=min(max(0, int(rule.no_data_minutes)), most), key="rules_no_data")
        volume = g.number_input(t("Minimum volume"), min_value=0.0, value=float(rule.min_volume), key="rules_volume")
        autos = [None] + [name for name, kind in alerts.AUTO_ACTIONS.items() if kind == rule.entity_kind]
        auto = st.selectbox(t("Automatic action when the alert opens"), autos, index=autos.index(rule.auto_action)
                            if rule.auto_action in autos else 0, format_func=lambda v: t("none") if v is None else v,
                            key="rules_auto")
        enabled = st.checkbox(t("Enabled"), value=bool(rule.enabled), key="rules_enabled")
        if st.form_submit_button(t("Save rule"), type="primary", key="rules_save"):
            changed = replace(rule, warn=warn, critical=critical, recovery=recovery, window_minutes=int(window),
                              hold_minutes=int(hold), no_data_minutes=int(no_data), min_volume=float(volume),
                              auto_action=auto, enabled=enabled)
            token = json.dumps({**asdict(changed), "updated_ts_utc": rule.updated_ts_utc}, sort_keys=True)
            key = actions.intent_key("update_rule", str(rule.rule_id), token)
            _save(actions.update_rule, changed, shell.actor(), key, time.time())
