"""Rising demand from search: terms and categories whose searches grew over the previous
period, with enough volume to matter and growth that is not chance.

A term is a candidate to stock when its searches this period are at least MIN_GROWTH times
the previous period's (the seed's "a 200% month-on-month rise") on at least MIN_SEARCHES
searches, and a one-sided Poisson rate-ratio test (statsmodels) says the ratio exceeds
RATIO_FLOOR at the 1% level, so a term going from 3 to 9 searches is not news. Pure functions
on DataFrames.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from statsmodels.stats.rates import test_poisson_2indep

MIN_GROWTH = 2.0  # this period at least twice the previous one
RATIO_FLOOR = 1.3  # ... and the test must show the rate ratio is above 1.3
MIN_SEARCHES = 200  # searches this period for a term to matter
ALPHA = 0.01


def period_totals(daily: pd.DataFrame, key: str, end_day: pd.Timestamp, days: int) -> pd.DataFrame:
    """Searches per `key` (term or category) in the `days` days ending end_day (inclusive) and
    in the `days` days before: key, current, previous. daily: day, key column, searches."""
    current_start = end_day - pd.Timedelta(days=days - 1)
    previous_start = current_start - pd.Timedelta(days=days)
    current = daily[(daily["day"] >= current_start) & (daily["day"] <= end_day)].groupby(key)["searches"].sum()
    previous = daily[(daily["day"] >= previous_start) & (daily["day"] < current_start)].groupby(key)["searches"].sum()
    frame = pd.concat([current.rename("current"), previous.rename("previous")], axis=1).fillna(0)
    return frame.astype("int64").rename_axis(key).reset_index()


def rising(totals: pd.DataFrame, key: str, *, min_growth: float = MIN_GROWTH, min_searches: int = MIN_SEARCHES,
           alpha: float = ALPHA) -> pd.DataFrame:
    """Every key with growth = current / previous (inf when new), the test's p-value for a
    ratio above RATIO_FLOOR, and is_rising; the rising first, by extra searches."""
    frame = totals.copy()
    current, previous = frame["current"].to_numpy(float), frame["previous"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["growth"] = np.where(previous > 0, current / previous, np.where(current > 0, np.inf, np.nan))
    frame["p_value"] = [
        # Without a previous count the test has no rate to compare: a half search stands in.
        float(test_poisson_2indep(c, 1.0, max(p, 0.5), 1.0, value=RATIO_FLOOR, method="score", compare="ratio",
                                  alternative="larger").pvalue) if c > 0 else 1.0
        for c, p in zip(current, previous)
    ]
    frame["is_rising"] = (frame["current"] >= min_searches) & (frame["growth"] >= min_growth) & (frame["p_value"] < alpha)
    frame["extra_searches"] = frame["current"] - frame["previous"]
    return frame.sort_values(["is_rising", "extra_searches", key], ascending=[False, False, True],
                             kind="stable").reset_index(drop=True)
