"""Figures and display tables of the Logistics & supply page."""
from __future__ import annotations

from zoneinfo import ZoneInfo

import pandas as pd
import plotly.graph_objects as go

from cockpit.ui.charts import _layout
from cockpit.ui.customer_charts import local_stamp
from cockpit.ui.i18n import t
from cockpit.ui.product_charts import days_text, share

TIER_HEX = {"forward": "#3e63dd", "regional": "#8da4ef"}


def delivery_figure(by_region: pd.DataFrame, spread_limit: float) -> go.Figure:
    """Median delivery days per region and tier, whiskers up to the 90th percentile; regions
    whose spread exceeds the limit are named in the title."""
    figure = go.Figure()
    for tier, part in by_region.groupby("tier", sort=True):
        figure.add_bar(x=part["region"], y=part["median_days"], name=t("{tier} warehouse", tier=tier),
                       marker_color=TIER_HEX.get(tier, "#8b8d98"),
                       error_y={"type": "data", "symmetric": False, "array": part["p90_days"] - part["median_days"],
                                "arrayminus": [0] * len(part), "color": "#6f6e77"},
                       customdata=part[["spread_days", "on_time_rate", "parcels"]],
                       hovertemplate="%{x}: median %{y:.1f} d, spread %{customdata[0]:.1f} d, "
                                     "%{customdata[1]:.0%} on time, %{customdata[2]} parcels<extra></extra>")
    figure.update_layout(barmode="group")
    figure.update_yaxes(title_text=t("days, payment to door"))
    return _layout(figure, t("Delivery time by destination region: median, whisker to the 90th percentile "
                             "(a spread over {limit:g} days is a problem)", limit=spread_limit), height=340)


def region_table(by_region: pd.DataFrame, spread_limit: float) -> pd.DataFrame:
    return pd.DataFrame({
        t("Region"): by_region["region"], t("Warehouse tier"): by_region["tier"], t("Parcels"): by_region["parcels"],
        t("Median"): by_region["median_days"].map(days_text), t("90th percentile"): by_region["p90_days"].map(days_text),
        t("Spread (P90 - P10)"): by_region["spread_days"].map(
            lambda d: days_text(d) + (" ⚠" if d > spread_limit else "")),
        t("On time"): by_region["on_time_rate"].map(share), t("Late"): by_region["late"],
    })


def late_table(late: pd.DataFrame, tz: ZoneInfo, limit: int = 200) -> pd.DataFrame:
    late = late.head(limit)
    return pd.DataFrame({
        t("Order"): late["order_id"].astype("str"), t("From"): late["warehouse_id"], t("To"): late["region"],
        t("Carrier"): late["carrier"], t("Shipped"): local_stamp(late["shipped_ts_utc"], tz),
        t("Promised by"): local_stamp(late["promised_ts_utc"], tz),
        t("Hours late"): late["hours_late"].round(1),
    })


def cost_figure(split: pd.DataFrame, by: str, title: str) -> go.Figure:
    figure = go.Figure(go.Bar(x=split[by], y=split["share_of_revenue"] * 100, marker_color="#3e63dd",
                              customdata=split[["cost", "parcels", "cost_per_parcel"]],
                              hovertemplate="%{x}: %{y:.1f}% of revenue, %{customdata[0]:,.0f} for %{customdata[1]} "
                                            "parcels (%{customdata[2]:.1f} each)<extra></extra>"))
    figure.update_yaxes(title_text=t("% of revenue"))
    return _layout(figure, title, height=280)


def cost_table(split: pd.DataFrame, by: str, label: str) -> pd.DataFrame:
    return pd.DataFrame({
        label: split[by], t("Parcels"): split["parcels"], t("Cost"): split["cost"].round(0),
        t("Per parcel"): split["cost_per_parcel"].round(2), t("Share of cost"): split["share_of_cost"].map(share),
        t("Share of revenue"): split["share_of_revenue"].map(share),
    })


def returns_figure(channels: pd.DataFrame) -> go.Figure:
    frame = channels.dropna(subset=["return_rate"])
    figure = go.Figure(go.Bar(x=frame["channel"], y=frame["return_rate"] * 100, marker_color="#e5484d",
                              customdata=frame[["units_returned", "units_sold", "resold_share"]],
                              hovertemplate="%{x}: %{y:.1f}% (%{customdata[0]} of %{customdata[1]} units), "
                                            "%{customdata[2]:.0%} sold again<extra></extra>"))
    figure.update_yaxes(title_text=t("% of units sold"))
    return _layout(figure, t("Return rate by sales channel"), height=300)


def returns_table(channels: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        t("Channel"): channels["channel"], t("Units sold"): channels["units_sold"],
        t("Units returned"): channels["units_returned"], t("Return rate"): channels["return_rate"].map(share),
        t("Sold again"): channels["resold_share"].map(share),
        t("Scrapped"): channels["resold_share"].map(lambda s: share(1 - s) if s == s else "–"),
        t("Refunds"): channels["refunds"].round(0),
    })


def supplier_table(suppliers: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        t("Supplier"): suppliers["supplier"], t("Orders"): suppliers["orders"], t("Received"): suppliers["received"],
        t("Open"): suppliers["open"], t("Overdue"): suppliers["overdue"],
        t("Lead time (median)"): suppliers["lead_time_days"].map(days_text),
        t("On time"): suppliers["on_time_rate"].map(share), t("Fill rate"): suppliers["fill_rate"].map(share),
    })
