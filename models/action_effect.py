"""The effect of an action: the metric after it against the forecast of what it would have been without it.

The counterfactual is a models.forecast ETS fitted on the series before the action (the
"before" series) and run forward over the hours after it. The effect is actual minus
counterfactual, summed over the post period.

The interval of the sum is simulated, not derived from the per-step intervals: an ETS
forecast's errors are correlated across steps (an error in today's level shifts every later
step), so adding per-step variances as if the steps were independent would make the interval
of a sum too narrow. We draw REPETITIONS sample paths from the fitted model (its own error
distribution, normal with the fitted variance), sum each path over the post period and take
the 2.5% and 97.5% quantiles of the sums. Metrics like spend and units cannot be negative,
so forecast means and simulated paths are floored at `floor` (0 by default) step by step.

The ETS form is fixed to a level with a daily season (a level alone when the history holds
fewer than two seasons): a trend fitted on two weeks and projected a week ahead would let the
trend, not the action, drive the effect, and one form keeps a fit under a second here.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.forecast import INTERVAL, fit_form, season_length_for
from models.phrases import Phrase, phrase

MIN_POST_STEPS = 3  # fewer steps after the action: "too early to tell"
MIN_HISTORY_STEPS = 24  # fewer steps before it: too little history to forecast from
REPETITIONS = 2000


@dataclass(frozen=True)
class ActionEffect:
    """One metric's effect over the post period, in the metric's unit.

    status: "ok"; "too_early" (fewer than min_post_steps after the action); "no_history"
    (fewer than min_history steps before it). actual and counterfactual are sums over the
    post steps; effect = actual - counterfactual; lower and upper bound the effect at 95%.
    The numbers are NaN unless status is "ok". steps: per post step the actual, the
    counterfactual mean and its 95% prediction interval (empty unless "ok")."""

    metric: str
    status: str
    post_steps: int
    history_steps: int
    actual: float
    counterfactual: float
    effect: float
    lower: float
    upper: float
    model: str
    steps: pd.DataFrame

    @property
    def measured(self) -> bool:
        return self.status == "ok"

    @property
    def significant(self) -> bool:
        """True when the 95% interval of the effect excludes 0."""
        return self.measured and (self.lower > 0 or self.upper < 0)


def _check(series: pd.Series, what: str) -> pd.Series:
    if not isinstance(series, pd.Series):
        raise ValueError(f"{what} must be a pandas Series, got {type(series).__name__}")
    if not isinstance(series.index, pd.DatetimeIndex):
        raise ValueError(f"{what} needs a DatetimeIndex (e.g. hourly timestamps); got {type(series.index).__name__}")
    values = pd.to_numeric(series, errors="coerce").astype("float64")
    if values.isna().any():
        raise ValueError(f"{what} has {int(values.isna().sum())} missing or non-numeric values: fill them "
                         "(an hour without sales or spend is 0)")
    return values


def _empty(metric: str, status: str, post: int, history: int) -> ActionEffect:
    nan = float("nan")
    return ActionEffect(metric, status, post, history, nan, nan, nan, nan, nan, "",
                        pd.DataFrame(columns=["actual", "mean", "lower", "upper"], dtype="float64"))


def action_effect(
    before: pd.Series, after: pd.Series, *, metric: str = "value", season_length: int | None = None,
    floor: float | None = 0.0, min_post_steps: int = MIN_POST_STEPS, min_history: int = MIN_HISTORY_STEPS,
    repetitions: int = REPETITIONS, seed: int = 0,
) -> ActionEffect:
    """The effect on `metric` of an action between `before` and `after`.

    before: the regular series (e.g. hourly, DatetimeIndex with a frequency) up to the action;
    after: the actual values at timestamps after before's last one, on the same grid (steps
    may be skipped at the start, e.g. the hour the action happened in). season_length: steps
    per season (default from the frequency: 24 for hourly). floor: the lowest value the metric
    can take (None: unbounded). seed makes the simulated interval reproducible. See the
    module's docstring for the method. ValueError for series that are not regular, hold
    missing values, or do not line up."""
    before, after = _check(before, "before"), _check(after, "after")
    if int(min_post_steps) < 1:
        raise ValueError("min_post_steps must be at least 1")
    if len(after) and len(before) and after.index[0] <= before.index[-1]:
        raise ValueError("after must start after before's last timestamp: split the series at the action")
    if len(before) < max(int(min_history), 4):
        return _empty(metric, "no_history", len(after), len(before))
    if len(after) < int(min_post_steps):
        return _empty(metric, "too_early", len(after), len(before))
    freq = before.index.freqstr or pd.infer_freq(before.index)
    if freq is None:
        raise ValueError("before is not regular (no frequency can be inferred): resample it, e.g. "
                         "series.resample('h').sum()")
    before = pd.Series(before.to_numpy(), index=pd.DatetimeIndex(before.index, freq=freq), name=metric)
    grid = pd.date_range(before.index[-1], after.index[-1], freq=freq)[1:]
    positions = grid.get_indexer(after.index)
    if (positions < 0).any() or len(set(positions)) != len(positions):
        raise ValueError(f"after's timestamps must lie on before's {freq} grid, without duplicates")
    mean, paths, label = _counterfactual(before, len(grid), season_length, repetitions, seed)
    mean, paths = mean[positions], paths[positions]
    if floor is not None:
        mean, paths = np.maximum(mean, floor), np.maximum(paths, floor)
    actual = after.to_numpy()
    alpha = (1 - INTERVAL) / 2
    sums = paths.sum(axis=0)
    counterfactual = float(mean.sum())
    # The point counterfactual (sum of floored means) and the simulated sums can disagree by a
    # hair when the floor bites: keep the interval around the point.
    low_cf, high_cf = min(float(np.quantile(sums, alpha)), counterfactual), max(float(np.quantile(sums, 1 - alpha)),
                                                                               counterfactual)
    total = float(actual.sum())
    steps = pd.DataFrame({"actual": actual, "mean": mean, "lower": np.quantile(paths, alpha, axis=1),
                          "upper": np.quantile(paths, 1 - alpha, axis=1)}, index=after.index)
    return ActionEffect(
        metric=metric, status="ok", post_steps=len(after), history_steps=len(before), actual=total,
        counterfactual=counterfactual, effect=total - counterfactual, lower=total - high_cf, upper=total - low_cf,
        model=label, steps=steps,
    )


def _counterfactual(before: pd.Series, horizon: int, season_length: int | None, repetitions: int,
                    seed: int) -> tuple[np.ndarray, np.ndarray, str]:
    """(per-step means, horizon x repetitions sample paths, the model's label)."""
    values = before.to_numpy()
    if np.ptp(values) == 0:
        # A flat history (e.g. a SKU out of stock all along) has no variation to learn: the
        # counterfactual is that value, without spread.
        return np.full(horizon, values[0]), np.full((horizon, max(int(repetitions), 1)), values[0]), "constant"
    m = season_length_for(before.index.freqstr) if season_length is None else int(season_length)
    seasonal = "add" if m > 1 and len(values) >= 2 * m + 2 else None
    fitted = fit_form(before, None, False, seasonal, m)
    n = len(values)
    mean = fitted.result.get_prediction(start=n, end=n + horizon - 1).summary_frame(alpha=1 - INTERVAL)["mean"]
    paths = fitted.result.simulate(horizon, anchor="end", repetitions=max(int(repetitions), 1),
                                   rng=np.random.default_rng(seed))
    return mean.to_numpy(dtype="float64"), np.asarray(paths, dtype="float64").reshape(horizon, -1), str(fitted.label)


# --- plain-language verdicts ------------------------------------------------------------------

def about(value: float) -> str:
    """A magnitude rounded to two significant figures with thousands separators: 3,187 -> "3,200"."""
    value = abs(float(value))
    if not math.isfinite(value):
        return "n/a"
    if value == 0:
        return "0"
    digits = 1 - int(math.floor(math.log10(value)))
    rounded = math.floor(value * 10.0 ** digits + 0.5) / 10.0 ** digits  # half up: 125,000 -> 130,000
    return f"{rounded:,.{max(digits, 0)}f}"


def _signed(value: float) -> str:
    return ("+" if value > 0 else "−" if value < 0 else "") + about(value)


def _unmeasured(effect: ActionEffect) -> Phrase | None:
    if effect.status == "too_early":
        hours = effect.post_steps
        if hours == 1:
            return phrase("Too early to tell: {hours} hour after the action", hours=hours)
        return phrase("Too early to tell: {hours} hours after the action", hours=hours)
    if effect.status == "no_history":
        return phrase("Too little history before the action to tell ({hours} hours)", hours=effect.history_steps)
    return None


def interval_text(effect: ActionEffect) -> Phrase | str:
    """ "−3,200 (95%: −3,900 to −2,500)", or "" when not measured."""
    if not effect.measured:
        return ""
    return phrase("{effect} (95%: {lower} to {upper})", effect=_signed(effect.effect), lower=_signed(effect.lower),
                  upper=_signed(effect.upper))


def verdict(effect: ActionEffect, doing: Phrase | str, *, more: Callable[[str], Phrase],
            less: Callable[[str], Phrase], metric: Phrase | str | None = None) -> Phrase:
    """One metric's verdict. doing: what was done, within a sentence ("replenishing SKU-1 at
    WH-A"); more / less: the sentence for a rise / a fall given the amount, rounded ("3,200"),
    e.g. lambda n: phrase("Replenishing {sku} recovered about {n} units sold", sku=..., n=n);
    metric: the metric's name in a sentence (effect.metric unless given)."""
    early = _unmeasured(effect)
    if early:
        return early
    if not effect.significant:
        return phrase("No measurable effect of {doing} on {metric}: {interval}", doing=doing,
                      metric=effect.metric if metric is None else metric, interval=interval_text(effect))
    return (more if effect.effect > 0 else less)(about(effect.effect))


# The verdict on a campaign by (spend, orders): each "added" / "saved" / "same", "more" / "lost" / "same".
CAMPAIGN_VERDICTS = {
    ("saved", "lost"): "{subject} saved about {spend} in spend for about {orders} lost orders",
    ("saved", "more"): "{subject} saved about {spend} in spend for about {orders} more orders",
    ("saved", "same"): "{subject} saved about {spend} in spend with no measurable change in orders",
    ("added", "lost"): "{subject} added about {spend} in spend for about {orders} lost orders",
    ("added", "more"): "{subject} added about {spend} in spend for about {orders} more orders",
    ("added", "same"): "{subject} added about {spend} in spend with no measurable change in orders",
    ("same", "more"): "{subject} made no measurable change in spend but brought about {orders} more orders",
    ("same", "lost"): "{subject} made no measurable change in spend but cost about {orders} orders",
}


def campaign_verdict(doing: Phrase | str, spend: ActionEffect, orders: ActionEffect, *,
                     subject: Phrase | str) -> Phrase:
    """The verdict on pausing or resuming a campaign from its spend and attributed orders,
    e.g. "Pausing campaign X saved about 3,200 in spend for about 40 lost orders". doing: the
    action within a sentence ("pausing campaign X"); subject: the same opening a sentence
    ("Pausing campaign X")."""
    early = _unmeasured(spend) or _unmeasured(orders)
    if early:
        return early
    if not spend.significant and not orders.significant:
        return phrase("No measurable effect of {doing} on spend or orders", doing=doing)
    spent = ("added" if spend.effect > 0 else "saved") if spend.significant else "same"
    ordered = ("more" if orders.effect > 0 else "lost") if orders.significant else "same"
    return phrase(CAMPAIGN_VERDICTS[spent, ordered], subject=subject, spend=about(spend.effect),
                  orders=about(orders.effect))
