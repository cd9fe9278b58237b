"""Sales forecasts with prediction intervals (statsmodels ETS), and rolling-origin backtests
against the seasonal-naive baseline (MASE, MAPE).

Works on any regular series: daily sales, weekly, monthly, hourly. The seasonal period comes
from the index's frequency unless given. The model is chosen among additive exponential
smoothing forms (level; damped trend; seasonal; damped trend and seasonal) by AICc, the
seasonal ones only when the series holds at least two seasons.

Promotions: given promotion regressors (1 on promotion days, over history and horizon; a Series,
or a DataFrame with one column per kind of promotion), a SARIMAX on log units (the promotions as
regressors, so each effect is a demand factor) competes with the ETS form, and is used only
where it helps: it must beat the ETS form on rolling-origin MASE over backtest windows that hold
a promotion day. The model's label says which was chosen, with both scores.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from statsmodels.tools.sm_exceptions import ConvergenceWarning
from statsmodels.tsa.exponential_smoothing.ets import ETSModel
from statsmodels.tsa.statespace.sarimax import SARIMAX

from models.phrases import Phrase, phrase

# Seasonal period by the frequency's base unit (pandas offset names, pandas 3 spelling).
SEASON_BY_FREQ = {"h": 24, "D": 7, "B": 5, "W": 52, "MS": 12, "ME": 12, "QS": 4, "QE": 4, "YS": 1, "YE": 1,
                  "min": 60}
MIN_POINTS = 4
INTERVAL = 0.95
PROMOTION_BACKTEST_ORIGINS = 4  # the windows on which the promotion regressor must beat ETS
PROMOTION = "promotion"  # the regressor's name when promotions is a Series
# The labels of the forms, by (trend, damped trend, season) and, for SARIMAX, (season, backtest compared).
ETS_LABELS = {
    (False, False, False): "ETS (level)",
    (True, False, False): "ETS (level, trend)",
    (True, True, False): "ETS (level, damped trend)",
    (False, False, True): "ETS (level, season of {season})",
    (True, False, True): "ETS (level, trend, season of {season})",
    (True, True, True): "ETS (level, damped trend, season of {season})",
}
SARIMAX_LABELS = {
    (False, False): "SARIMAX (log units) with promotion days as regressor ({factors})",
    (True, False): "SARIMAX (log units, season of {season}) with promotion days as regressor ({factors})",
    (False, True): "SARIMAX (log units) with promotion days as regressor ({factors}; backtest MASE {mase:.2f} against "
                   "{rival:.2f} without)",
    (True, True): "SARIMAX (log units, season of {season}) with promotion days as regressor ({factors}; backtest MASE "
                  "{mase:.2f} against {rival:.2f} without)",
}


def _frequency(series: pd.Series) -> str:
    """The offset alias of a regular DatetimeIndex (ValueError for anything else)."""
    if not isinstance(series.index, pd.DatetimeIndex):
        raise ValueError("the series needs a DatetimeIndex (e.g. daily dates); got "
                         f"{type(series.index).__name__}")
    if series.index.has_duplicates or not series.index.is_monotonic_increasing:
        raise ValueError("the series' index must be increasing without duplicate timestamps: sort it and sum duplicates")
    freq = series.index.freqstr or (pd.infer_freq(series.index) if len(series) >= 3 else None)
    if freq is None:
        raise ValueError("the series is not regular (no frequency can be inferred): resample it, e.g. "
                         "series.resample('D').sum()")
    return freq


def season_length_for(freq: str) -> int:
    """The usual seasonal period of a frequency alias: 7 for daily, 24 for hourly, 12 for monthly..."""
    offset = pd.tseries.frequencies.to_offset(freq)
    base = offset.rule_code.split("-")[0]
    if offset.n != 1:
        # e.g. "15min": a day of such steps when it divides a day, otherwise no seasonality
        step = pd.Timedelta(offset) if base in ("min", "h", "s") else None
        if step is not None and pd.Timedelta(days=1) % step == pd.Timedelta(0):
            return int(pd.Timedelta(days=1) / step)
        return 1
    return SEASON_BY_FREQ.get(base, 1)


def _prepared(series: pd.Series, season_length: int | None) -> tuple[pd.Series, str, int]:
    if not isinstance(series, pd.Series):
        raise ValueError(f"series must be a pandas Series, got {type(series).__name__}")
    freq = _frequency(series)
    values = pd.to_numeric(series, errors="coerce").astype("float64")
    if values.isna().any():
        raise ValueError(f"the series has {int(values.isna().sum())} missing or non-numeric values: fill them "
                         "(a day without sales is 0)")
    if len(values) < MIN_POINTS:
        raise ValueError(f"the series needs at least {MIN_POINTS} points to forecast, got {len(values)}")
    m = season_length_for(freq) if season_length is None else int(season_length)
    if m < 1:
        raise ValueError("season_length must be a positive number of steps (1 = no seasonality)")
    index = pd.DatetimeIndex(values.index, freq=freq)
    return pd.Series(values.to_numpy(), index=index, name=series.name), freq, m


@dataclass(frozen=True)
class ForecastModel:
    """The chosen form and its fit: an ETS form, or (method "sarimax") the SARIMAX on log
    units with the promotion regressor."""

    trend: str | None
    damped: bool
    seasonal: str | None
    season_length: int
    aicc: float
    result: object  # statsmodels ETSResults or SARIMAXResults
    method: str = "ets"  # ets | sarimax
    # sarimax: the fitted demand factor of a promotion day, per regressor (column) learnt
    promotion_uplifts: tuple[tuple[str, float], ...] = ()
    promotions_tested: bool = False  # ets chosen after the promotion regressor lost the backtest
    backtest: Backtest | None = None  # the chosen model's, when fit_model compared the two
    rival_mase: float = float("nan")  # the other model's backtest MASE in that comparison

    @property
    def promotion_uplift(self) -> float:
        """The demand factor of the (first) promotion regressor; 1 without one."""
        return self.promotion_uplifts[0][1] if self.promotion_uplifts else 1.0

    @property
    def label(self) -> Phrase:
        """The form in words, e.g. "ETS (level, damped trend, season of 7)"."""
        if self.method == "sarimax":
            factors = [phrase("x{factor:.2f} on a promotion day", factor=factor) if name == PROMOTION
                       else phrase("x{factor:.2f} on {kind}", factor=factor, kind=name)
                       for name, factor in self.promotion_uplifts]
            listed = factors[0] if factors else phrase("none seen yet")
            for factor in factors[1:]:
                listed = phrase("{factors}, {factor}", factors=listed, factor=factor)
            versus = self.backtest is not None
            return phrase(SARIMAX_LABELS[bool(self.seasonal), versus], season=self.season_length, factors=listed,
                          mase=self.backtest.mase if versus else float("nan"), rival=self.rival_mase)
        trend = bool(self.trend)
        label = phrase(ETS_LABELS[trend, trend and self.damped, bool(self.seasonal)], season=self.season_length)
        if self.promotions_tested:
            label = phrase("{model}; promotion regressor tried, no better in backtest (MASE {rival:.2f} against "
                           "{mase:.2f} without)", model=label, rival=self.rival_mase, mase=self.backtest.mase)
        return label


def _candidates(n: int, m: int) -> list[tuple[str | None, bool, str | None]]:
    forms = [(None, False, None)]
    if n >= 6:
        forms.append(("add", True, None))
    if m > 1 and n >= 2 * m + 2:
        forms.append((None, False, "add"))
        forms.append(("add", True, "add"))
    return forms


def _promotion_values(promotions: pd.Series | pd.DataFrame, index: pd.DatetimeIndex) -> pd.DataFrame:
    """The regressors on index: the promotions' values there, 0 where the calendar says nothing.
    A Series is one regressor (PROMOTION); a DataFrame one per column (e.g. per promotion kind)."""
    if not isinstance(promotions, (pd.Series, pd.DataFrame)) or not isinstance(promotions.index, pd.DatetimeIndex):
        raise ValueError("promotions must be a pandas Series on a DatetimeIndex (1 on promotion days, 0 otherwise) "
                         "covering the history and the forecast horizon, or a DataFrame of such columns")
    frame = promotions.to_frame(PROMOTION) if isinstance(promotions, pd.Series) else promotions
    values = frame.apply(pd.to_numeric, errors="coerce").astype("float64")
    if values.isna().any().any():
        raise ValueError("promotions has missing or non-numeric values: use 0 for days without promotion")
    values.columns = [str(name) for name in values.columns]
    return values.groupby(level=0).max().reindex(index, fill_value=0.0)


def fit_promotion_form(series: pd.Series, promotions: pd.Series, *, season_length: int | None = None,
                       seasonal: bool = True, start: ForecastModel | None = None) -> ForecastModel:
    """SARIMAX on log(1 + units) with the promotion regressor: (1,0,0)(0,1,1,m) with a season,
    else (0,1,1), the ARIMA twin of simple exponential smoothing. A promotion's coefficient b
    means demand times exp(b). A history without a promotion day fits the same model without
    the regressor (its effect cannot be learnt). seasonal: False when the plain form has no
    season (a seasonal difference of a series without season only adds noise); there is none
    either below two seasons of history. start: an earlier fit whose parameters start the
    search (a backtest's refits converge faster)."""
    values, _freq, m = _prepared(series, season_length)
    if (values < 0).any():
        raise ValueError("the promotion model works on log units: the series must not be negative")
    promo = _promotion_values(promotions, values.index)
    seasonal = seasonal and m > 1 and len(values) >= 2 * m + 2
    learnt = [name for name in promo.columns if promo[name].any()]  # an unseen kind's effect is unknown
    exog = promo[learnt] if learnt else None
    model = SARIMAX(np.log1p(values), exog=exog, order=(1, 0, 0) if seasonal else (0, 1, 1),
                    seasonal_order=(0, 1, 1, m) if seasonal else (0, 0, 0, 0), trend="n")
    start_params = None
    if start is not None and list(start.result.params.index) == list(model.param_names):
        start_params = start.result.params.to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence and start-parameter notes on short series
        result = model.fit(start_params=start_params, disp=False, maxiter=200)
    uplifts = tuple((name, float(np.exp(result.params[name]))) for name in learnt)
    return ForecastModel(None, False, "add" if seasonal else None, m, float(result.aicc), result, method="sarimax",
                         promotion_uplifts=uplifts)


def fit_model(series: pd.Series, *, season_length: int | None = None,
              promotions: pd.Series | None = None) -> ForecastModel:
    """The additive ETS form with the lowest AICc on series (see the module's docstring); with
    promotions (a Series, or a DataFrame of one column per kind, over the history and, for
    forecasts, the horizon: 1 on promotion days),
    the promotion model instead when it beats that form on rolling-origin MASE over the last
    PROMOTION_BACKTEST_ORIGINS seasons, and these hold a promotion day."""
    best = _best_ets(series, season_length)
    if promotions is None:
        return best
    values, _freq, m = _prepared(series, season_length)
    promo = _promotion_values(promotions, values.index).to_numpy().any(axis=1)
    horizon = m if m > 1 else 7
    min_train = 2 * m + 2 if m > 1 else 2 * MIN_POINTS
    origins = min(PROMOTION_BACKTEST_ORIGINS, (len(values) - min_train) // horizon)
    if not promo.any() or (values < 0).any() or origins < 1:
        return best
    if not promo[-origins * horizon:].any():
        return best  # no promotion day to show the regressor helps
    challenger = fit_promotion_form(series, promotions, season_length=m, seasonal=best.seasonal is not None)
    plain = backtest(series, horizon, origins=origins, season_length=m, model=best)
    with_promotions = backtest(series, horizon, origins=origins, season_length=m, model=challenger,
                               promotions=promotions)
    if with_promotions.mase < plain.mase:
        return replace(challenger, backtest=with_promotions, rival_mase=plain.mase)
    return replace(best, promotions_tested=True, backtest=plain, rival_mase=with_promotions.mase)


def _best_ets(series: pd.Series, season_length: int | None) -> ForecastModel:
    values, _freq, m = _prepared(series, season_length)
    best = None
    for trend, damped, seasonal in _candidates(len(values), m):
        model = ETSModel(values, error="add", trend=trend, damped_trend=damped, seasonal=seasonal,
                         seasonal_periods=m if seasonal else None, initialization_method="estimated")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            result = model.fit(disp=False, maxiter=2000)
        aicc = float(result.aicc) if np.isfinite(result.aicc) else float(result.aic)
        if not np.isfinite(aicc):
            continue
        if best is None or aicc < best.aicc:
            best = ForecastModel(trend, damped, seasonal, m, aicc, result)
    if best is None:
        raise ValueError("no exponential smoothing model could be fitted to the series")
    return best


def fit_form(series: pd.Series, trend: str | None, damped: bool, seasonal: str | None,
             season_length: int) -> ForecastModel:
    """One given ETS form fitted to series (a backtest refits the chosen form at each origin)."""
    values, _freq, _m = _prepared(series, season_length)
    if seasonal and len(values) < 2 * season_length + 2:
        seasonal = None
    model = ETSModel(values, error="add", trend=trend, damped_trend=damped if trend else False, seasonal=seasonal,
                     seasonal_periods=season_length if seasonal else None, initialization_method="estimated")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        result = model.fit(disp=False, maxiter=2000)
    return ForecastModel(trend, damped, seasonal, season_length, float(result.aicc), result)


def fit_forecast(series: pd.Series, horizon: int, *, season_length: int | None = None,
                 model: ForecastModel | None = None, promotions: pd.Series | None = None) -> pd.DataFrame:
    """Forecast the next `horizon` steps of a regular series.

    Returns a DataFrame indexed by the next horizon timestamps (the series' frequency) with
    columns mean, lower, upper: the point forecast and its 95% prediction interval. model: a
    form chosen earlier (fit_model) to refit instead of choosing again. promotions: 1 on the
    promotion days of the history and the horizon (see fit_model); a promotion model needs it.
    The promotion model's mean is its median (the back-transformed log forecast)."""
    if int(horizon) < 1:
        raise ValueError("horizon must be at least 1 step")
    if model is not None and model.method == "sarimax" and promotions is None:
        raise ValueError("a promotion model needs promotions over the history and the horizon")
    if model is None:
        fitted = fit_model(series, season_length=season_length, promotions=promotions)
    elif _fitted_on(model, series):
        fitted = model  # fit_model's result on this very series: no refit
    elif model.method == "sarimax":
        fitted = fit_promotion_form(series, promotions, season_length=model.season_length,
                                    seasonal=model.seasonal is not None, start=model)
    else:
        fitted = fit_form(series, model.trend, model.damped, model.seasonal, model.season_length)
    future = _future_index(series, int(horizon))
    if fitted.method == "sarimax":
        learnt = [name for name, _factor in fitted.promotion_uplifts]
        exog = _promotion_values(promotions, future)[learnt] if learnt else None
        frame = fitted.result.get_forecast(steps=int(horizon), exog=exog).summary_frame(alpha=1 - INTERVAL)
        # Back from log(1 + units): the interval's ends map to the interval's ends.
        return pd.DataFrame({"mean": np.expm1(frame["mean"].to_numpy(dtype="float64")),
                             "lower": np.expm1(frame["mean_ci_lower"].to_numpy(dtype="float64")),
                             "upper": np.expm1(frame["mean_ci_upper"].to_numpy(dtype="float64"))}, index=future)
    n = len(series)
    frame = fitted.result.get_prediction(start=n, end=n + int(horizon) - 1).summary_frame(alpha=1 - INTERVAL)
    out = pd.DataFrame({"mean": frame["mean"].to_numpy(dtype="float64"),
                        "lower": frame["pi_lower"].to_numpy(dtype="float64"),
                        "upper": frame["pi_upper"].to_numpy(dtype="float64")},
                       index=future)
    return out


def _fitted_on(model: ForecastModel, series: pd.Series) -> bool:
    endog = np.asarray(model.result.model.endog, dtype="float64").ravel()
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64")
    if model.method == "sarimax":
        values = np.log1p(values)
    return len(endog) == len(values) and bool(np.array_equal(endog, values))


def _future_index(series: pd.Series, horizon: int) -> pd.DatetimeIndex:
    freq = _frequency(series)
    return pd.date_range(series.index[-1], periods=horizon + 1, freq=freq)[1:]


def seasonal_naive(series: pd.Series, horizon: int, *, season_length: int | None = None) -> pd.Series:
    """The seasonal-naive forecast: each step repeats the value one season earlier (the last
    value when the season is 1 or longer than the series)."""
    values, _freq, m = _prepared(series, season_length)
    if m > len(values):
        m = 1
    last_season = values.to_numpy()[-m:]
    repeated = np.resize(last_season, int(horizon)) if m > 1 else np.full(int(horizon), last_season[-1])
    return pd.Series(repeated, index=_future_index(series, int(horizon)), name="seasonal_naive")


@dataclass(frozen=True)
class Backtest:
    """Rolling-origin scores of the model and of seasonal naive over the same origins.

    MASE: mean absolute error over the in-sample mean absolute seasonal difference (below 1
    beats seasonal naive in-sample); MAPE: mean absolute percentage error over non-zero
    actuals (NaN if every actual is zero)."""

    origins: int
    horizon: int
    season_length: int
    mase: float
    mape: float
    baseline_mase: float
    baseline_mape: float
    errors: pd.DataFrame  # origin, step, actual, forecast, baseline

    @property
    def beats_baseline(self) -> bool:
        return bool(self.mase < self.baseline_mase)

    def verdict(self) -> Phrase:
        scores = dict(mase=self.mase, baseline=self.baseline_mase, origins=self.origins)
        if self.beats_baseline:
            return phrase("The forecast beats seasonal naive: MASE {mase:.2f} against {baseline:.2f} over {origins} "
                          "backtest origins.", **scores)
        return phrase("The forecast does NOT beat seasonal naive (MASE {mase:.2f} against {baseline:.2f} over {origins} "
                      "origins): use the seasonal-naive figures or more history.", **scores)


def backtest(series: pd.Series, horizon: int, *, origins: int = 5, season_length: int | None = None,
             min_train: int | None = None, model: ForecastModel | None = None,
             promotions: pd.Series | None = None) -> Backtest:
    """Refit at `origins` rolling origins (the last ones of the series, `horizon` apart) and
    score the forecasts of the following `horizon` steps against the actuals. model: refit
    this form at each origin (cheaper) instead of choosing the form again each time.
    promotions: the promotion regressor over the series (known in advance, as a calendar is)."""
    values, _freq, m = _prepared(series, season_length)
    horizon, origins = int(horizon), int(origins)
    if horizon < 1 or origins < 1:
        raise ValueError("horizon and origins must be at least 1")
    min_train = min_train or max(MIN_POINTS, 2 * m + 2 if m > 1 else MIN_POINTS)
    first_origin = len(values) - origins * horizon
    if first_origin < min_train:
        raise ValueError(phrase("the series is too short for {origins} origins of {horizon} steps: it needs at least "
                                "{needed} points, has {points}", origins=origins, horizon=horizon,
                                needed=min_train + origins * horizon, points=len(values)))
    rows = []
    for k in range(origins):
        cut = first_origin + k * horizon
        train, test = values.iloc[:cut], values.iloc[cut:cut + horizon]
        forecast = fit_forecast(train, horizon, season_length=m, model=model, promotions=promotions)["mean"]
        baseline = seasonal_naive(train, horizon, season_length=m)
        for step, (actual, f, b) in enumerate(zip(test.to_numpy(), forecast.to_numpy(), baseline.to_numpy()), 1):
            rows.append({"origin": test.index[0], "step": step, "actual": actual, "forecast": f, "baseline": b})
    errors = pd.DataFrame(rows)
    scale = _mase_scale(values.iloc[:first_origin].to_numpy(), m)
    return Backtest(
        origins=origins, horizon=horizon, season_length=m,
        mase=_mase(errors["actual"], errors["forecast"], scale), mape=_mape(errors["actual"], errors["forecast"]),
        baseline_mase=_mase(errors["actual"], errors["baseline"], scale),
        baseline_mape=_mape(errors["actual"], errors["baseline"]), errors=errors,
    )


def _mase_scale(train: np.ndarray, m: int) -> float:
    """The in-sample mean absolute seasonal difference; for a series that repeats its seasons
    exactly (a zero scale) the one-step difference, so that scores stay comparable."""
    for lag in dict.fromkeys((m if m < len(train) else 1, 1)):
        diffs = np.abs(train[lag:] - train[:-lag])
        scale = float(diffs.mean()) if len(diffs) else 0.0
        if scale > 0:
            return scale
    return float("nan")


def _mase(actual: pd.Series, forecast: pd.Series, scale: float) -> float:
    return float(np.mean(np.abs(actual.to_numpy() - forecast.to_numpy())) / scale)


def _mape(actual: pd.Series, forecast: pd.Series) -> float:
    a, f = actual.to_numpy(dtype="float64"), forecast.to_numpy(dtype="float64")
    nonzero = a != 0
    if not nonzero.any():
        return float("nan")
    return float(np.mean(np.abs((a[nonzero] - f[nonzero]) / a[nonzero])))
