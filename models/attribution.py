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
    steps = [(a, b) for j in paths if j.channels
             for a, b in zip(("(start)", *j.channels), (*j.channels, "(conversion)" if j.converted else "(null)"))]
    frame = pd.DataFrame(steps, columns=["from", "to"])
    return _removal_effects(frame.groupby(["from", "to"]).size() if len(frame) else pd.Series(dtype="float64"))


def _removal_effects(step_counts: pd.Series) -> pd.Series:
    """Removal effects from the counts of each (from, to) step of the journeys."""
    if step_counts.empty:
        return pd.Series(dtype="float64")
    ends = {"(start)", "(conversion)", "(null)"}
    channels = sorted(set(step_counts.index.get_level_values(0)) - ends)
    states = ["(start)", *channels, "(conversion)", "(null)"]
    pos = {state: i for i, state in enumerate(states)}
    counts = np.zeros((len(states), len(states)))
    for (a, b), n in step_counts.items():
        counts[pos[a], pos[b]] += n
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


def _journey_touches(touches: pd.DataFrame, conversions: pd.DataFrame, as_of_ts: int):
    """journeys() as frames, for shops with millions of touches: every touch up to as_of_ts
    with its journey (the visitor's next order at or after it, or the visitor's open journey),
    position and length, and the orders up to as_of_ts with whether any touch led to them."""
    _require(touches, "touches", ("visitor_id", "ts_utc", "channel"))
    _require(conversions, "conversions", ("visitor_id", "ts_utc", "revenue"))
    if (conversions["revenue"] < 0).any():
        raise ValueError("conversions have negative revenue: refunds belong in returns, not here")
    t = touches.loc[touches["ts_utc"] <= as_of_ts, ["visitor_id", "ts_utc", "channel"]].copy()
    c = conversions.loc[conversions["ts_utc"] <= as_of_ts, ["visitor_id", "ts_utc", "revenue"]]
    c = c.sort_values(["visitor_id", "ts_utc"], kind="stable").reset_index(drop=True)
    orders = pd.DataFrame({"order": np.arange(len(c)), "visitor_id": c["visitor_id"].to_numpy(dtype="int64"),
                           "order_ts": c["ts_utc"].to_numpy(dtype="int64"),
                           "revenue": c["revenue"].to_numpy(dtype="float64")})
    t["visitor_id"] = t["visitor_id"].astype("int64")
    t["ts_utc"] = t["ts_utc"].astype("int64")
    t["channel"] = t["channel"].astype(str)
    t = t.sort_values("ts_utc", kind="stable")
    # Each touch goes to the visitor's first order at or after it (a touch is spent by the
    # order it led to); touches after the visitor's last order form the open journey.
    t = pd.merge_asof(t, orders[["order", "visitor_id", "order_ts"]].sort_values("order_ts", kind="stable"),
                      left_on="ts_utc", right_on="order_ts", by="visitor_id", direction="forward")
    converted = t["order"].notna().to_numpy()
    open_key = len(orders) + pd.factorize(t["visitor_id"])[0]
    t["journey"] = np.where(converted, t["order"].fillna(-1).to_numpy(dtype="int64"), open_key)
    t["converted"] = converted
    t = t.sort_values(["journey", "ts_utc"], kind="stable").reset_index(drop=True)
    group = t.groupby("journey", sort=False)
    t["position"] = group.cumcount().to_numpy()
    t["length"] = group["ts_utc"].transform("size").to_numpy()
    t = t.merge(orders[["order", "revenue"]], on="order", how="left")
    t["revenue"] = t["revenue"].fillna(0.0)
    orders["touched"] = orders["order"].isin(t.loc[t["converted"], "order"])
    return t, orders


def _rule_weights(t: pd.DataFrame, model: str, half_life_days: float) -> np.ndarray:
    """touch_weights for every converting touch of _journey_touches' frame at once."""
    pos, n = t["position"].to_numpy(), t["length"].to_numpy()
    if model == "last_touch":
        return (pos == n - 1).astype("float64")
    if model == "first_touch":
        return (pos == 0).astype("float64")
    if model == "linear":
        return 1.0 / n
    if model == "time_decay":
        if half_life_days <= 0:
            raise ValueError("half_life_days must be positive")
        raw = np.power(0.5, (t["order_ts"].to_numpy() - t["ts_utc"].to_numpy()) / 86400.0 / half_life_days)
        return raw / pd.Series(raw).groupby(t["journey"].to_numpy()).transform("sum").to_numpy()
    if model == "position_based":
        ends = (pos == 0) | (pos == n - 1)
        middle = (1 - 2 * POSITION_ENDS) / np.maximum(n - 2, 1)
        return np.where(n == 1, 1.0, np.where(n == 2, 0.5, np.where(ends, POSITION_ENDS, middle)))
    raise ValueError(f"unknown rule model {model!r}; choose from {RULE_MODELS}")


def _credit(t: pd.DataFrame, orders: pd.DataFrame, model: str, half_life_days: float,
            since_ts: int | None = None) -> pd.DataFrame:
    if since_ts is not None:
        # Earlier orders cut the journeys (and teach the Markov chain) but are not credited.
        orders = orders[orders["order_ts"] >= since_ts]
        touched = t[t["converted"] & (t["order_ts"] >= since_ts)]
    else:
        touched = t[t["converted"]]
    direct = orders[~orders["touched"]]
    rows = [pd.DataFrame({"channel": [DIRECT] * bool(len(direct)), "conversions": [float(len(direct))] * bool(len(direct)),
                          "revenue": [float(direct["revenue"].sum())] * bool(len(direct))})]
    if model == "markov":
        # The usual reading of removal effects: the touched orders (and their revenue) are
        # shared among channels in proportion to each channel's removal effect.
        effects = _removal_effects(_steps(t)).clip(lower=0.0)
        n_touched = int(orders["touched"].sum())
        if n_touched and len(effects):
            shares = effects / effects.sum() if effects.sum() > 0 else pd.Series(1.0 / len(effects), index=effects.index)
            revenue = float(orders.loc[orders["touched"], "revenue"].sum())
            rows.append(pd.DataFrame({"channel": shares.index, "conversions": shares.to_numpy() * n_touched,
                                      "revenue": shares.to_numpy() * revenue}))
    elif len(touched):
        w = _rule_weights(touched, model, half_life_days)
        rows.append(pd.DataFrame({"channel": touched["channel"].to_numpy(), "conversions": w,
                                  "revenue": w * touched["revenue"].to_numpy()}))
    frame = pd.concat(rows, ignore_index=True).groupby("channel", as_index=False)[["conversions", "revenue"]].sum()
    frame["channel"] = frame["channel"].astype("str")
    frame = frame.astype({"conversions": "float64", "revenue": "float64"})
    return frame.sort_values(["conversions", "channel"], ascending=[False, True], ignore_index=True)


def _steps(t: pd.DataFrame) -> pd.Series:
    """Counts of (from, to) steps over all journeys: start, the channels in order, then
    conversion or null."""
    if t.empty:
        return pd.Series(dtype="float64")
    channel = t["channel"].to_numpy()
    last = (t["position"] == t["length"] - 1).to_numpy()
    start = pd.DataFrame({"from": "(start)", "to": channel[t["position"].to_numpy() == 0]})
    inner = pd.DataFrame({"from": channel[~last], "to": np.roll(channel, -1)[~last]})
    end = pd.DataFrame({"from": channel[last], "to": np.where(t["converted"].to_numpy()[last], "(conversion)", "(null)")})
    return pd.concat([start, inner, end], ignore_index=True).groupby(["from", "to"]).size()


def attribute(touches: pd.DataFrame, conversions: pd.DataFrame, *, model: str, as_of_ts: int,
              half_life_days: float = 7.0, since_ts: int | None = None) -> pd.DataFrame:
    """Credit per channel under one model: channel, conversions, revenue (sums equal the
    orders and revenue; orders without touches go to "direct"). Sorted by conversions.

    since_ts: credit only the orders placed at or after it; the earlier ones in
    `conversions` still end the journeys before them (give a period's orders plus those of a
    lookback before it, and the touches of both, so the period's first orders do not inherit
    touches that earlier orders spent)."""
    if model not in MODELS:
        raise ValueError(f"unknown attribution model {model!r}; choose from {MODELS}")
    t, orders = _journey_touches(touches, conversions, as_of_ts)
    return _credit(t, orders, model, half_life_days, since_ts)


def compare_models(touches: pd.DataFrame, conversions: pd.DataFrame, *, as_of_ts: int,
                   spend: pd.Series | None = None, half_life_days: float = 7.0,
                   since_ts: int | None = None) -> pd.DataFrame:
    """Every model side by side: one row per channel and model with conversions, revenue and,
    when `spend` (per channel) is given, spend and roi ((revenue - spend) / spend).
    since_ts: as in attribute()."""
    t, orders = _journey_touches(touches, conversions, as_of_ts)
    parts = []
    for model in MODELS:
        frame = _credit(t, orders, model, half_life_days, since_ts)
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
