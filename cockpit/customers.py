"""Customer value: the scheduler's customer job (RFM segments, BG/NBD and Gamma-Gamma CLV per
customer, stored per shop-local day in `customer_scores`) and the views the customer pages
build from stored scores, paid orders and experiment assignments.

The job scores every customer with a paid order in the last HISTORY_DAYS as of the last
complete shop-local day before the data minute (models.rfm, models.clv), replaces that day's
rows, and keeps the stored days bounded: every day of the last KEEP_DAILY_DAYS, and the last
day of each month for KEEP_MONTH_END_DAYS. The fitted parameters go to the "customer_value"
snapshot (cockpit.snapshots) for the pages to quote.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine

from cockpit import snapshots
from cockpit.db.dialect import write_transaction
from cockpit.metrics import customers as reads
from cockpit.metrics.read import last_heartbeat
from cockpit.timebuckets import EPOCH_DATE, day_start_minute, local_day_of
from models import clv, cohorts, experiments, rfm
from models.phrases import Phrase, reason

log = logging.getLogger(__name__)
VIEW = "customer_value"
LOCK = "cockpit-customer-scores"
HISTORY_DAYS = 730  # orders older than two years do not count towards today's value
HORIZON_WEEKS = 52  # CLV and expected purchases over the next year
ANNUAL_DISCOUNT = 0.10
KEEP_DAILY_DAYS = 35  # every stored day of the last five weeks: "now against a month ago"
KEEP_MONTH_END_DAYS = 400  # and each month's last day for thirteen months
OWNED_KIND = "owned"  # private-domain channels (app, mini program, community groups, email)


@dataclass(frozen=True)
class CustomerRun:
    as_of_day: int
    customers: int
    clv_fitted: bool
    seconds: float
    dropped_days: tuple[int, ...] = ()


def as_of_day_for(data_minute: int, tz: ZoneInfo) -> int:
    """The last complete shop-local day at data_minute (the day before the one the next minute falls in)."""
    return local_day_of(int(data_minute) + 1, tz) - 1


def day_date(day: int) -> pd.Timestamp:
    """A shop-local day number as a (naive) midnight Timestamp."""
    return pd.Timestamp(EPOCH_DATE) + pd.Timedelta(days=int(day))


def transactions(orders: pd.DataFrame, tz: ZoneInfo) -> pd.DataFrame:
    """Paid orders (reads.paid_orders) as the models' transactions: customer_id, order_id, date
    (shop-local wall time, naive, so a model's calendar days are the shop's days), amount."""
    local = pd.to_datetime(orders["ts_utc"].to_numpy(dtype="int64"), unit="s", utc=True).tz_convert(tz).tz_localize(None)
    return pd.DataFrame({"customer_id": orders["customer_id"].to_numpy(), "order_id": orders["order_id"].to_numpy(),
                         "date": local.astype("datetime64[ns]"), "amount": orders["amount"].to_numpy(dtype="float64")})


def compute_scores(orders: pd.DataFrame, as_of_day: int, tz: ZoneInfo) -> tuple[pd.DataFrame, dict]:
    """Scores (reads.SCORE_COLUMNS) of every customer in `orders` as of as_of_day, and the fit's
    description (parameters, horizon, or the reason the CLV models could not be fitted)."""
    as_of = day_date(as_of_day)
    tx = transactions(orders, tz)
    tx = tx[tx["date"] < as_of + pd.Timedelta(days=1)]
    table = rfm.rfm_table(tx, as_of=as_of)
    scores = table.reset_index()
    fit: dict = {"as_of_day": int(as_of_day), "customers": len(scores), "horizon_weeks": HORIZON_WEEKS,
                 "annual_discount": ANNUAL_DISCOUNT, "params": {}, "error": ""}
    try:
        bgnbd = clv.fit_bgnbd(tx, observation_end=as_of, time_unit="W")
        spend_fit = clv.fit_gamma_gamma(tx, observation_end=as_of)
        weekly = (1 + ANNUAL_DISCOUNT) ** (1 / 52) - 1
        value = clv.customer_lifetime_value(bgnbd, spend_fit, horizon_periods=HORIZON_WEEKS,
                                            discount_rate_per_period=weekly)
        model = pd.DataFrame({"p_alive": bgnbd.p_alive(), "expected_purchases": bgnbd.expected_purchases(HORIZON_WEEKS),
                              "expected_spend": spend_fit.expected_average_spend(), "clv": value})
        fit["params"] = {**bgnbd.params, **spend_fit.params}
        fit["repeat_buyers"] = int(spend_fit.n_fitted)
    except ValueError as exc:  # a young shop: too few repeat buyers to fit; RFM still stands
        log.info("CLV models not fitted as of day %d: %s", as_of_day, exc)
        fit["error"] = reason(exc)  # a models.phrases.Phrase for the fits' own refusals
        model = pd.DataFrame(np.nan, index=table.index, columns=["p_alive", "expected_purchases", "expected_spend", "clv"])
    scores = scores.join(model.reindex(table.index).reset_index(drop=True))
    return scores[list(reads.SCORE_COLUMNS)], fit


def days_to_drop(stored: list[int], newest: int) -> list[int]:
    """The stored days the retention removes, given the newest day: older than KEEP_DAILY_DAYS,
    unless a month's last day younger than KEEP_MONTH_END_DAYS."""
    drop = []
    for day in stored:
        age = newest - day
        month_end = (day_date(day) + pd.Timedelta(days=1)).day == 1
        if age >= KEEP_DAILY_DAYS and not (month_end and age < KEEP_MONTH_END_DAYS):
            drop.append(day)
    return drop


def publish_customer_scores(engine: Engine, tz: ZoneInfo, *, as_of_day: int | None = None,
                            now_ts: float | None = None) -> CustomerRun | None:
    """Score every customer as of as_of_day (default: the last complete day at the newest data
    minute) and store the scores, replacing that day's; None before any refresh or order."""
    started = time.perf_counter()
    with engine.connect() as conn:
        beat = last_heartbeat(conn)
        if as_of_day is None:
            if beat is None:
                return None
            as_of_day = as_of_day_for(beat.data_minute_utc, tz)
        end = day_start_minute(as_of_day + 1, tz)
        orders = reads.paid_orders(conn, day_start_minute(as_of_day + 1 - HISTORY_DAYS, tz) * 60, end * 60)
    if orders.empty:
        return None
    scores, fit = compute_scores(orders, as_of_day, tz)
    fit["computed_ts"] = time.time() if now_ts is None else float(now_ts)
    with write_transaction(engine, LOCK, wait=True) as conn:
        reads.replace_scores(conn, as_of_day, scores, int(fit["computed_ts"]))
        stored = reads.score_days(conn)
        dropped = days_to_drop(stored, max(stored))
        reads.delete_score_days(conn, dropped)
        minute = beat.data_minute_utc if beat is not None else end - 1
        snapshots.publish(conn, VIEW, {"tz": tz.key}, minute, fit, (time.perf_counter() - started) * 1000)
    return CustomerRun(as_of_day, len(scores), not fit["error"], time.perf_counter() - started, tuple(dropped))


def latest_fit(conn: Connection, tz: ZoneInfo) -> dict | None:
    """The newest run's description: as_of_day, customers, params, horizon, error, computed_ts."""
    found = snapshots.fetch_latest(conn, VIEW, {"tz": tz.key})
    return None if found is None else found[1]


# --- the Customers page -------------------------------------------------------------------------

SUMMARY_COLUMNS = ["segment", "label", "customers", "share", "monetary", "monetary_per_customer", "clv",
                   "clv_per_customer", "p_alive"]


def segment_summary(scores: pd.DataFrame) -> pd.DataFrame:
    """Per segment (all eight, in models.rfm order): customers, share of customers, monetary
    (total and per customer), CLV (total and per customer; NaN without CLV), mean p_alive."""
    grouped = scores.groupby("segment")
    table = pd.DataFrame({
        "customers": grouped.size(), "monetary": grouped["monetary"].sum(),
        "clv": grouped["clv"].sum(min_count=1), "p_alive": grouped["p_alive"].mean(),
    }).reindex(list(rfm.SEGMENT_KEYS))
    table["customers"] = table["customers"].fillna(0).astype("int64")
    table["monetary"] = table["monetary"].fillna(0.0)
    table["share"] = table["customers"] / max(1, int(table["customers"].sum()))
    with np.errstate(divide="ignore", invalid="ignore"):
        table["monetary_per_customer"] = table["monetary"] / table["customers"].where(table["customers"] > 0)
        table["clv_per_customer"] = table["clv"] / table["customers"].where(table["customers"] > 0)
    table = table.rename_axis("segment").reset_index()
    table["label"] = table["segment"].map(lambda key: rfm.segment_label(key))
    return table[SUMMARY_COLUMNS]


def migration(from_scores: pd.DataFrame, to_scores: pd.DataFrame, from_day: int, to_day: int) -> rfm.SegmentMigration:
    """Where each customer scored on to_day was on from_day (models.rfm.SegmentMigration; customers
    without scores on from_day come from NOT_YET_CUSTOMER). from_day must be before to_day."""
    if from_day >= to_day:
        raise ValueError("pick a 'from' day before the 'to' day")
    before = from_scores.set_index("customer_id")["segment"]
    after = to_scores.set_index("customer_id")["segment"]
    frame = pd.DataFrame({"from_segment": before.reindex(after.index).fillna(rfm.NOT_YET_CUSTOMER).astype("str"),
                          "to_segment": after.astype("str")})
    return rfm.SegmentMigration(day_date(from_day), day_date(to_day), frame)


def top_customers(scores: pd.DataFrame, limit: int = 20) -> pd.DataFrame:
    """The customers worth most: by CLV, or by monetary value when there is no CLV."""
    key = "clv" if scores["clv"].notna().any() else "monetary"
    return scores.sort_values([key, "customer_id"], ascending=[False, True], kind="stable").head(limit).reset_index(drop=True)


def segment_export(scores: pd.DataFrame, segment: str) -> pd.DataFrame:
    """A segment's customers for an outreach campaign, most valuable first."""
    chosen = scores[scores["segment"] == segment].assign(segment_label=rfm.segment_label(segment))
    key = "clv" if chosen["clv"].notna().any() else "monetary"
    chosen = chosen.sort_values([key, "customer_id"], ascending=[False, True], kind="stable")
    return chosen[["customer_id", "segment", "segment_label", "recency_days", "frequency", "monetary", "p_alive",
                   "expected_purchases", "clv"]].reset_index(drop=True)


def daily_mix(orders: pd.DataFrame, channels: pd.DataFrame, tz: ZoneInfo) -> pd.DataFrame:
    """Per shop-local day: paid orders and GMV from new and returning customers, and orders
    through private-domain (owned) channels. Columns: day (datetime64), new_orders,
    returning_orders, new_gmv, returning_gmv, owned_orders, orders, owned_share."""
    owned = set(channels.loc[channels["kind"] == OWNED_KIND, "channel"])
    day = transactions(orders, tz)["date"].dt.normalize()
    returning = orders["is_returning"].to_numpy(dtype=bool)
    amount = orders["amount"].to_numpy(dtype="float64")
    frame = pd.DataFrame({"day": day.to_numpy(), "orders": 1, "new_orders": (~returning).astype("int64"),
                          "returning_orders": returning.astype("int64"), "new_gmv": np.where(returning, 0.0, amount),
                          "returning_gmv": np.where(returning, amount, 0.0),
                          "owned_orders": orders["channel"].isin(owned).to_numpy().astype("int64")})
    out = frame.groupby("day", sort=True).sum().reset_index()
    out["owned_share"] = out["owned_orders"] / out["orders"]
    out["day"] = out["day"].astype("datetime64[ns]")
    return out[["day", "new_orders", "returning_orders", "new_gmv", "returning_gmv", "owned_orders", "orders",
                "owned_share"]]


def acquisition_cost(acquisition: pd.DataFrame) -> pd.DataFrame:
    """reads.acquisition_by_channel with cac = spend / new_customers (NaN without spend or
    without new customers), channels with spend first, dearest first."""
    new = acquisition["new_customers"].where(acquisition["new_customers"] > 0)
    cac = (acquisition["spend"] / new).where(acquisition["spend"] > 0)
    table = acquisition.assign(cac=cac.astype("float64"), _paid=acquisition["spend"] > 0)
    table = table.sort_values(["_paid", "cac", "new_customers"], ascending=[False, False, False], kind="stable")
    return table.drop(columns="_paid").reset_index(drop=True)


def customers_page(conn: Connection, as_of_day: int, tz: ZoneInfo, window_days: int, period: str) -> dict:
    """Everything on the Customers page that comes from orders and spend rather than stored
    scores, over the window_days up to as_of_day: the daily mix, acquisition cost by channel,
    cohorts by `period` ("W" or "M") over the last HISTORY_DAYS, private-domain totals."""
    end = day_start_minute(as_of_day + 1, tz)
    start = day_start_minute(as_of_day + 1 - window_days, tz)
    orders = reads.paid_orders(conn, day_start_minute(as_of_day + 1 - HISTORY_DAYS, tz) * 60, end * 60)
    channel_table = reads.channels(conn)
    recent = orders[orders["ts_utc"] >= start * 60]
    mix = daily_mix(recent, channel_table, tz) if len(recent) else None
    report = cohorts.cohort_report(transactions(orders, tz), as_of=day_date(as_of_day), period=period) if len(orders) else None
    owned = channel_table[channel_table["kind"] == OWNED_KIND]
    by_channel = recent.groupby("channel").size()
    owned_orders = owned.assign(orders=owned["channel"].map(by_channel).fillna(0).astype("int64"))
    return {
        "as_of_day": int(as_of_day), "window_days": int(window_days), "orders": len(recent),
        "mix": mix, "cohorts": report, "acquisition": acquisition_cost(reads.acquisition_by_channel(conn, start, end)),
        "owned_channels": owned_orders[["channel", "name", "orders"]].reset_index(drop=True),
        "new_gmv": float(recent.loc[~recent["is_returning"], "amount"].sum()),
        "returning_gmv": float(recent.loc[recent["is_returning"], "amount"].sum()),
    }


# --- the Customer 360 page ----------------------------------------------------------------------

def customer_360(conn: Connection, customer_id: int) -> dict | None:
    """One customer's profile, or None if there is no such customer: the customer row, their
    orders, score history, marketing touches, returns, reviews, experiments and service
    contacts (cockpit.metrics.service.contacts_for_customer)."""
    from cockpit.metrics.service import contacts_for_customer

    row = reads.customer(conn, customer_id)
    if row is None:
        return None
    return {"customer": row, "orders": reads.customer_orders(conn, customer_id),
            "history": reads.segment_history(conn, customer_id), "touches": reads.customer_touches(conn, customer_id),
            "returns": reads.customer_returns(conn, customer_id), "reviews": reads.customer_reviews(conn, customer_id),
            "experiments": reads.customer_experiments(conn, customer_id),
            "contacts": contacts_for_customer(conn, customer_id)}


# --- the Experiments page -----------------------------------------------------------------------

@dataclass(frozen=True)
class ExperimentReport:
    """An experiment's read-out so far: the window read, per-arm results, the sample-ratio
    check and one read-out per treatment arm against the control (empty with a `message` when
    there is nothing to read yet)."""

    experiment_id: str
    name: str
    description: str
    target_segment: str
    metric: str  # conversion | revenue_per_user
    start_ts: int
    end_ts: int | None
    window_end_ts: int  # the read-out covers orders placed in [start_ts, window_end_ts)
    running: bool
    arms: pd.DataFrame  # arm, users, converters, conversion, revenue, revenue_per_user
    srm: experiments.SampleRatioCheck | None
    readouts: tuple
    message: Phrase | str = ""  # "not_started", "arm_without_users", or why there is no read-out


def experiment_report(experiment: dict, outcomes: pd.DataFrame, data_minute: int, minimum_detectable_effect: float,
                      *, alpha: float = 0.05, power: float = 0.8) -> ExperimentReport:
    """Read out one experiment (a reads.experiments row as a dict) from its users' outcomes
    (reads.experiment_outcomes) with models.experiments. minimum_detectable_effect: a
    proportion (0.02 = 2 points) for conversion, money per user for revenue_per_user. With
    more than one treatment arm, conversion uses Holm's correction and revenue a Bonferroni
    level."""
    names = [a.strip() for a in str(experiment["arms"]).split(",") if a.strip()]
    end = experiment.get("end_ts_utc")
    end = None if end is None or (isinstance(end, float) and math.isnan(end)) else int(end)
    now_ts = (int(data_minute) + 1) * 60
    window_end = min(end, now_ts) if end is not None else now_ts
    grouped = outcomes.groupby("arm")
    arms = pd.DataFrame({"arm": names})
    arms["users"] = arms["arm"].map(grouped.size()).fillna(0).astype("int64")
    arms["converters"] = arms["arm"].map(grouped["orders"].apply(lambda s: int((s > 0).sum()))).fillna(0).astype("int64")
    arms["revenue"] = arms["arm"].map(grouped["revenue"].sum()).fillna(0.0).astype("float64")
    users = arms["users"].where(arms["users"] > 0)
    arms["conversion"] = arms["converters"] / users
    arms["revenue_per_user"] = arms["revenue"] / users
    base = dict(experiment_id=str(experiment["experiment_id"]), name=str(experiment["name"]),
                description=str(experiment["description"]), target_segment=str(experiment["target_segment"]),
                metric=str(experiment["metric"]), start_ts=int(experiment["start_ts_utc"]), end_ts=end,
                window_end_ts=int(window_end), running=end is None or now_ts < end, arms=arms)
    if now_ts <= base["start_ts"] or len(outcomes) == 0:
        return ExperimentReport(**base, srm=None, readouts=(), message="not_started")
    if len(names) < 2 or (arms["users"] == 0).any():
        return ExperimentReport(**base, srm=None, readouts=(), message="arm_without_users")
    srm = experiments.sample_ratio_mismatch(dict(zip(arms["arm"], arms["users"].tolist())))
    control, treatments = names[0], names[1:]
    try:
        if base["metric"] == "conversion":
            if len(treatments) == 1:
                readouts = (experiments.conversion_readout(
                    users_control=int(arms["users"].iloc[0]), conversions_control=int(arms["converters"].iloc[0]),
                    users_treatment=int(arms["users"].iloc[1]), conversions_treatment=int(arms["converters"].iloc[1]),
                    minimum_detectable_effect=minimum_detectable_effect, alpha=alpha, power=power,
                    control=control, treatment=treatments[0]),)
            else:
                table = arms.rename(columns={"converters": "conversions"})[["arm", "users", "conversions"]]
                readouts = experiments.compare_arms(table, control=control, minimum_detectable_effect=minimum_detectable_effect,
                                                    alpha=alpha, power=power).comparisons
        else:
            level = alpha / len(treatments)
            revenue = {arm: frame["revenue"].to_numpy() for arm, frame in grouped}
            readouts = tuple(experiments.revenue_readout(
                revenue[control], revenue[arm], minimum_detectable_effect=minimum_detectable_effect, alpha=level,
                power=power, control=control, treatment=arm) for arm in treatments)
    except ValueError as exc:  # e.g. nobody has bought yet in either arm
        return ExperimentReport(**base, srm=srm, readouts=(), message=reason(exc))
    return ExperimentReport(**base, srm=srm, readouts=tuple(readouts))


def experiments_page(conn: Connection, data_minute: int) -> list[tuple[dict, pd.DataFrame]]:
    """Every experiment (reads.experiments row as a dict) with its users' outcomes so far."""
    now_ts = (int(data_minute) + 1) * 60
    found = []
    for row in reads.experiments(conn).to_dict("records"):
        end = row["end_ts_utc"]
        window_end = now_ts if end is None or math.isnan(end) else min(int(end), now_ts)
        found.append((row, reads.experiment_outcomes(conn, row["experiment_id"], row["start_ts_utc"], window_end)))
    return found
