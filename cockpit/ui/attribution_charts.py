"""Figures and display tables for the Attribution page."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from cockpit.ui.charts import _layout
from cockpit.ui.i18n import t

MODEL_LABELS = {
    "last_touch": t("Last touch"), "first_touch": t("First touch"), "linear": t("Linear"),
    "time_decay": t("Time decay"), "position_based": t("Position-based"), "markov": t("Data-driven (Markov)"),
}
MODEL_HELP = {
    "last_touch": t("The whole order goes to the touch just before it."),
    "first_touch": t("The whole order goes to the touch that started the journey."),
    "linear": t("Every touch of the journey gets an equal share."),
    "time_decay": t("Touches closer to the order get more; a touch a week earlier counts half."),
    "position_based": t("40% to the first touch, 40% to the last, 20% shared by the ones between."),
    "markov": t("Each channel gets the share of orders that would be lost without it, learnt from every "
                "journey, the ones that did not convert too."),
}


def credit_figure(credit: pd.DataFrame, measure: str, title: str) -> go.Figure:
    """Grouped bars: per channel, its credit under each model."""
    figure = go.Figure()
    channels = (credit[credit["model"] == "last_touch"].sort_values(measure, ascending=False)["channel"].tolist()
                or sorted(credit["channel"].unique()))
    for model, label in MODEL_LABELS.items():
        rows = credit[credit["model"] == model].set_index("channel").reindex(channels)
        figure.add_bar(x=channels, y=rows[measure].fillna(0.0), name=label)
    figure.update_layout(barmode="group", yaxis_title=t("Orders credited") if measure == "conversions" else t("Revenue"))
    return _layout(figure, title, height=380)


def credit_table(credit: pd.DataFrame, measure: str) -> pd.DataFrame:
    """Channels down, models across: each channel's credited orders (or ROI) per model."""
    table = credit.pivot_table(index="channel", columns="model", values=measure, aggfunc="sum", dropna=False)
    table = table.reindex(columns=[m for m in MODEL_LABELS if m in table.columns])
    table = table.sort_values(table.columns[0], ascending=False) if len(table.columns) else table
    table.columns = [MODEL_LABELS[m] for m in table.columns]
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
        out[MODEL_LABELS[model]] = table[model].to_numpy()
    out[t("ROI range across models")] = (table.max(axis=1) - table.min(axis=1)).to_numpy()
    return out.sort_values(t("Spend"), ascending=False, ignore_index=True)


SPLIT_COLUMNS = {
    "name": t("Campaign"), "spend": t("Spend"), "orders_new": t("New: orders"), "revenue_new": t("New: revenue"),
    "orders_returning": t("Returning: orders"), "revenue_returning": t("Returning: revenue"),
    "new_share": t("New share"), "roi": t("ROI"), "roi_new_only": t("ROI, new only"),
}


def campaign_split_table(campaigns: pd.DataFrame) -> pd.DataFrame:
    table = campaigns[list(SPLIT_COLUMNS)].copy()
    table["new_share"] = table["new_share"] * 100  # shown as a percentage
    return table.rename(columns=SPLIT_COLUMNS)


def campaign_split_formats() -> dict:
    money, count = st.column_config.NumberColumn(format="%.0f"), st.column_config.NumberColumn(format="%d")
    ratio = st.column_config.NumberColumn(format="%.2f")
    return {SPLIT_COLUMNS["spend"]: money, SPLIT_COLUMNS["revenue_new"]: money, SPLIT_COLUMNS["revenue_returning"]: money,
            SPLIT_COLUMNS["orders_new"]: count, SPLIT_COLUMNS["orders_returning"]: count,
            SPLIT_COLUMNS["new_share"]: st.column_config.NumberColumn(format="%.0f%%"),
            SPLIT_COLUMNS["roi"]: ratio, SPLIT_COLUMNS["roi_new_only"]: ratio}


def campaign_split_figure(campaigns: pd.DataFrame, title: str) -> go.Figure:
    shown = campaigns[campaigns["spend"] > 0]
    figure = go.Figure()
    figure.add_bar(y=shown["name"], x=shown["revenue_new"], name=t("New customers"), orientation="h")
    figure.add_bar(y=shown["name"], x=shown["revenue_returning"], name=t("Returning customers"), orientation="h")
    figure.add_scatter(y=shown["name"], x=shown["spend"], name=t("Spend"), mode="markers",
                       marker={"symbol": "line-ns-open", "size": 18, "line": {"width": 3}, "color": "#222"})
    figure.update_layout(barmode="stack", xaxis_title=t("Revenue"), yaxis={"autorange": "reversed"})
    return _layout(figure, title, height=max(260, 40 * len(shown) + 120))
