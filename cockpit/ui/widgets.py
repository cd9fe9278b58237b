"""Widgets the pages share: freshness badge, state tiles, threshold charts, alert lists."""
from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from cockpit import alerts
from cockpit.panels import PanelState
from cockpit.timebuckets import datetime_of_minute
from cockpit.ui import shell
from cockpit.ui.i18n import language, say, t
from cockpit.ui import loaders
from cockpit.ui.loaders import Freshness, Loaded

LEVEL_HEX = {"critical": "#e5484d", "warn": "#f5a524", "ok": "#30a46c", "no_data": "#8b8d98", "no_rule": "#8b8d98"}
LEVEL_WORDS = {"critical": "Critical", "warn": "Warning", "ok": "OK", "no_data": "No data", "no_rule": "No rule"}


def alert_text(row) -> str:
    """An alert row's message (alerts.ALERT_COLUMNS) in this session's language; alerts from
    before message_args was stored show the text they were written with."""
    return alerts.shown_message(row.message, getattr(row, "message_args", None), language())


def alert_texts(frame: pd.DataFrame) -> pd.Series:
    """alert_text of every row of an alerts frame, on its index."""
    return alerts.shown_messages(frame, language())


def level_badge(level: str) -> str:
    """HTML for a level word on its colour, e.g. white 'CRITICAL' on red (st.markdown with
    unsafe_allow_html; the classes are styled in shell's CSS for both screens)."""
    return f'<span class="cockpit-badge cockpit-{level}">{t(LEVEL_WORDS[level]).upper()}</span>'



def local_time(ts_utc: float | None, tz: ZoneInfo, fmt: str = "%H:%M") -> str:
    if ts_utc is None or (isinstance(ts_utc, float) and math.isnan(ts_utc)):
        return "–"
    return datetime.fromtimestamp(float(ts_utc), tz).strftime(fmt)


def local_times(minutes: pd.Series, tz: ZoneInfo) -> pd.Series:
    """Epoch minutes as timezone-aware datetimes in the shop's zone (for chart axes)."""
    return pd.to_datetime(minutes.astype("int64") * 60, unit="s", utc=True).dt.tz_convert(tz)


def freshness_badge(fresh: Freshness, tz: ZoneInfo, refresh_seconds: int) -> None:
    """'Data as of HH:MM' from the scheduler's heartbeat; a warning when it is late; a banner
    while the database cannot be read (the page shows the last good numbers meanwhile)."""
    if fresh.unreachable_since is not None:
        since = local_time(fresh.unreachable_since, tz)
        if fresh.data_minute is None:
            st.error(t("Database unreachable since {since}; nothing loaded yet. Retrying by itself.", since=since))
        else:
            st.error(t("Database unreachable since {since} — showing the numbers from {as_of}; retrying.",
                       since=since, as_of=local_time((fresh.data_minute + 1) * 60, tz)))
        return
    if fresh.data_minute is None:
        st.warning(t("No data yet: the scheduler has not completed a refresh. Run `python -m cockpit run`."))
        return
    as_of = datetime_of_minute(fresh.data_minute + 1, tz).strftime("%Y-%m-%d %H:%M")
    if fresh.stale:
        minutes = int(fresh.lag_s // 60)
        st.error(t("Stale data: as of {as_of} ({tz}); the last refresh finished {minutes} min ago "
                   "(expected every {seconds}s). Is the scheduler running?", as_of=as_of, tz=tz.key,
                   minutes=minutes, seconds=refresh_seconds))
    else:
        st.caption(t("Data as of {as_of} ({tz}) · refreshed {lag}s ago", as_of=as_of, tz=tz.key, lag=max(0, int(fresh.lag_s))))


def load_marker(loaded: Loaded, tz: ZoneInfo) -> bool:
    """Says when a panel's query failed; returns whether there is anything to draw."""
    if loaded.error is None:
        return True
    if loaded.value is None:
        st.error(t("This panel could not be loaded: {error}", error=loaded.error))
        return False
    st.warning(t("⚠ Refresh failed ({error}); showing the last good data, as of {as_of}.",
                 error=loaded.error, as_of=local_time(loaded.as_of_minute * 60 if loaded.as_of_minute else None, tz)))
    return True


@dataclass(frozen=True)
class LiveData:
    """What a live panel draws: the freshness, its loader's value, and the panels' states."""

    fresh: Freshness
    data: object
    states: dict


def live_data(name: str, loader, *args) -> LiveData | None:
    """The start of every live panel: say how fresh the data is, load the page's data for the
    heartbeat's minute (keeping the last good data with a marker if the query fails) and the
    panels' threshold states. None when there is nothing to draw."""
    settings = loaders.settings()
    fresh = loaders.freshness(settings.db_url, settings.refresh_seconds)
    freshness_badge(fresh, settings.tz, settings.refresh_seconds)
    if fresh.data_minute is None:
        return None
    loaded = loaders.guarded(name, fresh.data_minute, loader, settings.db_url, fresh.data_minute, *args)
    states = loaders.guarded("panels", fresh.data_minute, loaders.panel_states, settings.db_url, fresh.data_minute,
                             settings.timezone).value or {}
    if not load_marker(loaded, settings.tz):
        return None
    return LiveData(fresh, loaded.value, states)


def pct_delta(now: float | None, before: float | None) -> str | None:
    if now is None or not before:
        return None
    return f"{(now - before) / before:+.1%}"


def state_tile(label: str, value: str, state: PanelState | None, *, delta: str | None = None,
               delta_note: str | None = None, help_text: str | None = None, spark: list | None = None,
               inverse: bool = False) -> None:
    """A bordered tile: the level in colour and words, the value, its delta and a sparkline."""
    level = state.level if state is not None else "no_rule"
    with st.container(border=True):
        st.markdown(level_badge(level), unsafe_allow_html=True,
                    help=state.threshold_text(language()) if state is not None and state.rules else None)
        st.metric(label, value, delta, delta_color="inverse" if inverse else "normal", help=help_text,
                  delta_description=delta_note)
        if spark:
            st.markdown(sparkline_svg(spark), unsafe_allow_html=True)


SPARK_WIDTH, SPARK_HEIGHT = 240, 56  # the SVG's own units: whole numbers keep its text short
SPARK_PIXELS = 28  # drawn height


def sparkline_svg(values: list) -> str:
    """An area sparkline as inline SVG (missing values as 0), drawn by the browser itself:
    st.metric's chart_data draws with Vega-Lite, whose 0.8 MB of scripts a first visit of the
    overview had to fetch, run and draw three views with before it was idle."""
    points = [0.0 if v is None or (isinstance(v, float) and math.isnan(v)) else float(v) for v in values]
    if len(points) == 1:
        points = points * 2
    low, high = min(points), max(points)
    span = (high - low) or 1.0
    step = SPARK_WIDTH / (len(points) - 1)
    line = " ".join(f"{round(i * step)},{round(SPARK_HEIGHT - 2 - (v - low) / span * (SPARK_HEIGHT - 4))}"
                    for i, v in enumerate(points))
    area = f"0,{SPARK_HEIGHT} {line} {SPARK_WIDTH},{SPARK_HEIGHT}"
    return (f'<svg class="cockpit-spark" viewBox="0 0 {SPARK_WIDTH} {SPARK_HEIGHT}" preserveAspectRatio="none" '
            f'width="100%" height="{SPARK_PIXELS}" role="img" aria-label="trend">'
            f'<polygon points="{area}" fill="#1c83e1" fill-opacity="0.15"/>'
            f'<polyline points="{line}" fill="none" stroke="#1c83e1" stroke-width="1.5" '
            f'vector-effect="non-scaling-stroke"/></svg>')


def threshold_figure(x, y, *, title: str, name: str, rules=(), markers: pd.DataFrame | None = None,
                     tz: ZoneInfo | None = None, height: int = 260, extra: list | None = None) -> go.Figure:
    """A line chart with the rules' warn/critical bands and the actions taken as annotations.

    rules: alert Rules on the plotted metric (same unit as y). markers: action_markers rows."""
    figure = go.Figure(go.Scatter(x=x, y=y, mode="lines", name=name, line={"width": 2}))
    for trace in extra or []:
        figure.add_trace(trace)
    values = [v for v in pd.Series(y, dtype="float64").tolist() if not math.isnan(v)]
    for rule in rules:
        add_threshold_bands(figure, rule, values)
    if markers is not None and tz is not None:
        add_action_markers(figure, markers, tz)
    figure.update_layout(title=title, height=height, margin={"l": 10, "r": 10, "t": 40, "b": 10},
                         showlegend=bool(extra), legend={"orientation": "h", "y": -0.2})
    return figure


def add_threshold_bands(figure: go.Figure, rule, values: list[float], row: int | None = None) -> None:
    """Shade the rule's warn and critical zones and draw its thresholds (on subplot `row`)."""
    where = {"row": row, "col": 1} if row is not None else {}
    bounds = [v for v in (rule.warn, rule.critical) if v is not None]
    if not bounds:
        return
    span = (max(values + bounds) - min(values + bounds)) or abs(bounds[0]) or 1.0
    lo, hi = min(values + bounds) - 0.1 * span, max(values + bounds) + 0.1 * span
    if rule.direction == "below":
        zones = [("critical", lo, rule.critical), ("warn", rule.critical if rule.critical is not None else lo, rule.warn)]
    else:
        zones = [("warn", rule.warn, rule.critical if rule.critical is not None else hi), ("critical", rule.critical, hi)]
    for level, y0, y1 in zones:
        if y0 is None or y1 is None or y1 <= y0:
            continue
        figure.add_hrect(y0=y0, y1=y1, fillcolor=LEVEL_HEX[level], opacity=0.12, line_width=0, layer="below", **where)
    for level, value in (("warn", rule.warn), ("critical", rule.critical)):
        if value is not None:
            figure.add_hline(y=value, line_dash="dash", line_color=LEVEL_HEX[level], line_width=1,
                             annotation_text=f"{t(LEVEL_WORDS[level])} {value:g}", annotation_position="top left",
                             annotation_font_color=LEVEL_HEX[level], **where)


def add_action_markers(figure: go.Figure, markers: pd.DataFrame, tz: ZoneInfo) -> None:
    for row in markers.itertuples():
        when = pd.Timestamp(int(row.ts_utc), unit="s", tz="UTC").tz_convert(tz)
        figure.add_vline(x=when, line_dash="dot", line_color="#6e56cf", line_width=1)
        figure.add_annotation(x=when, y=1, yref="paper", text=(t("auto") + ": " if row.automatic else "") + say(row.label),
                              showarrow=False, textangle=-90, xanchor="right", yanchor="top",
                              font={"size": 10, "color": "#6e56cf"})


WALL_TEXT, WALL_GRID = "#e8eaf0", "#283042"


# On a browser screen a chart's only tool is its PNG download (shown on hover, at twice the
# size for slides); the wall screen shows no tools at all.
CHART_CONFIG = {"displayModeBar": "hover", "modeBarButtons": [["toImage"]], "displaylogo": False,
                "toImageButtonOptions": {"format": "png", "scale": 2, "filename": "cockpit-chart"}}
WALL_CHART_CONFIG = {"displayModeBar": False}


def chart_config(figure: go.Figure) -> dict:
    """CHART_CONFIG with the PNG named after the chart's title."""
    title = figure.layout.title.text or "chart"
    stem = re.sub(r"[^\w]+", "-", title).strip("-").lower()[:60] or "chart"
    return {**CHART_CONFIG, "toImageButtonOptions": {**CHART_CONFIG["toImageButtonOptions"],
                                                     "filename": f"cockpit-{stem}"}}


# Time axes in Chinese: plotly.js writes month and weekday names in English whatever the page's
# language, so the tick labels take numeric Chinese formats at each zoom level instead.
ZH_TIME_TICKS = [
    {"dtickrange": [None, 86_400_000], "value": "%H:%M\n%-m月%-d日"},
    {"dtickrange": [86_400_000, "M1"], "value": "%-m月%-d日"},
    {"dtickrange": ["M1", "M12"], "value": "%Y年%-m月"},
    {"dtickrange": ["M12", None], "value": "%Y年"},
]


def _is_time(values) -> bool:
    if values is None or len(values) == 0:
        return False
    first = values[0]
    return isinstance(first, (datetime, pd.Timestamp, np.datetime64)) or (
        hasattr(values, "dtype") and np.issubdtype(values.dtype, np.datetime64))


def localize_time_axes(figure: go.Figure) -> go.Figure:
    """Chinese tick labels on every time axis of `figure` when the session speaks Chinese; and
    in both languages an unambiguous numeric hover time."""
    axes = {getattr(trace, "xaxis", None) or "x" for trace in figure.data if _is_time(getattr(trace, "x", None))}
    for axis in axes:
        name = "xaxis" if axis == "x" else f"xaxis{axis[1:]}"
        settings = {"hoverformat": "%Y-%m-%d %H:%M"}
        if language() == "zh-CN":
            settings["tickformatstops"] = ZH_TIME_TICKS
        figure.update_layout({name: settings})
    return figure


def show_figure(figure: go.Figure, key: str | None = None, on_select: str = "ignore"):
    """Draw a figure; on the wall screen with its own dark template instead of Streamlit's theme."""
    localize_time_axes(figure)
    if shell.is_wall():
        # A few colours rather than the plotly_dark template: assigning a whole template
        # costs plotly about 7 ms a figure, a third of a wall screen's fragment run.
        figure.update_layout(paper_bgcolor="#0b0d12", plot_bgcolor="#0b0d12",
                             font={"size": 15, "color": WALL_TEXT}, legend={"font": {"color": WALL_TEXT}})
        figure.update_xaxes(gridcolor=WALL_GRID, linecolor=WALL_GRID, zerolinecolor=WALL_GRID)
        figure.update_yaxes(gridcolor=WALL_GRID, linecolor=WALL_GRID, zerolinecolor=WALL_GRID)
    return st.plotly_chart(figure, width="stretch", key=key, on_select=on_select, theme=None if shell.is_wall() else "streamlit",
                           config=WALL_CHART_CONFIG if shell.is_wall() else chart_config(figure))


def alert_list(frame: pd.DataFrame, tz: ZoneInfo, limit: int = 8) -> None:
    """Open alerts, critical first, at most `limit` with a count of the rest."""
    if frame.empty:
        st.success(t("No open alerts."))
        return
    order = frame.assign(_rank=frame["level"].map({"critical": 0, "warn": 1}).fillna(2))
    order = order.sort_values(["_rank", "opened_minute"], ascending=[True, False], kind="stable")
    for row in order.head(limit).itertuples():
        since = local_time(row.opened_minute * 60, tz)
        status = f" · {t('acknowledged')}" if row.status == "acknowledged" else ""
        text = f"**{t(LEVEL_WORDS[row.level]).upper()}** · {alert_text(row)} · {t('since')} {since}{status}"
        (st.error if row.level == "critical" else st.warning)(text)
    if len(order) > limit:
        st.caption(t("… and {n} more open alerts on the Alerts page.", n=len(order) - limit))


def critical_banner(frame: pd.DataFrame) -> None:
    """The wall screen's across-the-room banner: every critical alert, huge and red."""
    critical = frame[frame["level"] == "critical"]
    if critical.empty:
        return
    items = "".join(f"<li>{html.escape(alert_text(row))}</li>" for row in critical.head(4).itertuples())
    more = t("… and {n} more", n=len(critical) - 4) if len(critical) > 4 else ""
    st.html(f"<div class='cockpit-critical'><b>⚠ {t('CRITICAL')} ({len(critical)})</b><ul>{items}</ul>{more}</div>")


def warning_summary(frame: pd.DataFrame | None) -> None:
    """The wall screen's one line for what is not critical: how many warnings, the newest three."""
    if frame is None:
        return
    warnings = frame[frame["level"] == "warn"]
    if warnings.empty:
        if frame.empty:
            st.success(t("No open alerts."))
        return
    shown = " · ".join(alert_texts(warnings.head(3)))
    more = t(" · and {n} more", n=len(warnings) - 3) if len(warnings) > 3 else ""
    st.warning(t("{n} warnings: ", n=len(warnings)) + shown + more)
