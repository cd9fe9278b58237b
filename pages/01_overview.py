"""Overview: UV, orders, GMV, conversion, stock and ad ROI with their threshold states, against
the same time yesterday and last week, sparklines, and the open alerts. ?mode=wall: the TV."""
import streamlit as st

from cockpit.ui import charts, loaders, shell, widgets
from cockpit.ui.i18n import money, t

shell.require_frame()
settings = loaders.settings()
tz = settings.tz
wall = shell.is_wall()

st.title(t("Operations cockpit") if not wall else t("Operations cockpit · live"))


@st.fragment(run_every=settings.refresh_seconds)
def live_panels():
    fresh = loaders.freshness(settings.db_url, settings.refresh_seconds)
    widgets.freshness_badge(fresh, tz, settings.refresh_seconds)
    if fresh.data_minute is None:
        return
    loaded = loaders.guarded("overview", fresh.data_minute, loaders.overview, settings.db_url, fresh.data_minute,
                             settings.timezone)
    alerts_now = loaders.guarded("open_alerts", fresh.data_minute, loaders.open_alerts, settings.db_url,
                                 fresh.data_minute)
    awake = charts.awake_alerts(alerts_now.value, fresh.data_minute) if alerts_now.value is not None else None
    if wall and awake is not None:
        widgets.critical_banner(awake)
    if not widgets.load_marker(loaded, tz):
        return
    data = loaded.value
    today, yesterday, last_week, states = data["today"], data["yesterday"], data["last_week"], data["panels"]
    campaigns, stock = data["campaigns"], data["stock"]
    spend, revenue = campaigns["spend"].sum(), campaigns["revenue"].sum()
    roi = (revenue - spend) / spend if spend else None
    by_minute = data["traffic"].groupby("minute_utc", as_index=False)["uv"].sum()
    week_note = t("vs same time yesterday; last week {value}")

    tiles = st.columns(6)
    left, right = st.columns(2)
    # The charts are drawn before the tiles above them: a first visit then starts fetching
    # plotly's 4.7 MB script (the slowest part of that visit) while the tiles are sent.
    chart = {"tz": tz, "markers": data["markers"], "height": 340 if wall else 280}
    with left:
        traffic_rules = [r for r in states["uv"].rules if r.metric == "sessions_vs_last_week"]
        widgets.show_figure(charts.versus_last_week_figure(
            data["traffic"], data["traffic_last_week"], "sessions", traffic_rules, name=t("Sessions"),
            title=t("Sessions per 10 minutes, last 6 hours, against a week ago"), **chart))
    with right:
        gmv_rules = [r for r in states["gmv"].rules if r.metric == "gmv_vs_last_week"]
        widgets.show_figure(charts.versus_last_week_figure(
            data["sales"], data["sales_last_week"], "gmv", gmv_rules, name=t("GMV"),
            title=t("GMV per 10 minutes, last 6 hours, against a week ago"), **chart))

    with tiles[0]:
        widgets.state_tile(t("UV"), f"{today.uv:,}", states["uv"], delta=widgets.pct_delta(today.uv, yesterday.uv),
                           delta_note=week_note.format(value=widgets.pct_delta(today.uv, last_week.uv) or "–"),
                           help_text=t("Distinct visitors today (exact)."), spark=by_minute["uv"].tolist()[-120:])
    with tiles[1]:
        widgets.state_tile(t("Orders"), f"{today.orders:,}", states["orders"],
                           delta=widgets.pct_delta(today.orders, yesterday.orders),
                           delta_note=week_note.format(value=widgets.pct_delta(today.orders, last_week.orders) or "–"),
                           spark=data["sales"]["orders"].tolist()[-120:])
    with tiles[2]:
        widgets.state_tile(t("GMV"), money(today.gmv), states["gmv"], delta=widgets.pct_delta(today.gmv, yesterday.gmv),
                           delta_note=week_note.format(value=widgets.pct_delta(today.gmv, last_week.gmv) or "–"),
                           spark=data["sales"]["gmv"].tolist()[-120:])
    with tiles[3]:
        conversion = today.conversion_rate
        widgets.state_tile(t("Conversion"), f"{conversion:.2%}" if conversion is not None else "–", states["conversion"],
                           delta=widgets.pct_delta(conversion, yesterday.conversion_rate),
                           delta_note=week_note.format(value=widgets.pct_delta(conversion, last_week.conversion_rate) or "–"),
                           help_text=t("Orders / UV today."))
    with tiles[4]:
        running_out = len({e for e, level in charts.stock_level_map(states["stock"]).items() if level in ("warn", "critical")})
        widgets.state_tile(t("Stock running out"), f"{running_out}", states["stock"],
                           delta_note=t("{below} pairs below safety stock, {out} out of stock",
                                        below=int((stock["on_hand"] < stock["safety_stock"]).sum()),
                                        out=int((stock["on_hand"] <= 0).sum())),
                           help_text=t("SKU-warehouse pairs at warning or critical by the stock rules."))
    with tiles[5]:
        widgets.state_tile(t("Ad ROI today"), f"{roi:.2f}" if roi is not None else "–", states["ads"],
                           delta_note=t("spend {spend} · {n} campaigns under floor", spend=money(spend),
                                        n=states["ads"].count("warn") + states["ads"].count("critical")),
                           help_text=t("(revenue − spend) / spend over all campaigns today."))

    if wall:
        widgets.warning_summary(awake)
        return
    links = charts.drill_links(states, ("stock", "ads", "uv"))
    if links:
        st.caption(t("Worst now (open one):"))
        for column, (page, params, label, rule_name) in zip(st.columns(len(links)), links):
            column.page_link(page, label=label, query_params=params, help=rule_name)
    st.subheader(t("Open alerts"))
    if awake is not None:
        widgets.alert_list(awake, tz)


live_panels()
if not wall:
    st.page_link("pages/05_alerts.py", label=t("All alerts, rules and the audit log →"))
