"""Simulated site search: which sessions search, and for what.

About SEARCH_SHARE of sessions search once. The term is one of the catalogue's item names
(weighted by its category's demand) or one of the planted trend terms: things the shop does not
stock yet, whose interest follows a fixed cycle in absolute time (TREND_CYCLE_DAYS): quiet,
then rising 4x a month for RISE_DAYS, then high for HIGH_DAYS, then quiet again. The planted terms'
phases are spread over the cycle so at any time one of them is rising (`rising_trend_terms`).
Every choice is a hash of (seed, session_id), so any split of time into windows gives the
same searches.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from data.catalog import _ITEMS, CATEGORIES, hash_uniform

SEARCH_SHARE = 0.35
TREND_CYCLE_DAYS = 120
RISE_DAYS = 70
HIGH_DAYS = 20
RISE_FACTOR = 4.0 ** (RISE_DAYS / 30)  # 4x a month while rising
TREND_BASE_WEIGHT = 0.002  # a planted term's share of searches while quiet
# Planted trend terms: (term, category, phase in days). Phases 40 days apart: at any time one
# of them is 30 to 70 days into its rise, where a month-on-month comparison sees it.
TREND_TERMS = (
    ("glow serum", "beauty", 0),
    ("camping lantern", "sports", 40),
    ("pet water fountain", "pets", 80),
)
DAY_S = 86_400


def _trend_multiplier(day: np.ndarray, phase: int) -> np.ndarray:
    """Interest relative to quiet times on absolute day numbers (days since 1970-01-01)."""
    position = (np.asarray(day, dtype=np.float64) - phase) % TREND_CYCLE_DAYS
    rising = position < RISE_DAYS
    high = (position >= RISE_DAYS) & (position < RISE_DAYS + HIGH_DAYS)
    return np.where(rising, RISE_FACTOR ** (position / RISE_DAYS), np.where(high, RISE_FACTOR, 1.0))


def rising_trend_terms(day: int, *, min_days_into_rise: int = 30) -> list[str]:
    """The planted terms at least min_days_into_rise days into their rise on `day` (absolute
    day number): a month-on-month comparison then sees their growth."""
    out = []
    for term, _, phase in TREND_TERMS:
        position = (day - phase) % TREND_CYCLE_DAYS
        if min_days_into_rise <= position < RISE_DAYS:
            out.append(term)
    return out


def search_terms() -> pd.DataFrame:
    """The searchable terms: term, category, weight (before trends), is_trend."""
    rows = []
    for category, spec in CATEGORIES.items():
        items = _ITEMS.get(category, ())
        for item in items:
            rows.append((item, category, spec[6] / len(items), False))
    for term, category, _ in TREND_TERMS:
        rows.append((term, category, TREND_BASE_WEIGHT, True))
    frame = pd.DataFrame(rows, columns=["term", "category", "weight", "is_trend"])
    frame.loc[~frame["is_trend"], "weight"] *= (1 - TREND_BASE_WEIGHT * len(TREND_TERMS)) / frame.loc[
        ~frame["is_trend"], "weight"].sum()
    return frame


_TERMS = search_terms()


def searches(session_ids: np.ndarray, session_ts: np.ndarray, seed: int) -> pd.DataFrame:
    """The window's searches, one per searching session: session_id, ts_utc (the session's
    start), term, category."""
    ids = np.asarray(session_ids, dtype=np.int64)
    ts = np.asarray(session_ts, dtype=np.int64)
    searched = hash_uniform(seed, ids, salt=301) < SEARCH_SHARE
    ids, ts = ids[searched], ts[searched]
    day = ts // DAY_S
    weights = np.tile(_TERMS["weight"].to_numpy(), (len(ids), 1))
    for column, (_, _, phase) in zip(np.flatnonzero(_TERMS["is_trend"].to_numpy()), TREND_TERMS):
        weights[:, column] *= _trend_multiplier(day, phase)
    cumulative = np.cumsum(weights, axis=1)
    pick = hash_uniform(seed, ids, salt=302) * (cumulative[:, -1] if len(ids) else 0.0)
    index = (cumulative < pick[:, None]).sum(axis=1) if len(ids) else np.zeros(0, dtype=np.int64)
    return pd.DataFrame({
        "session_id": ids, "ts_utc": ts,
        "term": pd.array(_TERMS["term"].to_numpy()[index], dtype="string"),
        "category": pd.array(_TERMS["category"].to_numpy()[index], dtype="string"),
    })
