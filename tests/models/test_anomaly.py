"""Anomaly detection finds planted spikes and drops, stays quiet on clean seasonal data, and
the explanation names the dimension values that moved the total."""
import numpy as np
import pandas as pd
import pytest

from models import anomaly


def hourly_traffic(days: int = 14, seed: int = 0, noise: float = 0.05) -> pd.Series:
    rng = np.random.default_rng(seed)
    index = pd.date_range("2026-11-01", periods=days * 24, freq="h")
    daily = 100 + 80 * np.sin((index.hour.to_numpy() - 6) / 24 * 2 * np.pi)
    return pd.Series(daily * (1 + rng.normal(0, noise, len(index))), index=index)


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_clean_seasonal_data_raises_no_alarm_at_medium_sensitivity(seed):
    result = anomaly.detect(hourly_traffic(seed=seed))
    assert result.period == 24 and "STL" in result.method
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
    assert result.method.startswith("rolling median")
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
