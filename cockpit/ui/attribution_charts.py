"""Figures and display tables for the Attribution page."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from cockpit.ui.charts import _layout
from cockpit.ui.i18n import N_, t
from models.attribution import DIRECT

MODEL_LABELS = {
    "last_touch": N_("Last touch"), "first_touch": N_("First touch"), "linear": N_("Linear"),
    "time_decay": N_("Time decay"), "position_based": N_("Position-based"), "markov": N_("Data-driven (Markov)"),
}
MODEL_HELP = {
    "last_touch": N_("The whole order goes to the touch just before it."),
    "first_touch": N_("The whole order goes to the touch that started the journey."),
    "linear": N_("Every touch of the journey gets an equal share."),
    "time_decay": N_("Touches closer to the order get more; a touch a week earlier counts half."),
    "position_based": N_("40% to the first touch, 40% to the last, 20% shared by the ones between."),
    "markov": N_("Each channel gets the share of orders that would be lost without it, learnt from every "
                "journey, the ones that did not convert too."),
}


def channel_label(channel: str) -> str:
    """A channel as shown: the shop's name for it, or "direct" (orders with no touch) translated."""
    return t("direct") if channel == DIRECT else channel


def credit_figure(credit: pd.DataFrame, measure: str, title: str) -> go.Figure:
    """Grouped bars: per channel, its credit under each model."""
    figure = go.Figure()
    channels = (credit[credit["model"] == "last_touch"].sort_values(measure, ascending=False)["channel"].tolist()
                or sorted(credit["channel"].unique()))
    for model in MODEL_LABELS:
        rows = credit[credit["model"] == model].set_index("channel").reindex(channels)
        figure.add_bar(x=[channel_label(c) for c in channels], y=rows[measure].fillna(0.0), name=t(MODEL_LABELS[model]))
    figure.update_layout(barmode="group", yaxis_title=t("Orders credited") if measure == "conversions" else t("Revenue"))
    return _layout(figure, title, height=380)


def credit_table(credit: pd.DataFrame, measure: str) -> pd.DataFrame:
    """Channels down, models across: each channel's credited orders (or ROI) per model."""
    table = credit.pivot_table(index="channel", columns="model", values=measure, aggfunc="sum", dropna=False)
    table = table.reindex(columns=[m for m in MODEL_LABELS if m in table.columns])
    table = table.sort_values(table.columns[0], ascending=False) if len(table.columns) else table
    table.columns = [t(MODEL_LABELS[m]) for m in table.columns]
    table.index = [channel_label(c) for c in table.index]
    table.index.name = t("Channel")
    return table.reset_index()


def roi_table(credit: pd.DataFrame) -> pd.DataFrame:
    """Paid channels only (spend > 0): spend and ROI under each model, with the spread between
    the most and least favourable model."""
    paid = credit[credit["spend"] > 0]
    if paid.empty:
        return pd.DataFrame()
    table = paid.pivot_table(index="channel", columns="model", values="roi", aggfunc="first")
    table = table.reindex(columns=[m for m in MODEL_LABELS if m in table.columns])
    spend = paid.groupby("channel")["spend"].first()
    out = pd.DataFrame({t("Channel"): table.index, t("Spend"): spend.reindex(table.index).to_numpy()})
    for model in table.columns:
        out[t(MODEL_LABELS[model])] = table[model].to_numpy()
    out[t("ROI range across models")] = (table.max(axis=1) - table.min(axis=1)).to_numpy()
    return out.sort_values(t("Spend"), ascending=False, ignore_index=True)


SPLIT_COLUMNS = {
    "name": N_("Campaign"), "spend": N_("Spend"), "orders_new": N_("New: orders"), "revenue_new": N_("New: revenue"),
    "orders_returning": N_("Returning: orders"), "revenue_returning": N_("Returning: revenue"),
    "new_share": N_("New share"), "roi": N_("ROI"), "roi_new_only": N_("ROI, new only"),
}


def campaign_split_table(campaigns: pd.DataFrame) -> pd.DataFrame:
    table = campaigns[list(SPLIT_COLUMNS)].copy()
    table["new_share"] = table["new_share"] * 100  # shown as a percentage
    return table.rename(columns={column: t(SPLIT_COLUMNS[column]) for column in SPLIT_COLUMNS})


def campaign_split_formats() -> dict:
    money, count = st.column_config.NumberColumn(format="%.0f"), st.column_config.NumberColumn(format="%d")
    ratio = st.column_config.NumberColumn(format="%.2f")
    formats = {"spend": money, "revenue_new": money, "revenue_returning": money, "orders_new": count,
               "orders_returning": count, "new_share": st.column_config.NumberColumn(format="%.0f%%"), "roi": ratio,
               "roi_new_only": ratio}
    return {t(SPLIT_COLUMNS[column]): config for column, config in formats.items()}


def campaign_split_figure(campaigns: pd.DataFrame, title: str) -> go.Figure:
    shown = campaigns[campaigns["spend"] > 0]
    figure = go.Figure()
    figure.add_bar(y=shown["name"], x=shown["revenue_new"], name=t("New customers"), orientation="h")
    figure.add_bar(y=shown["name"], x=shown["revenue_returning"], name=t("Returning customers"), orientation="h")
    figure.add_scatter(y=shown["name"], x=shown["spend"], name=t("Spend"), mode="markers",
                       marker={"symbol": "line-ns-open", "size": 18, "line": {"width": 3}, "color": "#222"})
    figure.update_layout(barmode="stack", xaxis_title=t("Revenue"), yaxis={"autorange": "reversed"})
    return _layout(figure, title, height=max(260, 40 * len(shown) + 120))
