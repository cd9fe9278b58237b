"""Figures and display tables of the customer pages (Customers, Customer 360, Experiments):
plotly builders and small frame shapers, so the pages only choose what to show."""
from __future__ import annotations

import math
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from cockpit.ui.charts import _layout
from cockpit.ui import i18n
from cockpit.ui.i18n import N_, t
from models import rfm

CUSTOMER_PAGE = "/customer"
SEGMENT_COLOURS = {
    "important_value": "#30a46c", "important_development": "#3e63dd", "important_retention": "#f5a524",
    "important_win_back": "#e5484d", "ordinary_value": "#8fd6a9", "ordinary_development": "#9db1f0",
    "ordinary_retention": "#f8d089", "ordinary_win_back": "#f3a5a7", rfm.NOT_YET_CUSTOMER: "#8b8d98",
}


def segment_name(key: str) -> str:
    return t(rfm.segment_label(key)) if key in rfm.SEGMENT_LABELS else key


def customer_url(customer_id) -> str:
    return f"{CUSTOMER_PAGE}?id={int(customer_id)}"


def customer_link(customer_id) -> str:
    """Markdown link to the customer's Customer 360 page."""
    return f"[{int(customer_id)}]({customer_url(customer_id)})"


def money(value, digits: int = 0) -> str:
    return i18n.money(value, digits)


def day_text(day: int) -> str:
    return (pd.Timestamp("1970-01-01") + pd.Timedelta(days=int(day))).strftime("%Y-%m-%d")


def local_stamp(ts_utc: pd.Series, tz: ZoneInfo, fmt: str = "%Y-%m-%d %H:%M") -> pd.Series:
    return pd.to_datetime(ts_utc.astype("int64"), unit="s", utc=True).dt.tz_convert(tz).dt.strftime(fmt)


CUSTOMER_LINK = st.column_config.LinkColumn(N_("Customer"), display_text=r"id=(\d+)")


def fit_caption(fit: dict | None, tz: ZoneInfo, minutes: int) -> str:
    """What the newest scoring run did, in one line."""
    if not fit:
        return ""
    when = pd.Timestamp(fit["computed_ts"], unit="s", tz="UTC").tz_convert(tz).strftime("%Y-%m-%d %H:%M")
    text = t("{n:,} customers scored as of {day} (the last complete day) at {when} ({tz}), every {minutes} min.",
             n=int(fit["customers"]), day=day_text(fit["as_of_day"]), when=when, tz=tz.key, minutes=minutes)
    if fit.get("error"):
        return text + " " + t("CLV not computed yet: {reason}", reason=i18n.say(fit["error"]))
    p = fit["params"]
    return text + " " + t("CLV: BG/NBD (r {r:.2f}, α {alpha:.2f}, a {a:.3g}, b {b:.3g}) × Gamma-Gamma (p {p:.2f}, "
                          "q {q:.2f}, v {v:.0f}), next {weeks} weeks, discounted {rate:.0%} a year.",
                          weeks=int(fit["horizon_weeks"]), rate=float(fit["annual_discount"]), **p)


# --- Customers page -----------------------------------------------------------------------------

SUMMARY_COLUMNS = {
    "segment": None,
    "label": st.column_config.TextColumn(N_("Segment")),
    "customers": st.column_config.NumberColumn(N_("Customers"), format="localized"),
    "share": None,  # the chart beside the table shows the shares
    "monetary": st.column_config.NumberColumn(N_("Spend so far"), format="yen"),
    "monetary_per_customer": None,
    "clv": st.column_config.NumberColumn(N_("CLV"), format="yen"),
    "clv_per_customer": st.column_config.NumberColumn(N_("CLV / customer"), format="yen"),
    "p_alive": st.column_config.NumberColumn(N_("P(alive)"), format="percent"),
}
SCORE_COLUMNS = {
    "customer": CUSTOMER_LINK,
    "segment": st.column_config.TextColumn(N_("Segment")),
    "clv": st.column_config.NumberColumn(N_("CLV"), format="yen"),
    "p_alive": st.column_config.NumberColumn(N_("P(alive)"), format="percent"),
    "monetary": st.column_config.NumberColumn(N_("Spend so far"), format="yen"),
    "frequency": st.column_config.NumberColumn(N_("Orders"), format="%d"),
    "recency_days": st.column_config.NumberColumn(N_("Days since last order"), format="%d"),
    "expected_purchases": st.column_config.NumberColumn(N_("Expected orders, 12 months"), format="%.1f"),
}
CAC_COLUMNS = {
    "channel": None,
    "name": st.column_config.TextColumn(N_("Channel")),
    "kind": st.column_config.TextColumn(N_("Kind")),
    "spend": st.column_config.NumberColumn(N_("Ad spend"), format="yen"),
    "new_customers": st.column_config.NumberColumn(N_("New customers"), format="localized"),
    "cac": st.column_config.TextColumn(N_("Acquisition cost"),
                                       help=N_("Ad spend over the new customers the channel brought (customers "
                                              "registered in the window, by their acquisition channel).")),
}


def cac_table(acquisition: pd.DataFrame) -> pd.DataFrame:
    """Acquisition cost as text: a channel without spend says so instead of showing a blank."""
    words = [money(v, 2) if v == v else (t("no ad spend") if s == 0 else t("no new customers"))
             for v, s in zip(acquisition["cac"], acquisition["spend"])]
    return acquisition.assign(cac=words)[list(CAC_COLUMNS)]


def summary_table(summary: pd.DataFrame) -> pd.DataFrame:
    return summary.assign(label=summary["segment"].map(segment_name))


def score_table(scores: pd.DataFrame, columns=None) -> pd.DataFrame:
    """Scores with a link per customer and the segment's name, for st.dataframe(column_config=SCORE_COLUMNS);
    `columns` picks some of SCORE_COLUMNS (default all)."""
    table = scores.assign(customer=scores["customer_id"].map(customer_url), segment=scores["segment"].map(segment_name))
    return table[list(columns or SCORE_COLUMNS)].reset_index(drop=True)


def segment_figure(summary: pd.DataFrame, title: str) -> go.Figure:
    """Each segment's share of customers against its share of value (CLV, or spend so far without CLV)."""
    value = "clv" if summary["clv"].notna().any() else "monetary"
    frame = summary.iloc[::-1]
    names = frame["segment"].map(segment_name)
    total = frame[value].sum() or 1.0
    figure = go.Figure()
    figure.add_bar(y=names, x=frame["share"], orientation="h", name=t("Share of customers"), marker_color="#8b8d98",
                   text=[f"{v:.0%}" for v in frame["share"]], textposition="outside")
    figure.add_bar(y=names, x=frame[value] / total, orientation="h",
                   name=t("Share of CLV") if value == "clv" else t("Share of spend"),
                   marker_color=[SEGMENT_COLOURS[s] for s in frame["segment"]],
                   text=[f"{v / total:.0%}" for v in frame[value]], textposition="outside")
    top = max(float(frame["share"].max()), float((frame[value] / total).max()), 0.01)
    figure.update_xaxes(tickformat=".0%", range=[0, top * 1.18])
    figure.update_layout(barmode="group")
    return _layout(figure, title, height=420)


def migration_figure(matrix: pd.DataFrame, title: str) -> go.Figure:
    """Customers by segment on the 'from' day (rows) and the 'to' day (columns), as a heat map."""
    rows = [segment_name(k) for k in matrix.index]
    columns = [segment_name(k) for k in matrix.columns]
    values = matrix.to_numpy(dtype="float64")
    figure = go.Figure(go.Heatmap(z=np.log1p(values), x=columns, y=rows, colorscale="Blues", showscale=False,
                                  text=matrix.to_numpy(), texttemplate="%{text:,}", customdata=matrix.to_numpy(),
                                  hovertemplate="%{y} → %{x}: %{customdata:,}<extra></extra>"))
    figure.update_yaxes(autorange="reversed", title=t("from"))
    figure.update_xaxes(title=t("to"), tickangle=-25)
    return _layout(figure, title, height=460)


def clv_figure(scores: pd.DataFrame, title: str) -> go.Figure:
    """Histogram of CLV (spend so far without CLV), the top 1% folded into the last bar."""
    column = "clv" if scores["clv"].notna().any() else "monetary"
    values = scores[column].dropna()
    cap = float(values.quantile(0.99)) if len(values) else 0.0
    figure = go.Figure(go.Histogram(x=values.clip(upper=cap), nbinsx=40, marker_color="#3e63dd"))
    figure.update_xaxes(tickprefix=i18n.currency_symbol(), title=t("CLV, next 12 months") if column == "clv" else t("Spend so far"))
    figure.update_yaxes(title=t("customers"))
    return _layout(figure, title + " " + t("(the top 1% in the last bar)"), height=340)


def cohort_figure(report, title: str) -> go.Figure:
    """Retention heat map: first-purchase cohorts as rows, periods since as columns."""
    # The newest cohort's own period is still running: a row with nothing complete is left out.
    matrix = report.retention_matrix().dropna(how="all")
    labels = [pd.Timestamp(c).strftime("%Y-%m-%d") for c in matrix.index]
    sizes = report.cohorts.set_index("cohort")["cohort_size"].reindex(matrix.index)
    rows = [f"{label} ({int(n):,})" for label, n in zip(labels, sizes)]
    values = matrix.to_numpy(dtype="float64")
    text = [[("" if math.isnan(v) else f"{v:.0%}") for v in row] for row in values]
    # Period 0 is 100% by definition: the colour scale follows the later periods.
    later = values[:, 1:] if values.shape[1] > 1 else values
    top = float(np.nanmax(later)) if np.isfinite(later).any() else 1.0
    figure = go.Figure(go.Heatmap(z=values, x=[str(c) for c in matrix.columns], y=rows, colorscale="Greens", zmin=0,
                                  zmax=max(top, 0.01), text=text, texttemplate="%{text}", showscale=False,
                                  hovertemplate="%{y}, +%{x}: %{z:.1%}<extra></extra>"))
    unit = t("weeks") if report.period == "W" else t("months")
    figure.update_xaxes(title=t("{unit} since first purchase", unit=unit), type="category")
    figure.update_yaxes(autorange="reversed", title=t("cohort (customers)"))
    return _layout(figure, title, height=360)


def new_returning_figure(mix: pd.DataFrame, title: str) -> go.Figure:
    figure = go.Figure()
    figure.add_bar(x=mix["day"], y=mix["returning_gmv"], name=t("Returning customers"), marker_color="#3e63dd")
    figure.add_bar(x=mix["day"], y=mix["new_gmv"], name=t("New customers"), marker_color="#f5a524")
    figure.update_layout(barmode="stack")
    figure.update_yaxes(tickprefix=i18n.currency_symbol())
    return _layout(figure, title, height=320)


def private_share_figure(mix: pd.DataFrame, title: str) -> go.Figure:
    figure = go.Figure(go.Scatter(x=mix["day"], y=mix["owned_share"], mode="lines+markers", line={"color": "#30a46c"},
                                  name=t("Private-domain share")))
    figure.update_yaxes(tickformat=".0%", rangemode="tozero")
    return _layout(figure, title, height=320)


# --- Customer 360 -------------------------------------------------------------------------------

ORDER_COLUMNS = {"placed": N_("Placed"), "order_id": st.column_config.NumberColumn(N_("Order"), format="%d"),
                 "channel": N_("Channel"), "campaign_id": N_("Campaign"), "status": N_("Status"),
                 "amount": st.column_config.NumberColumn(N_("Amount"), format="¤%.2f"),
                 "discount": st.column_config.NumberColumn(N_("Discount"), format="¤%.2f"),
                 "items": st.column_config.NumberColumn(N_("Items"), format="%d"), "skus": N_("SKUs")}
HISTORY_COLUMNS = {"day": N_("As of"), "segment": N_("Segment"),
                   "clv": st.column_config.NumberColumn(N_("CLV"), format="yen"),
                   "p_alive": st.column_config.NumberColumn(N_("P(alive)"), format="percent"),
                   "rfm_code": N_("R F M"),
                   "recency_days": st.column_config.NumberColumn(N_("Days since last order"), format="%d"),
                   "frequency": st.column_config.NumberColumn(N_("Orders"), format="%d"),
                   "monetary": st.column_config.NumberColumn(N_("Spend so far"), format="yen")}


def orders_table(orders: pd.DataFrame, tz: ZoneInfo) -> pd.DataFrame:
    return orders.assign(placed=local_stamp(orders["ts_utc"], tz))[list(ORDER_COLUMNS)]


def history_table(history: pd.DataFrame) -> pd.DataFrame:
    table = history.assign(day=history["as_of_day"].map(day_text), segment=history["segment"].map(segment_name),
                           rfm_code=history["r_score"].astype(str) + history["f_score"].astype(str)
                           + history["m_score"].astype(str))
    return table[list(HISTORY_COLUMNS)].iloc[::-1].reset_index(drop=True)


def history_figure(history: pd.DataFrame, title: str) -> go.Figure:
    """The customer's segment on each stored day (markers in the segment's colour) and CLV."""
    days = pd.Timestamp("1970-01-01") + pd.to_timedelta(history["as_of_day"], unit="D")
    figure = go.Figure(go.Scatter(x=days, y=history["segment"].map(segment_name), mode="lines+markers",
                                  line={"color": "#c0c2cc", "shape": "hv"},
                                  marker={"size": 12, "color": [SEGMENT_COLOURS.get(s, "#8b8d98") for s in history["segment"]]},
                                  name=t("Segment")))
    figure.update_yaxes(categoryorder="array", categoryarray=[segment_name(k) for k in reversed(rfm.SEGMENT_KEYS)])
    return _layout(figure, title, height=280)


def dated(frame: pd.DataFrame, tz: ZoneInfo, column: str = "ts_utc", label: str = "when") -> pd.DataFrame:
    """The frame with its epoch-seconds column shown as a local time in a first column `label`."""
    out = frame.assign(**{label: local_stamp(frame[column], tz)}).drop(columns=column)
    return out[[label, *[c for c in out.columns if c != label]]]


def channel_counts(orders: pd.DataFrame) -> pd.DataFrame:
    counts = orders.groupby("channel").agg(orders=("order_id", "size"), amount=("amount", "sum"))
    return counts.sort_values("orders", ascending=False).reset_index()


# --- Experiments --------------------------------------------------------------------------------

def effect_figure(report, title: str) -> go.Figure:
    """Each treatment's effect against the control with its interval, zero and the effect worth detecting."""
    conversion = report.metric == "conversion"
    scale = 100.0 if conversion else 1.0
    figure = go.Figure()
    for readout in report.readouts:
        figure.add_scatter(x=[readout.difference * scale], y=[f"{readout.treatment} − {readout.control}"], mode="markers",
                           marker={"size": 12, "color": "#3e63dd"}, showlegend=False,
                           error_x={"type": "data", "symmetric": False,
                                    "array": [(readout.ci_high - readout.difference) * scale],
                                    "arrayminus": [(readout.difference - readout.ci_low) * scale]})
    figure.add_vline(x=0, line_color="#8b8d98")
    if report.readouts:
        mde = report.readouts[0].minimum_detectable_effect * scale
        figure.add_vline(x=mde, line_dash="dot", line_color="#30a46c", annotation_text=t("effect worth detecting"),
                         annotation_position="top")
    figure.update_xaxes(title=t("difference in conversion (points)") if conversion else t("difference in revenue per user ({currency})", currency=i18n.currency_symbol()),
                        zeroline=False)
    return _layout(figure, title, height=200)


ARM_COLUMNS = {"arm": N_("Arm"), "users": st.column_config.NumberColumn(N_("Users"), format="%d"),
               "converters": st.column_config.NumberColumn(N_("Bought"), format="%d"),
               "conversion": st.column_config.NumberColumn(N_("Conversion"), format="percent"),
               "revenue": None,
               "revenue_per_user": st.column_config.NumberColumn(N_("Revenue per user"), format="¤%.2f")}
