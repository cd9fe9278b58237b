"""Forecasts & anomalies: daily sales forecasts per category and top SKU with their intervals and
backtest against seasonal naive (refitted by the scheduler; promotion days shaded), a promotion
day hour by hour against its forecast, and hourly traffic anomalies explained by channel."""
import pandas as pd
import streamlit as st

from cockpit.timebuckets import datetime_of_minute
from cockpit.ui import charts, exports, loaders, shell, widgets
from cockpit.ui.i18n import say, t

shell.require_frame()
settings = loaders.settings()
tz = settings.tz

st.title(t("Forecasts & anomalies"))
fresh = loaders.freshness(settings.db_url, settings.refresh_seconds)
widgets.freshness_badge(fresh, tz, settings.refresh_seconds)
if fresh.data_minute is None:
    st.stop()

st.subheader(t("Sales forecast, next 14 days"))
loaded = loaders.guarded("forecasts", fresh.data_minute, loaders.forecasts, settings.db_url, fresh.data_minute,
                         settings.timezone)
if widgets.load_marker(loaded, tz) and loaded.value is None:
    st.info(t("No forecast yet: the scheduler fits them {minutes} min apart, the first one shortly after it "
              "starts (`python -m cockpit run`).", minutes=settings.forecast_minutes))
elif loaded.value is not None:
    computed_minute, result = loaded.value
    scores, history, ahead = result["scores"], result["history"], result["forecasts"]
    last_day = pd.Timestamp("1970-01-01") + pd.Timedelta(days=result["as_of_day"] - 1)
    st.caption(t("Fitted on complete days up to {day}; computed at {when} ({tz}), refitted every {minutes} min.",
                 day=last_day.strftime("%Y-%m-%d"),
                 when=datetime_of_minute(computed_minute + 1, tz).strftime("%H:%M"), tz=tz.key,
                 minutes=settings.forecast_minutes))
    choices = [(kind, key) for kind, key in zip(scores["kind"], scores["key"])]
    left, right = st.columns([1, 3])
    with left:
        chosen = st.selectbox(t("Series"), choices, format_func=charts.series_label,
                              key="forecast_series")
    kind, key = chosen
    score = scores[(scores["kind"] == kind) & (scores["key"] == key)].iloc[0]
    with left:
        if score["model"]:
            st.metric(t("Backtest MASE"), f"{score['mase']:.2f}" if score["mase"] == score["mase"] else "–",
                      delta=f"{score['mase'] - score['baseline_mase']:+.2f} " + t("vs seasonal naive")
                      if score["mase"] == score["mase"] else None, delta_color="inverse",
                      help=t("Mean absolute error over the in-sample seasonal-naive error; below 1 is better "
                             "than repeating last week."))
            st.caption(say(score["model"]))
        (st.success if score["beats_baseline"] else st.warning)(say(score["verdict"]))
    with right:
        widgets.show_figure(charts.forecast_figure(
            history[(history["kind"] == kind) & (history["key"] == key)],
            ahead[(ahead["kind"] == kind) & (ahead["key"] == key)],
            t("{series}: units per day and forecast", series=key), promotions=result.get("promotions")))
    with st.expander(t("Every series' backtest ({n})", n=len(scores))):
        exports.table(charts.forecast_scores_table(scores), hide_index=True, width="stretch", name="forecasts-forecast-scores")

    today, hourly = result["as_of_day"], result.get("hourly")
    is_today = hourly is not None and hourly["day"] == today
    st.subheader(t("Today, hour by hour") if is_today else t("Promotion days, hour by hour"))
    if not is_today:
        st.info(charts.next_promotion_text(result.get("promotions"), today))
    if hourly is not None:
        frame = hourly["frame"]
        hourly_key = st.selectbox(t("Hourly series"), list(dict.fromkeys(frame["key"])), key="forecast_hourly_series")
        day_ahead = frame[frame["key"] == hourly_key]
        st.caption(t("{promotion} {when}: forecast from the {days} days before today; {model}.",
                     promotion=hourly["promotion"], when=t("today") if is_today else t("tomorrow"),
                     days=hourly["history_days"], model=say(hourly["models"].get(hourly_key, ""))))
        sold = day_ahead.iloc[:0].assign(units=0)
        if is_today:
            sold = loaders.hours_sold(settings.db_url, fresh.data_minute, settings.timezone, today)
            sold = sold[sold["key"] == hourly_key]
            so_far = day_ahead[day_ahead["hour_utc"].isin(sold["hour_utc"])]["mean"].sum()
            tiles = st.columns(3)
            tiles[0].metric(t("Forecast for the day"), f"{day_ahead['mean'].sum():,.0f}")
            tiles[1].metric(t("Sold so far"), f"{int(sold['units'].sum()):,}",
                            delta=f"{sold['units'].sum() - so_far:+,.0f} " + t("vs forecast for these hours"))
            tiles[2].metric(t("Forecast for the hours so far"), f"{so_far:,.0f}")
        widgets.show_figure(charts.hourly_forecast_figure(day_ahead, sold, t("{series}: units per hour", series=hourly_key)))

st.subheader(t("Anomaly alerts, last 24 hours"))
st.caption(t("Raised by the anomaly rules (Alerts & actions page) against the same minutes on the days before; "
             "their thresholds are the detector's sensitivity."))
recent = loaders.guarded("anomaly_alerts", fresh.data_minute, loaders.anomaly_alerts, settings.db_url,
                         fresh.data_minute, settings.timezone)
if widgets.load_marker(recent, tz) and recent.value is not None:
    found = recent.value
    if found["alerts"].empty:
        st.success(t("No anomaly alert in the last 24 hours."))
    for row in found["alerts"].itertuples():
        st.markdown(charts.anomaly_alert_line(row, tz), unsafe_allow_html=True)
        moved = found["explanations"].get(str(row.alert_id))
        if moved is not None and not moved.empty:
            with st.expander(t("What moved, by {dimension}", dimension=t(found["dimensions"][row.metric]))):
                exports.table(charts.moved_table(moved), hide_index=True, width="stretch",
                              name=f"alert-{row.alert_id}-what-moved")

st.subheader(t("Traffic anomalies"))
sensitivity = st.radio(t("Sensitivity"), ["low", "medium", "high"], index=1, horizontal=True,
                       format_func=lambda level: t(level), key="forecast_sensitivity")
hour_minute = (fresh.data_minute + 1) // 60 * 60 - 1
found = loaders.guarded(f"anomalies:{sensitivity}", hour_minute, loaders.traffic_anomalies, settings.db_url,
                        hour_minute, settings.timezone, sensitivity)
if widgets.load_marker(found, tz) and found.value is not None:
    data = found.value
    if data["series"].empty:
        st.info(t("Not enough traffic history yet for the anomaly model."))
    else:
        widgets.show_figure(charts.anomaly_figure(data["series"], tz, t("Sessions per hour, last 14 days ({method})",
                                                                          method=say(data["method"]))))
        if data["anomalies"].empty:
            st.success(t("No anomaly in the last 48 hours at this sensitivity."))
        for row in data["anomalies"].itertuples():
            when = datetime_of_minute(int(row.hour_utc) * 60, tz).strftime("%Y-%m-%d %H:00")
            st.markdown(t("**{when}**: {sessions:,} sessions against {expected:,.0f} expected (score {score:+.1f})",
                          when=when, sessions=int(row.sessions), expected=row.expected, score=row.score))
            exports.table(charts.change_table(data["explanations"][str(int(row.hour_utc))]), hide_index=True,
                          width="stretch", name=f"what-changed-{when[:13].replace(' ', '-')}h-{row.Index}")
