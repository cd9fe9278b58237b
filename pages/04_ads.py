"""Ads & ROI: spend, revenue, ROI and ROAS per channel and campaign against their floors, spend
pacing through the day; a campaign drill-down with pause / resume and a better channel."""
import streamlit as st

from cockpit.ui import action_dialogs, charts, exports, loaders, shell, widgets
from cockpit.ui.i18n import money, t
from models.phrases import phrase  # the audit log keeps the reason, shown in each reader's language

shell.require_frame()
settings = loaders.settings()
tz = settings.tz
wall = shell.is_wall()

st.title(t("Ads & ROI"))
action_dialogs.show_last_result()


@st.fragment(run_every=settings.refresh_seconds)
def live_panels():
    live = widgets.live_data("ads", loaders.ads_page, settings.timezone)
    if live is None:
        return
    data, states = live.data, live.states
    pacing, ads_state = data["pacing"], states.get("ads")
    spend, revenue = pacing["spend_today"].sum(), data["channels"]["revenue"].sum()
    level_of = charts.stock_level_map(ads_state)

    tiles = st.columns(5)
    with tiles[0]:
        budget = pacing.loc[pacing["status"] == "active", "daily_budget"].sum()
        widgets.state_tile(t("Spend today"), money(spend), None,
                           delta_note=t("{share} of today's budget {budget}", share=charts.pct(spend / budget if budget else None, 0),
                                        budget=money(budget)))
    with tiles[1]:
        widgets.state_tile(t("Attributed revenue"), money(revenue), None)
    with tiles[2]:
        widgets.state_tile(t("ROI today"), f"{(revenue - spend) / spend:.2f}" if spend else "–", ads_state,
                           help_text=t("(revenue − spend) / spend"))
    with tiles[3]:
        widgets.state_tile(t("ROAS today"), f"{revenue / spend:.2f}" if spend else "–", None, help_text=t("revenue / spend"))
    with tiles[4]:
        widgets.state_tile(t("Campaigns under floor"), f"{int(pacing['below_floor'].sum())}", ads_state,
                           delta_note=t("ROI today below the campaign's floor"))

    left, right = st.columns(2)
    with left:
        widgets.show_figure(charts.channel_roi_figure(data["channels"], t("ROI by channel today")))
    with right:
        widgets.show_figure(charts.pacing_figure(data["curves"], pacing, tz, t("Spend pacing: cumulative spend "
                                                                             "against the budget line")))
    if wall:
        return
    table = charts.campaign_table(pacing, data["last_hour"], level_of)
    st.caption(t("Campaigns under their ROI floor come first. Select one for its detail, pause or resume."))
    event = exports.table(charts.styled_states(table), hide_index=True, on_select="rerun", selection_mode="single-row", key="ads_table",
                         column_config=charts.CAMPAIGN_COLUMNS, name="campaigns")
    picked = charts.selected_value(event, table, "campaign_id")
    if picked and picked != shell.param("campaign"):
        shell.set_params(campaign=picked)
        st.rerun()
    exports.table(data["channels"], hide_index=True, column_config=charts.CHANNEL_COLUMNS, name="ads-channels")


live_panels()

campaign_id = shell.param("campaign")
fresh = loaders.freshness(settings.db_url, settings.refresh_seconds)
if campaign_id and fresh.data_minute is not None and not wall:
    data = loaders.ads_page(settings.db_url, fresh.data_minute, settings.timezone)
    row = data["pacing"][data["pacing"]["campaign_id"] == campaign_id]
    st.subheader(t("Campaign {campaign}", campaign=shell.quoted(campaign_id)))
    if row.empty:
        st.error(t("No campaign {campaign}: select a campaign in the table above.", campaign=shell.quoted(campaign_id)))
    else:
        row = row.iloc[0]
        token = loaders.state_token(settings.db_url, "campaign", campaign_id)
        buttons = st.columns([1, 1, 4])
        if not shell.can("operator"):
            buttons[0].caption(t("Operators pause and resume campaigns."))
        elif row["status"] == "active":
            buttons[0].button(t("Pause…"), type="primary", key="ads_pause", on_click=action_dialogs.request,
                              kwargs={"kind": "pause", "campaign_id": campaign_id, "channel": row["channel"],
                                      "state_token": token, "reason": phrase("paused from the Ads page")})
        else:
            buttons[0].button(t("Resume…"), key="ads_resume", on_click=action_dialogs.request,
                              kwargs={"kind": "resume", "campaign_id": campaign_id, "state_token": token})
        if buttons[1].button(t("Close"), key="ads_close"):
            shell.set_params(campaign=None)
            st.rerun()
        st.caption(t("{name} · {channel} · {status} · ROI floor {floor:g} · ROI today {roi}", name=row["name"],
                     channel=row["channel"], status=t(row["status"]), floor=row["roi_floor"],
                     roi=charts.number(row["roi_today"])))
        detail = loaders.guarded(f"campaign:{campaign_id}", fresh.data_minute, loaders.campaign_detail,
                                 settings.db_url, fresh.data_minute, campaign_id)
        if widgets.load_marker(detail, tz):
            states = loaders.panel_states(settings.db_url, fresh.data_minute, settings.timezone)
            widgets.show_figure(charts.campaign_roi_figure(detail.value, row, states["ads"].rules, tz,
                                                           t("ROI since 24 hours ago, spend and revenue per 30 minutes")))
action_dialogs.render_pending()
