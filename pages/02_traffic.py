"""Traffic & conversion: the session funnel by channel and segment, conversion by hour, channel
mix, content channels' engagement, against yesterday and last week; a channel drill-down."""
import streamlit as st

from cockpit.ui import charts, exports, loaders, shell, widgets
from cockpit.ui.i18n import t

shell.require_frame()
settings = loaders.settings()
tz = settings.tz
WINDOWS = {"today": t("Today so far"), "last_hour": t("Last hour")}

st.title(t("Traffic & conversion"))
window = st.segmented_control(t("Window"), list(WINDOWS), format_func=WINDOWS.get,
                              default=shell.param("window") if shell.param("window") in WINDOWS else "today",
                              key="traffic_window") or "today"
shell.set_params(window=window)


@st.fragment(run_every=settings.refresh_seconds)
def live_panels():
    live = widgets.live_data(f"traffic:{window}", loaders.traffic_page, settings.timezone, window)
    if live is None:
        return
    data, states = live.data, live.states
    now, yesterday, last_week = (data[label]["kpis"] for label in ("today", "yesterday", "last_week"))
    funnel = data["today"]["total"].iloc[0] if not data["today"]["total"].empty else None

    tiles = st.columns(5)
    with tiles[0]:
        widgets.state_tile(t("Sessions"), f"{now.sessions:,}", states.get("uv"),
                           delta=widgets.pct_delta(now.sessions, yesterday.sessions),
                           delta_note=t("vs yesterday; last week {v}", v=widgets.pct_delta(now.sessions, last_week.sessions) or "–"))
    with tiles[1]:
        widgets.state_tile(t("UV"), f"{now.uv:,}", states.get("uv"), delta=widgets.pct_delta(now.uv, yesterday.uv),
                           delta_note=t("vs yesterday; last week {v}", v=widgets.pct_delta(now.uv, last_week.uv) or "–"))
    with tiles[2]:
        widgets.state_tile(t("Conversion"), charts.pct(now.conversion_rate), states.get("conversion"),
                           delta=widgets.pct_delta(now.conversion_rate, yesterday.conversion_rate),
                           delta_note=t("vs yesterday; last week {v}",
                                        v=widgets.pct_delta(now.conversion_rate, last_week.conversion_rate) or "–"),
                           help_text=t("Orders / UV"))
    with tiles[3]:
        widgets.state_tile(t("Add-to-cart rate"), charts.pct(funnel["view_to_cart"] if funnel is not None else None),
                           None, help_text=t("Sessions with a cart add / sessions"))
    with tiles[4]:
        share = charts.paid_share(data["mix"])
        widgets.state_tile(t("Paid share of traffic"), charts.pct(share), None,
                           help_text=t("Sessions from paid channels / all sessions"))

    left, right = st.columns(2)
    with left:
        widgets.show_figure(charts.funnel_figure({WINDOWS[window]: data["today"]["total"],
                                                  t("Yesterday"): data["yesterday"]["total"],
                                                  t("Last week"): data["last_week"]["total"]}, t("Funnel: visit → cart → order → pay")))
    with right:
        rules = [rule for rule in (states.get("conversion").rules if states.get("conversion") else ())
                 if rule.metric == "conversion_rate"]
        widgets.show_figure(charts.hourly_conversion_figure(data["by_hour"], rules, tz, t("Conversion by hour (orders / UV)")))

    by = st.radio(t("Break the funnel down by"), ["channel", "segment"], horizontal=True, key="traffic_by",
                  format_func={"channel": t("Channel"), "segment": t("New / returning")}.get)
    table = charts.funnel_comparison(data["today"][by], data["yesterday"][by], data["last_week"][by])
    event = exports.table(table, hide_index=True, on_select="rerun", selection_mode="single-row", key="traffic_table",
                         column_config=charts.FUNNEL_COLUMNS, name="funnel")
    picked = charts.selected_value(event, table, "group")
    if by == "channel" and picked and picked != shell.param("channel"):
        shell.set_params(channel=picked)
        st.rerun()

    mix_col, content_col = st.columns(2)
    with mix_col:
        widgets.show_figure(charts.channel_mix_figure(data["mix"], t("Channel mix (share of sessions)")))
    with content_col:
        st.markdown(f"**{t('Live-stream and content channels')}**")
        exports.table(charts.content_engagement(data["engagement"]), hide_index=True,
                     column_config=charts.ENGAGEMENT_COLUMNS, name="traffic-content-engagement")


live_panels()

channel = shell.param("channel")
fresh = loaders.freshness(settings.db_url, settings.refresh_seconds)
if channel and fresh.data_minute is not None:
    st.subheader(t("Channel: {channel}", channel=shell.quoted(channel)))
    if st.button(t("Close channel detail"), key="traffic_close"):
        shell.set_params(channel=None)
        st.rerun()
    detail = loaders.guarded(f"channel:{channel}", fresh.data_minute, loaders.channel_detail, settings.db_url,
                             fresh.data_minute, channel)
    if detail.value is not None and not detail.value["known"]:
        st.error(t("No channel {channel}: select a channel in the funnel table above.",
                   channel=shell.quoted(channel)))
    elif widgets.load_marker(detail, tz):
        states = loaders.panel_states(settings.db_url, fresh.data_minute, settings.timezone)
        widgets.show_figure(charts.channel_detail_figure(detail.value, states["uv"].rules, tz,
                                                         t("Sessions per 10 minutes: now and a week ago")))
