"""Figures, display tables and sentences of the Service page: plotly builders and small frame
shapers, so the page only chooses what to show."""
from __future__ import annotations

import math
from zoneinfo import ZoneInfo

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from cockpit.ui.charts import _layout
from cockpit.ui.customer_charts import customer_url
from cockpit.ui.i18n import N_, t
from models.service import RepurchaseComparison

REASONS = {"where_is_my_order": "Where is my order", "late_delivery": "Late delivery",
           "return_refund": "Return / refund", "product_question": "Product question", "damaged_item": "Damaged item"}
CHANNELS = {"in_app": "In-app chat", "mini_program": "Mini program", "web_chat": "Web chat", "phone": "Phone"}
BOT_HEX, HUMAN_HEX, TARGET_HEX = "#3e63dd", "#f5a524", "#e5484d"


def reason_name(key: str) -> str:
    return t(REASONS[key]) if key in REASONS else key


def channel_name(key: str) -> str:
    return t(CHANNELS[key]) if key in CHANNELS else key


def share_text(value: float) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.1%}"


def seconds_text(value: float) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.0f} s"


def points_delta(value: float, target: float) -> str | None:
    """'+2.1 pts vs target' for a share against its target share."""
    if value is None or math.isnan(value):
        return None
    return t("{points:+.1f} pts vs target", points=(value - target) * 100)


def seconds_delta(value: float, target: float) -> str | None:
    if value is None or math.isnan(value):
        return None
    return t("{seconds:+.0f} s vs target", seconds=value - target)


def _days(day_local: pd.Series) -> pd.Series:
    return pd.Timestamp("1970-01-01") + pd.to_timedelta(day_local.astype("int64"), unit="D")


def trend_figure(trend: pd.DataFrame, bot_target: float, response_target_s: float) -> go.Figure:
    """Daily share resolved by the bot against its target (left) and a person's first response
    p50/p90 against the target seconds (right)."""
    figure = make_subplots(rows=1, cols=2, subplot_titles=(t("Resolved by the bot, per day"),
                                                           t("A person's first response, per day (s)")))
    day = _days(trend["day_local"]) if len(trend) else pd.Series([], dtype="datetime64[ns]")
    figure.add_trace(go.Bar(x=day, y=trend["bot_resolved_share"], name=t("Bot-resolved share"),
                            marker_color=BOT_HEX), row=1, col=1)
    figure.add_trace(go.Scatter(x=day, y=[bot_target] * len(day), name=t("Target"), mode="lines",
                                line={"color": TARGET_HEX, "dash": "dash"}), row=1, col=1)
    figure.add_trace(go.Scatter(x=day, y=trend["human_p50_s"], name=t("p50"), mode="lines+markers",
                                line={"color": HUMAN_HEX}), row=1, col=2)
    figure.add_trace(go.Scatter(x=day, y=trend["human_p90_s"], name=t("p90"), mode="lines",
                                line={"color": HUMAN_HEX, "dash": "dot"}), row=1, col=2)
    figure.add_trace(go.Scatter(x=day, y=[response_target_s] * len(day), name=t("Target"), mode="lines",
                                line={"color": TARGET_HEX, "dash": "dash"}, showlegend=False), row=1, col=2)
    figure.update_xaxes(tickformat="%b %d")
    figure.update_yaxes(tickformat=".0%", range=[0, 1], row=1, col=1)
    figure.update_yaxes(rangemode="tozero", row=1, col=2)
    return _layout(figure, "", height=320)


def reasons_figure(by_reason: pd.DataFrame) -> go.Figure:
    """Contacts per reason, split into resolved by the bot and escalated to a person."""
    names = by_reason["key"].map(reason_name)
    figure = go.Figure()
    figure.add_trace(go.Bar(y=names, x=by_reason["bot_resolved"], name=t("Resolved by the bot"), orientation="h",
                            marker_color=BOT_HEX))
    figure.add_trace(go.Bar(y=names, x=by_reason["contacts"] - by_reason["bot_resolved"],
                            name=t("Escalated or unresolved"), orientation="h", marker_color=HUMAN_HEX))
    figure.update_layout(barmode="stack", yaxis={"autorange": "reversed"})
    return _layout(figure, t("Contacts by reason"), height=300)


def breakdown_table(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    """A reason or channel breakdown for st.dataframe, with display names and rounded figures."""
    label = reason_name if kind == "reason" else channel_name
    return pd.DataFrame({
        t("Reason") if kind == "reason" else t("Channel"): frame["key"].map(label),
        t("Contacts"): frame["contacts"].astype("int64"),
        t("Bot-resolved"): frame["bot_resolved_share"].map(share_text),
        t("Response p50"): frame["human_p50_s"].map(seconds_text),
        t("Resolved"): frame["resolved_share"].map(share_text),
    })


CONTACT_COLUMNS = {
    N_("Customer"): st.column_config.LinkColumn(N_("Customer"), display_text=r"id=(\d+)"),
}


def contacts_table(contacts: pd.DataFrame, tz: ZoneInfo) -> pd.DataFrame:
    """Contacts for st.dataframe (with CONTACT_COLUMNS): the customer as a link to their
    Customer 360 page, local opening time, channel, reason, who handled it, the wait."""
    opened = pd.to_datetime(contacts["ts_utc"].astype("int64"), unit="s", utc=True).dt.tz_convert(tz)
    return pd.DataFrame({
        t("Opened"): opened.dt.strftime("%m-%d %H:%M"),
        t("Customer"): contacts["customer_id"].map(customer_url),
        t("Reason"): contacts["reason"].map(reason_name),
        t("Channel"): contacts["channel"].map(channel_name),
        t("Handled by"): contacts["handled_by"].map({"bot": t("bot"), "human": t("person")}).fillna(contacts["handled_by"]),
        t("First response"): contacts["first_response_s"].astype("float64").map(seconds_text),
    })


def effect_sentence(comparison: RepurchaseComparison, group: str, baseline: str) -> str:
    """The comparison in plain words with its interval; group and baseline complete "customers
    whose contact was ..."."""
    values = {"group": group, "baseline": baseline, "days": comparison.days, "rate_g": comparison.rate_group,
              "rate_b": comparison.rate_baseline, "n_g": comparison.customers_group,
              "n_b": comparison.customers_baseline, "level": comparison.confidence}
    if not comparison.significant:
        return t("**No clear difference yet.** Customers whose contact was {group} bought again within {days} days "
                 "{rate_g:.1%} of the time ({n_g:,} customers), those whose contact was {baseline} {rate_b:.1%} "
                 "({n_b:,}): {diff:+.1f} points, {level:.0%} CI {low:+.1f} to {high:+.1f}.",
                 diff=comparison.difference * 100, low=comparison.ci_low * 100, high=comparison.ci_high * 100, **values)
    less = comparison.difference < 0
    low, high = sorted((abs(comparison.ci_low) * 100, abs(comparison.ci_high) * 100))
    text = ("**Customers whose contact was {group} bought again within {days} days less often**: {rate_g:.1%} "
            "({n_g:,} customers) against {rate_b:.1%} for those whose contact was {baseline} ({n_b:,}), "
            "{points:.1f} points fewer ({level:.0%} CI {low:.1f} to {high:.1f}), {ratio:.2f} times the rate."
            if less else
            "**Customers whose contact was {group} bought again within {days} days more often**: {rate_g:.1%} "
            "({n_g:,} customers) against {rate_b:.1%} for those whose contact was {baseline} ({n_b:,}), "
            "{points:.1f} points more ({level:.0%} CI {low:.1f} to {high:.1f}), {ratio:.2f} times the rate.")
    return t(text, points=abs(comparison.difference) * 100, low=low, high=high, ratio=comparison.ratio, **values)


def effect_figure(comparisons: list[tuple[str, RepurchaseComparison, str, str]]) -> go.Figure:
    """Repurchase rate of each compared group with its Wilson interval; each comparison comes
    with its display label and its group's and baseline's names."""
    from statsmodels.stats.proportion import proportion_confint

    names, rates, lows, highs, colours = [], [], [], [], []
    for label, c, group, baseline in comparisons:
        for name, hits, n, colour in ((group, c.repurchased_group, c.customers_group, TARGET_HEX),
                                      (baseline, c.repurchased_baseline, c.customers_baseline, BOT_HEX)):
            low, high = proportion_confint(hits, n, alpha=1 - c.confidence, method="wilson")
            names.append(f"{label}: {name} ({hits / n:.1%})")
            rates.append(hits / n)
            lows.append(hits / n - low)
            highs.append(high - hits / n)
            colours.append(colour)
    figure = go.Figure(go.Bar(x=rates, y=names, orientation="h", marker_color=colours,
                              error_x={"type": "data", "symmetric": False, "array": highs, "arrayminus": lows}))
    figure.update_layout(xaxis={"tickformat": ".0%", "rangemode": "tozero"}, yaxis={"autorange": "reversed"},
                         showlegend=False)
    return _layout(figure, t("Bought again within {days} days ({level:.0%} interval)", days=comparisons[0][1].days,
                             level=comparisons[0][1].confidence),
                   height=120 + 45 * len(names))
