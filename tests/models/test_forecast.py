"""Forecasts: the seasonal period follows the series' frequency, a known pattern is forecast
within its interval, the backtest beats seasonal naive when there is a pattern to learn and
says so when there is not, and bad series are refused with a message that says what to do."""
import numpy as np
import pandas as pd
import pytest

from models import forecast
from models.phrases import reason
from tests.support.chinese import assert_chinese_with_the_same_numbers

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
    assert "beats seasonal naive" in str(result.verdict())


def test_the_backtest_says_so_when_the_forecast_does_not_beat_the_baseline():
    # A strict repeat of one week: seasonal naive is exact, nothing can beat it.
    index = pd.date_range("2026-01-01", periods=70, freq="D")
    repeat = pd.Series(np.resize(WEEKLY * 10, 70), index=index)
    result = forecast.backtest(repeat, 7, origins=3)
    assert result.baseline_mase == pytest.approx(0.0, abs=1e-9)
    assert not result.beats_baseline
    assert "does NOT beat seasonal naive" in str(result.verdict())


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


def promoted_sales(days: int = 84, horizon: int = 14, uplift: float = 2.0, seed: int = 3):
    """A weekly pattern times lognormal noise (sd 8%), times `uplift` on planted promotion days
    (every 8 to 14 days, two of them in the horizon), and the promotion calendar over history
    and horizon."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2026-01-05", periods=days + horizon, freq="D")  # a Monday
    promotion = pd.Series(0.0, index=index)
    promotion.iloc[[5, 17, 30, 41, 55, 63, 74, 80, days + 4, days + 12]] = 1.0
    level = np.resize(WEEKLY, len(index)) * np.where(promotion.to_numpy() > 0, uplift, 1.0)
    values = np.round(level * rng.lognormal(0.0, 0.08, len(index)))
    return pd.Series(values[:days], index=index[:days], name="units"), promotion


def test_promotion_days_as_regressor_beat_the_plain_forecast_and_seasonal_naive():
    sales, promotion = promoted_sales()
    model = forecast.fit_model(sales, promotions=promotion)
    assert model.method == "sarimax" and "promotion days as regressor" in str(model.label)
    assert 1.7 < model.promotion_uplift < 2.3  # planted: x2
    with_promotions = forecast.backtest(sales, 7, origins=4, model=model, promotions=promotion)
    plain = forecast.backtest(sales, 7, origins=4)
    assert with_promotions.mase < plain.mase and with_promotions.beats_baseline
    assert model.backtest.mase == pytest.approx(with_promotions.mase) and model.rival_mase == pytest.approx(plain.mase)


def test_a_future_promotion_day_is_forecast_about_uplift_times_the_same_weekday_without():
    sales, promotion = promoted_sales()
    out = forecast.fit_forecast(sales, 14, promotions=promotion)
    promoted, plain_week_later = out.iloc[4], out.iloc[11]  # a Friday with promotion, the next without
    assert promotion.iloc[84 + 4] == 1.0 and promotion.iloc[84 + 11] == 0.0
    assert 1.6 < promoted["mean"] / plain_week_later["mean"] < 2.4  # planted: x2
    assert abs(plain_week_later["mean"] - WEEKLY[4]) < 3  # Friday: 20
    assert (out["lower"] <= out["mean"]).all() and (out["mean"] <= out["upper"]).all()


def test_a_series_without_promotion_days_is_forecast_as_before():
    sales = weekly_sales()
    none = pd.Series(0.0, index=pd.date_range(sales.index[0], periods=len(sales) + 14, freq="D"))
    before = forecast.fit_forecast(sales, 14)
    after = forecast.fit_forecast(sales, 14, promotions=none)
    pd.testing.assert_frame_equal(before, after)
    assert forecast.fit_model(sales, promotions=none).label == forecast.fit_model(sales).label


def test_the_promotion_regressor_is_dropped_when_it_does_not_help():
    # Promotion days that change nothing: the plain form wins the backtest, and says so.
    sales, promotion = promoted_sales(uplift=1.0, seed=5)
    model = forecast.fit_model(sales, promotions=promotion)
    assert model.method == "ets" and "promotion regressor tried, no better" in str(model.label)


def test_a_promotion_model_refuses_to_forecast_without_the_calendar():
    sales, promotion = promoted_sales()
    model = forecast.fit_model(sales, promotions=promotion)
    with pytest.raises(ValueError, match="needs promotions"):
        forecast.fit_forecast(sales, 7, model=model)
    with pytest.raises(ValueError, match="Series on a DatetimeIndex"):
        forecast.fit_forecast(sales, 7, promotions=[0, 1])


def test_each_kind_of_promotion_gets_its_own_factor_and_a_kind_never_seen_none():
    sales, promotion = promoted_sales()
    kinds = pd.DataFrame({"member_day": promotion, "sales_event": 0.0}, index=promotion.index)
    kinds.iloc[-1, 1] = 1.0  # a planned sales event, the first of its kind: nothing to learn its effect from
    model = forecast.fit_model(sales, promotions=kinds)
    assert [name for name, _factor in model.promotion_uplifts] == ["member_day"]
    assert "on member_day" in str(model.label) and 1.7 < model.promotion_uplift < 2.3
    out = forecast.fit_forecast(sales, 14, model=model, promotions=kinds)
    assert out["mean"].iloc[-1] < 1.3 * out["mean"].iloc[-8]  # the unseen kind lifts nothing


# --- labels and verdicts in Chinese --------------------------------------------------------------

def test_model_labels_and_backtest_verdicts_read_in_chinese_with_the_same_numbers():
    sales, promotion = promoted_sales()
    kinds = pd.DataFrame({"member_day": promotion, "flash": promotion.shift(3).fillna(0.0)}, index=promotion.index)
    no_help, calendar = promoted_sales(uplift=1.0, seed=5)
    models = [forecast.fit_model(weekly_sales(140)), forecast.fit_model(sales, promotions=kinds),
              forecast.fit_model(no_help, promotions=calendar)]
    assert [m.method for m in models] == ["ets", "sarimax", "ets"]  # the last one tried promotions and says so
    for model in models:
        zh = assert_chinese_with_the_same_numbers(model.label)
        assert zh.startswith(model.method.upper())
    index = pd.date_range("2026-01-01", periods=70, freq="D")
    for result in (forecast.backtest(weekly_sales(140), 7, origins=4),
                   forecast.backtest(pd.Series(np.resize(WEEKLY * 10, 70), index=index), 7, origins=3)):
        assert_chinese_with_the_same_numbers(result.verdict())


def test_a_backtest_refused_for_a_short_series_says_why_in_chinese():
    with pytest.raises(ValueError, match="too short") as refused:
        forecast.backtest(weekly_sales(30), 7, origins=4)
    assert_chinese_with_the_same_numbers(reason(refused.value))
