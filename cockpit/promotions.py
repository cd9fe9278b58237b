"""The promotions calendar: record, list and remove promotions, and the promotion days the
forecasts use as a regressor.

Days are shop-local day numbers (cockpit.timebuckets.local_day_of), last_day inclusive.
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd
from sqlalchemy import Connection, delete, insert, select

from cockpit.db.dialect import insert_ignore
from cockpit.db.frames import to_frame
from cockpit.db.schema import Promotion
from cockpit.timebuckets import EPOCH_DATE

KINDS = ("sales_event", "pre_event", "member_day", "holiday", "clearance", "other")
COLUMNS = ["promotion_id", "name", "kind", "first_day", "last_day", "expected_uplift", "created_ts_utc"]


def list_promotions(conn: Connection, *, first_day: int | None = None, last_day: int | None = None) -> pd.DataFrame:
    """Promotions overlapping [first_day, last_day] (either end open when None), earliest
    first. Columns COLUMNS: days as int64 day numbers, expected_uplift float64 (NaN: unknown)."""
    query = select(*[Promotion.__table__.c[name] for name in COLUMNS]).order_by(Promotion.first_day,
                                                                                Promotion.promotion_id)
    if first_day is not None:
        query = query.where(Promotion.last_day >= int(first_day))
    if last_day is not None:
        query = query.where(Promotion.first_day <= int(last_day))
    frame = to_frame(conn.execute(query).all(), COLUMNS)
    return frame.astype({"promotion_id": "int64", "name": "str", "kind": "str", "first_day": "int64",
                         "last_day": "int64", "expected_uplift": "float64", "created_ts_utc": "int64"})


def add_promotion(conn: Connection, name: str, kind: str, first_day: int, last_day: int, *,
                  expected_uplift: float | None = None, now_ts: float | None = None) -> int:
    """Record one promotion; returns its promotion_id. ValueError for a bad kind, reversed days,
    a non-positive uplift, or a promotion of the same name starting the same day."""
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r}: choose one of {', '.join(KINDS)}")
    if int(last_day) < int(first_day):
        raise ValueError("the last day is before the first day")
    if expected_uplift is not None and not expected_uplift > 0:
        raise ValueError("the expected uplift is a factor on normal demand, e.g. 1.8; it must be above 0")
    exists = conn.execute(select(Promotion.promotion_id).where(Promotion.name == name,
                                                                Promotion.first_day == int(first_day))).first()
    if exists:
        raise ValueError(f"a promotion {name!r} starting that day exists already (id {exists[0]})")
    result = conn.execute(insert(Promotion).values(
        name=name, kind=kind, first_day=int(first_day), last_day=int(last_day),
        expected_uplift=None if expected_uplift is None else float(expected_uplift),
        created_ts_utc=int(time.time() if now_ts is None else now_ts)))
    return int(result.inserted_primary_key[0])


def remove_promotion(conn: Connection, promotion_id: int) -> bool:
    """Delete one promotion; False when there was none with that id."""
    return conn.execute(delete(Promotion).where(Promotion.promotion_id == int(promotion_id))).rowcount > 0


def record_promotions(conn: Connection, frame: pd.DataFrame, *, now_ts: float | None = None) -> None:
    """Insert a calendar (columns name, kind, first_day, last_day, expected_uplift), skipping
    the promotions already recorded (same name and first day): a source may record it again."""
    if frame.empty:
        return
    created = int(time.time() if now_ts is None else now_ts)
    rows = [{"name": str(row.name), "kind": str(row.kind), "first_day": int(row.first_day),
             "last_day": int(row.last_day),
             "expected_uplift": None if pd.isna(row.expected_uplift) else float(row.expected_uplift),
             "created_ts_utc": created} for row in frame.itertuples(index=False)]
    conn.execute(insert_ignore(conn, Promotion.__table__), rows)


def day_date(day: int) -> pd.Timestamp:
    """A shop-local day number as the midnight the forecasts index their days by."""
    return pd.Timestamp(EPOCH_DATE) + pd.Timedelta(days=int(day))


def promotion_days(calendar: pd.DataFrame, first_day: int, last_day: int) -> pd.DataFrame:
    """One column per promotion kind of the calendar: 1.0 on the days of [first_day, last_day]
    a promotion of that kind covers, else 0.0; indexed by the days' midnights (daily
    frequency), as models.forecast takes it (each kind its own regressor: a member day and a
    sales event's ramp lift demand differently)."""
    days = pd.date_range(day_date(first_day), day_date(last_day), freq="D")
    numbers = np.arange(int(first_day), int(last_day) + 1)
    return pd.DataFrame({kind: covered_by(calendar[calendar["kind"] == kind], numbers)
                         for kind in sorted(set(calendar["kind"]))}, index=days)


def covered_by(calendar: pd.DataFrame, day_numbers: np.ndarray) -> np.ndarray:
    """1.0 where a promotion of the calendar covers the day number, else 0.0."""
    covered = np.zeros(len(day_numbers))
    for row in calendar.itertuples(index=False):
        covered[(day_numbers >= row.first_day) & (day_numbers <= row.last_day)] = 1.0
    return covered


def next_promotion(calendar: pd.DataFrame, from_day: int) -> pd.Series | None:
    """The first promotion of the calendar still running on or after from_day, or None."""
    ahead = calendar[calendar["last_day"] >= int(from_day)].sort_values(["first_day", "promotion_id"]
                                                                         if "promotion_id" in calendar else "first_day")
    return ahead.iloc[0] if len(ahead) else None


def planned_uplift(calendar: pd.DataFrame, day_numbers: np.ndarray, seen_kinds: set[str]) -> tuple[np.ndarray, list[str]]:
    """Per day number, the product of the expected uplifts of the promotions covering it whose
    kind the history has never seen (a model cannot learn their effect; the team's plan is the
    best estimate), 1.0 elsewhere; and the names of the promotions applied. Promotions without
    an expected uplift count 1.0."""
    days = np.asarray(day_numbers)
    factors, applied = np.ones(len(days)), []
    for row in calendar.itertuples(index=False):
        if row.kind in seen_kinds or not row.expected_uplift == row.expected_uplift:  # seen, or NaN
            continue
        covered = (days >= row.first_day) & (days <= row.last_day)
        if covered.any():
            factors[covered] *= float(row.expected_uplift)
            applied.append(str(row.name))
    return factors, applied
