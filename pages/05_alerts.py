"""Alerts & actions: open and recent alerts (acknowledge, snooze), the alert rules with their
thresholds (edited, validated and audited here), the audit log of every action, and whether
the actions worked (their effect against a forecast without them)."""
import streamlit as st

from cockpit.ui import action_dialogs, charts, effect_charts, exports, loaders, rule_editor, shell, widgets
from cockpit.ui.i18n import t

shell.require_frame()
settings = loaders.settings()
tz = settings.tz
wall = shell.is_wall()

st.title(t("Alerts & actions"))
action_dialogs.show_last_result()


@st.fragment(run_every=settings.refresh_seconds)
def live_alerts():
    live = widgets.live_data("alerts", loaders.alerts_page)
    if live is None:
        return
    data, fresh = live.data, live.fresh
    open_now = charts.alerts_in_order(data["open"], fresh.data_minute)
    counts = st.columns(4)
    counts[0].metric(t("Critical"), int((open_now["level"] == "critical").sum()))
    counts[1].metric(t("Warning"), int((open_now["level"] == "warn").sum()))
    counts[2].metric(t("Acknowledged"), int((open_now["status"] == "acknowledged").sum()))
    counts[3].metric(t("Snoozed"), int(open_now["snoozed"].sum()))

    st.subheader(t("Open alerts"))
    if open_now.empty:
        st.success(t("No open alerts."))
    for row in open_now.head(30).itertuples():
        message = widgets.alert_text(row)  # in this session's language
        text, ack, snooze, link = st.columns([7, 1.2, 1.2, 1.4], vertical_alignment="center")
        text.markdown(charts.alert_line(row, tz), unsafe_allow_html=True)
        if shell.can("operator"):
            token = f"{row.status}:{row.opened_minute}:{row.snoozed_until_minute}"
            ack.button(t("Acknowledge"), key=f"alerts_ack_{row.alert_id}", disabled=row.status == "acknowledged",
                       on_click=action_dialogs.request,
                       kwargs={"kind": "acknowledge", "alert_id": row.alert_id, "message": message, "state_token": token})
            snooze.button(t("Snooze"), key=f"alerts_snooze_{row.alert_id}", on_click=action_dialogs.request,
                          kwargs={"kind": "snooze", "alert_id": row.alert_id, "message": message, "state_token": token})
        if not wall:
            target = charts.drill_target(row.entity_kind, row.entity_id)
            if target:
                link.page_link(target[0], label=t("Open →"), query_params=target[1])
    if len(open_now) > 30:
        st.caption(t("… and {n} more.", n=len(open_now) - 30))
    action_dialogs.render_pending()
    if wall:
        return
    st.subheader(t("Last 24 hours"))
    exports.table(charts.recent_alert_table(data["recent"], tz), hide_index=True, height=280,
                 column_config=charts.RECENT_ALERT_COLUMNS, name="alerts-recent-alert")


live_alerts()
if not wall:
    fresh = loaders.freshness(settings.db_url, settings.refresh_seconds)
    if fresh.data_minute is not None:
        data = loaders.alerts_page(settings.db_url, fresh.data_minute)
        st.subheader(t("Alert rules"))
        rule_editor.render(data["rules"], data["profile"])
        st.subheader(t("Audit log"))
        audit = data["audit"]
        filters = st.columns(2)
        verbs = filters[0].multiselect(t("Action"), sorted(audit["verb"].unique()), key="alerts_audit_verbs")
        actors = filters[1].multiselect(t("Who"), sorted(audit["actor"].unique()), key="alerts_audit_actors")
        exports.table(charts.audit_table(audit, tz, verbs, actors), hide_index=True, height=360,
                     column_config=charts.AUDIT_COLUMNS, name="alerts-audit")
        st.subheader(t("Alert messages"))
        sent = loaders.notifications(settings.db_url, fresh.data_minute)
        failed = sent[sent["status"] == "failed"]
        if len(failed):
            st.error(t("{n} message(s) could not be delivered, the last to {channel}: {error}", n=len(failed),
                       channel=failed["channel"].iloc[0], error=shell.quoted(failed["last_error"].iloc[0] or "")))
        if sent.empty:
            st.caption(t("No alert messages yet.") + " " + (
                t("Channels: {file}.", file=settings.notify_file) if settings.notify_file else
                t("Set COCKPIT_NOTIFY_FILE to send alerts to WeCom, DingTalk, Slack, a webhook or email "
                  "(README “Alert notifications”).")))
        else:
            exports.table(charts.notification_table(sent, tz), hide_index=True, height=300,
                         column_config=charts.NOTIFICATION_TABLE_COLUMNS, name="alerts-notification")
        st.subheader(t("Did the actions work?"))
        measured = loaders.measured_actions(settings.db_url, fresh.data_minute)
        if measured.empty:
            st.caption(t("No campaign pauses, resumes or replenishments yet."))
        else:
            labels = effect_charts.action_labels(measured, tz)
            chosen = st.selectbox(t("Action"), list(labels), format_func=labels.get, key="alerts_effect_action")
            with st.spinner(t("Forecasting what would have happened without it…")):
                effects = loaders.action_effect(settings.db_url, fresh.data_minute, settings.timezone, chosen)
            effect_charts.render_effect(effects)
