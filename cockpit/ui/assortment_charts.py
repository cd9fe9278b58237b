"""Figures and display tables of the Products page."""
from __future__ import annotations

import math
from zoneinfo import ZoneInfo

import pandas as pd
import plotly.graph_objects as go

from cockpit.ui.charts import _layout
from cockpit.ui.customer_charts import local_stamp
from cockpit.ui.i18n import say, t
from cockpit.ui.product_charts import days_text, product_url, share
from models.assortment import BANDS

SUGGESTIONS = {"flash_sale": "Flash sale", "community_clearance": "Community clearance"}
STATUS_WORDS = {"succeeded": "✅ succeeded", "failed": "❌ failed", "incubating": "⏳ incubating"}
BAND_HEX = {"entry": "#8da4ef", "core": "#3e63dd", "upper": "#30a46c", "premium": "#f5a524"}


def category_figure(categories: pd.DataFrame, target_days: float) -> go.Figure:
    frame = categories.replace([math.inf], None)
    figure = go.Figure(go.Bar(x=frame["category"], y=frame["turnover_days"], marker_color="#3e63dd",
                              customdata=categories[["stockout_rate", "slow_mover_share"]],
                              hovertemplate="%{x}: %{y:.1f} days of stock, %{customdata[0]:.1%} of pairs out, "
                                            "%{customdata[1]:.1%} slow<extra></extra>"))
    figure.add_hline(y=target_days, line_dash="dash", line_color="#e5484d",
                     annotation_text=t("target {days:g} days", days=target_days))
    figure.update_yaxes(title_text=t("days of stock at the last 30 days' pace"))
    return _layout(figure, t("Stock turnover by category"), height=320)


def category_table(categories: pd.DataFrame, stockout_target: float) -> pd.DataFrame:
    return pd.DataFrame({
        t("Category"): categories["category"], t("SKUs"): categories["skus"], t("On hand"): categories["on_hand"],
        t("Sold, 30 d"): categories["units_sold_30d"], t("Turnover (days)"): categories["turnover_days"].map(lambda d: days_text(d, "")),
        t("Stock-out rate"): categories["stockout_rate"].map(
            lambda r: share(r) + (" ⚠" if r > stockout_target else "")),
        t("Slow movers"): categories["slow_mover_share"].map(share),
    })


def slow_table(slow: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "sku": slow["sku"].map(product_url), t("Product"): slow["name"], t("Category"): slow["category"],
        t("On hand"): slow["on_hand"],
        t("Days since last sale"): slow["days_since_last_sale"].map(
            lambda d: t("none in 30 days") if math.isinf(d) else f"{d:.0f}"),
        t("Suggested"): slow["suggestion"].map(lambda s: t(SUGGESTIONS.get(s, s))),
    })


def slow_label(slow: pd.DataFrame, sku: str) -> str:
    row = slow.set_index("sku").loc[sku]
    return t("{sku} · {name} · {on_hand} on hand", sku=sku, name=row["name"], on_hand=f"{int(row['on_hand']):,}")


def clearance_table(clearances: pd.DataFrame, tz: ZoneInfo) -> pd.DataFrame:
    return pd.DataFrame({
        "sku": clearances["sku"].map(product_url), t("Product"): clearances["name"],
        t("Kind"): clearances["kind"].map(lambda k: t(SUGGESTIONS.get(k, k))),
        t("Discount"): clearances["discount_pct"].map(lambda d: f"{d:g}%"),
        t("From"): local_stamp(clearances["start_ts_utc"], tz, "%m-%d %H:%M"),
        t("Until"): local_stamp(clearances["end_ts_utc"], tz, "%m-%d %H:%M"),
        t("Status"): clearances["running"].map(lambda r: t("running") if r else t("ended")),
        t("Extra units sold"): clearances["effect"].round(0),
        t("Did it work?"): clearances["verdict"].map(say), t("By"): clearances["created_by"],
    })


def new_products_table(new: pd.DataFrame, tz: ZoneInfo) -> pd.DataFrame:
    return pd.DataFrame({
        "sku": new["sku"].map(product_url), t("Product"): new["name"], t("Category"): new["category"],
        t("Launched"): local_stamp(new["launched_ts_utc"], tz, "%Y-%m-%d"), t("Days live"): new["days_live"].round(0),
        t("Sold since launch"): new["units_since_launch"], t("On hand"): new["on_hand"],
        t("Sell-through"): new["sell_through"].map(share),
        t("Units/day, first 4 weeks"): new["first_weeks_per_day"].round(1),
        t("Category's usual units/day"): new["category_per_day"].round(1),
        t("Incubation"): new["status"].map(lambda s: t(STATUS_WORDS.get(s, s))),
    })


def price_band_figure(bands: pd.DataFrame) -> go.Figure:
    """Each category's price bands: where the units sell (bar height: share of the category's
    units) and at what margin (hover)."""
    figure = go.Figure()
    for band in BANDS:
        part = bands[bands["band"] == band]
        figure.add_bar(x=part["category"], y=part["unit_share"] * 100, name=t(band), marker_color=BAND_HEX[band],
                       customdata=part[["price_min", "price_max", "margin"]],
                       hovertemplate="%{x} " + band + ": %{y:.0f}% of units, price %{customdata[0]:.0f}-"
                                     "%{customdata[1]:.0f}, margin %{customdata[2]:.0%}<extra></extra>")
    figure.update_layout(barmode="stack")
    figure.update_yaxes(title_text=t("% of the category's units"))
    return _layout(figure, t("Where each category sells, by price band (quartiles of its prices)"), height=340)


def band_table(bands: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        t("Category"): bands["category"], t("Band"): bands["band"].map(t), t("SKUs"): bands["skus"],
        t("Price"): [f"{lo:,.1f} - {hi:,.1f}" for lo, hi in zip(bands["price_min"], bands["price_max"])],
        t("Margin"): bands["margin"].map(share), t("Units, 28 d"): bands["units"],
        t("Share of units"): bands["unit_share"].map(share),
    })


def trend_table(terms: pd.DataFrame, limit: int = 15) -> pd.DataFrame:
    frame = terms.head(limit)
    return pd.DataFrame({
        t("Search term"): frame["term"], t("Category"): frame["category"],
        t("This period"): frame["current"], t("Period before"): frame["previous"],
        t("Growth"): frame["growth"].map(lambda g: t("new") if math.isinf(g) else "–" if g != g else f"{g:.1f}x"),
        t("Rising"): frame["is_rising"].map({True: "▲", False: ""}),
        t("Stocked"): frame["stocked"].map({True: t("yes"), False: t("no: a candidate to stock")}),
    })


def trend_figure(daily: pd.DataFrame, terms: list[str]) -> go.Figure:
    """Daily searches of the given terms."""
    figure = go.Figure()
    for term in terms:
        part = daily[daily["term"] == term]
        figure.add_scatter(x=part["day"], y=part["searches"], mode="lines", name=term)
    figure.update_yaxes(title_text=t("searches per day"), rangemode="tozero")
    return _layout(figure, t("Searches per day of the rising terms"), height=300)


def category_trend_table(categories: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        t("Category"): categories["category"], t("This period"): categories["current"],
        t("Period before"): categories["previous"],
        t("Growth"): categories["growth"].map(lambda g: "–" if g != g or math.isinf(g) else f"{g:.2f}x"),
        t("Rising"): categories["is_rising"].map({True: "▲", False: ""}),
    })
