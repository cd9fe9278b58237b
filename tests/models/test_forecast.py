"""Forecasts: the seasonal period follows the series' frequency, a known pattern is forecast
within its interval, the backtest beats seasonal naive when there is a pattern to learn and
says so when there is not, and bad series are refused with a message that says what to do."""
import numpy as np
import pandas as pd
import pytest

from models import forecast

WEEKLY = np.array([10.0, 12.0, 11.0, 13.0, 20.0, 30.0, 25.0])


def weekly_sales(days: int = 120, noise: float = 2.0, seed: int = 1, trend: float = 0.5) -> pd.Series:
    rng = np.random.default_rng(seed)
    index = pd.date_range("2026-01-01", periods=days, freq="D")
    values = 100 + trend * np.arange(days) + np.resize(WEEKLY, days) + rng.normal(0, noise, days)
    return pd.Series(values, index=index, name="units")


@pytest.mark.parametrize("freq, season", [("D", 7), ("h", 24), ("W-SUN", 52), ("MS", 12), ("ME", 12), ("QS", 4),
                                          ("B", 5), ("15min", 96), ("7min", 1)])
def test_the_seasonal_period_follows_the_frequency(freq, season):
    assert forecast.season_length_for(freq) == season


def test_a_weekly_pattern_with_trend_is_forecast_inside_its_interval():
    sales = weekly_sales()
    out = forecast.fit_forecast(sales, 14)
    assert list(out.columns) == ["mean", "lower", "upper"]
    assert list(out.index) == list(pd.date_range("2026-05-01", periods=14, freq="D"))
    steps = np.arange(120, 134)
    truth = 100 + 0.5 * steps + np.resize(WEEKLY, 134)[120:]
    assert np.all(out["lower"] < out["mean"]) and np.all(out["mean"] < out["upper"])
    assert np.abs(out["mean"].to_numpy() - truth).max() < 6  # noise sd 2
    covered = (out["lower"].to_numpy() <= truth) & (truth <= out["upper"].to_numpy())
    assert covered.mean() >= 0.85
    # The weekly shape is learnt: Saturdays (index 5 of the pattern) above Mondays.
    assert out["mean"].iloc[5] - out["mean"].iloc[1] > 10
    model = forecast.fit_model(sales)
    assert model.seasonal == "add" and model.season_length == 7


def test_the_input_series_is_not_changed():
    sales = weekly_sales(60)
    before = sales.copy()
    forecast.fit_forecast(sales, 7)
    pd.testing.assert_series_equal(sales, before)


def test_an_explicit_season_length_overrides_the_frequency():
    rng = np.random.default_rng(3)
    index = pd.date_range("2026-01-01", periods=90, freq="D")
    three_day = pd.Series(50 + np.resize([0.0, 15.0, -10.0], 90) + rng.normal(0, 1, 90), index=index)
    out = forecast.fit_forecast(three_day, 6, season_length=3)
    assert np.abs(out["mean"].to_numpy() - (50 + np.resize([0.0, 15.0, -10.0], 96)[90:])).max() < 3


def test_the_backtest_beats_seasonal_naive_on_a_series_with_a_known_pattern():
    result = forecast.backtest(weekly_sales(140), 7, origins=4)
    assert result.origins == 4 and len(result.errors) == 28
    assert result.beats_baseline and result.mase < 0.8 * result.baseline_mase
    assert result.mape < 0.05
    assert "beats seasonal naive" in result.verdict()


def test_the_backtest_says_so_when_the_forecast_does_not_beat_the_baseline():
    # A strict repeat of one week: seasonal naive is exact, nothing can beat it.
    index = pd.date_range("2026-01-01", periods=70, freq="D")
    repeat = pd.Series(np.resize(WEEKLY * 10, 70), index=index)
    result = forecast.backtest(repeat, 7, origins=3)
    assert result.baseline_mase == pytest.approx(0.0, abs=1e-9)
    assert not result.beats_baseline
    assert "does NOT beat seasonal naive" in result.verdict()


def test_seasonal_naive_repeats_the_last_season():
    sales = weekly_sales(21, noise=0.0, trend=0.0)
    naive = forecast.seasonal_naive(sales, 10)
    np.testing.assert_allclose(naive.to_numpy(), np.resize(sales.to_numpy()[-7:], 10))


@pytest.mark.parametrize("series, message", [
    (pd.Series([1.0, 2.0, 3.0, 4.0, 5.0]), "DatetimeIndex"),
    (pd.Series([1.0, 2.0, 3.0, 4.0], index=pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-05", "2026-01-09"])),
     "not regular"),
    (pd.Series([1.0, None, 3.0, 4.0], index=pd.date_range("2026-01-01", periods=4, freq="D")), "missing"),
    (pd.Series([1.0, 2.0], index=pd.date_range("2026-01-01", periods=2, freq="D")), "at least"),
])
def test_a_series_it_cannot_forecast_is_refused_with_what_to_do(series, message):
    with pytest.raises(ValueError, match=message):
        forecast.fit_forecast(series, 3)


def test_a_backtest_too_long_for_the_series_is_refused():
    with pytest.raises(ValueError, match="too short"):
        forecast.backtest(weekly_sales(30), 7, origins=4)
