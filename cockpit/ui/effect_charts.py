"""The "Did the actions work?" section of the Alerts & actions page: action choices and effects."""
from __future__ import annotations

import json
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from cockpit.ui import exports
from cockpit.ui.i18n import N_, say, t

EFFECT_COLUMNS = {
    "metric": N_("Metric"),
    "post_hours": st.column_config.NumberColumn(N_("Hours measured"), format="%d"),
    "actual": st.column_config.NumberColumn(N_("Actual"), format="%.1f"),
    "counterfactual": st.column_config.NumberColumn(N_("Without the action"), format="%.1f",
                                                    help=N_("Forecast from the history before the action")),
    "effect": st.column_config.NumberColumn(N_("Effect"), format="%+.1f"),
    "lower": st.column_config.NumberColumn(N_("95% from"), format="%+.1f"),
    "upper": st.column_config.NumberColumn(N_("95% to"), format="%+.1f"),
}


def _label(verb: str, entity_id: str, after_json: str) -> str:
    if verb == "replenish_sku":
        sku, _, warehouse_id = entity_id.partition("|")
        return t("ordered {qty} × {sku} at {warehouse}", qty=json.loads(after_json or "{}").get("qty"), sku=sku,
                 warehouse=warehouse_id)
    if verb == "start_clearance":
        after = json.loads(after_json or "{}").get("clearance") or {}
        return t("cleared {sku} at {discount}% off", sku=entity_id, discount=f"{after.get('discount_pct', 0):g}")
    return t("paused {campaign}" if verb == "pause_campaign" else "resumed {campaign}", campaign=entity_id)


def action_labels(measured: pd.DataFrame, tz: ZoneInfo) -> dict[int, str]:
    """action_id -> "11-25 13:05 · paused CMP-X", newest first (cockpit.metrics.action_effects.measured_actions)."""
    when = pd.to_datetime(measured["ts_utc"], unit="s", utc=True).dt.tz_convert(tz).dt.strftime("%m-%d %H:%M")
    return {int(action_id): f"{stamp} · {_label(verb, entity, after)}"
            for action_id, stamp, verb, entity, after in zip(measured["action_id"], when, measured["verb"],
                                                             measured["entity_id"], measured["after_json"])}


def render_effect(effects: pd.DataFrame) -> None:
    """One action's verdict and its effect per metric (cockpit.action_effects.action_effects rows)."""
    if effects.empty:
        st.caption(t("This action is no longer in the audit log."))
        return
    verdict = say(effects["verdict"].iloc[0])
    significant = ((effects["lower"] > 0) | (effects["upper"] < 0)).any()
    (st.success if significant else st.info)(verdict)
    if effects["post_hours"].max() > 0 and effects["effect"].notna().any():
        exports.table(effects[list(EFFECT_COLUMNS)], hide_index=True, column_config=EFFECT_COLUMNS, name="action-effects")
    st.caption(t("Actual against a forecast of what would have happened without the action, fitted on up to 14 days "
                 "of hourly history before it (before the stock's arrival for a replenishment); whole hours after it, "
                 "at most 7 days. Effect = actual − forecast, with its 95% interval: an interval that holds 0 is no "
                 "measurable effect."))
