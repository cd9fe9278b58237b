"""One-click actions behind a confirmation dialog: replenish, pause/resume, acknowledge, snooze,
start and end a clearance.

The request is kept in session state until it is confirmed or dismissed, so a page-wide
rerun re-opens the dialog instead of losing it. The idempotency key is derived from the
state the user saw when the dialog opened: a double click, or the same click from another
browser that saw the same state, runs the action once."""
from __future__ import annotations

import time

import streamlit as st

from cockpit import actions
from cockpit.db.engine import get_engine
from cockpit.ui import loaders, shell
from cockpit.ui.i18n import said, t

PENDING = "action_pending"
LAST_RESULT = "action_last_result"


def request(kind: str, **payload) -> None:
    """Button callback: ask for confirmation of an action (opens its dialog)."""
    st.session_state[PENDING] = {"kind": kind, **payload}


def request_from_form(action: str, **widget_keys: str) -> None:
    """Form-submit callback: request `action` with each payload value read from the widget
    whose session-state key is given (a callback sees the submitted values; the button's
    return value does not survive every rerun)."""
    request(action, **{name: st.session_state[key] for name, key in widget_keys.items()})


def _dismiss() -> None:
    st.session_state.pop(PENDING, None)


def _finish(result: actions.ActionResult) -> None:
    st.session_state.pop(PENDING, None)
    st.session_state[LAST_RESULT] = result
    loaders.clear_after_action()
    st.rerun()


def _confirmed(verb, verb_name: str, entity_id: str, state_token: str, *args) -> None:
    """Confirm-button callback: do the action (before the rerun the click causes, so the
    dialog closes on it and the result shows at the top of the page)."""
    key = actions.intent_key(verb_name, entity_id, state_token)
    result = _run(verb, *args, shell.actor(), key, time.time(), tz=loaders.settings().tz)
    st.session_state.pop(PENDING, None)
    st.session_state[LAST_RESULT] = result
    loaders.clear_after_action()


def _run(verb, *args, **kwargs) -> actions.ActionResult:
    engine = get_engine(loaders.settings().db_url)
    with actions.action_transaction(engine) as conn:
        return verb(conn, *args, **kwargs)


def show_last_result() -> None:
    """The outcome of the last action, once, at the top of the page."""
    result = st.session_state.pop(LAST_RESULT, None)
    if result is None:
        return
    message = said(getattr(result, "phrase", None) or result.message)  # in this session's language
    if result.duplicate:
        st.info(t("Already done: {message} (by {actor}); nothing was repeated.", message=message, actor=result.actor))
    elif result.result == "done":
        st.success(t("Done: {message}", message=message))
    else:
        st.warning(t("Not done: {message}", message=message))


def render_pending() -> None:
    """Open the dialog of the pending request, if any (call once, at the end of the page)."""
    pending = st.session_state.get(PENDING)
    if pending is None or not shell.can("operator"):
        return
    {"replenish": _replenish_dialog, "pause": _pause_dialog, "resume": _resume_dialog,
     "acknowledge": _acknowledge_dialog, "snooze": _snooze_dialog, "clearance": _clearance_dialog,
     "end_clearance": _end_clearance_dialog}[pending["kind"]](pending)


@st.dialog(t("Replenish stock"), on_dismiss=_dismiss)
def _replenish_dialog(pending: dict) -> None:
    sku, warehouse_id = pending["sku"], pending["warehouse_id"]
    if "suggestion" not in pending:
        pending["suggestion"] = loaders.fresh_suggestion(loaders.settings().db_url, sku, warehouse_id)
    s = pending["suggestion"]
    st.markdown(f"**{sku}** · {s.name} · {warehouse_id}")
    cols = st.columns(3)
    cols[0].metric(t("On hand"), f"{s.on_hand:,}")
    cols[1].metric(t("On order"), f"{s.on_order:,}")
    cols[2].metric(t("Safety stock"), f"{s.safety_stock:,}")
    st.caption(said(s.explanation_phrase or s.explanation))
    most = actions.MAX_REPLENISH_QTY
    qty = st.number_input(t("Quantity to order"), min_value=1, max_value=most,
                          value=min(max(1, int(s.suggested_qty)), most), step=1, key="replenish_qty")
    confirm, cancel = st.columns(2)
    clicked = confirm.button(t("Confirm replenishment"), type="primary", key="replenish_confirm", width="stretch")
    if clicked:
        key = actions.intent_key("replenish_sku", f"{sku}|{warehouse_id}", s.state_token)
        _finish(_run(actions.replenish_sku, sku, warehouse_id, int(qty), shell.actor(), key, time.time(),
                     tz=loaders.settings().tz))
    if cancel.button(t("Cancel"), key="replenish_cancel", width="stretch"):
        _dismiss()
        st.rerun()


@st.dialog(t("Pause campaign"), on_dismiss=_dismiss)
def _pause_dialog(pending: dict) -> None:
    campaign_id = pending["campaign_id"]
    st.markdown(t("Pause **{campaign}** ({channel})? Its ads stop until it is resumed.",
                  campaign=campaign_id, channel=pending["channel"]))
    if "recommendation" not in pending:
        pending["recommendation"] = loaders.fresh_recommendation(loaders.settings().db_url, pending["channel"])
    recommendation = pending["recommendation"]
    if recommendation is None:
        st.info(t("No other channel has both a better ROI and budget left today."))
    else:
        reason = said(recommendation.reason_phrase or recommendation.reason)
        st.success(t("Better channel now: {reason}", reason=reason))
    confirm, cancel = st.columns(2)
    if confirm.button(t("Confirm pause"), type="primary", key="pause_confirm", width="stretch"):
        key = actions.intent_key("pause_campaign", campaign_id, pending["state_token"])
        _finish(_run(actions.pause_campaign, campaign_id, shell.actor(), key, time.time(),
                     reason=pending.get("reason", ""), tz=loaders.settings().tz))
    if cancel.button(t("Cancel"), key="pause_cancel", width="stretch"):
        _dismiss()
        st.rerun()


@st.dialog(t("Resume campaign"), on_dismiss=_dismiss)
def _resume_dialog(pending: dict) -> None:
    campaign_id = pending["campaign_id"]
    st.markdown(t("Resume **{campaign}**? Its ads start spending again.", campaign=campaign_id))
    confirm, cancel = st.columns(2)
    if confirm.button(t("Confirm resume"), type="primary", key="resume_confirm", width="stretch"):
        key = actions.intent_key("resume_campaign", campaign_id, pending["state_token"])
        _finish(_run(actions.resume_campaign, campaign_id, shell.actor(), key, time.time(), tz=loaders.settings().tz))
    if cancel.button(t("Cancel"), key="resume_cancel", width="stretch"):
        _dismiss()
        st.rerun()


@st.dialog(t("Acknowledge alert"), on_dismiss=_dismiss)
def _acknowledge_dialog(pending: dict) -> None:
    st.markdown(said(pending["message"]))
    st.caption(t("Acknowledged alerts stay listed until they resolve, marked as seen."))
    confirm, cancel = st.columns(2)
    if confirm.button(t("Acknowledge"), type="primary", key="ack_confirm", width="stretch"):
        key = actions.intent_key("acknowledge_alert", str(pending["alert_id"]), pending["state_token"])
        _finish(_run(actions.acknowledge, pending["alert_id"], shell.actor(), key, time.time()))
    if cancel.button(t("Cancel"), key="ack_cancel", width="stretch"):
        _dismiss()
        st.rerun()


SNOOZE_CHOICES = (15, 30, 60, 120, 240)


@st.dialog(t("Snooze alert"), on_dismiss=_dismiss)
def _snooze_dialog(pending: dict) -> None:
    st.markdown(said(pending["message"]))
    minutes = st.selectbox(t("Snooze for (minutes)"), SNOOZE_CHOICES, index=2, key="snooze_minutes")
    confirm, cancel = st.columns(2)
    if confirm.button(t("Snooze"), type="primary", key="snooze_confirm", width="stretch"):
        key = actions.intent_key("snooze_alert", str(pending["alert_id"]), f"{pending['state_token']}:{minutes}")
        _finish(_run(actions.snooze, pending["alert_id"], int(minutes), shell.actor(), key, time.time(),
                     tz=loaders.settings().tz))
    if cancel.button(t("Cancel"), key="snooze_cancel", width="stretch"):
        _dismiss()
        st.rerun()


KIND_LABELS = {"flash_sale": "Flash sale", "community_clearance": "Community clearance"}


@st.dialog(t("Clear a slow mover"), on_dismiss=_dismiss)
def _clearance_dialog(pending: dict) -> None:
    sku, kind, discount, days = (pending["sku"], pending["clearance_kind"], float(pending["discount_pct"]),
                                 int(pending["days"]))
    if "state" not in pending:  # what the user saw when the dialog opened makes the key
        pending["state"] = loaders.fresh_clearance_state(loaders.settings().db_url, sku)
        pending["state_token"] = loaders.state_token(loaders.settings().db_url, "sku", sku)
    state = pending["state"]
    st.markdown(f"**{sku}** · {state['name']}")
    cols = st.columns(3)
    cols[0].metric(t("On hand"), f"{state['on_hand']:,}")
    cols[1].metric(t("Sold, last {days} days", days=state["pace_days"]), f"{state['units_sold']:,}")
    cols[2].metric(t("Price"), f"{state['price'] * (1 - discount / 100):,.2f}", delta=f"-{discount:g}%",
                   delta_color="off")
    st.markdown(t("{kind} at {discount}% off for {days} days: the price goes back to {price:,.2f} when it ends.",
                  kind=t(KIND_LABELS[kind]), discount=f"{discount:g}", days=days, price=state["price"]))
    confirm, cancel = st.columns(2)
    # The choice is part of the intent (as a snooze's minutes are): a refused discount or length
    # must not make a corrected one a "duplicate" of the refusal.
    intent = f"{pending['state_token']}:{kind}:{discount:g}:{days}"
    confirm.button(t("Start clearance"), type="primary", key="clearance_confirm", width="stretch",
                   on_click=_confirmed, args=(actions.start_clearance, "start_clearance", sku, intent,
                                              sku, kind, discount, days))
    if cancel.button(t("Cancel"), key="clearance_cancel", width="stretch"):
        _dismiss()
        st.rerun()


@st.dialog(t("End clearance"), on_dismiss=_dismiss)
def _end_clearance_dialog(pending: dict) -> None:
    pending.setdefault("state_token", loaders.state_token(loaders.settings().db_url, "sku", pending["sku"]))
    st.markdown(t("End the clearance of **{sku}** now? Its price goes back to the list price.", sku=pending["sku"]))
    confirm, cancel = st.columns(2)
    confirm.button(t("End clearance"), type="primary", key="end_clearance_confirm", width="stretch",
                   on_click=_confirmed, args=(actions.end_clearance, "end_clearance", pending["sku"],
                                              pending["state_token"], pending["sku"]))
    if cancel.button(t("Cancel"), key="end_clearance_cancel", width="stretch"):
        _dismiss()
        st.rerun()
