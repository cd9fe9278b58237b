"""Anomalies in a metric's series, and which dimension values explain a change in a total.

Detection: the series (on the log or square-root scale when it is never negative) is compared
with an expected value, by default from robust STL (statsmodels: trend plus season), or the
median of the same point in the previous seasons; each point's score is its remainder over a
robust spread (1.4826 x the median absolute deviation of the remainders, a standard deviation
for normal noise). A point is
anomalous when |score| reaches the sensitivity's threshold. Series too short for a season
fall back to a rolling median baseline.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.tsa.seasonal import STL

from models.forecast import season_length_for
from models.phrases import Phrase, phrase

# Sensitivity -> |robust z| threshold: "high" flags more (and more false alarms). The in-sample
# remainders of a robust STL fit are a little tighter than the noise (the fit follows part of
# it), so the thresholds sit above the textbook 3 to 4: on clean hourly data with 5% noise
# "medium" raised at most one alarm in 336 points over eight seeds.
SENSITIVITY = {"low": 7.0, "medium": 5.5, "high": 4.0}
MAD_TO_SD = 1.4826


@dataclass(frozen=True)
class Detection:
    """Per point: value, expected (trend + season), score (robust z of the remainder), is_anomaly."""

    frame: pd.DataFrame
    threshold: float
    period: int
    method: Phrase  # the baseline in words, e.g. "robust STL, period 24"

    @property
    def anomalies(self) -> pd.DataFrame:
        return self.frame[self.frame["is_anomaly"]]


def _threshold(sensitivity: str | float) -> float:
    if isinstance(sensitivity, str):
        if sensitivity not in SENSITIVITY:
            raise ValueError(f"sensitivity must be one of {list(SENSITIVITY)} or a positive number")
        return SENSITIVITY[sensitivity]
    if not sensitivity > 0:
        raise ValueError("a numeric sensitivity is the |z| threshold and must be positive")
    return float(sensitivity)


def detect(series: pd.Series, *, period: int | None = None, sensitivity: str | float = "medium",
           direction: str = "both", baseline: str = "stl", seasons: int = 3, transform: str = "log") -> Detection:
    """Score every point of a regular series (see the module's docstring).

    period: the seasonal period in steps (default from the index's frequency: 24 for hourly,
    7 for daily, 1440 / step for sub-hourly steps); direction: "both", "up" (only rises are
    anomalies) or "down". baseline "stl" (robust STL) or "seasonal_median": the median of the
    same point in the previous `seasons` periods (e.g. the same hour of the last three weeks
    with period 168), which follows daily and weekly shapes at once; points without that much
    history get no score. transform "log" (noise in proportion to the level), "sqrt" (counts:
    Poisson noise) or "none"; non-negative series only for the first two."""
    if direction not in ("both", "up", "down"):
        raise ValueError("direction must be 'both', 'up' or 'down'")
    if baseline not in ("stl", "seasonal_median"):
        raise ValueError("baseline must be 'stl' or 'seasonal_median'")
    if transform not in ("log", "sqrt", "none"):
        raise ValueError("transform must be 'log', 'sqrt' or 'none'")
    if not isinstance(series.index, pd.DatetimeIndex):
        raise ValueError("the series needs a DatetimeIndex")
    values = pd.to_numeric(series, errors="coerce").astype("float64")
    if values.isna().any():
        raise ValueError("the series has missing values: fill them (no visits in a minute is 0)")
    if len(values) < 8:
        raise ValueError(f"the series needs at least 8 points, got {len(values)}")
    threshold = _threshold(sensitivity)
    if period is None:
        freq = series.index.freqstr or pd.infer_freq(series.index)
        if freq is None:
            raise ValueError("the series is not regular: resample it or give period")
        period = season_length_for(freq)
    period = int(period)
    raw = values.to_numpy()
    # Counts and money are non-negative and vary with their level (a busy hour swings by more
    # visitors than a quiet one): on the log (or, for counts, square-root) scale that noise is
    # even, so one spread serves every hour. Series with negative values are scored as they are.
    if (raw < 0).any():
        transform = "none"
    forward, back = {"log": (np.log1p, np.expm1), "sqrt": (np.sqrt, np.square),
                     "none": (lambda v: v, lambda v: v)}[transform]
    x = forward(raw)
    if baseline == "seasonal_median":
        if period < 2 or seasons < 1:
            raise ValueError("the seasonal-median baseline needs a period of at least 2 and seasons >= 1")
        if len(x) <= seasons * period:
            raise ValueError(f"the seasonal-median baseline needs more than {seasons} x {period} points, "
                             f"got {len(x)}")
        expected = np.full(len(x), np.nan)
        lags = np.stack([x[seasons * period - k * period:len(x) - k * period] for k in range(1, seasons + 1)])
        expected[seasons * period:] = np.median(lags, axis=0)
        method = phrase("median of the previous {seasons} periods of {period}", seasons=seasons, period=period)
    elif period >= 2 and len(x) >= 2 * period + 1:
        # A wide seasonal smoother keeps the daily shape steady across the seasons: with the
        # default (7) the season bends towards each day's noise, shrinking the remainders
        # that the spread is measured on and making ordinary points look extreme.
        cycles = len(x) // period
        fit = STL(x, period=period, seasonal=max(7, 2 * cycles + 1), robust=True).fit()
        expected = fit.trend + fit.seasonal
        method = phrase("robust STL, period {period}", period=period)
    else:
        window = max(3, min(len(x) // 4 * 2 + 1, 61))
        expected = pd.Series(x).rolling(window, center=True, min_periods=1).median().to_numpy()
        method = phrase("rolling median of {window}", window=window)
    remainder = x - expected
    scored = ~np.isnan(remainder)
    score = np.full(len(x), np.nan)
    score[scored] = remainder[scored] / _spread(remainder[scored])
    expected = back(expected)
    flagged = np.nan_to_num(np.abs(score), nan=0.0) >= threshold
    if direction == "up":
        flagged &= score > 0
    elif direction == "down":
        flagged &= score < 0
    frame = pd.DataFrame({"value": raw, "expected": expected, "score": score, "is_anomaly": flagged}, index=series.index)
    return Detection(frame=frame, threshold=threshold, period=period, method=method)


def _mad(values: np.ndarray) -> float:
    return float(MAD_TO_SD * np.median(np.abs(values - np.median(values))))


def _spread(remainder: np.ndarray) -> float:
    spread = _mad(remainder)
    return spread if spread > 0 else max(float(np.std(remainder)), 1e-12)


# The scores below are exact tail probabilities turned into normal quantiles; past this a
# float's tail probability underflows, and nothing is gained by telling 40 from 60.
MAX_SCORE = 30.0


@dataclass(frozen=True)
class Expectation:
    """Per entity (index): the expected count and the day-to-day variation beyond chance
    (extra_cv: a coefficient of variation), estimated from the same window on earlier days."""

    frame: pd.DataFrame  # columns expected, extra_cv, references


def expectation_from_references(reference: pd.DataFrame, *, min_references: int = 3,
                                min_extra_cv: float = 0.05) -> Expectation:
    """The expected count per entity from its counts in the same window on earlier days.

    reference: one row per entity, one column per earlier day, NaN where that day has no data
    (before the shop's history starts). expected: the median of the available days (NaN with
    fewer than min_references); extra_cv: how much the days differ beyond Poisson chance, from
    the robust spread of the days around that median (1.4826 x MAD / median, its chance part
    removed), at least min_extra_cv: a shop's days are never perfectly alike."""
    if min_references < 1:
        raise ValueError("min_references must be at least 1")
    values = reference.apply(pd.to_numeric, errors="coerce").astype("float64").to_numpy()
    if (values < 0).any():
        raise ValueError("reference counts must not be negative")
    with np.errstate(all="ignore"):
        available = (~np.isnan(values)).sum(axis=1)
        median = np.nanmedian(np.where(available[:, None] > 0, values, 0.0), axis=1)
        spread = MAD_TO_SD * np.nanmedian(np.abs(values - median[:, None]), axis=1)
        total_cv2 = np.where(median > 0, (spread / np.where(median > 0, median, 1.0)) ** 2, 0.0)
        chance_cv2 = np.where(median > 0, 1.0 / np.where(median > 0, median, 1.0), 0.0)
        extra_cv = np.sqrt(np.maximum(total_cv2 - chance_cv2, 0.0))
    expected = np.where(available >= min_references, median, np.nan)
    frame = pd.DataFrame({"expected": expected, "extra_cv": np.maximum(extra_cv, min_extra_cv),
                          "references": available}, index=reference.index)
    return Expectation(frame=frame)


def count_scores(observed, expected, *, extra_cv=0.0) -> np.ndarray:
    """Signed score of each observed count against its expected count: the normal quantile of
    the tail probability of a count at least that far from the expectation, under a negative
    binomial with mean `expected` and variance expected + (extra_cv x expected)^2 (a Poisson
    when extra_cv is 0). Negative for fewer than expected: -4 means a drop as unlikely as a
    normal value 4 standard deviations low. NaN where expected is NaN; 0 where the count is
    the expectation's most ordinary value; bounded by +-MAX_SCORE.

    Exact tails matter for the small counts a minute window holds (a channel with 20 sessions
    in 15 minutes dropping to 3 is p = 3.2e-6 under Poisson: -4.5, where a square-root
    approximation says -5.3)."""
    x = np.asarray(observed, dtype="float64")
    mu = np.asarray(expected, dtype="float64")
    cv = np.broadcast_to(np.asarray(extra_cv, dtype="float64"), np.broadcast(x, mu).shape)
    x, mu = np.broadcast_arrays(x, mu)
    if (x[~np.isnan(x)] < 0).any() or (cv < 0).any():
        raise ValueError("counts and extra_cv must not be negative")
    score = np.full(x.shape, np.nan)
    ok = ~np.isnan(x) & ~np.isnan(mu)
    if not ok.any():
        return score
    xs, ms, cs = np.round(x[ok]), np.maximum(mu[ok], 1e-9), cv[ok]
    alpha = cs ** 2
    with np.errstate(all="ignore"):
        n = np.where(alpha > 0, 1.0 / np.where(alpha > 0, alpha, 1.0), np.inf)
        p = n / (n + ms)
        poisson = alpha == 0
        low_tail = np.where(poisson, stats.poisson.cdf(xs, ms), stats.nbinom.cdf(xs, np.where(poisson, 1, n), p))
        high_tail = np.where(poisson, stats.poisson.sf(xs - 1, ms),
                             stats.nbinom.sf(xs - 1, np.where(poisson, 1, n), p))
        low = stats.norm.ppf(np.clip(low_tail, 1e-300, 0.5))
        high = stats.norm.isf(np.clip(high_tail, 1e-300, 0.5))
    s = np.where(low_tail < high_tail, low, np.where(high_tail < low_tail, high, 0.0))
    score[ok] = np.clip(s, -MAX_SCORE, MAX_SCORE)
    return score


def amount_scores(observed, reference: pd.DataFrame, *, min_references: int = 3,
                  min_spread: float = 0.1) -> pd.DataFrame:
    """Scores of amounts that are not counts (money spent): on the log scale, the observed
    amount against the median of the same window on earlier days, over the robust spread of
    those days (1.4826 x MAD of their logs), at least min_spread (0.1: a tenth either way is
    ordinary however steady the earlier days were).

    observed: per entity (aligned with reference's index); reference: one column per earlier
    day, NaN where that day has no data. Returns expected (the median amount) and score per
    entity; NaN where fewer than min_references days exist or the usual amount is zero (a
    campaign that did not spend on those days has no usual amount to exceed)."""
    values = reference.apply(pd.to_numeric, errors="coerce").astype("float64").to_numpy()
    now = np.asarray(pd.to_numeric(pd.Series(observed, index=reference.index), errors="coerce"), dtype="float64")
    if (values[~np.isnan(values)] < 0).any() or (now[~np.isnan(now)] < 0).any():
        raise ValueError("amounts must not be negative")
    with np.errstate(all="ignore"):
        available = (~np.isnan(values)).sum(axis=1)
        expected = np.nanmedian(np.where(available[:, None] > 0, values, 0.0), axis=1)
        # A day without spend is far below the others on the log scale: it widens the spread.
        logs = np.log(np.maximum(values, 1e-12))
        centre = np.nanmedian(np.where(available[:, None] > 0, logs, 0.0), axis=1)
        spread = MAD_TO_SD * np.nanmedian(np.abs(logs - centre[:, None]), axis=1)
        spread = np.maximum(np.nan_to_num(spread, nan=min_spread), min_spread)
        score = (np.log(np.maximum(now, 1e-12)) - centre) / spread
    usable = (available >= min_references) & (expected > 0)
    score = np.where(usable, np.clip(score, -MAX_SCORE, MAX_SCORE), np.nan)
    return pd.DataFrame({"expected": np.where(available >= min_references, expected, np.nan), "score": score},
                        index=reference.index)


def explain_change(before: pd.DataFrame, after: pd.DataFrame, *, dimension: str, value: str) -> pd.DataFrame:
    """Which values of `dimension` account for the change of the total of `value` between two
    frames (e.g. sessions per channel last hour against the same hour last week).

    Returns dimension, before, after, change, share_of_change (change / total change; the
    shares sum to 1 when the total moved), sorted by |change|, largest first."""
    for name, frame in (("before", before), ("after", after)):
        missing = [c for c in (dimension, value) if c not in frame.columns]
        if missing:
            raise ValueError(f"{name} lacks column(s) {missing}")
    a = before.groupby(dimension)[value].sum()
    b = after.groupby(dimension)[value].sum()
    keys = a.index.union(b.index)
    a, b = a.reindex(keys, fill_value=0).astype("float64"), b.reindex(keys, fill_value=0).astype("float64")
    change = b - a
    total = float(change.sum())
    out = pd.DataFrame({dimension: keys.astype(str), "before": a.to_numpy(), "after": b.to_numpy(),
                        "change": change.to_numpy()})
    out["share_of_change"] = out["change"] / total if total != 0 else np.nan
    order = np.argsort(-np.abs(out["change"].to_numpy()), kind="stable")
    return out.iloc[order].reset_index(drop=True)
