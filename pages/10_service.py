"""Service: the bot's resolution share and a person's first-response time against their targets,
the daily trend, contacts by reason and channel, and how a contact's outcome goes with buying again."""
import streamlit as st

from cockpit.timebuckets import datetime_of_minute
from cockpit.ui import exports, loaders, service_charts as charts, shell, widgets
from cockpit.ui.i18n import t

shell.require_frame()
settings = loaders.settings()
tz = settings.tz
bot_target, response_target = settings.service_bot_target, settings.service_response_target_s

st.title(t("Service"))
fresh = loaders.freshness(settings.db_url, settings.refresh_seconds)
widgets.freshness_badge(fresh, tz, settings.refresh_seconds)
if fresh.data_minute is None:
    st.stop()

windows = {"today": t("Today"), "7d": t("Last 7 days"), "30d": t("Last 30 days")}
window = st.radio(t("Contacts opened"), list(windows), index=1, horizontal=True, format_func=windows.get,
                  key="service_window")
loaded = loaders.guarded(f"service:{window}", fresh.data_minute, loaders.service_page, settings.db_url,
                         fresh.data_minute, settings.timezone, window, response_target)
if not widgets.load_marker(loaded, tz) or loaded.value is None:
    st.stop()
page = loaded.value
s = page["summary"]
if not s["contacts"]:
    st.info(t("No service contacts in this window yet."))
    st.stop()

tiles = st.columns(6)
tiles[0].metric(t("Contacts"), f"{s['contacts']:,}")
tiles[1].metric(t("Resolved by the bot"), charts.share_text(s["bot_resolved_share"]),
                delta=charts.points_delta(s["bot_resolved_share"], bot_target),
                help=t("Contacts the bot resolved without a person, of all contacts; target {target:.0%}.",
                       target=bot_target))
tiles[2].metric(t("Escalated to a person"), charts.share_text(s["escalated_share"]))
tiles[3].metric(t("First response p50"), charts.seconds_text(s["human_p50_s"]),
                delta=charts.seconds_delta(s["human_p50_s"], response_target), delta_color="inverse",
                help=t("A person's first answer to an escalated contact; target {seconds} s.", seconds=response_target))
tiles[4].metric(t("Answered within {seconds} s", seconds=response_target), charts.share_text(s["within_target_share"]),
                help=t("First response p90: {p90}.", p90=charts.seconds_text(s["human_p90_s"])))
tiles[5].metric(t("Resolved"), charts.share_text(s["resolved_share"]),
                help=t("Contacts resolved, by the bot or a person, of all contacts."))
met = s["bot_resolved_share"] >= bot_target
(st.success if met else st.warning)(
    t("The bot resolved {share} of contacts alone against a target of {target:.0%}; a person answered half the "
      "escalated contacts within {p50} and nine in ten within {p90} (target {seconds} s).",
      share=charts.share_text(s["bot_resolved_share"]), target=bot_target, p50=charts.seconds_text(s["human_p50_s"]),
      p90=charts.seconds_text(s["human_p90_s"]), seconds=response_target))

st.subheader(t("Trend, last 30 days"))
widgets.show_figure(charts.trend_figure(page["trend"], bot_target, response_target))

st.subheader(t("Why customers get in touch"))
left, right = st.columns(2)
with left:
    widgets.show_figure(charts.reasons_figure(page["by_reason"]))
with right:
    exports.table(charts.breakdown_table(page["by_reason"], "reason"), hide_index=True, width="stretch", name="service-by-reason")
    exports.table(charts.breakdown_table(page["by_channel"], "channel"), hide_index=True, width="stretch", name="service-by-channel")

st.subheader(t("Effect on repurchase"))
lo, hi = page["effect_window"]
st.caption(t("Each customer's first contact opened {start} to {end} ({n:,} customers), followed for {days} days. "
             "An observational comparison: it shows how much less often these customers came back.",
             start=datetime_of_minute(lo, tz).strftime("%Y-%m-%d"),
             end=datetime_of_minute(hi - 1, tz).strftime("%Y-%m-%d"), n=page["effect_customers"],
             days=page["follow_days"]))
labels = {"resolution": (t("left unresolved"), t("resolved")),
          "response": (t("answered by a person after more than {seconds} s", seconds=response_target),
                       t("answered by a person within {seconds} s", seconds=response_target))}
shown = [(name, c) for name, c in page["effect"].items() if c is not None]
for name, comparison in shown:
    st.markdown(charts.effect_sentence(comparison, *labels[name]))
if shown:
    short = {"resolution": t("Resolution"), "response": t("Response")}
    widgets.show_figure(charts.effect_figure([(short[name], c, *labels[name]) for name, c in shown]))
else:
    st.info(t("Not enough followed-up contacts yet: the comparison needs contacts at least {days} days old.",
              days=page["follow_days"]))

st.subheader(t("Unresolved contacts ({n})", n=len(page["open_contacts"])))
if page["open_contacts"].empty:
    st.success(t("Every contact in this window was resolved."))
else:
    exports.table(charts.contacts_table(page["open_contacts"], tz), hide_index=True, width="stretch",
                 column_config=charts.CONTACT_COLUMNS, name="service-contacts")
