"""Service figures and the repurchase comparison, on hand-checked cases."""
import math

import pandas as pd
import pytest

from models.phrases import phrase
from models.service import FIGURE_COLUMNS, RepurchaseComparison, compare_repurchase, service_figures
from tests.support.chinese import assert_chinese_with_the_same_numbers

Z = 1.959963984540054


def contacts(rows):
    return pd.DataFrame(rows, columns=["handled_by", "first_response_s", "resolved"]).astype(
        {"first_response_s": "Int64", "resolved": bool})


EIGHT = contacts([
    ("bot", None, True), ("bot", None, True), ("bot", None, True), ("bot", None, False),
    ("human", 5, True), ("human", 10, True), ("human", 20, False), ("human", 40, True),
])


def test_figures_of_eight_contacts_by_hand():
    f = service_figures(EIGHT, response_target_s=15)
    assert list(f) == FIGURE_COLUMNS
    assert f["contacts"] == 8 and f["bot_resolved"] == 3 and f["escalated"] == 4
    assert f["bot_resolved_share"] == 3 / 8 and f["escalated_share"] == 4 / 8
    assert f["human_p50_s"] == 15.0  # between 10 and 20
    assert f["human_p90_s"] == pytest.approx(34.0)  # rank 0.9 * 3 = 2.7: 20 + 0.7 * (40 - 20)
    assert f["within_target_share"] == 2 / 4
    assert f["resolved_share"] == 6 / 8


def test_an_answer_exactly_at_the_target_counts_as_within_it():
    f = service_figures(contacts([("human", 15, True), ("human", 16, True)]), response_target_s=15)
    assert f["within_target_share"] == 0.5


def test_no_contacts_give_nan_shares_not_errors():
    f = service_figures(contacts([]), response_target_s=15)
    assert f["contacts"] == 0 and math.isnan(f["bot_resolved_share"]) and math.isnan(f["human_p50_s"])


def wilson(hits, n):
    p = hits / n
    centre = (p + Z**2 / (2 * n)) / (1 + Z**2 / n)
    half = Z * math.sqrt(p * (1 - p) / n + Z**2 / (4 * n * n)) / (1 + Z**2 / n)
    return centre - half, centre + half


def test_twenty_of_a_hundred_against_forty_of_a_hundred_by_newcombs_method():
    r = compare_repurchase(20, 100, 40, 100, group="left unresolved", baseline="resolved", days=14)
    assert isinstance(r, RepurchaseComparison)
    (l1, u1), (l2, u2) = wilson(20, 100), wilson(40, 100)
    assert r.difference == pytest.approx(-0.2)
    assert r.ci_low == pytest.approx(-0.2 - math.hypot(0.2 - l1, u2 - 0.4), abs=1e-6)  # -0.3185
    assert r.ci_high == pytest.approx(-0.2 + math.hypot(u1 - 0.2, 0.4 - l2), abs=1e-6)  # -0.0731
    assert r.ratio == pytest.approx(0.5)
    assert r.ratio_ci_low < 0.5 < r.ratio_ci_high < 1
    assert r.significant and r.p_value < 0.01
    assert str(r.verdict).startswith("Customers whose contact was left unresolved bought again within 14 days less often")
    assert str(r.verdict).endswith("20.0 points fewer (95% CI 7.3 to 31.9), 0.50 times the rate.")


def test_no_repurchase_at_all_in_a_group_still_gets_a_finite_interval():
    r = compare_repurchase(0, 10, 30, 100, group="left unresolved", baseline="resolved", days=14)
    assert r.rate_group == 0 and r.ci_low < r.difference < r.ci_high < 0 and 0 < r.ratio_ci_high < math.inf


def test_a_small_group_reads_as_no_clear_difference_with_its_interval():
    r = compare_repurchase(1, 10, 30, 100, group="left unresolved", baseline="resolved", days=14)
    assert not r.significant and r.ci_low < 0 < r.ci_high and math.isfinite(r.ratio_ci_high)
    assert str(r.verdict).startswith("No clear difference yet")


@pytest.mark.parametrize("args, message", [
    ((5, 0, 3, 10), "at least one customer"),
    ((11, 10, 3, 10), "more repurchasing customers than customers"),
    ((1.5, 10, 3, 10), "whole number"),
    ((-1, 10, 3, 10), "whole number"),
])
def test_impossible_counts_raise_a_value_error_saying_what_to_fix(args, message):
    with pytest.raises(ValueError, match=message):
        compare_repurchase(*args, group="a", baseline="b", days=14)


def test_figures_need_their_columns():
    with pytest.raises(ValueError, match="handled_by"):
        service_figures(pd.DataFrame({"resolved": [True]}), response_target_s=15)


@pytest.mark.parametrize("counts", [(20, 100, 40, 100), (45, 100, 20, 100), (1, 10, 30, 100)])
def test_the_repurchase_verdict_reads_in_chinese_with_the_same_numbers(counts):
    r = compare_repurchase(*counts, group=phrase("left unresolved"), baseline=phrase("resolved"), days=14)
    assert_chinese_with_the_same_numbers(r.verdict)
