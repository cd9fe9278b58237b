"""The scheduler's forecast job: daily sales forecasts per category and for the top SKUs,
with their backtests, published for the Forecasts page (hourly by default); on a promotion day
(today, or else tomorrow), an hour-by-hour forecast of that day's units per category and for the
shop.

Reads the complete shop-local days before the data minute's day and the promotions calendar
(the promotion days are the forecasts' regressor, used where the backtest says it helps), fits
models.forecast per series, and stores the result as the "forecasts" snapshot (cockpit.snapshots).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from cockpit import promotions, snapshots
from cockpit.metrics.sales import daily_sales, hourly_sales, top_skus
from cockpit.timebuckets import EPOCH_DATE, day_start_minute, local_day_of, local_days
from models import forecast
from models.phrases import Phrase, phrase, reason

log = logging.getLogger(__name__)
HISTORY_DAYS = 90
HORIZON_DAYS = 14
BACKTEST_HORIZON_DAYS = 7
BACKTEST_ORIGINS = 4
TOP_SKUS = 10
MIN_HISTORY_DAYS = 21  # three weeks: one weekly season to learn and one to check
HOURLY_HISTORY_DAYS = 28
SHOP_TOTAL = "all categories"
VIEW = "forecasts"

SCORE_COLUMNS = ["kind", "key", "model", "mase", "mape", "baseline_mase", "baseline_mape", "beats_baseline",
                 "history_days", "verdict"]


@dataclass(frozen=True)
class ForecastRun:
    data_minute: int
    series: int
    seconds: float


def _day_numbers(index: pd.DatetimeIndex) -> np.ndarray:
    return ((index - pd.Timestamp(EPOCH_DATE)) // pd.Timedelta(days=1)).to_numpy(dtype="int64")


def _with_planned_uplift(ahead: pd.DataFrame, calendar: pd.DataFrame, regressors: pd.DataFrame | None,
                         history_index: pd.DatetimeIndex,
                         day_numbers: np.ndarray) -> tuple[pd.DataFrame, Phrase | None]:
    """The forecast times the planned uplift of promotions whose kind the history never held
    (promotions.planned_uplift), and that uplift in words for the model's label (None when none
    applies)."""
    seen = set()
    if regressors is not None:
        past = regressors.reindex(history_index).fillna(0.0)
        seen = {kind for kind in past.columns if past[kind].to_numpy().any()}
    factors, applied = promotions.planned_uplift(calendar, day_numbers, seen)
    if not applied:
        return ahead, None
    return ahead.mul(factors, axis=0), phrase(
        "x{factor:.2f} planned uplift on {kinds} (a kind the history has never seen, so the team's plan stands in for "
        "a learnt effect)", factor=float(factors.max()), kinds=", ".join(sorted(set(applied))))


def _labelled(label: Phrase, planned: Phrase | None) -> Phrase:
    """The model's label, and the planned uplift when one applies."""
    return phrase("{model}; {planned}", model=label, planned=planned) if planned is not None else label


def _one(kind: str, key: str, series: pd.Series, promotion_days: pd.DataFrame | None,
         calendar: pd.DataFrame | None = None) -> tuple[pd.DataFrame, dict, forecast.ForecastModel | None]:
    days = len(series)
    if days < MIN_HISTORY_DAYS or series.sum() <= 0:
        return pd.DataFrame(), {"kind": kind, "key": key, "model": "", "mase": np.nan, "mape": np.nan,
                                "baseline_mase": np.nan, "baseline_mape": np.nan, "beats_baseline": False,
                                "history_days": days,
                                "verdict": phrase("Not enough history to forecast: {days} days, {needed} needed.",
                                                  days=days, needed=MIN_HISTORY_DAYS)}, None
    model = forecast.fit_model(series, promotions=promotion_days)
    ahead = forecast.fit_forecast(series, HORIZON_DAYS, model=model, promotions=promotion_days)
    # Units are never negative: the interval's lower end is cut at zero.
    ahead = ahead.clip(lower=0.0)
    planned = None
    if calendar is not None and len(calendar):
        ahead, planned = _with_planned_uplift(ahead, calendar, promotion_days, series.index, _day_numbers(ahead.index))
    frame = pd.DataFrame({"kind": kind, "key": key, "day": ahead.index.astype("datetime64[ns]"),
                          "mean": ahead["mean"].to_numpy(), "lower": ahead["lower"].to_numpy(),
                          "upper": ahead["upper"].to_numpy()})
    score = {"kind": kind, "key": key, "model": _labelled(model.label, planned), "mase": np.nan, "mape": np.nan,
             "baseline_mase": np.nan, "baseline_mape": np.nan, "beats_baseline": False, "history_days": days}
    # As many origins as the history allows, up to BACKTEST_ORIGINS: a month-old shop gets two.
    min_train = 2 * model.season_length + 2 if model.season_length > 1 else forecast.MIN_POINTS
    origins = min(BACKTEST_ORIGINS, max(1, (days - min_train) // BACKTEST_HORIZON_DAYS))
    try:
        result = model.backtest  # the comparison with and without promotions scored the same windows
        if result is None or (result.horizon, result.origins) != (BACKTEST_HORIZON_DAYS, origins):
            result = forecast.backtest(series, BACKTEST_HORIZON_DAYS, origins=origins, model=model,
                                       promotions=promotion_days)
        score.update(mase=result.mase, mape=result.mape, baseline_mase=result.baseline_mase,
                     baseline_mape=result.baseline_mape, beats_baseline=result.beats_baseline, verdict=result.verdict())
    except ValueError as exc:
        score["verdict"] = phrase("Forecast made, but no backtest yet: {reason}.", reason=reason(exc))
    return frame, score, model


def compute_forecasts(conn: Connection, data_minute: int, tz: ZoneInfo) -> dict:
    """The Forecasts page's value: history, forecasts and backtest scores per series."""
    today = local_day_of(data_minute, tz)
    first, last = today - HISTORY_DAYS, today - 1
    categories = daily_sales(conn, first, last, tz, by="category")
    calendar = promotions.list_promotions(conn)
    promotion_days = promotions.promotion_days(calendar, first, today + HORIZON_DAYS) if len(calendar) else None
    skus = top_skus(conn, day_start_minute(today - 28, tz), day_start_minute(today, tz), TOP_SKUS)
    by_sku = daily_sales(conn, first, last, tz, by="sku", skus=skus) if skus else categories.iloc[:0]
    history_parts, forecast_parts, scores, category_models = [], [], [], {}
    for kind, frame in (("category", categories), ("sku", by_sku)):
        for key, group in frame.groupby("key", sort=True):
            series = group.set_index("day")["units"].astype("float64")
            # History starts at the series' first sale: a product launched last month has no
            # zero sales before it existed.
            sold = np.flatnonzero(series.to_numpy() > 0)
            series = series.iloc[sold[0]:] if len(sold) else series.iloc[:0]
            series.index = pd.DatetimeIndex(series.index, freq="D")
            try:
                ahead, score, model = _one(kind, str(key), series, promotion_days, calendar)
                if kind == "category" and model is not None:
                    category_models[str(key)] = model
            except Exception as exc:  # one series that fails must not hide the others
                log.exception("forecast of %s %s failed", kind, key)
                ahead, score = pd.DataFrame(), {"kind": kind, "key": str(key),
                                                "verdict": phrase("Forecast failed: {error}", error=str(exc))}
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
        # model and verdict hold Phrases (the page shows them with cockpit.i18n.say), "" where none
        score_frame[name] = [v if isinstance(v, Phrase) else "" if v is None or v != v else str(v)
                             for v in score_frame[name]]
    history = history[["kind", "key", "day", "units"]].astype({"units": "int64"})
    forecasts = forecasts[["kind", "key", "day", "mean", "lower", "upper"]].astype(
        {"mean": "float64", "lower": "float64", "upper": "float64"})
    score_frame = score_frame.astype({"beats_baseline": "bool", "history_days": "int64", "mase": "float64",
                                      "mape": "float64", "baseline_mase": "float64", "baseline_mape": "float64"})
    return {"as_of_day": int(today), "computed_ts": time.time(), "history": history, "forecasts": forecasts,
            "scores": score_frame, "promotions": calendar,
            "hourly": hourly_forecast(conn, today, tz, calendar, category_models)}


HOURLY_COLUMNS = ["key", "hour_utc", "hour", "mean", "lower", "upper", "promotion"]


def _hour_index(hours: np.ndarray) -> pd.DatetimeIndex:
    """UTC hours since the epoch as a regular hourly index (models.forecast needs a frequency)."""
    return pd.DatetimeIndex(pd.to_datetime(np.asarray(hours, dtype="int64") * 3600, unit="s"), freq="h")


def hourly_forecast(conn: Connection, today: int, tz: ZoneInfo, calendar: pd.DataFrame,
                    daily_models: dict[str, forecast.ForecastModel] | None = None) -> dict | None:
    """The hour-by-hour forecast of units for the first promotion day among today and tomorrow
    (shop-local), per category and for the shop (key SHOP_TOTAL), from the HOURLY_HISTORY_DAYS
    complete days before today; None when neither day is a promotion day.

    Each series is fitted once (a backtest per hourly series would take minutes): with the
    promotion hours as regressor (models.forecast.fit_promotion_form, daily season) unless the
    category's daily model (daily_models) found the regressor no help, else ETS with a daily
    season.

    Returns {"day": the day number, "promotion": its name, "frame": HOURLY_COLUMNS rows (hour
    the local hour start without zone, mean/lower/upper the 95% interval, promotion 0/1),
    "models": {key: model label}, "history_days": HOURLY_HISTORY_DAYS}."""
    target = next((day for day in (today, today + 1)
                   if ((calendar["first_day"] <= day) & (calendar["last_day"] >= day)).any()), None)
    if target is None:
        return None
    start_hour = day_start_minute(today - HOURLY_HISTORY_DAYS, tz) // 60
    end_hour = day_start_minute(today, tz) // 60  # history: complete days only
    day_hours = np.arange(day_start_minute(target, tz) // 60, day_start_minute(target + 1, tz) // 60)
    history = hourly_sales(conn, start_hour, end_hour)
    if not (history["units"] > 0).any():
        return None
    # History starts at the shop's first sale: hours before the data began are not zero sales.
    history = history[history["hour_utc"] >= history.loc[history["units"] > 0, "hour_utc"].min()]
    start_hour = int(history["hour_utc"].min())
    all_hours = np.arange(start_hour, day_hours[-1] + 1)
    day_of_hour = local_days(all_hours * 60, tz)
    promotion_hours = pd.DataFrame({kind: promotions.covered_by(calendar[calendar["kind"] == kind], day_of_hour)
                                    for kind in sorted(set(calendar["kind"]))}, index=_hour_index(all_hours))
    totals = history.groupby("hour_utc", as_index=False)[["units"]].sum().assign(key=SHOP_TOTAL)
    parts, labels = [], {}
    for key, group in pd.concat([totals, history], ignore_index=True).groupby("key", sort=False):
        series = pd.Series(group["units"].to_numpy(dtype="float64"), index=_hour_index(group["hour_utc"]))
        if series.sum() <= 0:
            continue
        daily = (daily_models or {}).get(str(key))
        use_promotions = bool(promotion_hours.iloc[:len(series)].to_numpy().any()) and (
            daily is None or daily.method == "sarimax")
        try:
            if use_promotions:
                model = forecast.fit_promotion_form(series, promotion_hours, season_length=24)
                label = model.label
            else:
                model = forecast.fit_form(series, None, False, "add", 24)
                label = (phrase("{model}; promotion regressor left out: no help in the daily backtest",
                                model=model.label) if daily is not None and daily.promotions_tested else model.label)
            ahead = forecast.fit_forecast(series, len(all_hours) - len(series), model=model,
                                          promotions=promotion_hours).iloc[-len(day_hours):]
            ahead, planned = _with_planned_uplift(ahead.clip(lower=0.0), calendar, promotion_hours, series.index,
                                                  local_days(day_hours * 60, tz))
            label = _labelled(label, planned)
        except Exception:  # one series that fails must not hide the others
            log.exception("hourly forecast of %s failed", key)
            continue
        ahead = ahead.clip(lower=0.0)
        labels[str(key)] = label
        parts.append(pd.DataFrame({"key": str(key), "hour_utc": day_hours, "mean": ahead["mean"].to_numpy(),
                                   "lower": ahead["lower"].to_numpy(), "upper": ahead["upper"].to_numpy(),
                                   "promotion": promotion_hours.iloc[-len(day_hours):].to_numpy().max(axis=1)}))
    if not parts:
        return None
    frame = pd.concat(parts, ignore_index=True)
    frame["hour"] = (pd.to_datetime(frame["hour_utc"] * 3600, unit="s", utc=True).dt.tz_convert(tz)
                     .dt.tz_localize(None).astype("datetime64[ns]"))
    running = calendar[(calendar["first_day"] <= target) & (calendar["last_day"] >= target)]
    return {"day": int(target), "promotion": str(running["name"].iloc[0]), "frame": frame[HOURLY_COLUMNS],
            "models": labels, "history_days": HOURLY_HISTORY_DAYS}


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


def hours_sold(conn: Connection, day: int, tz: ZoneInfo, data_minute: int) -> pd.DataFrame:
    """Units sold on shop-local `day` up to data_minute, per hour, per category and for the
    shop (key SHOP_TOTAL): columns key, hour_utc, hour (local hour start, no zone), units; the
    data minute's hour holds what was sold so far, later hours are absent."""
    start = day_start_minute(day, tz) // 60
    end = min(day_start_minute(day + 1, tz) // 60, int(data_minute) // 60 + 1)
    sold = hourly_sales(conn, start, max(start, end))
    totals = sold.groupby("hour_utc", as_index=False)[["units"]].sum().assign(key=SHOP_TOTAL)
    frame = pd.concat([totals, sold], ignore_index=True)
    frame["hour"] = (pd.to_datetime(frame["hour_utc"] * 3600, unit="s", utc=True).dt.tz_convert(tz)
                     .dt.tz_localize(None).astype("datetime64[ns]"))
    return frame[["key", "hour_utc", "hour", "units"]].astype({"key": "str", "hour_utc": "int64", "units": "int64"})


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
