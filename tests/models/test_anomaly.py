"""Anomaly detection finds planted spikes and drops, stays quiet on clean seasonal data, and
the explanation names the dimension values that moved the total."""
import math
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest

from models import anomaly
from tests.support.chinese import assert_chinese_with_the_same_numbers


def hourly_traffic(days: int = 14, seed: int = 0, noise: float = 0.05) -> pd.Series:
    rng = np.random.default_rng(seed)
    index = pd.date_range("2026-11-01", periods=days * 24, freq="h")
    daily = 100 + 80 * np.sin((index.hour.to_numpy() - 6) / 24 * 2 * np.pi)
    return pd.Series(daily * (1 + rng.normal(0, noise, len(index))), index=index)


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_clean_seasonal_data_raises_no_alarm_at_medium_sensitivity(seed):
    result = anomaly.detect(hourly_traffic(seed=seed))
    assert result.period == 24 and "STL" in str(result.method)
    assert len(result.anomalies) <= 1  # 336 points: a false alarm rate under 0.3%


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_planted_spikes_and_drops_are_found_at_their_timestamps(seed):
    series = hourly_traffic(seed=seed)
    planted = {100: 0.2, 200: 2.5, 290: 0.1}  # factors: a traffic drop, a spike, a near-outage
    for position, factor in planted.items():
        series.iloc[position] = series.iloc[position] * factor
    result = anomaly.detect(series)
    found = set(np.flatnonzero(result.frame["is_anomaly"].to_numpy()))
    assert set(planted) <= found
    assert len(found - set(planted)) <= 1
    drops = anomaly.detect(series, direction="down").anomalies
    assert series.index[200] not in drops.index and series.index[100] in drops.index


def test_higher_sensitivity_flags_at_least_as_much():
    series = hourly_traffic(seed=9, noise=0.12)
    counts = [len(anomaly.detect(series, sensitivity=level).anomalies) for level in ("low", "medium", "high")]
    assert counts == sorted(counts)


def test_a_short_series_falls_back_to_a_rolling_median():
    index = pd.date_range("2026-11-11", periods=20, freq="min")
    values = pd.Series(np.full(20, 50.0) + np.resize([0.5, -0.5], 20), index=index)
    values.iloc[12] = 150.0
    result = anomaly.detect(values, period=60)
    assert str(result.method).startswith("rolling median")
    assert list(result.anomalies.index) == [index[12]]


def test_the_explanation_ranks_the_values_that_moved_the_total():
    before = pd.DataFrame({"channel": ["search", "social", "email"], "sessions": [100, 80, 20]})
    after = pd.DataFrame({"channel": ["search", "social", "video"], "sessions": [95, 20, 5]})
    out = anomaly.explain_change(before, after, dimension="channel", value="sessions")
    assert list(out["channel"]) == ["social", "email", "search", "video"]
    assert out.loc[0, "change"] == -60
    assert out["share_of_change"].sum() == pytest.approx(1.0)
    assert out.loc[0, "share_of_change"] == pytest.approx(60 / 80)


@pytest.mark.parametrize("series, kwargs, message", [
    (pd.Series(np.arange(10.0)), {}, "DatetimeIndex"),
    (hourly_traffic(1), {"sensitivity": "extreme"}, "sensitivity"),
    (hourly_traffic(1), {"direction": "sideways"}, "direction"),
    (pd.Series([1.0] * 5, index=pd.date_range("2026-01-01", periods=5, freq="D")), {}, "at least 8"),
])
def test_bad_input_is_refused(series, kwargs, message):
    with pytest.raises(ValueError, match=message):
        anomaly.detect(series, **kwargs)


def hourly_counts(weeks: int, seed: int) -> pd.Series:
    """Poisson visits with a daily and a weekly shape (weekends busier)."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2026-10-05", periods=weeks * 168, freq="h")  # a Monday
    daily = 100 + 80 * np.sin((index.hour.to_numpy() - 6) / 24 * 2 * np.pi)
    weekend = np.where(index.day_of_week.to_numpy() >= 5, 1.6, 1.0)
    return pd.Series(rng.poisson(daily * weekend).astype("float64"), index=index)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_the_seasonal_median_baseline_follows_weekends_and_finds_a_drop(seed):
    series = hourly_counts(5, seed)
    quiet = anomaly.detect(series, period=168, baseline="seasonal_median", seasons=3, transform="sqrt")
    assert quiet.frame["score"].iloc[: 3 * 168].isna().all()  # no baseline yet: no score
    assert len(quiet.anomalies) <= 1  # busier weekends are not anomalies
    broken = series.copy()
    broken.iloc[4 * 168 + 40] *= 0.3  # an outage hour in the fifth week
    found = anomaly.detect(broken, period=168, baseline="seasonal_median", seasons=3, transform="sqrt")
    assert series.index[4 * 168 + 40] in found.anomalies.index


def test_the_seasonal_median_baseline_needs_its_seasons_of_history():
    with pytest.raises(ValueError, match="more than 3 x 168"):
        anomaly.detect(hourly_counts(3, 0), period=168, baseline="seasonal_median", seasons=3)


# --- scores of a window's count against earlier days ----------------------------------------

def test_a_count_far_below_its_poisson_expectation_scores_its_exact_tail():
    # P(X <= 3 | Poisson 20) = e^-20 (1 + 20 + 200 + 1333.3) = 3.2e-6: the normal quantile -4.51.
    tail = math.exp(-20) * (1 + 20 + 20 ** 2 / 2 + 20 ** 3 / 6)
    assert anomaly.count_scores([3], [20.0])[0] == pytest.approx(NormalDist().inv_cdf(tail), rel=1e-9)
    assert anomaly.count_scores([3], [20.0])[0] == pytest.approx(-4.5125, abs=1e-4)


def test_a_count_above_scores_positive_and_the_expected_value_scores_zero():
    scores = anomaly.count_scores([40, 20, 0], [20.0, 20.0, 0.5])
    # P(X >= 40 | 20) upper tail: positive; 20 is the expectation; 0 is the likeliest count for 0.5.
    upper = 1 - sum(math.exp(-20) * 20 ** k / math.factorial(k) for k in range(40))
    assert scores[0] == pytest.approx(-NormalDist().inv_cdf(upper), rel=1e-6)
    assert scores[1] == 0.0 and scores[2] == 0.0


def test_day_to_day_variation_widens_the_tolerance():
    plain, wide = anomaly.count_scores([3, 3], [20.0, 20.0], extra_cv=[0.0, 0.3])
    assert wide > plain  # less surprising when days differ by 30% anyway
    assert math.isnan(anomaly.count_scores([3], [float("nan")])[0])
    with pytest.raises(ValueError, match="negative"):
        anomaly.count_scores([-1], [2.0])


def test_the_expectation_is_the_median_day_with_the_spread_beyond_chance():
    reference = pd.DataFrame({1: [20, 100, 10, np.nan], 2: [22, 60, 10, np.nan], 3: [18, 140, 10, 4.0],
                              4: [21, 100, 10, np.nan]}, index=["steady", "swinging", "flat", "young"])
    frame = anomaly.expectation_from_references(reference).frame
    assert frame["expected"].tolist()[:3] == [20.5, 100.0, 10.0] and math.isnan(frame.loc["young", "expected"])
    assert frame.loc["young", "references"] == 1
    # swinging: MAD 20 -> 1.4826 * 20 / 100 = 0.2965 total cv; chance 1/100 -> sqrt(0.0879 - 0.01) = 0.2791.
    assert frame.loc["swinging", "extra_cv"] == pytest.approx(math.sqrt((1.4826 * 20 / 100) ** 2 - 0.01), rel=1e-9)
    # steady and flat days differ by less than chance: the floor.
    assert frame.loc["steady", "extra_cv"] == frame.loc["flat", "extra_cv"] == 0.05


def test_amounts_score_on_the_log_scale_against_the_spread_of_earlier_days():
    reference = pd.DataFrame({1: [50.0, 100.0, 0.0, 5.0], 2: [50.0, 80.0, 0.0, np.nan], 3: [50.0, 125.0, 0.0, np.nan]},
                             index=["steady", "swinging", "never", "young"])
    frame = anomaly.amount_scores([150.0, 200.0, 40.0, 50.0], reference)
    # steady: ln 3 over the 0.1 floor; swinging: median 100, log deviations ln 1.25 (both sides) -> MAD ln 1.25.
    assert frame.loc["steady", "score"] == pytest.approx(math.log(3) / 0.1)
    assert frame.loc["swinging", "score"] == pytest.approx(math.log(2) / (1.4826 * math.log(1.25)))
    assert frame.loc["swinging", "expected"] == 100.0
    assert math.isnan(frame.loc["never", "score"]) and math.isnan(frame.loc["young", "score"])


def test_each_baseline_says_what_it_is_in_chinese_with_the_same_numbers():
    weeks = pd.Series(np.resize(hourly_traffic(days=7).to_numpy(), 5 * 168),
                      index=pd.date_range("2026-11-01", periods=5 * 168, freq="h"))
    short = pd.Series(np.full(20, 50.0), index=pd.date_range("2026-11-11", periods=20, freq="min"))
    for result in (anomaly.detect(hourly_traffic()), anomaly.detect(short, period=60),
                   anomaly.detect(weeks, period=168, baseline="seasonal_median", seasons=4, transform="sqrt")):
        assert_chinese_with_the_same_numbers(result.method)
