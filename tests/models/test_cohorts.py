"""Cohorts: hand-checked retention, next-period retention, repurchase rate and revenue; incomplete periods marked."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.cohorts import ACTIVITY_COLUMNS, COHORT_COLUMNS, cohort_report

ORDERS = pd.DataFrame({
    "customer_id": ["a", "a", "b", "b", "c", "d", "e"],
    "date": pd.to_datetime(["2024-01-05", "2024-02-10", "2024-01-20", "2024-01-25", "2024-02-03",
                            "2024-03-10", "2024-03-20"]),
    "amount": [10.0, 20.0, 5.0, 5.0, 7.0, 100.0, 50.0],
})
JAN, FEB, MAR = (pd.Timestamp(d) for d in ("2024-01-01", "2024-02-01", "2024-03-01"))


def cell(report, cohort, index):
    rows = report.activity[(report.activity["cohort"] == cohort) & (report.activity["period_index"] == index)]
    assert len(rows) == 1
    return rows.iloc[0]


def test_monthly_activity_counts_customers_orders_and_revenue_by_hand():
    report = cohort_report(ORDERS, as_of="2024-03-15", period="M")
    assert tuple(report.activity.columns) == ACTIVITY_COLUMNS
    assert len(report.activity) == 6  # Jan: 3 months, Feb: 2, Mar: 1 (e buys after as_of)
    jan0, jan1, jan2 = (cell(report, JAN, i) for i in range(3))
    assert (jan0["cohort_size"], jan0["active_customers"], jan0["orders"], jan0["revenue"]) == (2, 2, 3, 20.0)
    assert (jan1["active_customers"], jan1["retention"], jan1["revenue"]) == (1, 0.5, 20.0)
    assert jan1["period_start"] == FEB and jan1["complete"]
    assert jan2["cumulative_revenue_per_customer"] == 20.0


def test_the_month_holding_as_of_is_marked_incomplete_not_shown_as_a_drop():
    report = cohort_report(ORDERS, as_of="2024-03-15", period="M")
    assert not cell(report, JAN, 2)["complete"] and cell(report, JAN, 2)["active_customers"] == 0
    matrix = report.retention_matrix()
    np.testing.assert_array_equal(matrix.to_numpy(), [[1.0, 0.5, np.nan], [1.0, np.nan, np.nan],
                                                      [np.nan, np.nan, np.nan]])
    with_partial = report.retention_matrix(include_incomplete=True)
    np.testing.assert_array_equal(with_partial.to_numpy(), [[1.0, 0.5, 0.0], [1.0, 0.0, np.nan],
                                                            [1.0, np.nan, np.nan]])


def test_once_the_month_has_ended_a_cohort_that_bought_nothing_shows_a_real_zero():
    report = cohort_report(ORDERS, as_of="2024-03-31", period="M")
    assert cell(report, JAN, 2)["complete"] and cell(report, JAN, 2)["retention"] == 0.0
    assert report.retention_matrix().loc[JAN, 2] == 0.0


def test_the_cohort_table_gives_next_month_retention_repurchase_rate_and_revenue():
    cohorts = cohort_report(ORDERS, as_of="2024-03-15", period="M").cohorts.set_index("cohort")
    assert ("cohort",) + tuple(cohorts.columns) == COHORT_COLUMNS
    assert cohorts["cohort_size"].tolist() == [2, 1, 1]
    assert cohorts.loc[JAN, "next_period_retention"] == 0.5
    assert np.isnan(cohorts.loc[FEB, "next_period_retention"])  # March is not over yet
    assert cohorts["repurchase_rate"].tolist() == [1.0, 0.0, 0.0]  # both of January's buyers came back
    assert cohorts["revenue"].tolist() == [40.0, 7.0, 100.0]
    assert cohorts["revenue_per_customer"].tolist() == [20.0, 7.0, 100.0]
    assert cohorts["cohort_complete"].tolist() == [True, True, False]


@pytest.mark.parametrize("as_of, complete", [("2024-01-13", False), ("2024-01-14", True)])
def test_weekly_cohorts_start_on_monday_and_end_with_sunday(as_of, complete):
    orders = pd.DataFrame({"customer_id": [1, 1, 2],
                           "ts": pd.to_datetime(["2024-01-01 08:00", "2024-01-09 12:00", "2024-01-14 22:00"]),
                           "amount": [3.0, 4.0, 5.0]})
    report = cohort_report(orders, as_of=as_of, period="W")
    week2 = cell(report, pd.Timestamp("2024-01-01"), 1)
    assert week2["period_start"] == pd.Timestamp("2024-01-08")
    assert bool(week2["complete"]) is complete
    assert week2["active_customers"] == 1 and week2["retention"] == 1.0


def test_order_lines_with_an_order_id_count_each_order_once():
    lines = ORDERS.assign(order_id=[1, 2, 3, 3, 4, 5, 6])  # b's two January lines are one order
    cohorts = cohort_report(lines, as_of="2024-03-15").cohorts.set_index("cohort")
    assert cohorts.loc[JAN, "repurchase_rate"] == 0.5


def test_the_report_leaves_the_callers_frame_untouched():
    before = ORDERS.copy()
    cohort_report(ORDERS, as_of="2024-03-15")
    pd.testing.assert_frame_equal(ORDERS, before)


@pytest.mark.parametrize(
    "frame, kwargs, message",
    [
        (ORDERS.iloc[0:0], {"as_of": "2024-03-15"}, "empty"),
        (ORDERS.drop(columns="customer_id"), {"as_of": "2024-03-15"}, "missing column"),
        (ORDERS, {"as_of": "2024-03-15", "period": "Q"}, "period"),
        (ORDERS, {"as_of": "2023-12-31"}, "no orders"),
        (ORDERS.assign(amount=-ORDERS["amount"]), {"as_of": "2024-03-15"}, "negative"),
    ],
)
def test_bad_input_raises_a_value_error_saying_what_to_fix(frame, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cohort_report(frame, **kwargs)
