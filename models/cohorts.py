"""Cohorts by first-purchase month or week: retention, next-period retention, repurchase rate and revenue."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models._frames import amounts, as_day, customer_ids, naive_utc, require_columns, time_column

PERIODS = {"M": "month", "W": "week (Monday to Sunday)"}
ACTIVITY_COLUMNS = ("cohort", "period_index", "period_start", "complete", "cohort_size", "active_customers",
                    "retention", "orders", "revenue", "cumulative_revenue_per_customer")
COHORT_COLUMNS = ("cohort", "cohort_size", "cohort_complete", "next_period_retention", "repurchase_rate",
                  "revenue", "revenue_per_customer")


@dataclass(frozen=True)
class CohortReport:
    """Cohort tables as of a day; a period that has not ended by `as_of` is marked `complete=False`.

    `activity` has one row per cohort and period since its start (up to the period holding
    `as_of`, rows with no activity included), with the columns in `ACTIVITY_COLUMNS`:
    `cohort` and `period_start` are period start days, `period_index` 0 is the cohort's own period,
    `retention` = active_customers / cohort_size, `revenue` in the currency of `amount`.
    `cohorts` has one row per cohort (`COHORT_COLUMNS`): `next_period_retention` is the share of
    the cohort that bought again in the period after its first (next-month retention for months;
    NaN until that period is complete), `repurchase_rate` the share with two orders or more by
    `as_of`, `cohort_complete` False while the cohort's own period is still taking new customers.
    """

    as_of: pd.Timestamp
    period: str
    activity: pd.DataFrame
    cohorts: pd.DataFrame

    def retention_matrix(self, *, include_incomplete: bool = False) -> pd.DataFrame:
        """Retention, cohorts as rows and period_index as columns; incomplete periods are NaN unless asked for."""
        return self._matrix("retention", include_incomplete)

    def revenue_matrix(self, *, include_incomplete: bool = False) -> pd.DataFrame:
        """Revenue, cohorts as rows and period_index as columns; incomplete periods are NaN unless asked for."""
        return self._matrix("revenue", include_incomplete)

    def _matrix(self, column: str, include_incomplete: bool) -> pd.DataFrame:
        values = self.activity[column].where(self.activity["complete"] | include_incomplete)
        frame = self.activity.assign(value=values)
        return frame.pivot(index="cohort", columns="period_index", values="value")


def cohort_report(orders: pd.DataFrame, *, as_of, period: str = "M") -> CohortReport:
    """Cohort tables of `orders` as of the `as_of` day, by first-purchase `period` ("M" month, "W" week).

    `orders` has `customer_id`, `ts` or `date` (datetime; tz-aware values are taken in UTC) and
    `amount` (>= 0); one row per order, or per line with an `order_id` column. Orders after the
    `as_of` day are left out, so the same frame gives the report at any past date.
    """
    if period not in PERIODS:
        raise ValueError(f"period must be one of {sorted(PERIODS)} ({PERIODS}), got {period!r}")
    require_columns(orders, ("customer_id", "amount"), "orders")
    when = time_column(orders, "orders")
    day = as_day(as_of, "as_of")
    days = naive_utc(orders[when], when).dt.normalize()
    frame = pd.DataFrame({
        "customer_id": customer_ids(orders["customer_id"]).to_numpy(),
        "day": days.to_numpy(),
        "order": (orders["order_id"] if "order_id" in orders.columns else pd.Series(np.arange(len(orders)))).to_numpy(),
        "amount": amounts(orders["amount"]).to_numpy(),
    })
    frame = frame[frame["day"] <= day]
    if frame.empty:
        raise ValueError(f"no orders on or before as_of {day.date()}; pick a later as_of")

    frame["period_start"] = _period_start(frame["day"], period)
    frame["cohort"] = frame.groupby("customer_id")["period_start"].transform("min")
    frame["period_index"] = _periods_between(frame["cohort"], frame["period_start"], period)
    current = _period_start(pd.Series([day]), period).iloc[0]

    cells = frame.groupby(["cohort", "period_index"]).agg(
        active_customers=("customer_id", "nunique"), orders=("order", "nunique"), revenue=("amount", "sum"))
    sizes = frame.groupby("cohort")["customer_id"].nunique().rename("cohort_size")
    last_index = _periods_between(pd.Series(sizes.index), pd.Series([current] * len(sizes)), period)
    grid = pd.MultiIndex.from_tuples(
        [(cohort, i) for cohort, last in zip(sizes.index, last_index, strict=True) for i in range(int(last) + 1)],
        names=["cohort", "period_index"])
    activity = cells.reindex(grid, fill_value=0).reset_index().join(sizes, on="cohort")
    activity["period_start"] = _shift(activity["cohort"], activity["period_index"], period).astype(
        activity["cohort"].dtype)
    activity["complete"] = _shift(activity["period_start"], 1, period) <= day + pd.Timedelta(days=1)
    activity["retention"] = activity["active_customers"] / activity["cohort_size"]
    activity["revenue"] = activity["revenue"].astype("float64")
    activity["cumulative_revenue_per_customer"] = (
        activity.groupby("cohort")["revenue"].cumsum() / activity["cohort_size"])
    activity = activity[list(ACTIVITY_COLUMNS)]

    next_period = activity[(activity["period_index"] == 1) & activity["complete"]].set_index("cohort")["retention"]
    orders_per_customer = frame.groupby("customer_id").agg(cohort=("cohort", "first"), orders=("order", "nunique"))
    repurchase = (orders_per_customer["orders"] >= 2).groupby(orders_per_customer["cohort"]).mean()
    own_period = activity[activity["period_index"] == 0].set_index("cohort")
    revenue = activity.groupby("cohort")["revenue"].sum()
    cohorts = pd.DataFrame({
        "cohort_size": sizes,
        "cohort_complete": own_period["complete"],
        "next_period_retention": next_period.reindex(sizes.index),
        "repurchase_rate": repurchase,
        "revenue": revenue,
        "revenue_per_customer": revenue / sizes,
    }).rename_axis("cohort").reset_index()[list(COHORT_COLUMNS)]
    return CohortReport(as_of=day, period=period, activity=activity, cohorts=cohorts)


def _period_start(days: pd.Series, period: str) -> pd.Series:
    freq = "M" if period == "M" else "W-SUN"  # weeks ending Sunday start on Monday
    return days.dt.to_period(freq).dt.start_time.dt.normalize()


def _periods_between(start: pd.Series, end: pd.Series, period: str) -> np.ndarray:
    """Whole periods from each period start in `start` to the one in `end` (positionally)."""
    start, end = pd.DatetimeIndex(start), pd.DatetimeIndex(end)
    if period == "M":
        out = (end.year - start.year) * 12 + (end.month - start.month)
    else:
        out = (end - start).days // 7
    return np.asarray(out, dtype="int64")


def _shift(starts: pd.Series, steps, period: str) -> pd.Series:
    """Period starts moved on by `steps` periods (a number or a Series aligned with `starts`)."""
    steps = np.broadcast_to(np.asarray(steps, dtype="int64"), len(starts))
    if period == "M":
        months = starts.dt.year.to_numpy() * 12 + starts.dt.month.to_numpy() - 1 + steps
        return pd.Series(pd.to_datetime(pd.DataFrame({"year": months // 12, "month": months % 12 + 1, "day": 1})).to_numpy(),
                         index=starts.index)
    return starts + pd.to_timedelta(steps * 7, unit="D")
