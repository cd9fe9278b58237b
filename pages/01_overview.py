"""Overview: today's UV, conversion, GMV, orders, stock and ad ROI, against yesterday and last week."""
import streamlit as st

from cockpit.ui import loaders, widgets
from cockpit.ui.i18n import t

settings = loaders.settings()
tz = settings.tz

st.title(t("Operations cockpit"))


@st.fragment(run_every=settings.refresh_seconds)
def live_panels():
    fresh = loaders.freshness(settings.db_url, settings.refresh_seconds)
    widgets.freshness_badge(fresh, tz, settings.refresh_seconds)
    if fresh.data_minute is None:
        return
    data = loaders.overview(settings.db_url, fresh.data_minute, settings.timezone)
    today, yesterday, last_week = data["today"], data["yesterday"], data["last_week"]
    campaigns = data["campaigns"]
    spend, revenue = campaigns["spend"].sum(), campaigns["revenue"].sum()
    roi = (revenue - spend) / spend if spend else None
    stock = data["stock"]
    below_safety = int((stock["on_hand"] < stock["safety_stock"]).sum())
    out_of_stock = int((stock["on_hand"] <= 0).sum())

    st.subheader(t("Today so far, against the same time yesterday"))
    tiles = st.columns(6)
    widgets.kpi_tile(tiles[0], t("UV"), f"{today.uv:,}", widgets.pct_delta(today.uv, yesterday.uv),
                     t("Distinct visitors today (exact). Last week: {n:,}", n=last_week.uv))
    widgets.kpi_tile(tiles[1], t("Orders"), f"{today.orders:,}", widgets.pct_delta(today.orders, yesterday.orders))
    widgets.kpi_tile(tiles[2], t("GMV"), f"¥{today.gmv:,.0f}", widgets.pct_delta(today.gmv, yesterday.gmv))
    conversion = today.conversion_rate
    widgets.kpi_tile(tiles[3], t("Conversion"), f"{conversion:.2%}" if conversion is not None else "–",
                     widgets.pct_delta(conversion, yesterday.conversion_rate), t("Orders / UV"))
    widgets.kpi_tile(tiles[4], t("SKUs below safety stock"), f"{below_safety}", None,
                     t("{n} SKU-warehouse pairs out of stock", n=out_of_stock))
    widgets.kpi_tile(tiles[5], t("Ad ROI today"), f"{roi:.2f}" if roi is not None else "–", None,
                     t("(revenue − spend) / spend over all campaigns; spend ¥{spend:,.0f}", spend=spend))

    left, right = st.columns(2)
    with left:
        uv_by_minute = data["traffic"].groupby("minute_utc", as_index=False)["uv"].sum()
        widgets.minute_sparkline(uv_by_minute, "uv", t("Visitors per minute, last 6 hours"), tz)
    with right:
        widgets.minute_sparkline(data["sales"], "gmv", t("GMV per minute, last 6 hours"), tz)

    st.subheader(t("Open alerts"))
    widgets.alert_list(loaders.open_alerts(settings.db_url, fresh.data_minute))


live_panels()
