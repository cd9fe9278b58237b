"""Experiments: hand-checked read-outs, sample sizes, sample-ratio checks, Holm, and recovery of simulated effects."""
from __future__ import annotations

import math
from dataclasses import FrozenInstanceError

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from models.experiments import (
    compare_arms,
    conversion_readout,
    revenue_readout,
    revenue_sample_size_per_arm,
    sample_ratio_mismatch,
    sample_size_per_arm,
)
from models.phrases import reason
from tests.support.chinese import assert_chinese_with_the_same_numbers

Z = stats.norm.ppf(0.975)


def wilson(successes: int, n: int) -> tuple[float, float]:
    p = successes / n
    centre = (p + Z**2 / (2 * n)) / (1 + Z**2 / n)
    half = Z / (1 + Z**2 / n) * math.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2))
    return centre - half, centre + half


def test_a_clear_win_reads_as_points_better_with_newcombs_interval_and_the_pooled_z_test():
    r = conversion_readout(users_control=10_000, conversions_control=1_000, users_treatment=10_000,
                           conversions_treatment=1_210, minimum_detectable_effect=0.02)
    (l1, u1), (l2, u2) = wilson(1_210, 10_000), wilson(1_000, 10_000)
    d = 0.121 - 0.100
    assert r.difference == pytest.approx(d)
    assert r.ci_low == pytest.approx(d - math.sqrt((0.121 - l1) ** 2 + (u2 - 0.100) ** 2), rel=1e-9)
    assert r.ci_high == pytest.approx(d + math.sqrt((u1 - 0.121) ** 2 + (0.100 - l2) ** 2), rel=1e-9)
    pooled = 2_210 / 20_000
    z = d / math.sqrt(pooled * (1 - pooled) * 2 / 10_000)
    assert r.p_value == pytest.approx(2 * stats.norm.sf(z), rel=1e-9)
    assert r.significant and r.enough_data and r.more_users_needed_per_arm == 0
    assert str(r.verdict) == "B converts 2.1 points better than A (12.1% vs 10.0%), 95% CI 1.2 to 3.0 points, enough data."


def test_too_few_users_reads_as_not_enough_data_with_the_users_still_needed():
    r = conversion_readout(users_control=1_000, conversions_control=100, users_treatment=1_000,
                           conversions_treatment=110, minimum_detectable_effect=0.02,
                           control="email", treatment="sms")
    assert r.required_users_per_arm == sample_size_per_arm(0.10, 0.02)
    assert r.more_users_needed_per_arm == r.required_users_per_arm - 1_000 and not r.enough_data
    assert str(r.verdict).startswith(f"Not enough data yet: {r.more_users_needed_per_arm:,} more users per arm")
    assert "So far sms converts 1.0 point better than email (11.0% vs 10.0%), 95% CI" in str(r.verdict)


def test_a_well_powered_null_result_says_no_clear_difference():
    r = conversion_readout(users_control=10_000, conversions_control=1_000, users_treatment=10_000,
                           conversions_treatment=1_030, minimum_detectable_effect=0.02)
    assert not r.significant and r.enough_data
    assert str(r.verdict).startswith("No clear difference: B converts 0.3 points better than A")
    assert "p =" not in str(r.verdict) and "p-value" not in str(r.verdict)


def test_an_arm_without_conversions_still_gets_a_finite_interval():
    r = conversion_readout(users_control=200, conversions_control=0, users_treatment=200, conversions_treatment=0,
                           minimum_detectable_effect=0.05)
    assert r.difference == 0 and r.ci_low < 0 < r.ci_high and r.p_value == 1.0
    assert "B converts the same as A" in str(r.verdict)


@pytest.mark.parametrize("baseline, mde", [(0.10, 0.02), (0.03, 0.005), (0.5, 0.1)])
def test_sample_size_matches_the_arcsine_formula(baseline, mde):
    h = 2 * math.asin(math.sqrt(baseline + mde)) - 2 * math.asin(math.sqrt(baseline))
    by_hand = 2 * ((Z + stats.norm.ppf(0.8)) / h) ** 2
    assert abs(sample_size_per_arm(baseline, mde) - by_hand) <= 1.5


def test_revenue_sample_size_matches_the_normal_approximation_plus_the_t_correction():
    n = revenue_sample_size_per_arm(20.0, 1.0)
    by_hand = 2 * ((Z + stats.norm.ppf(0.8)) * 20.0 / 1.0) ** 2
    assert by_hand <= n <= by_hand + 3


@pytest.mark.parametrize("seed", [11, 12, 13, 14, 15])
def test_a_simulated_conversion_lift_is_recovered_within_the_interval(seed):
    rng = np.random.default_rng(seed)
    n, p_control, lift = 20_000, 0.10, 0.03
    r = conversion_readout(users_control=n, conversions_control=int(rng.binomial(n, p_control)),
                           users_treatment=n, conversions_treatment=int(rng.binomial(n, p_control + lift)),
                           minimum_detectable_effect=0.01)
    assert r.ci_low <= lift <= r.ci_high
    assert r.significant and r.enough_data and str(r.verdict).startswith("B converts")


def test_the_conversion_interval_covers_the_true_lift_about_95_percent_of_the_time():
    rng = np.random.default_rng(2024)
    hits = 0
    for _ in range(300):
        c, t = rng.binomial(2_000, 0.05), rng.binomial(2_000, 0.06)
        r = conversion_readout(users_control=2_000, conversions_control=int(c), users_treatment=2_000,
                               conversions_treatment=int(t), minimum_detectable_effect=0.01)
        hits += r.ci_low <= 0.01 <= r.ci_high
    assert 0.91 <= hits / 300 <= 0.99


def test_revenue_readout_is_welchs_t_test_by_hand():
    a = np.array([0.0, 0.0, 10.0, 20.0, 0.0, 30.0])
    b = np.array([0.0, 15.0, 25.0, 40.0, 0.0, 35.0, 5.0])
    r = revenue_readout(a, b, minimum_detectable_effect=5.0)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    d = b.mean() - a.mean()
    assert r.difference == pytest.approx(d)
    assert (r.ci_low, r.ci_high) == pytest.approx((d - stats.t.ppf(0.975, df) * se, d + stats.t.ppf(0.975, df) * se))
    assert r.p_value == pytest.approx(2 * stats.t.sf(d / se, df))
    assert str(r.verdict).startswith("Not enough data yet:")


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_a_simulated_revenue_lift_is_recovered_within_the_interval(seed):
    rng = np.random.default_rng(seed)
    n = 20_000
    buys_a, buys_b = rng.random(n) < 0.2, rng.random(n) < 0.2
    a = np.where(buys_a, rng.gamma(2.0, 25.0, n), 0.0)  # mean 0.2 * 50 = 10.0 per user
    b = np.where(buys_b, rng.gamma(2.0, 30.0, n), 0.0)  # mean 0.2 * 60 = 12.0 per user
    r = revenue_readout(a, b, minimum_detectable_effect=1.0, control="old", treatment="new")
    assert r.ci_low <= 2.0 <= r.ci_high
    assert r.enough_data and r.significant
    assert str(r.verdict).startswith("new brings")  # arm names keep their case


def test_sample_ratio_mismatch_flags_a_52_48_split_of_20000_users():
    check = sample_ratio_mismatch({"A": 10_400, "B": 9_600})
    assert check.chi2 == pytest.approx(32.0) and check.p_value < 1e-6 and check.mismatch
    assert str(check.verdict).startswith("Sample ratio mismatch: 52.0% / 48.0% of 20,000 users")


@pytest.mark.parametrize("counts, planned", [([10_050, 9_950], None), ([12_030, 7_970], [0.6, 0.4]),
                                             ([6_700, 6_650, 6_650], None)])
def test_sample_ratio_check_passes_a_fair_split(counts, planned):
    check = sample_ratio_mismatch(counts, planned)
    assert not check.mismatch and str(check.verdict).startswith("Split as planned")


def test_more_arms_are_compared_with_the_control_under_holms_correction():
    arms = pd.DataFrame({"arm": ["control", "B", "C", "D"], "users": [10_000] * 4,
                         "conversions": [1_000, 1_080, 1_250, 1_010]})
    readout = compare_arms(arms, control="control", minimum_detectable_effect=0.02)
    raw = np.array([r.p_value for r in readout.comparisons])
    order = np.argsort(raw)
    holm = np.minimum(1, np.maximum.accumulate(raw[order] * (3 - np.arange(3))))
    expected = np.empty(3)
    expected[order] = holm
    np.testing.assert_allclose([r.p_value_adjusted for r in readout.comparisons], expected)
    table = readout.table.set_index("treatment")
    assert table["significant"].to_dict() == {"B": False, "C": True, "D": False}
    assert readout.comparisons[0].confidence == pytest.approx(1 - 0.05 / 3)
    assert "95% CI (adjusted for 3 comparisons)" in str(readout.comparisons[1].verdict)
    assert readout.comparisons[0].required_users_per_arm == sample_size_per_arm(0.10, 0.02, alpha=0.05 / 3)


def test_read_outs_are_frozen():
    r = conversion_readout(users_control=100, conversions_control=10, users_treatment=100, conversions_treatment=12,
                           minimum_detectable_effect=0.05)
    with pytest.raises(FrozenInstanceError):
        r.p_value = 0.0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"conversions_treatment": 120}, "conversions <= users"),
        ({"users_control": 0}, "users > 0"),
        ({"minimum_detectable_effect": 0}, "positive"),
        ({"minimum_detectable_effect": 0.95}, "exceeds 1"),
        ({"alpha": 1.5}, "alpha"),
    ],
)
def test_bad_conversion_input_raises_a_value_error_saying_what_to_fix(kwargs, message):
    arguments = {"users_control": 100, "conversions_control": 10, "users_treatment": 100,
                 "conversions_treatment": 12, "minimum_detectable_effect": 0.05} | kwargs
    with pytest.raises(ValueError, match=message):
        conversion_readout(**arguments)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: sample_ratio_mismatch([100]), "two arms"),
        (lambda: sample_ratio_mismatch([100, -1]), "whole numbers"),
        (lambda: sample_ratio_mismatch([100, 100], [1, 0]), "positive share"),
        (lambda: revenue_readout([1.0, np.nan], [1.0, 2.0], minimum_detectable_effect=1), "missing"),
        (lambda: compare_arms(pd.DataFrame({"arm": ["a", "b"], "users": [1, 1], "conversions": [0, 0]}),
                              control="z", minimum_detectable_effect=0.1), "not among"),
    ],
)
def test_bad_experiment_input_raises_a_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# --- the verdicts in Chinese ---------------------------------------------------------------------

@pytest.mark.parametrize("treatment_conversions, users, mde", [
    (1_210, 10_000, 0.02),  # a clear win with enough data
    (1_030, 10_000, 0.02),  # enough data, no clear difference
    (110, 1_000, 0.02),  # not enough data yet, "1.0 point"
    (880, 10_000, 0.02),  # worse
    (1_000, 10_000, 0.05),  # the same
])
def test_conversion_verdicts_read_in_chinese_with_the_same_numbers(treatment_conversions, users, mde):
    r = conversion_readout(users_control=users, conversions_control=users // 10, users_treatment=users,
                           conversions_treatment=treatment_conversions, minimum_detectable_effect=mde)
    assert_chinese_with_the_same_numbers(r.verdict)


def test_revenue_multi_arm_and_sample_ratio_verdicts_read_in_chinese():
    rng = np.random.default_rng(4)
    a = np.where(rng.random(5_000) < 0.2, rng.gamma(2.0, 25.0, 5_000), 0.0)
    for b in (np.where(rng.random(5_000) < 0.2, rng.gamma(2.0, 35.0, 5_000), 0.0), a[::-1] * 0.7):
        assert_chinese_with_the_same_numbers(revenue_readout(a, b, minimum_detectable_effect=1.0).verdict)
    arms = pd.DataFrame({"arm": ["control", "B", "C"], "users": [10_000] * 3, "conversions": [1_000, 1_080, 1_250]})
    zh = assert_chinese_with_the_same_numbers(compare_arms(arms, control="control", minimum_detectable_effect=0.02).verdict)
    assert "已按 2 组比较校正" in zh
    for counts in ({"A": 10_400, "B": 9_600}, {"A": 10_050, "B": 9_950}):
        assert_chinese_with_the_same_numbers(sample_ratio_mismatch(counts).verdict)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # statsmodels divides by the zero spread first
def test_the_refusal_when_nobody_has_bought_reads_in_chinese():
    with pytest.raises(ValueError, match="same revenue") as refused:
        revenue_readout([0.0] * 50, [0.0] * 60, minimum_detectable_effect=1.0)
    assert_chinese_with_the_same_numbers(reason(refused.value))
