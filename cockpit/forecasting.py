"""The scheduler's forecast job: daily sales forecasts per category and for the top SKUs,
with their backtests, published for the Forecasts page (hourly by default).

Reads the complete shop-local days before the data minute's day, fits models.forecast per
series, and stores the result as the "forecasts" snapshot (cockpit.snapshots).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from cockpit import snapshots
from cockpit.metrics.sales import daily_sales, top_skus
from cockpit.timebuckets import day_start_minute, local_day_of
from models import forecast

log = logging.getLogger(__name__)
HISTORY_DAYS = 90
HORIZON_DAYS = 14
BACKTEST_HORIZON_DAYS = 7
BACKTEST_ORIGINS = 4
TOP_SKUS = 10
MIN_HISTORY_DAYS = 21  # three weeks: one weekly season to learn and one to check
VIEW = "forecasts"

SCORE_COLUMNS = ["kind", "key", "model", "mase", "mape", "baseline_mase", "baseline_mape", "beats_baseline",
                 "history_days", "verdict"]


@dataclass(frozen=True)
class ForecastRun:
    data_minute: int
    series: int
    seconds: float


def _one(kind: str, key: str, series: pd.Series) -> tuple[pd.DataFrame, dict]:
    days = len(series)
    if days < MIN_HISTORY_DAYS or series.sum() <= 0:
        return pd.DataFrame(), {"kind": kind, "key": key, "model": "", "mase": np.nan, "mape": np.nan,
                                "baseline_mase": np.nan, "baseline_mape": np.nan, "beats_baseline": False,
                                "history_days": days,
                                "verdict": f"Not enough history to forecast: {days} days, {MIN_HISTORY_DAYS} needed."}
    model = forecast.fit_model(series)
    ahead = forecast.fit_forecast(series, HORIZON_DAYS, model=model)
    # Units are never negative: the interval's lower end is cut at zero.
    ahead = ahead.clip(lower=0.0)
    frame = pd.DataFrame({"kind": kind, "key": key, "day": ahead.index.astype("datetime64[ns]"),
                          "mean": ahead["mean"].to_numpy(), "lower": ahead["lower"].to_numpy(),
                          "upper": ahead["upper"].to_numpy()})
    score = {"kind": kind, "key": key, "model": model.label, "mase": np.nan, "mape": np.nan, "baseline_mase": np.nan,
             "baseline_mape": np.nan, "beats_baseline": False, "history_days": days}
    # As many origins as the history allows, up to BACKTEST_ORIGINS: a month-old shop gets two.
    min_train = 2 * model.season_length + 2 if model.season_length > 1 else forecast.MIN_POINTS
    origins = min(BACKTEST_ORIGINS, max(1, (days - min_train) // BACKTEST_HORIZON_DAYS))
    try:
        result = forecast.backtest(series, BACKTEST_HORIZON_DAYS, origins=origins, model=model)
        score.update(mase=result.mase, mape=result.mape, baseline_mase=result.baseline_mase,
                     baseline_mape=result.baseline_mape, beats_baseline=result.beats_baseline, verdict=result.verdict())
    except ValueError as exc:
        score["verdict"] = f"Forecast made, but no backtest yet: {exc}."
    return frame, score


def compute_forecasts(conn: Connection, data_minute: int, tz: ZoneInfo) -> dict:
    """The Forecasts page's value: history, forecasts and backtest scores per series."""
    today = local_day_of(data_minute, tz)
    first, last = today - HISTORY_DAYS, today - 1
    categories = daily_sales(conn, first, last, tz, by="category")
    skus = top_skus(conn, day_start_minute(today - 28, tz), day_start_minute(today, tz), TOP_SKUS)
    by_sku = daily_sales(conn, first, last, tz, by="sku", skus=skus) if skus else categories.iloc[:0]
    history_parts, forecast_parts, scores = [], [], []
    for kind, frame in (("category", categories), ("sku", by_sku)):
        for key, group in frame.groupby("key", sort=True):
            series = group.set_index("day")["units"].astype("float64")
            # History starts at the series' first sale: a product launched last month has no
            # zero sales before it existed.
            sold = np.flatnonzero(series.to_numpy() > 0)
            series = series.iloc[sold[0]:] if len(sold) else series.iloc[:0]
            series.index = pd.DatetimeIndex(series.index, freq="D")
            try:
                ahead, score = _one(kind, str(key), series)
            except Exception as exc:  # one series that fails must not hide the others
                log.exception("forecast of %s %s failed", kind, key)
                ahead, score = pd.DataFrame(), {"kind": kind, "key": str(key), "verdict": f"Forecast failed: {exc}"}
            history_parts.append(pd.DataFrame({"kind": kind, "key": str(key), "day": series.index.to_numpy(),
                                               "units": series.to_numpy(dtype="int64")}))
            forecast_parts.append(ahead)
            scores.append(score)
    history = pd.concat(history_parts, ignore_index=True) if history_parts else pd.DataFrame(
        {"kind": [], "key": [], "day": pd.Series(dtype="datetime64[ns]"), "units": pd.Series(dtype="int64")})
    ahead = [part for part in forecast_parts if not part.empty]
    forecasts = pd.concat(ahead, ignore_index=True) if ahead else pd.DataFrame(
        {"kind": [], "key": [], "day": pd.Series(dtype="datetime64[ns]"), "mean": [], "lower": [], "upper": []})
    score_frame = pd.DataFrame(scores).reindex(columns=SCORE_COLUMNS)
    for name in ("kind", "key", "model", "verdict"):
        history[name] = history[name].astype("str") if name in history else None
        forecasts[name] = forecasts[name].astype("str") if name in forecasts else None
        score_frame[name] = score_frame[name].fillna("").astype("str")
    history = history[["kind", "key", "day", "units"]].astype({"units": "int64"})
    forecasts = forecasts[["kind", "key", "day", "mean", "lower", "upper"]].astype(
        {"mean": "float64", "lower": "float64", "upper": "float64"})
    score_frame = score_frame.astype({"beats_baseline": "bool", "history_days": "int64", "mase": "float64",
                                      "mape": "float64", "baseline_mase": "float64", "baseline_mape": "float64"})
    return {"as_of_day": int(today), "computed_ts": time.time(), "history": history, "forecasts": forecasts,
            "scores": score_frame}


def publish_forecasts(engine, tz: ZoneInfo) -> ForecastRun | None:
    """Compute the forecasts for the newest data minute and store them; None before any refresh."""
    done = snapshots.publish_computed(engine, VIEW, {"tz": tz.key}, lambda conn, minute: compute_forecasts(conn, minute, tz))
    if done is None:
        return None
    minute, value, seconds = done
    return ForecastRun(minute, len(value["scores"]), seconds)


def latest_forecasts(conn: Connection, tz: ZoneInfo) -> tuple[int, dict] | None:
    """(data minute, value) of the newest published forecasts, or None."""
    return snapshots.fetch_latest(conn, VIEW, {"tz": tz.key})


MAX_FORECAST_AGE_MINUTES = 2 * 1440  # an older forecast no longer drives replenishment


def sku_forecast(conn: Connection, sku: str, tz: ZoneInfo, now_minute: int) -> pd.DataFrame | None:
    """The SKU's published daily forecast from today on (columns day, mean, lower, upper), or
    None when the SKU is not among the forecast series or the newest forecast is more than
    MAX_FORECAST_AGE_MINUTES old: replenishment then falls back to the recent pace."""
    latest = latest_forecasts(conn, tz)
    if latest is None or latest[0] < now_minute - MAX_FORECAST_AGE_MINUTES:
        return None
    ahead = latest[1]["forecasts"]
    today = pd.Timestamp("1970-01-01") + pd.Timedelta(days=local_day_of(now_minute, tz))
    rows = ahead[(ahead["kind"] == "sku") & (ahead["key"] == sku) & (ahead["day"] >= today)]
    return rows[["day", "mean", "lower", "upper"]].reset_index(drop=True) if len(rows) else None
