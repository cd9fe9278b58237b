"""Widgets the pages share: freshness badge, KPI tiles, sparklines, alert list."""
from __future__ import annotations

from zoneinfo import ZoneInfo

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from cockpit.timebuckets import datetime_of_minute
from cockpit.ui.i18n import t
from cockpit.ui.loaders import Freshness


def freshness_badge(fresh: Freshness, tz: ZoneInfo, refresh_seconds: int) -> None:
    """'Data as of HH:MM' from the scheduler's heartbeat; a warning when it is late."""
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
        st.caption(t("Data as of {as_of} ({tz}) · refreshed {lag}s ago", as_of=as_of, tz=tz.key, lag=int(fresh.lag_s)))


def pct_delta(now: float | None, before: float | None) -> str | None:
    if now is None or not before:
        return None
    return f"{(now - before) / before:+.1%}"


def kpi_tile(column, label: str, value: str, delta: str | None, help_text: str | None = None, inverse: bool = False) -> None:
    column.metric(label, value, delta, delta_color="inverse" if inverse else "normal", help=help_text)


def minute_sparkline(frame: pd.DataFrame, y: str, title: str, tz: ZoneInfo) -> None:
    """A small line chart of a per-minute column, times in the shop's zone."""
    if frame.empty:
        st.info(t("No {title} in the last hours.", title=title))
        return
    times = pd.to_datetime(frame["minute_utc"] * 60, unit="s", utc=True).dt.tz_convert(tz)
    figure = go.Figure(go.Scatter(x=times, y=frame[y], mode="lines", line={"width": 2}))
    figure.update_layout(title=title, height=220, margin={"l": 10, "r": 10, "t": 40, "b": 10}, showlegend=False)
    st.plotly_chart(figure, width="stretch")


def alert_list(frame: pd.DataFrame) -> None:
    if frame.empty:
        st.success(t("No open alerts."))
        return
    for row in frame.itertuples():
        text = f"**{row.level.upper()}** · {row.message}"
        (st.error if row.level == "critical" else st.warning)(text)
