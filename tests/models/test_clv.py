"""BG/NBD and Gamma-Gamma: the published CDNOW estimates, the literature's conventions, closed forms."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special

from models.clv import (
    BGNBDFit,
    customer_lifetime_value,
    fit_bgnbd,
    fit_gamma_gamma,
    summary_from_transactions,
)
from models.phrases import reason
from tests.models.reference_data import CDNOW_CUSTOMERS, cdnow_sample
from tests.support.chinese import assert_chinese_with_the_same_numbers

CALIBRATION_END = "1997-09-30"  # 39 weeks from 1997-01-01, the papers' calibration period
PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}  # Fader, Hardie & Lee (2005)
PUBLISHED_GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "v": 15.44}  # Fader & Hardie (2013), 946 repeat buyers


@pytest.fixture(scope="module")
def calibration():
    sample = cdnow_sample()
    assert sample["customer_id"].nunique() == CDNOW_CUSTOMERS
    return sample[sample["date"] <= CALIBRATION_END]


@pytest.fixture(scope="module")
def bgnbd(calibration):
    return fit_bgnbd(calibration, observation_end=CALIBRATION_END, time_unit="W")


@pytest.fixture(scope="module")
def gamma_gamma(calibration):
    return fit_gamma_gamma(calibration, observation_end=CALIBRATION_END)


def relative_errors(fitted: dict, published: dict) -> dict:
    errors = {k: abs(fitted[k] - v) / v for k, v in published.items()}
    for k, v in published.items():
        print(f"{k}: fitted {fitted[k]:.4f}, published {v}, relative error {errors[k]:.3%}")
    return errors


def test_the_cdnow_sample_has_the_papers_2357_customers_all_born_in_the_first_quarter_of_1997():
    sample = cdnow_sample()
    assert sample["customer_id"].nunique() == 2357
    first = sample.groupby("customer_id")["date"].min()
    assert first.min() == pd.Timestamp("1997-01-01") and first.max() <= pd.Timestamp("1997-03-31")


def test_bgnbd_reproduces_the_published_cdnow_estimates_within_one_percent(bgnbd):
    assert bgnbd.n_customers == CDNOW_CUSTOMERS
    errors = relative_errors(bgnbd.params, PUBLISHED_BGNBD)
    assert set(bgnbd.params) == {"r", "alpha", "a", "b"}
    assert all(e < 0.01 for e in errors.values()), errors
    assert bgnbd.log_likelihood == pytest.approx(-9582.4, abs=0.1)  # the paper's LL


def test_gamma_gamma_reproduces_the_published_estimates_on_the_946_repeat_buyers(gamma_gamma):
    assert gamma_gamma.n_fitted == 946
    errors = relative_errors(gamma_gamma.params, PUBLISHED_GAMMA_GAMMA)
    assert all(e < 0.01 for e in errors.values()), errors


def test_conditional_expectation_matches_hardies_spreadsheet_for_a_two_repeat_customer():
    summary = pd.DataFrame({"frequency": [2], "recency": [30.43], "T": [38.86], "monetary_value": [10.0]},
                           index=pd.Index([1], name="customer_id"))
    fit = BGNBDFit(**PUBLISHED_BGNBD, log_likelihood=np.nan, summary=summary,
                   observation_end=pd.Timestamp(CALIBRATION_END), time_unit="W")
    assert fit.expected_purchases(39).iloc[0] == pytest.approx(1.226, abs=5e-4)


def expected_for_a_customer_without_repeats(r, alpha, a, b, T, t):
    """No repeat purchase means alive for sure, lambda ~ Gamma(r, alpha + T), p ~ Beta(a, b), so
    E[Y(t)] = E_p[(1 - ((alpha + T) / (alpha + T + p t))^r) / p], integrated numerically over p."""
    def integrand(p):
        density = np.exp((a - 1) * np.log(p) + (b - 1) * np.log1p(-p) - special.betaln(a, b))
        return density * (1 - ((alpha + T) / (alpha + T + p * t)) ** r) / p
    return integrate.quad(integrand, 0, 1, limit=200)[0]


@pytest.mark.parametrize("T, t", [(38.86, 39.0), (5.0, 1.0), (20.0, 104.0), (0.0, 10.0)])
def test_a_customer_with_no_repeat_purchase_is_alive_and_expects_the_posterior_closed_form(T, t):
    summary = pd.DataFrame({"frequency": [0], "recency": [0.0], "T": [T], "monetary_value": [np.nan]},
                           index=pd.Index(["c"], name="customer_id"))
    fit = BGNBDFit(**PUBLISHED_BGNBD, log_likelihood=np.nan, summary=summary,
                   observation_end=pd.Timestamp("2024-01-01"), time_unit="W")
    assert fit.p_alive().iloc[0] == 1.0
    expected = expected_for_a_customer_without_repeats(*PUBLISHED_BGNBD.values(), T=T, t=t)
    assert fit.expected_purchases(t).iloc[0] == pytest.approx(expected, rel=1e-6)
    assert fit.expected_purchases(0).iloc[0] == 0.0


def test_p_alive_falls_the_longer_a_frequent_buyer_has_been_silent():
    summary = pd.DataFrame({"frequency": [5, 5, 5], "recency": [30.0, 20.0, 5.0], "T": [30.0] * 3,
                            "monetary_value": [20.0] * 3}, index=pd.Index([1, 2, 3], name="customer_id"))
    fit = BGNBDFit(**PUBLISHED_BGNBD, log_likelihood=np.nan, summary=summary,
                   observation_end=pd.Timestamp("2024-01-01"), time_unit="W")
    alive = fit.p_alive()
    # By hand: 1 / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x)).
    r, alpha, a, b = PUBLISHED_BGNBD.values()
    assert alive.loc[2] == pytest.approx(1 / (1 + a / (b + 4) * ((alpha + 30) / (alpha + 20)) ** (r + 5)))
    assert alive.loc[1] > alive.loc[2] > alive.loc[3]


def tiny_transactions() -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": ["ann", "ann", "ann", "ann", "bob", "cat"],
        "date": pd.to_datetime(["2024-01-01 09:00", "2024-01-01 18:00", "2024-01-08 00:00", "2024-01-22 00:00",
                                "2024-01-15 00:00", "2024-01-29 00:00"]),
        "amount": [10.0, 5.0, 20.0, 40.0, 7.0, 3.0],
    })


def test_the_summary_counts_repeat_days_not_orders_and_measures_weeks_in_days_over_seven():
    summary = summary_from_transactions(tiny_transactions(), observation_end="2024-01-29", time_unit="W")
    assert list(summary.index) == ["ann", "bob", "cat"]
    # ann: born 01-01 (two orders that day are one transaction), repeats on 01-08 and 01-22.
    assert summary.loc["ann"].to_dict() == {"frequency": 2, "recency": 3.0, "T": 4.0, "monetary_value": 30.0}
    assert summary.loc["bob", "frequency"] == 0 and summary.loc["bob", "T"] == pytest.approx(2.0)
    assert np.isnan(summary.loc["bob", "monetary_value"])
    assert summary.loc["cat", "T"] == 0.0
    in_days = summary_from_transactions(tiny_transactions(), observation_end="2024-02-01", time_unit="D")
    assert in_days.loc["bob", "T"] == 17.0


def test_fitting_leaves_the_callers_frame_untouched():
    frame = tiny_transactions()
    before = frame.copy()
    summary_from_transactions(frame, observation_end="2024-02-01")
    pd.testing.assert_frame_equal(frame, before)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda f: f.iloc[0:0], "empty"),
        (lambda f: f.drop(columns="amount"), "missing column"),
        (lambda f: f.assign(amount=[-1.0, 5.0, 20.0, 40.0, 7.0, 3.0]), "negative"),
        (lambda f: f.assign(date=f["date"].astype(str)), "pd.to_datetime"),
        (lambda f: f.assign(date=f["date"] + pd.Timedelta(days=30)), "after observation_end"),
    ],
)
def test_bad_transactions_raise_a_value_error_saying_what_to_fix(change, message):
    with pytest.raises(ValueError, match=message):
        fit_bgnbd(change(tiny_transactions()), observation_end="2024-02-01")
    with pytest.raises(ValueError, match=message):
        fit_gamma_gamma(change(tiny_transactions()), observation_end="2024-02-01")


def test_an_unknown_time_unit_is_refused():
    with pytest.raises(ValueError, match="time_unit"):
        summary_from_transactions(tiny_transactions(), observation_end="2024-02-01", time_unit="fortnight")


def test_undiscounted_clv_is_expected_spend_times_expected_purchases(bgnbd, gamma_gamma):
    clv = customer_lifetime_value(bgnbd, gamma_gamma, horizon_periods=52, discount_rate_per_period=0.0)
    by_hand = gamma_gamma.expected_average_spend() * bgnbd.expected_purchases(52)
    np.testing.assert_allclose(clv.to_numpy(), by_hand.to_numpy(), rtol=1e-9)
    discounted = customer_lifetime_value(bgnbd, gamma_gamma, horizon_periods=52, discount_rate_per_period=0.01)
    assert (discounted <= clv + 1e-12).all() and discounted.sum() < clv.sum()
    assert discounted.index.equals(bgnbd.summary.index) and discounted.name == "clv"


def test_one_period_clv_discounts_the_single_period_once(bgnbd, gamma_gamma):
    clv = customer_lifetime_value(bgnbd, gamma_gamma, horizon_periods=1, discount_rate_per_period=0.05)
    by_hand = gamma_gamma.expected_average_spend() * bgnbd.expected_purchases(1) / 1.05
    np.testing.assert_allclose(clv.to_numpy(), by_hand.to_numpy(), rtol=1e-9)


def test_a_customer_without_repeats_is_expected_to_spend_the_population_mean(gamma_gamma):
    spend = gamma_gamma.expected_average_spend()
    p, q, v = gamma_gamma.params.values()
    no_repeat = gamma_gamma.summary["frequency"] == 0
    np.testing.assert_allclose(spend[no_repeat].to_numpy(), p * v / (q - 1))


@pytest.mark.parametrize("kwargs", [{"horizon_periods": 0, "discount_rate_per_period": 0.01},
                                    {"horizon_periods": 2.5, "discount_rate_per_period": 0.01},
                                    {"horizon_periods": 4, "discount_rate_per_period": -1.0}])
def test_clv_refuses_a_meaningless_horizon_or_rate(bgnbd, gamma_gamma, kwargs):
    with pytest.raises(ValueError):
        customer_lifetime_value(bgnbd, gamma_gamma, **kwargs)


def test_clv_refuses_fits_made_on_different_customers(bgnbd, calibration):
    half = calibration[calibration["customer_id"] % 2 == 0]
    other = fit_gamma_gamma(half, observation_end=CALIBRATION_END)
    with pytest.raises(ValueError, match="same"):
        customer_lifetime_value(bgnbd, other, horizon_periods=4, discount_rate_per_period=0.0)


def test_a_young_shops_refusals_read_in_chinese_as_the_customers_page_shows_them():
    with pytest.raises(ValueError, match="repeat buyers") as too_few:  # ann is the only repeat buyer
        fit_gamma_gamma(tiny_transactions(), observation_end="2024-02-01")
    assert "1" in assert_chinese_with_the_same_numbers(reason(too_few.value))
    with pytest.raises(ValueError, match="no history to fit") as first_day:
        fit_bgnbd(tiny_transactions().iloc[:2], observation_end="2024-01-01")
    assert_chinese_with_the_same_numbers(reason(first_day.value))
