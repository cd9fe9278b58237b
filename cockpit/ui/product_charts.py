"""Figures and display tables of the Product 360 page, and the link every SKU panel uses to
open it (`/product?sku=ID`)."""
from __future__ import annotations

import math
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from cockpit import alerts as alert_rules
from cockpit.ui.charts import POSITION_WORDS, _layout, translated
from cockpit.ui.customer_charts import local_stamp, money
from cockpit.ui.i18n import N_, t
from cockpit.ui.widgets import LEVEL_WORDS, alert_texts
from models.product import GROUP_ORDER

PRODUCT_PAGE = "/product"
GROUP_HEX = {"quality problem": "#e5484d", "transport damage": "#f5a524", "other": "#8b8d98"}
GROUP_WORDS = {"quality problem": "Quality problem", "transport damage": "Transport damage", "other": "Other"}
REASON_WORDS = {"quality": "Quality", "transport_damage": "Transport damage", "size_fit": "Size / fit",
                "changed_mind": "Changed mind", "other": "Other"}


def product_url(sku: str) -> str:
    return f"{PRODUCT_PAGE}?sku={quote(str(sku), safe='')}"


# A table column of product_url()s shown as the SKU itself.
SKU_LINK = st.column_config.LinkColumn(N_("SKU"), display_text=r"sku=(.+)$")


def with_product_links(frame: pd.DataFrame, column: str = "sku") -> pd.DataFrame:
    """The frame with its SKU column turned into Product 360 links (show it with SKU_LINK)."""
    return frame.assign(**{column: frame[column].map(product_url)})


def share(value: float) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.1%}"


def days_text(value: float | None, suffix: str = " d") -> str:
    """A number of days to one decimal: "–" when unknown (None, NaN), "∞" when endless."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return "∞" if math.isinf(value) else f"{value:.1f}{suffix}"


def hours_text(value: float | None) -> str:
    """A duration given in hours: "30 h" up to two days, then days ("3.5 d"); "–" when unknown."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.0f} h" if value < 48 else days_text(value / 24)


def sales_figure(daily: pd.DataFrame) -> go.Figure:
    """Units sold (bars) and revenue (line, right axis) per day."""
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    figure.add_bar(x=daily["day"], y=daily["units_sold"], name=t("Units sold"), marker_color="#3e63dd")
    figure.add_scatter(x=daily["day"], y=daily["revenue"], name=t("Revenue"), mode="lines+markers",
                       line={"color": "#30a46c"}, secondary_y=True)
    figure.update_yaxes(title_text=t("units"), secondary_y=False, rangemode="tozero")
    figure.update_yaxes(title_text=t("revenue"), secondary_y=True, rangemode="tozero", showgrid=False)
    return _layout(figure, t("Sales and revenue per day"))


def stock_table(stock: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        t("Warehouse"): stock["warehouse_id"],
        t("On hand"): stock["on_hand"],
        t("Safety stock"): stock["safety_stock"],
        t("Reorder point"): stock["reorder_point"],
        t("On order"): stock["on_order"],
        t("Units/day (7 d)"): stock["daily_velocity"].round(1),
        t("Days of cover"): stock["days_of_cover"].map(lambda d: "∞" if math.isinf(d) else f"{d:.1f}"),
        t("Water level"): stock["level_position"].map(lambda p: t(POSITION_WORDS[p]) if p in POSITION_WORDS else p),
        t("Open"): "/stock-levels?sku=" + stock["sku"].map(lambda s: quote(s, safe="")) + "&wh=" + stock["warehouse_id"],
    })


def stock_columns() -> dict:
    """The stock table's link column, keyed by its translated name (stock_table names it so)."""
    return {t("Open"): st.column_config.LinkColumn(t("Open"), display_text=t("stock page"))}


def stock_figure(stock: pd.DataFrame) -> go.Figure:
    """On hand per warehouse against its safety stock and reorder point."""
    figure = go.Figure()
    figure.add_bar(x=stock["warehouse_id"], y=stock["on_hand"], name=t("On hand"), marker_color="#3e63dd")
    figure.add_scatter(x=stock["warehouse_id"], y=stock["safety_stock"], mode="markers", name=t("Safety stock"),
                       marker={"symbol": "line-ew-open", "size": 40, "color": "#e5484d", "line": {"width": 3}})
    figure.add_scatter(x=stock["warehouse_id"], y=stock["reorder_point"], mode="markers", name=t("Reorder point"),
                       marker={"symbol": "line-ew-open", "size": 40, "color": "#f5a524", "line": {"width": 3}})
    return _layout(figure, t("Stock per warehouse"), height=300)


def pending_table(pending: pd.DataFrame, tz: ZoneInfo) -> pd.DataFrame:
    return pd.DataFrame({
        t("Order"): pending["replenishment_id"], t("Warehouse"): pending["warehouse_id"], t("Units"): pending["qty"],
        t("Ordered"): local_stamp(pending["created_ts_utc"], tz), t("Expected"): local_stamp(pending["expected_ts_utc"], tz),
        t("Overdue"): pending["is_overdue"].map({True: t("yes"), False: ""}), t("By"): pending["created_by"],
    })


def delivery_figure(by_region: pd.DataFrame) -> go.Figure:
    """Median delivery days (payment to door) per destination region and warehouse tier."""
    figure = go.Figure()
    for tier, colour in (("forward", "#3e63dd"), ("regional", "#8da4ef")):
        part = by_region[by_region["tier"] == tier]
        if len(part):
            figure.add_bar(x=part["region"], y=part["median_days"], name=t("{tier} warehouse", tier=tier),
                           marker_color=colour, customdata=part[["parcels", "on_time_rate"]],
                           hovertemplate="%{x}: %{y:.1f} d, %{customdata[0]} parcels, "
                                         "%{customdata[1]:.0%} on time<extra></extra>")
    figure.update_layout(barmode="group")
    figure.update_yaxes(title_text=t("days, payment to door"))
    return _layout(figure, t("Delivery time by destination region (median)"), height=300)


def returns_figure(by_day: pd.DataFrame) -> go.Figure:
    """Returned units per day, stacked by cause."""
    figure = go.Figure()
    for group in GROUP_ORDER:
        part = by_day[by_day["group"] == group]
        figure.add_bar(x=part["day"], y=part["units"], name=t(GROUP_WORDS[group]), marker_color=GROUP_HEX[group])
    figure.update_layout(barmode="stack")
    return _layout(figure, t("Returned units per day, by cause"), height=300)


def breakdown_table(breakdown: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        t("Cause"): breakdown["group"].map(lambda g: t(GROUP_WORDS.get(g, g))),
        t("Reason"): breakdown["reason"].map(lambda r: t(REASON_WORDS.get(r, r))),
        t("Units"): breakdown["units"], t("Share"): breakdown["share"].map(share),
    })


def rating_figure(trend: pd.DataFrame) -> go.Figure:
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    figure.add_bar(x=trend["week"], y=trend["reviews"], name=t("Reviews"), marker_color="#d0d7e5")
    figure.add_scatter(x=trend["week"], y=trend["mean_rating"], name=t("Mean rating"), mode="lines+markers",
                       line={"color": "#f5a524"}, secondary_y=True)
    figure.update_yaxes(title_text=t("reviews"), secondary_y=False, showgrid=False)
    figure.update_yaxes(title_text=t("rating"), range=[1, 5.2], secondary_y=True)
    return _layout(figure, t("Review ratings per week"), height=300)


def review_lines(reviews: pd.DataFrame, tz: ZoneInfo) -> list[str]:
    """'★★☆☆☆ 2026-11-20: text' lines (markdown-safe)."""
    stamps = local_stamp(reviews["ts_utc"], tz, "%Y-%m-%d")
    return [f"{'★' * int(r)}{'☆' * (5 - int(r))} {day}: {_plain(text)}"
            for r, day, text in zip(reviews["rating"], stamps, reviews["text"])]


def _plain(text: str) -> str:
    """Customer text shown as text: markdown characters escaped."""
    out = str(text)
    for char in "\\`*_{}[]<>()#+-.!|$":
        out = out.replace(char, "\\" + char)
    return out


def alerts_table(alerts: pd.DataFrame, tz: ZoneInfo) -> pd.DataFrame:
    opened = local_stamp(alerts["opened_minute"] * 60, tz)
    resolved = alerts["resolved_minute"].map(
        lambda m: "" if pd.isna(m) else pd.Timestamp(int(m) * 60, unit="s", tz="UTC").tz_convert(tz).strftime(
            "%Y-%m-%d %H:%M"))
    return pd.DataFrame({t("Opened"): opened, t("Resolved"): resolved,
                         t("Level"): translated(alerts["level"], LEVEL_WORDS),
                         t("Rule"): alerts["rule_name"].map(alert_rules.rule_name), t("Entity"): alerts["entity_id"],
                         t("Status"): translated(alerts["status"], alert_rules.STATUS_WORDS),
                         t("Message"): alert_texts(alerts)})


def tiles(value: dict) -> list[tuple[str, str]]:
    """(label, value) of the page's headline tiles."""
    stock = value["stock"]
    cover = stock["on_hand"].clip(lower=0).sum() / stock["daily_velocity"].sum() if stock["daily_velocity"].sum() else math.inf
    return [
        (t("Units sold, 30 d"), f"{value['units_sold']:,}"),
        (t("Revenue, 30 d"), money(value["revenue"])),
        (t("On hand"), f"{int(stock['on_hand'].clip(lower=0).sum()):,}"),
        (t("Days of cover"), "∞" if math.isinf(cover) else f"{cover:.1f}"),
        (t("Return rate, 30 d"), share(value["return_rate"])),
        (t("Mean rating"), "–" if math.isnan(value["mean_rating"]) else f"{value['mean_rating']:.2f} ★"),
    ]
