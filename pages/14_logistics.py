"""Logistics & supply: delivery time by destination region and warehouse tier with its spread
and on-time rate, late parcels now in flight, the logistics cost share of revenue and where it
goes, returns by sales channel, and suppliers' lead times and fill rates."""
import streamlit as st

from cockpit.logistics import SUPPLIER_DAYS, WINDOWS
from cockpit.ui import exports, loaders, shell, widgets
from cockpit.ui import logistics_charts as lc
from cockpit.ui.i18n import t
from cockpit.ui.product_charts import hours_text, share
from models.logistics import COST_SHARE_PROBLEM, SPREAD_PROBLEM_DAYS

shell.require_frame()
settings = loaders.settings()
tz = settings.tz

st.title(t("Logistics & supply"))
fresh = loaders.freshness(settings.db_url, settings.refresh_seconds)
widgets.freshness_badge(fresh, tz, settings.refresh_seconds)
if fresh.data_minute is None:
    st.stop()

days = st.segmented_control(t("Window"), WINDOWS, default=WINDOWS[0], key="logistics_days",
                            format_func=lambda d: t("last {days} days", days=d)) or WINDOWS[0]
loaded = loaders.guarded(f"logistics:{days}", fresh.data_minute, loaders.logistics_page, settings.db_url,
                         fresh.data_minute, settings.timezone, int(days))
if not widgets.load_marker(loaded, tz):
    st.stop()
value = loaded.value
delivery, target = value["delivery"], settings.target_logistics_cost_share

tiles = st.columns(6)
tiles[0].metric(t("Parcels delivered"), f"{delivery['parcels']:,}")
tiles[1].metric(t("Delivery time, median"), lc.days_text(delivery["median_days"]))
tiles[2].metric(t("Spread (P90 - P10)"), lc.days_text(delivery["spread_days"]))
tiles[3].metric(t("On time"), share(delivery["on_time_rate"]),
                delta=None if delivery["on_time_rate"] != delivery["on_time_rate"] else
                t("{points:+.1f} pts vs target", points=(delivery["on_time_rate"] - settings.target_on_time_rate) * 100))
tiles[4].metric(t("Late, in flight now"), f"{len(value['late']):,}", help=t("of {n:,} parcels in flight",
                                                                             n=value["in_flight"]))
tiles[5].metric(t("Logistics cost / revenue"), share(value["cost_share"]),
                delta=None if value["cost_share"] != value["cost_share"] else
                t("{points:+.1f} pts vs target", points=(value["cost_share"] - target) * 100), delta_color="inverse")
if value["cost_share"] > COST_SHARE_PROBLEM:
    st.error(t("Logistics cost is {share} of revenue: over the {problem} problem level (target {target}).",
               share=share(value["cost_share"]), problem=share(COST_SHARE_PROBLEM), target=share(target)))
if value["fluctuating_regions"]:
    st.warning(t("Delivery times to {regions} vary by more than {days:g} days between fast and slow parcels.",
                 regions=", ".join(value["fluctuating_regions"]), days=SPREAD_PROBLEM_DAYS))

st.subheader(t("Delivery time"))
if delivery["parcels"] == 0:
    st.info(t("No parcel delivered in the window."))
else:
    widgets.show_figure(lc.delivery_figure(value["delivery_by_region"], SPREAD_PROBLEM_DAYS))
    with st.expander(t("By region and warehouse tier")):
        exports.table(lc.region_table(value["delivery_by_region"], SPREAD_PROBLEM_DAYS), hide_index=True,
                     width="stretch", name="logistics-delivery-by-region")
        exports.table(lc.region_table(value["delivery_by_tier"], SPREAD_PROBLEM_DAYS).drop(columns=[t("Region")]),
                     hide_index=True, width="stretch", name="logistics-delivery-by-tier")

st.subheader(t("Late parcels in flight"))
left, right = st.columns([1, 2])
exports.table(value["in_flight_by_region"].rename(columns={
    "region": t("Region"), "in_flight": t("In flight"), "late": t("Late"), "due_within_a_day": t("Due within a day")}),
    hide_index=True, width="stretch", name="logistics-in-flight", container=left)
if value["late"].empty:
    right.success(t("No parcel in flight is past its promised time."))
else:
    exports.table(lc.late_table(value["late"], tz), hide_index=True, width="stretch", height=260, name="logistics-late", container=right)

st.subheader(t("Logistics cost"))
st.caption(t("{cost:,.0f} of shipping for {revenue:,.0f} of revenue: {share} (target {target}, problem level "
             "{problem}).", cost=value["cost_by_tier"]["cost"].sum(), revenue=value["revenue"],
             share=share(value["cost_share"]), target=share(target), problem=share(COST_SHARE_PROBLEM)))
split = st.segmented_control(t("Split by"), ["tier", "carrier", "region"], default="tier", key="logistics_split",
                             format_func=lambda by: {"tier": t("Warehouse tier"), "carrier": t("Carrier"),
                                                     "region": t("Destination region")}[by]) or "tier"
frame = value[f"cost_by_{split}"]
left, right = st.columns(2)
with left:
    widgets.show_figure(lc.cost_figure(frame, split, t("Logistics cost as a share of revenue")))
exports.table(lc.cost_table(frame, split, t(split.capitalize())), hide_index=True, width="stretch", name="logistics-cost", container=right)

st.subheader(t("Returns by sales channel"))
left, right = st.columns(2)
with left:
    widgets.show_figure(lc.returns_figure(value["returns_by_channel"]))
exports.table(lc.returns_table(value["returns_by_channel"]), hide_index=True, width="stretch", name="logistics-returns", container=right)
flow = value["returns_flow"]
tiles = st.columns(4)
tiles[0].metric(t("Back on sale"), share(flow["back_on_sale_share"]),
                help=t("{units} units inspected and back on sale, of the returns whose fate is known.",
                       units=f"{flow['back_on_sale_units']:,}"))
tiles[1].metric(t("Scrapped"), share(flow["scrapped_share"]), help=t("{units} units not fit to sell again.",
                                                                       units=f"{flow['scrapped_units']:,}"))
tiles[2].metric(t("Awaiting inspection"), f"{flow['awaiting_units']:,}")
tiles[3].metric(t("Received to back on sale"), hours_text(flow["hours_to_back_median"]),
                help=t("Median time from a return's arrival to its units being on sale again; 90% within {p90}.",
                       p90=hours_text(flow["hours_to_back_p90"])))

st.subheader(t("Suppliers"))
st.caption(t("Replenishment orders placed in the last {days} days: lead time from order to receipt, share received by "
             "the expected time, and units received of those ordered.", days=SUPPLIER_DAYS))
exports.table(lc.supplier_table(value["suppliers"]), hide_index=True, width="stretch", name="logistics-supplier")
