"""Attribution: which channels get the credit for the last 30 days' orders under each
attribution model, the ROI each model implies for the paid channels, and each campaign's
revenue split into new and returning customers (refitted by the scheduler)."""
import streamlit as st

from cockpit.timebuckets import datetime_of_minute
from cockpit.ui import attribution_charts as charts, exports
from cockpit.ui import loaders, shell, widgets
from cockpit.ui.i18n import t

shell.require_frame()
settings = loaders.settings()
tz = settings.tz

st.title(t("Attribution"))
fresh = loaders.freshness(settings.db_url, settings.refresh_seconds)
widgets.freshness_badge(fresh, tz, settings.refresh_seconds)
if fresh.data_minute is None:
    st.stop()

loaded = loaders.guarded("attribution", fresh.data_minute, loaders.attribution, settings.db_url, fresh.data_minute,
                         settings.timezone)
if not widgets.load_marker(loaded, tz) or loaded.value is None:
    st.info(t("No attribution yet: the scheduler computes it {minutes} min apart, the first time shortly after it "
              "starts (`python -m cockpit run`).", minutes=settings.attribution_minutes))
    st.stop()

computed_minute, result = loaded.value
credit, campaigns = result["credit"], result["campaigns"]
st.caption(t("Orders placed {start} to {end} ({tz}): {orders:,} paid orders, {revenue:,.0f} revenue, {touches:,} "
             "marketing touches (journeys reach back 14 days before). Computed at {when}, every {minutes} min.",
             start=datetime_of_minute(result["start_minute"], tz).strftime("%Y-%m-%d %H:%M"),
             end=datetime_of_minute(result["end_minute"], tz).strftime("%Y-%m-%d %H:%M"), tz=tz.key,
             orders=result["orders"], revenue=result["revenue"], touches=result["touches"],
             when=datetime_of_minute(computed_minute + 1, tz).strftime("%H:%M"), minutes=settings.attribution_minutes))

if credit.empty:
    st.info(t("No paid order in the period yet."))
    st.stop()

st.subheader(t("Channel credit by model"))
measure = st.radio(t("Credit"), ["conversions", "revenue"], horizontal=True, key="attribution_measure",
                   format_func=lambda m: t("Orders") if m == "conversions" else t("Revenue"))
widgets.show_figure(charts.credit_figure(credit, measure, t("Who gets the credit, under each model")))
table = charts.credit_table(credit, measure)
exports.table(table.style.format(precision=1), hide_index=True, width="stretch", height=36 * (len(table) + 1) + 2, name="attribution-credit")
with st.expander(t("How the models share an order")):
    for model in charts.MODEL_LABELS:
        st.markdown(f"**{t(charts.MODEL_LABELS[model])}**: {t(charts.MODEL_HELP[model])}")

st.subheader(t("ROI of the paid channels under each model"))
roi = charts.roi_table(credit)
if roi.empty:
    st.info(t("No ad spend in the period."))
else:
    st.caption(t("A channel whose ROI changes sign between models is one to test before cutting or growing its "
                 "budget: the models disagree on what it brings."))
    exports.table(roi.style.format(precision=2), hide_index=True, width="stretch", name="attribution-roi")

st.subheader(t("Campaigns: new or returning customers?"))
st.caption(t("Each order as the shop credited it (its campaign); new means the customer's first paid order ever."))
if result["history_start_minute"] is not None and result["history_start_minute"] > result["start_minute"] - 90 * 1440:
    st.warning(t("The order history starts {day}: customers who bought before then look new here until the "
                 "database holds a longer history.",
                 day=datetime_of_minute(result["history_start_minute"], tz).strftime("%Y-%m-%d")))
widgets.show_figure(charts.campaign_split_figure(campaigns, t("Revenue by customer type, and spend")))
exports.table(charts.campaign_split_table(campaigns), hide_index=True, width="stretch",
             column_config=charts.campaign_split_formats(), name="attribution-campaign-split")
