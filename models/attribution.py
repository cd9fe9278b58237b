"""Channel attribution: which marketing touches get the credit for each order.

Inputs are two frames: `touches` (visitor_id, ts_utc seconds, channel) and `conversions`
(visitor_id, ts_utc, revenue), one row per order. An order's journey is its visitor's touches
at or before the order and after the visitor's previous order (a touch is spent by the order
it led to). Rule-based models split each order (1 conversion and its revenue) over the
journey's touches; the data-driven model (Markov-chain removal effect) also learns from the
journeys that have not converted (each visitor's touches after their last order).

Every model's credits sum to the conversions (and revenue) that had at least one touch; orders
without any touch are reported as "direct" by `attribute`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

RULE_MODELS = ("last_touch", "first_touch", "linear", "time_decay", "position_based")
MODELS = (*RULE_MODELS, "markov")
DIRECT = "direct"
POSITION_ENDS = 0.4  # position-based: 40% to the first touch, 40% to the last, 20% spread between


@dataclass(frozen=True)
class Journey:
    visitor_id: int
    channels: tuple[str, ...]
    touch_ts: tuple[int, ...]
    converted: bool
    conversion_ts: int | None
    revenue: float


def _require(frame: pd.DataFrame, name: str, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks column(s) {missing}; it needs {list(columns)}")


def journeys(touches: pd.DataFrame, conversions: pd.DataFrame, *, as_of_ts: int) -> list[Journey]:
    """Converting journeys (one per order) and each visitor's open journey (touches after their
    last order, up to as_of_ts) as non-converting ones. Touches after as_of_ts are ignored."""
    _require(touches, "touches", ("visitor_id", "ts_utc", "channel"))
    _require(conversions, "conversions", ("visitor_id", "ts_utc", "revenue"))
    if (conversions["revenue"] < 0).any():
        raise ValueError("conversions have negative revenue: refunds belong in returns, not here")
    t = touches[touches["ts_utc"] <= as_of_ts].sort_values(["visitor_id", "ts_utc"], kind="stable")
    c = conversions[conversions["ts_utc"] <= as_of_ts].sort_values(["visitor_id", "ts_utc"], kind="stable")
    by_visitor = {v: (g["ts_utc"].to_numpy(), g["channel"].astype(str).to_numpy()) for v, g in t.groupby("visitor_id")}
    result: list[Journey] = []
    last_order: dict[int, int] = {}
    for visitor, ts, revenue in zip(c["visitor_id"], c["ts_utc"], c["revenue"]):
        times, channels = by_visitor.get(visitor, (np.array([], dtype="int64"), np.array([], dtype=object)))
        lo = last_order.get(visitor)
        mask = (times <= ts) if lo is None else ((times > lo) & (times <= ts))
        result.append(Journey(int(visitor), tuple(channels[mask]), tuple(int(x) for x in times[mask]), True, int(ts),
                              float(revenue)))
        last_order[visitor] = int(ts)
    for visitor, (times, channels) in by_visitor.items():
        lo = last_order.get(visitor)
        mask = np.ones(len(times), dtype=bool) if lo is None else times > lo
        if mask.any():
            result.append(Journey(int(visitor), tuple(channels[mask]), tuple(int(x) for x in times[mask]), False,
                                  None, 0.0))
    return result


def touch_weights(journey: Journey, model: str, *, half_life_days: float = 7.0) -> np.ndarray:
    """The share of a converting journey's order given to each of its touches (sums to 1)."""
    n = len(journey.channels)
    if n == 0:
        return np.zeros(0)
    if model == "last_touch":
        w = np.zeros(n)
        w[-1] = 1.0
    elif model == "first_touch":
        w = np.zeros(n)
        w[0] = 1.0
    elif model == "linear":
        w = np.full(n, 1.0 / n)
    elif model == "time_decay":
        if half_life_days <= 0:
            raise ValueError("half_life_days must be positive")
        age_days = (journey.conversion_ts - np.asarray(journey.touch_ts, dtype="float64")) / 86400.0
        w = np.power(0.5, age_days / half_life_days)
        w = w / w.sum()
    elif model == "position_based":
        if n == 1:
            w = np.ones(1)
        elif n == 2:
            w = np.full(2, 0.5)
        else:
            w = np.full(n, (1 - 2 * POSITION_ENDS) / (n - 2))
            w[0] = w[-1] = POSITION_ENDS
    else:
        raise ValueError(f"unknown rule model {model!r}; choose from {RULE_MODELS}")
    return w


def markov_removal_effects(paths: list[Journey]) -> pd.Series:
    """Removal effect per channel of a first-order Markov chain over all journeys: the share
    of the conversion probability lost when the channel's state leads to no conversion."""
    channels = sorted({ch for j in paths for ch in j.channels})
    if not channels:
        return pd.Series(dtype="float64")
    states = ["(start)", *channels, "(conversion)", "(null)"]
    pos = {s: i for i, s in enumerate(states)}
    counts = np.zeros((len(states), len(states)))
    for j in paths:
        if not j.channels:
            continue
        seq = ["(start)", *j.channels, "(conversion)" if j.converted else "(null)"]
        for a, b in zip(seq, seq[1:]):
            counts[pos[a], pos[b]] += 1
    rows = counts.sum(axis=1, keepdims=True)
    transition = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)
    base = _conversion_probability(transition, pos, removed=None)
    if base <= 0:
        return pd.Series(0.0, index=channels)
    effects = {ch: 1.0 - _conversion_probability(transition, pos, removed=ch) / base for ch in channels}
    return pd.Series(effects, dtype="float64")


def _conversion_probability(transition: np.ndarray, pos: dict[str, int], removed: str | None) -> float:
    """P(reaching conversion from start); a removed channel's state leads straight to null."""
    p = transition.copy()
    if removed is not None:
        i = pos[removed]
        p[i, :] = 0.0
        p[i, pos["(null)"]] = 1.0
    absorbing = [pos["(conversion)"], pos["(null)"]]
    transient = [i for i in range(len(p)) if i not in absorbing]
    q = p[np.ix_(transient, transient)]
    r = p[np.ix_(transient, [pos["(conversion)"]])]
    # Absorption probabilities: (I - Q) x = R. States never left (a dead end with no
    # outgoing transitions) have a zero row and absorb nothing.
    x = np.linalg.solve(np.eye(len(transient)) - q, r)
    return float(x[transient.index(pos["(start)"]), 0])


def attribute(touches: pd.DataFrame, conversions: pd.DataFrame, *, model: str, as_of_ts: int,
              half_life_days: float = 7.0) -> pd.DataFrame:
    """Credit per channel under one model: channel, conversions, revenue (sums equal the
    orders and revenue; orders without touches go to "direct"). Sorted by conversions."""
    if model not in MODELS:
        raise ValueError(f"unknown attribution model {model!r}; choose from {MODELS}")
    paths = journeys(touches, conversions, as_of_ts=as_of_ts)
    converting = [j for j in paths if j.converted]
    credit: dict[str, list[float]] = {}

    def add(channel: str, conversions_share: float, revenue_share: float) -> None:
        entry = credit.setdefault(channel, [0.0, 0.0])
        entry[0] += conversions_share
        entry[1] += revenue_share

    if model == "markov":
        # The usual reading of removal effects: the touched orders (and their revenue) are
        # shared among channels in proportion to each channel's removal effect.
        effects = markov_removal_effects(paths).clip(lower=0.0)
        touched = [j for j in converting if j.channels]
        for j in converting:
            if not j.channels:
                add(DIRECT, 1.0, j.revenue)
        if touched:
            shares = effects / effects.sum() if effects.sum() > 0 else pd.Series(1.0 / len(effects), index=effects.index)
            total_revenue = sum(j.revenue for j in touched)
            for ch, share in shares.items():
                add(ch, share * len(touched), share * total_revenue)
    else:
        for j in converting:
            if not j.channels:
                add(DIRECT, 1.0, j.revenue)
                continue
            for ch, w in zip(j.channels, touch_weights(j, model, half_life_days=half_life_days)):
                add(ch, w, w * j.revenue)
    frame = pd.DataFrame([(ch, v[0], v[1]) for ch, v in credit.items()], columns=["channel", "conversions", "revenue"])
    frame["channel"] = frame["channel"].astype("str")
    frame = frame.astype({"conversions": "float64", "revenue": "float64"})
    return frame.sort_values(["conversions", "channel"], ascending=[False, True], ignore_index=True)


def compare_models(touches: pd.DataFrame, conversions: pd.DataFrame, *, as_of_ts: int,
                   spend: pd.Series | None = None, half_life_days: float = 7.0) -> pd.DataFrame:
    """Every model side by side: one row per channel and model with conversions, revenue and,
    when `spend` (per channel) is given, spend and roi ((revenue - spend) / spend)."""
    parts = []
    for model in MODELS:
        frame = attribute(touches, conversions, model=model, as_of_ts=as_of_ts, half_life_days=half_life_days)
        frame.insert(1, "model", model)
        parts.append(frame)
    out = pd.concat(parts, ignore_index=True)
    if spend is not None:
        out["spend"] = out["channel"].map(spend).astype("float64").fillna(0.0)
        out["roi"] = (out["revenue"] - out["spend"]) / out["spend"].where(out["spend"] > 0)
    return out


def new_vs_returning_revenue(conversions: pd.DataFrame, first_order_ts: pd.Series) -> pd.DataFrame:
    """Orders and revenue split into new customers (the order is the customer's first) and
    returning ones. first_order_ts: each visitor's first order time ever (indexed by visitor_id)."""
    _require(conversions, "conversions", ("visitor_id", "ts_utc", "revenue"))
    first = conversions["visitor_id"].map(first_order_ts)
    segment = np.where(conversions["ts_utc"].to_numpy() <= first.to_numpy(), "new", "returning")
    frame = pd.DataFrame({"segment": segment, "revenue": conversions["revenue"].astype("float64")})
    out = frame.groupby("segment").agg(orders=("revenue", "size"), revenue=("revenue", "sum"))
    return out.reindex(["new", "returning"], fill_value=0).reset_index()
