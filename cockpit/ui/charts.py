"""Figures and display tables for the pages: plotly builders and small frame shapers, so the
pages only choose what to show."""
from __future__ import annotations

import html
import math
from dataclasses import replace
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots
import streamlit as st

from cockpit import alerts
from cockpit.actions import stored_message
from cockpit.panels import entity_levels
from cockpit.promotions import day_date, next_promotion
from cockpit.ui import i18n
from cockpit.ui.i18n import N_, t
from cockpit.ui.widgets import (
    LEVEL_HEX,
    LEVEL_WORDS,
    add_action_markers,
    alert_text,
    alert_texts,
    add_threshold_bands,
    level_badge,
    local_time,
    local_times,
)

STEPS = ("sessions", "cart_sessions", "orders", "paid_orders")


def pct(value: float | None, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}%}"


def _layout(figure: go.Figure, title: str, height: int = 320) -> go.Figure:
    figure.update_layout(title=title, height=height, margin={"l": 10, "r": 10, "t": 44, "b": 10},
                         legend={"orientation": "h", "y": -0.15})
    return figure


def selected_value(event, table: pd.DataFrame, column: str) -> str | None:
    """The `column` value of the row selected in an st.dataframe selection event."""
    rows = getattr(getattr(event, "selection", None), "rows", None) or []
    return str(table.iloc[rows[0]][column]) if rows and rows[0] < len(table) else None


# --- overview -------------------------------------------------------------------------------

def _buckets(frame: pd.DataFrame, column: str, minutes: int, end: int, shift: int = 0) -> pd.Series:
    """Sum of `column` per `minutes`-long bucket counted back from `end` (so the newest bucket is
    whole, not a dip), indexed by bucket start (epoch minute, moved by `shift`)."""
    minute = frame["minute_utc"].astype("int64") + shift
    bucket = end - ((end - 1 - minute) // minutes + 1) * minutes
    return frame[column].groupby(bucket).sum()


def versus_last_week_figure(now: pd.DataFrame, last_week: pd.DataFrame, column: str, rules, *, title: str,
                            name: str, tz: ZoneInfo, markers: pd.DataFrame, height: int, bucket: int = 10) -> go.Figure:
    """`column` per bucket now and a week ago, with each rule's warn and critical ratios drawn
    on last week's line (the *_vs_last_week rules judge exactly that ratio), and the actions."""
    end = int(now["minute_utc"].max()) + 1 if len(now) else 0
    current = _buckets(now, column, bucket, end)
    before = _buckets(last_week, column, bucket, end, shift=7 * 1440).reindex(current.index)
    x = local_times(pd.Series(current.index, dtype="int64"), tz)
    figure = go.Figure(go.Scatter(x=x, y=current.to_numpy(), mode="lines", name=name, line={"width": 3}))
    figure.add_trace(go.Scatter(x=x, y=before.to_numpy(), mode="lines", name=t("a week ago"),
                                line={"width": 1.5, "color": "#8b8d98"}))
    for rule in rules:
        for level, ratio in (("warn", rule.warn), ("critical", rule.critical)):
            if ratio is not None:
                figure.add_trace(go.Scatter(x=x, y=before.to_numpy() * ratio, mode="lines", hoverinfo="skip",
                                            name=f"{t(LEVEL_WORDS[level])} ({ratio:g}×)",
                                            line={"dash": "dash", "width": 1, "color": LEVEL_HEX[level]}))
    add_action_markers(figure, markers, tz)
    figure = _layout(figure, title, height=height)
    figure.update_layout(legend={"orientation": "h", "y": 1.12, "x": 1, "xanchor": "right"})
    return figure


def drill_links(states: dict, panels_in_order: tuple[str, ...], limit: int = 6) -> list[tuple[str, dict, str, str]]:
    """(page, query params, label, rule name) for the worst entities now, for links that open them."""
    links = []
    for name in panels_in_order:
        state = states.get(name)
        if state is None:
            continue
        for row in state.worst(3).itertuples():
            target = drill_target(row.entity_kind, row.entity_id)
            if target and len(links) < limit:
                links.append((target[0], target[1], f"{row.entity_id} ({number(row.value)})",
                              alerts.rule_name(row.rule_name)))
    return links


# --- traffic --------------------------------------------------------------------------------

def paid_share(mix: pd.DataFrame) -> float | None:
    total = mix["sessions"].sum()
    return float(mix.loc[mix["is_paid"], "sessions"].sum() / total) if total else None


def funnel_figure(funnels: dict[str, pd.DataFrame], title: str) -> go.Figure:
    """Sessions at each step (visit, cart, order, pay), one bar group per window, labelled
    with the share of sessions that reached the step."""
    labels = [t("Visit (sessions)"), t("Cart"), t("Order"), t("Pay")]
    figure = go.Figure()
    for name, frame in funnels.items():
        row = frame.iloc[0] if not frame.empty else pd.Series(0, index=STEPS)
        counts = [int(row[step]) for step in STEPS]
        shares = [pct(count / counts[0] if counts[0] else None, 1) for count in counts]
        figure.add_trace(go.Bar(name=name, x=labels, y=counts, text=shares, textposition="outside"))
    figure.update_yaxes(type="log", title=t("sessions (log scale)"))
    figure.update_layout(barmode="group")
    return _layout(figure, title)


FUNNEL_COLUMNS = {
    "group": st.column_config.TextColumn(N_("Group")),
    "sessions": st.column_config.NumberColumn(N_("Sessions"), format="%d"),
    "view_to_cart": st.column_config.NumberColumn(N_("Visit→cart"), format="percent"),
    "cart_to_order": st.column_config.NumberColumn(N_("Cart→order"), format="percent"),
    "order_to_pay": st.column_config.NumberColumn(N_("Order→pay"), format="percent"),
    "session_conversion": st.column_config.NumberColumn(N_("Conversion"), format="percent"),
    "vs_yesterday": st.column_config.NumberColumn(N_("Conv. vs yesterday"), format="percent"),
    "vs_last_week": st.column_config.NumberColumn(N_("Conv. vs last week"), format="percent"),
    "gmv": st.column_config.NumberColumn(N_("GMV"), format="¤%.0f"),
}


def funnel_comparison(now: pd.DataFrame, yesterday: pd.DataFrame, last_week: pd.DataFrame) -> pd.DataFrame:
    """Per group: step rates now and the change of conversion against yesterday and last week."""
    table = now[["group", "sessions", "view_to_cart", "cart_to_order", "order_to_pay", "session_conversion", "gmv"]]
    for label, other in (("vs_yesterday", yesterday), ("vs_last_week", last_week)):
        before = other.set_index("group")["session_conversion"]
        ratio = table["session_conversion"] / table["group"].map(before)
        table = table.assign(**{label: ratio.where(np.isfinite(ratio)) - 1})
    return table.reset_index(drop=True)


def hourly_conversion_figure(by_hour: dict[str, pd.DataFrame], rules, tz: ZoneInfo, title: str) -> go.Figure:
    """Conversion per local hour of day: today against yesterday and last week, rule bands."""
    figure = go.Figure()
    values = []
    for label, name in (("today", t("Today")), ("yesterday", t("Yesterday")), ("last_week", t("Last week"))):
        frame = by_hour[label]
        hours = local_times(frame["hour_utc"] * 60, tz).dt.hour
        figure.add_trace(go.Scatter(x=hours, y=frame["conversion_rate"], mode="lines+markers", name=name,
                                    line={"width": 3 if label == "today" else 1.5}))
        values += [v for v in frame["conversion_rate"].tolist() if isinstance(v, float) and not math.isnan(v)]
    for rule in rules:
        add_threshold_bands(figure, rule, values)
    figure.update_xaxes(title=t("Hour of day ({tz})", tz=tz.key), dtick=2)
    figure.update_yaxes(tickformat=".1%")
    return _layout(figure, title)


def channel_mix_figure(mix: pd.DataFrame, title: str) -> go.Figure:
    frame = mix.sort_values("sessions")
    colours = ["#e5484d" if paid else "#3e63dd" for paid in frame["is_paid"]]
    figure = go.Figure(go.Bar(x=frame["share"], y=frame["name"], orientation="h", marker_color=colours,
                              text=[pct(v, 1) for v in frame["share"]], textposition="outside"))
    figure.update_xaxes(tickformat=".0%")
    return _layout(figure, title + " · " + t("red: paid"))


ENGAGEMENT_COLUMNS = {
    "name": st.column_config.TextColumn(N_("Channel")),
    "sessions": st.column_config.NumberColumn(N_("Sessions"), format="%d"),
    "avg_session_seconds": st.column_config.NumberColumn(N_("Time on site (s)"), format="%.0f"),
    "page_views_per_session": st.column_config.NumberColumn(N_("Pages / session"), format="%.1f"),
    "paid_orders": st.column_config.NumberColumn(N_("Paid orders"), format="%d"),
    "content_conversion": st.column_config.NumberColumn(N_("Content conversion"), format="percent"),
}


def content_engagement(engagement: pd.DataFrame) -> pd.DataFrame:
    frame = engagement[engagement["kind"] == "content"]
    return frame[list(ENGAGEMENT_COLUMNS)].reset_index(drop=True)


def channel_detail_figure(detail: dict, rules, tz: ZoneInfo, title: str) -> go.Figure:
    """Sessions per bucket now and a week ago, with the traffic-drop rules' lines on last week."""
    now, before = detail["now"], detail["last_week"]
    x = local_times(now["minute_utc"], tz)
    figure = go.Figure(go.Scatter(x=x, y=now["sessions"], name=t("Now"), mode="lines", line={"width": 3}))
    figure.add_trace(go.Scatter(x=x, y=before["sessions"].to_numpy(), name=t("A week ago"), mode="lines",
                                line={"width": 1.5, "color": "#8b8d98"}))
    for rule in rules:
        if rule.metric != "sessions_vs_last_week":
            continue
        for level, ratio in (("warn", rule.warn), ("critical", rule.critical)):
            if ratio is not None:
                figure.add_trace(go.Scatter(x=x, y=before["sessions"].to_numpy() * ratio, mode="lines",
                                            name=f"{t(LEVEL_WORDS[level])} ({ratio:g}× {t('last week')})",
                                            line={"dash": "dash", "width": 1, "color": LEVEL_HEX[level]}))
    return _layout(figure, title)


# --- stock ----------------------------------------------------------------------------------

POSITION_WORDS = {"out": N_("Out of stock"), "below_safety": N_("Below safety"), "below_reorder": N_("Below reorder point"),
                  "ok": N_("OK")}
STOCK_COLUMNS = {
    "pair": None,
    "sku": st.column_config.TextColumn(N_("SKU")),
    "name": st.column_config.TextColumn(N_("Product")),
    "warehouse_id": st.column_config.TextColumn(N_("Warehouse")),
    "state": st.column_config.TextColumn(N_("State")),
    "water_level": st.column_config.ProgressColumn(N_("Water level (on hand / reorder point)"), min_value=0.0,
                                                   max_value=1.0, format="percent"),
    "on_hand": st.column_config.NumberColumn(N_("On hand"), format="%d"),
    "safety_stock": st.column_config.NumberColumn(N_("Safety"), format="%d"),
    "reorder_point": st.column_config.NumberColumn(N_("Reorder point"), format="%d"),
    "on_order": st.column_config.NumberColumn(N_("On order"), format="%d"),
    "days_of_cover": st.column_config.NumberColumn(N_("Days of cover"), format="%.1f"),
    "sell_through_30d": st.column_config.NumberColumn(N_("Sell-through 30d"), format="percent"),
    "turnover_days": st.column_config.NumberColumn(N_("Turnover (days)"), format="%.0f"),
    "days_since_last_sale": st.column_config.NumberColumn(N_("Days since last sale"), format="%.0f"),
}


def days(value: float) -> str:
    return "∞" if value is None or not math.isfinite(value) else f"{value:.1f}"


def stock_out_rate(levels: pd.DataFrame) -> float | None:
    return float(levels["is_stocked_out"].mean()) if len(levels) else None


def stock_level_map(state) -> dict[str, str]:
    """"sku|warehouse" -> level by the stock rules (empty without rules)."""
    return entity_levels(state) if state is not None else {}


def _state_words(pairs: pd.Series, level_of: dict[str, str]) -> pd.Series:
    levels = pairs.map(lambda pair: level_of.get(pair, "no_rule"))
    return levels.map(lambda level: t(LEVEL_WORDS[level]))


def styled_states(table: pd.DataFrame, column: str = "state"):
    """The table with its state column coloured by level (a pandas Styler for st.dataframe)."""
    colours = {t(LEVEL_WORDS[level]): LEVEL_HEX[level] for level in ("critical", "warn", "ok")}

    def paint(value):
        colour = colours.get(value)
        return f"background-color: {colour}; color: white; font-weight: 600" if colour else ""

    return table.style.map(paint, subset=[column])


def stock_table(levels: pd.DataFrame, level_of: dict[str, str], warehouses, categories, positions) -> pd.DataFrame:
    """The filtered pairs, lowest water level first, with their rule state in words."""
    frame = levels
    if warehouses:
        frame = frame[frame["warehouse_id"].isin(warehouses)]
    if categories:
        frame = frame[frame["category"].isin(categories)]
    if positions:
        frame = frame[frame["level_position"].isin(positions)]
    pair = frame["sku"] + "|" + frame["warehouse_id"]
    reorder = frame["reorder_point"].where(frame["reorder_point"] > 0)
    frame = frame.assign(pair=pair, state=_state_words(pair, level_of),
                         water_level=(frame["on_hand"].clip(lower=0) / reorder).clip(upper=1.0).fillna(1.0))
    frame = frame.sort_values(["water_level", "days_of_cover"], kind="stable")
    return frame[[c for c in STOCK_COLUMNS if c != "days_since_last_sale"]].reset_index(drop=True)


def slow_movers(levels: pd.DataFrame) -> pd.DataFrame:
    frame = levels[levels["is_slow_mover"]].sort_values("days_since_last_sale", ascending=False)
    frame = frame.replace([np.inf], np.nan)  # never sold: an empty cell reads better than "Infinity"
    return frame[["sku", "name", "warehouse_id", "on_hand", "days_since_last_sale", "turnover_days"]].reset_index(drop=True)


REPLENISHMENT_SOURCES = {"purchasing": N_("purchasing"), "action": N_("cockpit action"), "import": N_("import")}


def pending_table(pending: pd.DataFrame, tz: ZoneInfo) -> pd.DataFrame:
    frame = pending.assign(
        source=translated(pending["source"], REPLENISHMENT_SOURCES),
        created_by=translated(pending["created_by"], REPLENISHMENT_SOURCES),  # the simulated shop's buyers
        expected=pd.to_datetime(pending["expected_ts_utc"], unit="s", utc=True).dt.tz_convert(tz).dt.strftime("%m-%d %H:%M"),
        overdue=pending["is_overdue"].map({True: "⚠ " + t("overdue"), False: ""}),
    )
    return frame[["replenishment_id", "sku", "warehouse_id", "qty", "expected", "overdue", "source", "created_by"]]


def water_level_figure(levels: pd.DataFrame, level_of: dict[str, str], title: str, limit: int = 24) -> go.Figure:
    """The lowest pairs as water levels: a bar of on-hand, ticks at safety stock and reorder point."""
    frame = levels.assign(pair=levels["sku"] + " @ " + levels["warehouse_id"],
                          key=levels["sku"] + "|" + levels["warehouse_id"])
    ratio = frame["on_hand"].clip(lower=0) / frame["reorder_point"].where(frame["reorder_point"] > 0)
    frame = frame.assign(ratio=ratio.fillna(np.inf)).sort_values("ratio", kind="stable").head(limit)
    colours = [LEVEL_HEX[level_of.get(key, "no_rule")] for key in frame["key"]]
    figure = go.Figure(go.Bar(x=frame["pair"], y=frame["on_hand"].clip(lower=0), marker_color=colours, name=t("On hand")))
    for name, column, level in ((t("Safety stock"), "safety_stock", "critical"), (t("Reorder point"), "reorder_point", "warn")):
        figure.add_trace(go.Scatter(x=frame["pair"], y=frame[column], mode="markers", name=name,
                                    marker={"symbol": "line-ew-open", "size": 26, "color": LEVEL_HEX[level],
                                            "line": {"width": 3, "color": LEVEL_HEX[level]}}))
    figure.update_xaxes(tickangle=-35)
    figure = _layout(figure, title, height=380)
    figure.update_layout(legend={"orientation": "h", "y": 1.08, "x": 1, "xanchor": "right"})
    return figure


def stock_history_figure(detail: dict, row: pd.Series, tz: ZoneInfo, title: str) -> go.Figure:
    history = detail["history"]
    x = pd.to_datetime(history["ts_utc"], unit="s", utc=True).dt.tz_convert(tz)
    figure = go.Figure(go.Scatter(x=x, y=history["on_hand"], mode="lines", line_shape="hv", name=t("On hand"),
                                  line={"width": 2}))
    for label, value, level in ((t("Safety stock"), row["safety_stock"], "critical"),
                                (t("Reorder point"), row["reorder_point"], "warn")):
        figure.add_hline(y=float(value), line_dash="dash", line_color=LEVEL_HEX[level], line_width=1,
                         annotation_text=f"{label} {int(value)}", annotation_position="top left")
    add_action_markers(figure, detail["markers"], tz)
    return _layout(figure, title)


# --- ads ------------------------------------------------------------------------------------

def number(value, fmt: str = "{:.2f}") -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else fmt.format(value)


CAMPAIGN_COLUMNS = {
    "campaign_id": st.column_config.TextColumn(N_("Campaign")),
    "name": st.column_config.TextColumn(N_("Name")),
    "channel": st.column_config.TextColumn(N_("Channel")),
    "state": st.column_config.TextColumn(N_("State")),
    "status": st.column_config.TextColumn(N_("Status")),
    "spend_today": st.column_config.NumberColumn(N_("Spend today"), format="¤%.0f"),
    "pace": st.column_config.NumberColumn(N_("Pace vs budget"), format="percent"),
    "roi_today": st.column_config.NumberColumn(N_("ROI today"), format="%.2f"),
    "roi_floor": st.column_config.NumberColumn(N_("ROI floor"), format="%.2f"),
    "roi_last_hour": st.column_config.NumberColumn(N_("ROI last hour"), format="%.2f"),
}
CHANNEL_COLUMNS = {
    "channel": st.column_config.TextColumn(N_("Channel")),
    "name": None, "kind": None, "campaigns": None,
    "clicks": st.column_config.NumberColumn(N_("Clicks"), format="%d"),
    "orders": st.column_config.NumberColumn(N_("Orders"), format="%d"),
    "active_campaigns": st.column_config.NumberColumn(N_("Active campaigns"), format="%d"),
    "daily_budget": st.column_config.NumberColumn(N_("Daily budget"), format="¤%.0f"),
    "spend": st.column_config.NumberColumn(N_("Spend"), format="¤%.0f"),
    "revenue": st.column_config.NumberColumn(N_("Revenue"), format="¤%.0f"),
    "roi": st.column_config.NumberColumn(N_("ROI"), format="%.2f"),
    "roas": st.column_config.NumberColumn(N_("ROAS"), format="%.2f"),
}


CAMPAIGN_STATUS_WORDS = {"active": N_("active"), "paused": N_("paused")}


def translated(codes: pd.Series, words: dict) -> pd.Series:
    """Codes of ours shown as words in the session's language (`words`: code -> msgid); any
    other value as it is."""
    return codes.map(lambda code: t(words[code]) if code in words else code)


def campaign_table(pacing: pd.DataFrame, last_hour: pd.DataFrame, level_of: dict[str, str]) -> pd.DataFrame:
    """Campaigns with their rule state, under-floor ones first."""
    frame = pacing.merge(last_hour[["campaign_id", "roi"]].rename(columns={"roi": "roi_last_hour"}), on="campaign_id",
                         how="left")
    frame = frame.assign(state=_state_words(frame["campaign_id"], level_of),
                         status=translated(frame["status"], CAMPAIGN_STATUS_WORDS),
                         _rank=frame["campaign_id"].map(lambda c: -{"critical": 2, "warn": 1}.get(level_of.get(c), 0)))
    frame = frame.sort_values(["_rank", "below_floor", "roi_today"], ascending=[True, False, True], kind="stable")
    return frame[list(CAMPAIGN_COLUMNS)].reset_index(drop=True)


def channel_roi_figure(channels: pd.DataFrame, title: str) -> go.Figure:
    frame = channels.sort_values("roi", na_position="first")
    colours = [LEVEL_HEX["critical"] if v < 0 else LEVEL_HEX["ok"] for v in frame["roi"].fillna(0)]
    figure = go.Figure(go.Bar(x=frame["roi"], y=frame["channel"], orientation="h", marker_color=colours,
                              text=[number(v) for v in frame["roi"]], textposition="outside",
                              customdata=np.stack([frame["spend"], frame["roas"]], axis=-1) if len(frame) else None,
                              hovertemplate="ROI %{x:.2f}<br>" + t("spend") + " " + i18n.format_currency_symbol()
                              + "%{customdata[0]:,.0f}<br>ROAS %{customdata[1]:.2f}"))
    figure.add_vline(x=0, line_color="#8b8d98", line_width=1)
    return _layout(figure, title)


def pacing_figure(curves: pd.DataFrame, pacing: pd.DataFrame, tz: ZoneInfo, title: str) -> go.Figure:
    """Cumulative spend per campaign (solid) and its budget line (dotted), same colour."""
    figure = go.Figure()
    palette = ["#3e63dd", "#e5484d", "#30a46c", "#f5a524", "#8e4ec6", "#12a594", "#d6409f", "#978365", "#0090ff"]
    names = dict(zip(pacing["campaign_id"], pacing["name"]))
    for index, (campaign_id, frame) in enumerate(curves.groupby("campaign_id", sort=True)):
        colour = palette[index % len(palette)]
        x = local_times(frame["minute_utc"], tz)
        figure.add_trace(go.Scatter(x=x, y=frame["spend_cum"], mode="lines", name=campaign_id, legendgroup=campaign_id,
                                    line={"color": colour, "width": 2}, hovertext=names.get(campaign_id)))
        figure.add_trace(go.Scatter(x=x, y=frame["budget_line"], mode="lines", showlegend=False, legendgroup=campaign_id,
                                    line={"color": colour, "width": 1, "dash": "dot"}, hoverinfo="skip"))
    figure.update_yaxes(tickprefix=i18n.currency_symbol())
    return _layout(figure, title)


def campaign_roi_figure(detail: dict, row: pd.Series, rules, tz: ZoneInfo, title: str) -> go.Figure:
    """Top: ROI since the start of the window against the floor and the ROI-vs-floor rules'
    bands (shifted by the floor, so in ROI units); bottom: spend and revenue per bucket.
    Pauses and resumes are marked on both."""
    series = detail["series"]
    x = local_times(series["minute_utc"], tz)
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.6, 0.4], vertical_spacing=0.06)
    figure.add_trace(go.Scatter(x=x, y=series["roi_cum"], mode="lines", name=t("ROI, cumulative"), line={"width": 3}),
                     row=1, col=1)
    figure.add_trace(go.Bar(x=x, y=series["spend"], name=t("Spend"), marker_color="#e5484d"), row=2, col=1)
    figure.add_trace(go.Bar(x=x, y=series["revenue"], name=t("Revenue"), marker_color="#30a46c"), row=2, col=1)
    floor = float(row["roi_floor"])
    values = [v for v in series["roi_cum"].tolist() if isinstance(v, float) and math.isfinite(v)] + [floor]
    for rule in rules:
        if rule.metric == "roi_vs_floor":
            shifted = replace(rule, warn=None if rule.warn is None else rule.warn + floor,
                              critical=None if rule.critical is None else rule.critical + floor)
            add_threshold_bands(figure, shifted, values, row=1)
    figure.add_hline(y=floor, line_color="#e5484d", line_width=2, row=1, col=1,
                     annotation_text=t("floor {floor:g}", floor=floor), annotation_position="bottom right")
    add_action_markers(figure, detail["markers"], tz)
    figure.update_layout(barmode="group")
    figure.update_yaxes(title=t("ROI"), row=1, col=1)
    figure.update_yaxes(title=i18n.currency_symbol(), row=2, col=1)
    return _layout(figure, title, height=460)

# --- alerts and audit -----------------------------------------------------------------------

DRILL_PAGES = {"campaign": "pages/04_ads.py", "channel": "pages/02_traffic.py", "sku_warehouse": "pages/03_stock.py",
               "sku": "pages/13_product.py"}


def drill_target(entity_kind: str, entity_id: str) -> tuple[str, dict] | None:
    """The page and query parameters that open an alert's entity."""
    if entity_kind == "campaign":
        return DRILL_PAGES[entity_kind], {"campaign": entity_id}
    if entity_kind == "channel":
        return DRILL_PAGES[entity_kind], {"channel": entity_id}
    if entity_kind == "sku_warehouse" and "|" in entity_id:
        sku, warehouse_id = entity_id.split("|", 1)
        return DRILL_PAGES[entity_kind], {"sku": sku, "wh": warehouse_id}
    if entity_kind == "sku":  # a SKU's own alerts (returns): its Product 360 page
        return DRILL_PAGES[entity_kind], {"sku": entity_id}
    return None


def alerts_in_order(frame: pd.DataFrame, now_minute: int) -> pd.DataFrame:
    """Open alerts, critical first then newest, with `snoozed` (still asleep at now_minute);
    snoozed ones go last."""
    snoozed = frame["snoozed_until_minute"].fillna(-1).astype("int64") > now_minute
    ranked = frame.assign(snoozed=snoozed.to_numpy(), _level=frame["level"].map({"critical": 0, "warn": 1}).fillna(2))
    ranked = ranked.sort_values(["snoozed", "_level", "opened_minute"], ascending=[True, True, False], kind="stable")
    return ranked.reset_index(drop=True)


def awake_alerts(frame: pd.DataFrame, now_minute: int) -> pd.DataFrame:
    """Open alerts that are not snoozed at now_minute (what the overview and the wall show)."""
    return frame[~(frame["snoozed_until_minute"].fillna(-1).astype("int64") > now_minute)]


def alert_line(row, tz: ZoneInfo) -> str:
    notes = [t("since {time}", time=local_time(row.opened_minute * 60, tz))]
    if row.status == "acknowledged":
        notes.append(t("acknowledged"))
    if row.snoozed:
        notes.append(t("snoozed until {time}", time=local_time(row.snoozed_until_minute * 60, tz)))
    return f"{level_badge(row.level)} {html.escape(alert_text(row))}<br><small>{' · '.join(notes)}</small>"


RECENT_ALERT_COLUMNS = {"opened": N_("Opened"), "resolved": N_("Resolved"), "level": N_("Level"), "status": N_("Status"),
                        "rule_name": N_("Rule"), "entity_id": N_("Entity"), "message": N_("Message")}
AUDIT_COLUMNS = {"when": N_("When"), "actor": N_("Who"), "how": N_("How"), "verb": N_("Action"), "entity_kind": N_("On"),
                 "entity_id": N_("Entity"), "result": N_("Result"), "message": N_("Message"),
                 "before_json": N_("Before"), "after_json": N_("After")}
PENDING_COLUMNS = {"replenishment_id": N_("Order"), "sku": N_("SKU"), "warehouse_id": N_("Warehouse"),
                   "qty": st.column_config.NumberColumn(N_("Qty"), format="%d"), "expected": N_("Expected"),
                   "overdue": N_("Overdue"), "source": N_("Source"), "created_by": N_("Created by")}


def recent_alert_table(frame: pd.DataFrame, tz: ZoneInfo) -> pd.DataFrame:
    def when(minutes: pd.Series) -> pd.Series:
        stamps = pd.to_datetime(minutes.astype("float64") * 60, unit="s", utc=True).dt.tz_convert(tz)
        return stamps.dt.strftime("%m-%d %H:%M").fillna("")

    table = frame.assign(opened=when(frame["opened_minute"]), resolved=when(frame["resolved_minute"]),
                         message=alert_texts(frame), level=translated(frame["level"], LEVEL_WORDS),
                         status=translated(frame["status"], alerts.STATUS_WORDS),
                         rule_name=frame["rule_name"].map(alerts.rule_name))
    return table[["opened", "resolved", "level", "status", "rule_name", "entity_id", "message"]]


def audit_table(audit: pd.DataFrame, tz: ZoneInfo, verbs, actors) -> pd.DataFrame:
    frame = audit
    if verbs:
        frame = frame[frame["verb"].isin(verbs)]
    if actors:
        frame = frame[frame["actor"].isin(actors)]
    when = pd.to_datetime(frame["ts_utc"], unit="s", utc=True).dt.tz_convert(tz).dt.strftime("%Y-%m-%d %H:%M:%S")
    # In this session's language; actions audited before message_args was kept show their English text.
    args = frame["message_args"] if "message_args" in frame.columns else [None] * len(frame)
    message = [i18n.said(stored_message(text, stored)) for text, stored in zip(frame["message"], args)]
    frame = frame.assign(when=when, how=frame["automatic"].map({True: t("automatic"), False: t("manual")}),
                         message=message)
    return frame[["when", "actor", "how", "verb", "entity_kind", "entity_id", "result", "message", "before_json",
                  "after_json"]]


NOTIFICATION_TABLE_COLUMNS = {"created": N_("Created"), "channel": N_("Channel"), "level": N_("Level"),
                              "subject": N_("Message"), "alert_count": st.column_config.NumberColumn(N_("Alerts"),
                                                                                                    format="%d"),
                              "status": N_("Status"), "attempts": st.column_config.NumberColumn(N_("Tries"), format="%d"),
                              "outcome": N_("Outcome")}


def notification_table(frame: pd.DataFrame, tz: ZoneInfo) -> pd.DataFrame:
    """The delivery log (cockpit.notify.recent_notifications) as shown: times in the shop's
    timezone; outcome says when it arrived, when the next try is, or why it failed."""
    def when(seconds: pd.Series) -> pd.Series:
        stamps = pd.to_datetime(seconds.astype("float64"), unit="s", utc=True).dt.tz_convert(tz)
        return stamps.dt.strftime("%m-%d %H:%M:%S").fillna("")

    sent, retry = when(frame["sent_ts_utc"]), when(frame["next_attempt_ts_utc"])
    outcome = [
        t("delivered {at}", at=s) if status == "sent"
        else t("next try {at}: {error}", at=r, error=e or "") if status == "pending" and attempts
        else t("due {at}", at=r) if status == "pending"
        else t("gave up: {error}", error=e or "")
        for status, attempts, s, r, e in zip(frame["status"], frame["attempts"], sent, retry, frame["last_error"])
    ]
    table = frame.assign(created=when(frame["created_ts_utc"]), outcome=outcome)
    return table[list(NOTIFICATION_TABLE_COLUMNS)]


def forecast_figure(history: pd.DataFrame, ahead: pd.DataFrame, title: str, days_shown: int = 56,
                    promotions: pd.DataFrame | None = None) -> go.Figure:
    """Daily units (the last days_shown days) and the forecast with its 95% interval as a band;
    the promotion days of the calendar (promotions: first_day, last_day, name) shaded."""
    recent = history.sort_values("day").tail(days_shown)
    figure = go.Figure()
    shown = pd.concat([recent["day"], ahead["day"]]) if not ahead.empty else recent["day"]
    for row in (promotions.itertuples(index=False) if promotions is not None and len(shown) else ()):
        first, last = day_date(row.first_day), day_date(row.last_day)
        if last >= shown.min() and first <= shown.max():
            figure.add_vrect(x0=first - pd.Timedelta(hours=12), x1=last + pd.Timedelta(hours=12),
                             fillcolor="rgba(44,160,44,0.12)", line_width=0, annotation_text=row.name,
                             annotation_position="top left", annotation_font_size=10)
    figure.add_scatter(x=recent["day"], y=recent["units"], mode="lines+markers", name=t("Units sold"),
                       line={"color": "#1f77b4"}, marker={"size": 4})
    if not ahead.empty:
        figure.add_scatter(x=ahead["day"], y=ahead["upper"], mode="lines", line={"width": 0}, showlegend=False,
                           hoverinfo="skip")
        figure.add_scatter(x=ahead["day"], y=ahead["lower"], mode="lines", line={"width": 0}, fill="tonexty",
                           fillcolor="rgba(255,127,14,0.2)", name=t("95% interval"))
        figure.add_scatter(x=ahead["day"], y=ahead["mean"], mode="lines", line={"color": "#ff7f0e", "dash": "dash"},
                           name=t("Forecast"))
    return _layout(figure, title, height=360)


def hourly_forecast_figure(ahead: pd.DataFrame, sold: pd.DataFrame, title: str) -> go.Figure:
    """A promotion day hour by hour: the forecast's 95% band and mean (ahead: hour, mean,
    lower, upper) and the units sold so far as bars (sold: hour, units)."""
    figure = go.Figure()
    figure.add_bar(x=sold["hour"], y=sold["units"], name=t("Units sold"), marker={"color": "#1f77b4"})
    figure.add_scatter(x=ahead["hour"], y=ahead["upper"], mode="lines", line={"width": 0}, showlegend=False,
                       hoverinfo="skip")
    figure.add_scatter(x=ahead["hour"], y=ahead["lower"], mode="lines", line={"width": 0}, fill="tonexty",
                       fillcolor="rgba(255,127,14,0.2)", name=t("95% interval"))
    figure.add_scatter(x=ahead["hour"], y=ahead["mean"], mode="lines+markers", line={"color": "#ff7f0e", "dash": "dash"},
                       marker={"size": 4}, name=t("Forecast"))
    return _layout(figure, title, height=340)


def next_promotion_text(calendar: pd.DataFrame | None, today: int) -> str:
    """When the next planned promotion is, or that none is planned, in words (calendar None: a
    forecast published before the calendar existed)."""
    upcoming = next_promotion(calendar, today + 1) if calendar is not None else None
    if upcoming is None:
        return t("No promotion is planned: add one with `python -m cockpit promotions add NAME --first-day YYYY-MM-DD`.")
    return t("Not a promotion day. Next planned promotion: **{name}** ({kind}) from {first}, in {days} days.",
             name=upcoming["name"], kind=upcoming["kind"], first=f"{day_date(upcoming['first_day']):%Y-%m-%d}",
             days=int(upcoming["first_day"]) - today)


def anomaly_figure(series: pd.DataFrame, tz, title: str) -> go.Figure:
    """Hourly sessions against the model's expectation, anomalies marked."""
    when = pd.to_datetime(series["hour_utc"].to_numpy() * 3600, unit="s", utc=True).tz_convert(tz).tz_localize(None)
    figure = go.Figure()
    figure.add_scatter(x=when, y=series["sessions"], mode="lines", name=t("Sessions per hour"), line={"color": "#1f77b4"})
    figure.add_scatter(x=when, y=series["expected"], mode="lines", name=t("Expected"),
                       line={"color": "#7f7f7f", "dash": "dot"})
    flagged = series["is_anomaly"].to_numpy(dtype=bool)
    if flagged.any():
        figure.add_scatter(x=when[flagged], y=series.loc[flagged, "sessions"], mode="markers", name=t("Anomaly"),
                           marker={"color": "#d62728", "size": 10, "symbol": "x"})
    return _layout(figure, title, height=320)


SERIES_KINDS = {"category": N_("Category"), "sku": N_("Top SKU")}
# What an anomaly's "what moved" table lists: return reasons and visitor types (channels are the shop's).
MOVED_WORDS = {"quality": N_("Quality"), "transport_damage": N_("Transport damage"), "size_fit": N_("Size / fit"),
               "changed_mind": N_("Changed mind"), "other": N_("Other"), "new": N_("New visitors"),
               "returning": N_("Returning visitors")}


def series_label(series: tuple[str, str]) -> str:
    """(kind, key) of a forecast series as its picker shows it: "Category: Beauty"."""
    kind, key = series
    return f"{t(SERIES_KINDS[kind]) if kind in SERIES_KINDS else kind}: {key}"


def forecast_scores_table(scores: pd.DataFrame) -> pd.DataFrame:
    table = scores[["kind", "key", "model", "mase", "baseline_mase", "mape", "beats_baseline", "verdict"]].copy()
    for name in ("model", "verdict"):  # the models' Phrases, in this session's language
        table[name] = table[name].map(i18n.say)
    table["kind"] = translated(table["kind"], SERIES_KINDS)
    table.columns = [t("Kind"), t("Series"), t("Model"), t("MASE"), t("Seasonal naive MASE"), t("MAPE"),
                     t("Beats naive"), t("Verdict")]
    return table


def change_table(explanation: pd.DataFrame) -> pd.DataFrame:
    table = explanation.head(5).copy()
    table.columns = [t("Channel"), t("Same hour a week ago"), t("This hour"), t("Change"), t("Share of the change")]
    return table


def anomaly_alert_line(row, tz: ZoneInfo) -> str:
    """One anomaly alert: its level, message, when it opened and whether it is still open."""
    notes = [t("opened {time}", time=local_time(row.opened_minute * 60, tz))]
    if row.status == "resolved" and row.resolved_minute == row.resolved_minute:
        notes.append(t("resolved {time}", time=local_time(row.resolved_minute * 60, tz)))
    else:
        notes.append(t(row.status))
    return f"{level_badge(row.level)} {html.escape(alert_text(row))}<br><small>{' · '.join(notes)}</small>"


def moved_table(explanation: pd.DataFrame) -> pd.DataFrame:
    table = explanation.head(6).copy()
    table[table.columns[0]] = translated(table[table.columns[0]], MOVED_WORDS)
    table.columns = [t("Value"), t("Expected"), t("In the window"), t("Change"), t("Share of the change")]
    return table
