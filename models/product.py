"""One product's story from its rows: daily sales and returns, returns split by cause, the
recent return spike against the usual, and review ratings over time. Pure functions on
DataFrames (cockpit.metrics.product reads the rows)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from models.phrases import Phrase, phrase

# A high return rate traced to its cause: the product (quality) or the parcel (transport).
REASON_GROUPS = {"quality": "quality problem", "transport_damage": "transport damage"}
OTHER_GROUP = "other"
GROUP_ORDER = ("quality problem", "transport damage", OTHER_GROUP)
GROUP_PHRASES = {"quality problem": "a quality problem", "transport damage": "transport damage", OTHER_GROUP: "other reasons"}
SPIKE_RATIO = 3.0  # the last 24 hours' returns at least this many times a usual day's
SPIKE_MIN_UNITS = 5  # and at least this many units: three returns instead of one is no spike
# and unlikely by chance at the usual rate (a Poisson upper tail below this): among hundreds of
# products some SKU has an unlucky day every day (6 units against a usual 1.9 has p = 0.012).
SPIKE_ALPHA = 0.001


def reason_group(reason: str) -> str:
    return REASON_GROUPS.get(reason, OTHER_GROUP)


def local_days(ts_utc: pd.Series, tz) -> pd.Series:
    """Shop-local calendar days (naive midnights) of epoch seconds."""
    return pd.to_datetime(ts_utc, unit="s", utc=True).dt.tz_convert(tz).dt.tz_localize(None).dt.normalize()


def daily_sales(hourly: pd.DataFrame, tz, first_day: pd.Timestamp, last_day: pd.Timestamp) -> pd.DataFrame:
    """Per shop-local day from first_day to last_day (every day, zeros filled): units_sold,
    revenue, units_returned, all warehouses together. hourly: metrics.product.hourly_sales."""
    days = pd.date_range(first_day, last_day, freq="D")
    if hourly.empty:
        frame = pd.DataFrame(0, index=days, columns=["units_sold", "revenue", "units_returned"])
    else:
        day = local_days(hourly["hour_utc"] * 3600, tz)
        frame = hourly.groupby(day.to_numpy())[["units_sold", "revenue", "units_returned"]].sum().reindex(days,
                                                                                                     fill_value=0)
    frame = frame.astype({"units_sold": "int64", "revenue": "float64", "units_returned": "int64"})
    frame.index.name = "day"
    return frame.reset_index()


def return_breakdown(returns: pd.DataFrame) -> pd.DataFrame:
    """Returned units per cause group and reason: group, reason, units, share (of all units),
    sorted by group (quality, transport, other), then units (most first), then reason."""
    if returns.empty:
        return pd.DataFrame({"group": pd.Series(dtype="str"), "reason": pd.Series(dtype="str"),
                             "units": pd.Series(dtype="int64"), "share": pd.Series(dtype="float64")})
    frame = returns.groupby("reason", as_index=False)["qty"].sum().rename(columns={"qty": "units"})
    frame["group"] = frame["reason"].map(reason_group)
    frame["share"] = frame["units"] / frame["units"].sum()
    frame["order"] = frame["group"].map(GROUP_ORDER.index)
    frame = frame.sort_values(["order", "units", "reason"], ascending=[True, False, True], kind="stable")
    return frame[["group", "reason", "units", "share"]].reset_index(drop=True)


@dataclass(frozen=True)
class ReturnSpike:
    recent_units: int  # returned in the last 24 hours
    usual_units_per_day: float  # mean of the 7 days before
    ratio: float  # recent / usual (inf when none usually)
    is_spike: bool
    dominant_group: str | None  # the cause group of most recent returns
    dominant_share: float  # its share of the recent units

    def sentence(self, name: str) -> Phrase:
        """The last 24 hours' returns of the product called `name` against a usual day, in words."""
        usual = self.usual_units_per_day
        if self.recent_units == 0:
            return phrase("No returns of {name} in the last 24 hours (usually {usual:.1f} a day).", name=name,
                          usual=usual)
        cause = (phrase("; {share:.0%} of them for {group}", share=self.dominant_share,
                        group=phrase(GROUP_PHRASES[self.dominant_group]))
                 if self.dominant_group else "")
        units = dict(units=self.recent_units, name=name, usual=usual, cause=cause)
        if self.is_spike and np.isinf(self.ratio):
            return phrase("Return spike: {units} units of {name} came back in the last 24 hours, far more than a usual "
                          "day's {usual:.1f}{cause}.", **units)
        if self.is_spike:
            return phrase("Return spike: {units} units of {name} came back in the last 24 hours, {ratio:.1f} times a "
                          "usual day's {usual:.1f}{cause}.", ratio=self.ratio, **units)
        return phrase("{units} units of {name} came back in the last 24 hours against a usual {usual:.1f} a "
                      "day{cause}.", **units)


def return_spike(returns: pd.DataFrame, now_ts: int) -> ReturnSpike:
    """The last 24 hours' returned units against the daily mean of the 7 days before them,
    and the cause group most of the recent units were returned for. A spike is at least
    SPIKE_RATIO times the usual day, SPIKE_MIN_UNITS units, and below SPIKE_ALPHA by chance
    (Poisson at the usual rate). returns: at least the
    8 days before now_ts (metrics.product.returns)."""
    recent = returns[returns["ts_utc"] > now_ts - 86_400]
    before = returns[(returns["ts_utc"] <= now_ts - 86_400) & (returns["ts_utc"] > now_ts - 8 * 86_400)]
    recent_units, usual = int(recent["qty"].sum()), float(before["qty"].sum()) / 7
    ratio = recent_units / usual if usual > 0 else (np.inf if recent_units else 0.0)
    dominant, share = None, 0.0
    if recent_units:
        groups = recent.assign(group=recent["reason"].map(reason_group)).groupby("group")["qty"].sum()
        dominant, share = str(groups.idxmax()), float(groups.max() / recent_units)
    chance = float(stats.poisson.sf(recent_units - 1, usual)) if recent_units else 1.0  # P(X >= recent)
    spike = recent_units >= SPIKE_MIN_UNITS and ratio >= SPIKE_RATIO and chance < SPIKE_ALPHA
    return ReturnSpike(recent_units, usual, float(ratio), bool(spike), dominant, share)


def daily_returns_by_group(returns: pd.DataFrame, tz, first_day: pd.Timestamp, last_day: pd.Timestamp) -> pd.DataFrame:
    """Returned units per shop-local day and cause group (columns day, group, units; every day
    and group, zeros filled)."""
    days = pd.date_range(first_day, last_day, freq="D")
    full = pd.MultiIndex.from_product([days, list(GROUP_ORDER)], names=["day", "group"])
    if returns.empty:
        return pd.DataFrame(0, index=full, columns=["units"]).reset_index()
    frame = returns.assign(day=local_days(returns["ts_utc"], tz).to_numpy(), group=returns["reason"].map(reason_group))
    counts = frame.groupby(["day", "group"])["qty"].sum().rename("units").reindex(full, fill_value=0)
    return counts.astype("int64").reset_index()


def rating_trend(reviews: pd.DataFrame, tz) -> pd.DataFrame:
    """Reviews per shop-local week (starting Monday): week, reviews, mean_rating, low_share
    (the share rated 1 or 2)."""
    if reviews.empty:
        return pd.DataFrame({"week": pd.Series(dtype="datetime64[ns]"), "reviews": pd.Series(dtype="int64"),
                             "mean_rating": pd.Series(dtype="float64"), "low_share": pd.Series(dtype="float64")})
    day = local_days(reviews["ts_utc"], tz)
    week = (day - pd.to_timedelta(day.dt.day_of_week, unit="D")).to_numpy()
    grouped = reviews.assign(week=week, low=reviews["rating"] <= 2).groupby("week")
    frame = pd.DataFrame({"reviews": grouped.size(), "mean_rating": grouped["rating"].mean(),
                          "low_share": grouped["low"].mean()}).reset_index()
    return frame.astype({"reviews": "int64", "mean_rating": "float64", "low_share": "float64"})


def return_rate(units_returned: int, units_sold: int) -> float:
    """Returned units over units sold (NaN when nothing sold)."""
    return units_returned / units_sold if units_sold else float("nan")
