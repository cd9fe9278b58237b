"""Outreach experiments: A/B and A/B/n read-outs, sample sizes, sample-ratio checks and plain-language verdicts.

Conversion differences get Newcomb's hybrid score interval (statsmodels `confint_proportions_2indep`,
sound even with zero conversions) and the pooled two-proportion z-test's p-value (`proportions_ztest`);
a single comparison counts as a difference when its interval excludes zero, so the verdict never
contradicts the interval it quotes. Revenue per user uses Welch's t-test and interval (statsmodels
`CompareMeans`). Sample sizes come from `statsmodels.stats.power`. A read-out always carries a
verdict sentence built from its numbers (a models.phrases.Phrase: str() is the English, the
interface shows it in its language); "enough data" means every arm has reached the sample size
needed to detect the planned minimum effect at the planned power, so a test is not stopped early
on a lucky streak.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower, TTestIndPower
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_effectsize, proportions_ztest
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from models.phrases import Phrase, phrase


@dataclass(frozen=True)
class ConversionReadout:
    """Treatment against control on conversion; rates and differences are proportions (0.021 = 2.1 points)."""

    control: str
    treatment: str
    users_control: int
    conversions_control: int
    users_treatment: int
    conversions_treatment: int
    rate_control: float
    rate_treatment: float
    difference: float  # treatment rate - control rate
    ci_low: float
    ci_high: float
    confidence: float  # of the interval, e.g. 0.95 (or 1 - alpha / comparisons with several arms)
    p_value: float
    p_value_adjusted: float  # Holm-adjusted across the comparisons; equals p_value for a single one
    comparisons: int
    significant: bool  # one comparison: the interval excludes 0; several: Holm-adjusted p < alpha
    minimum_detectable_effect: float
    power: float
    required_users_per_arm: int
    more_users_needed_per_arm: int
    enough_data: bool
    verdict: Phrase


@dataclass(frozen=True)
class RevenueReadout:
    """Treatment against control on revenue per user (users who bought nothing count as 0)."""

    control: str
    treatment: str
    users_control: int
    users_treatment: int
    mean_control: float
    mean_treatment: float
    difference: float  # treatment mean - control mean, in the currency of the input
    ci_low: float
    ci_high: float
    confidence: float
    p_value: float
    significant: bool
    minimum_detectable_effect: float
    power: float
    required_users_per_arm: int
    more_users_needed_per_arm: int
    enough_data: bool
    verdict: Phrase


@dataclass(frozen=True)
class SampleRatioCheck:
    """Chi-square goodness of fit of the users per arm against the planned split."""

    arms: tuple[str, ...]
    observed: tuple[int, ...]
    expected: tuple[float, ...]
    chi2: float
    p_value: float
    threshold: float
    mismatch: bool
    verdict: Phrase


@dataclass(frozen=True)
class MultiArmReadout:
    """Every arm against the control on conversion, with Holm-adjusted p-values."""

    control: str
    comparisons: tuple[ConversionReadout, ...]

    @property
    def table(self) -> pd.DataFrame:
        """One row per treatment arm: rates, difference, interval, p-values, data sufficiency, verdict."""
        columns = ["treatment", "users_treatment", "rate_control", "rate_treatment", "difference", "ci_low",
                   "ci_high", "p_value", "p_value_adjusted", "significant", "more_users_needed_per_arm", "verdict"]
        return pd.DataFrame([{c: getattr(r, c) for c in columns} for r in self.comparisons], columns=columns)

    @property
    def verdict(self) -> Phrase:
        """Every comparison's verdict, one after the other."""
        verdicts = self.comparisons[0].verdict
        for r in self.comparisons[1:]:
            verdicts = phrase("{verdicts} {verdict}", verdicts=verdicts, verdict=r.verdict)
        return verdicts


# --- sample sizes ----------------------------------------------------------------------------


def sample_size_per_arm(
    baseline_rate: float, minimum_detectable_effect: float, *, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Users needed in each of two equal arms to detect a conversion lift of `minimum_detectable_effect`.

    `baseline_rate` and the effect are proportions (0.10 and 0.02 for 10% -> 12%); two-sided test at
    level `alpha`, arcsine effect size (Cohen's h). Returns a whole number of users per arm.
    """
    _check_level(alpha, power)
    if not 0 <= baseline_rate < 1:
        raise ValueError(f"baseline_rate must be a proportion in [0, 1), got {baseline_rate!r}")
    mde = _positive(minimum_detectable_effect, "minimum_detectable_effect")
    if baseline_rate + mde > 1:
        raise ValueError(f"baseline_rate + minimum_detectable_effect = {baseline_rate + mde:.3f} exceeds 1; "
                         "give the effect as a proportion (0.02 for 2 points)")
    effect = proportion_effectsize(baseline_rate + mde, baseline_rate)
    users = NormalIndPower().solve_power(effect_size=effect, alpha=alpha, power=power, ratio=1.0)
    return int(math.ceil(users))


def revenue_sample_size_per_arm(
    standard_deviation: float, minimum_detectable_effect: float, *, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Users needed in each of two equal arms to detect a difference in mean revenue per user.

    Both arguments in the currency of the revenue; two-sided t-test at level `alpha`.
    """
    _check_level(alpha, power)
    sd = _positive(standard_deviation, "standard_deviation")
    mde = _positive(minimum_detectable_effect, "minimum_detectable_effect")
    users = TTestIndPower().solve_power(effect_size=mde / sd, alpha=alpha, power=power, ratio=1.0)
    return int(math.ceil(users))


# --- read-outs -------------------------------------------------------------------------------


def conversion_readout(
    *,
    users_control: int,
    conversions_control: int,
    users_treatment: int,
    conversions_treatment: int,
    minimum_detectable_effect: float,
    alpha: float = 0.05,
    power: float = 0.8,
    control: str = "A",
    treatment: str = "B",
) -> ConversionReadout:
    """A/B read-out on conversion: difference with its 1 - alpha interval, p-value, data sufficiency, verdict.

    `minimum_detectable_effect` is the smallest lift worth detecting, as a proportion (0.01 = 1
    point); with the observed control rate it sets the users needed per arm.
    """
    return _compare_proportions(users_control, conversions_control, users_treatment, conversions_treatment,
                                mde=minimum_detectable_effect, alpha=alpha, power=power,
                                control=control, treatment=treatment, comparisons=1)


def compare_arms(
    arms: pd.DataFrame,
    *,
    control: str,
    minimum_detectable_effect: float,
    alpha: float = 0.05,
    power: float = 0.8,
) -> MultiArmReadout:
    """A/B/n read-out on conversion: every arm against `control`, Holm-corrected.

    `arms` has columns `arm`, `users`, `conversions`, one row per arm. With m comparisons the
    intervals are at level 1 - alpha / m (Bonferroni, so they hold together), an arm counts as
    different when its Holm-adjusted p-value is below `alpha`, and the users needed per arm are
    computed at level alpha / m.
    """
    if not isinstance(arms, pd.DataFrame) or not {"arm", "users", "conversions"} <= set(arms.columns):
        raise ValueError("arms must be a DataFrame with columns `arm`, `users`, `conversions`")
    if arms["arm"].duplicated().any():
        raise ValueError(f"arm names must be unique; repeated: {sorted(arms.loc[arms['arm'].duplicated(), 'arm'])}")
    names = [str(a) for a in arms["arm"]]
    if control not in names:
        raise ValueError(f"control {control!r} is not among the arms {names}")
    if len(names) < 2:
        raise ValueError("compare_arms needs the control and at least one other arm")
    _check_level(alpha, power)
    by_name = {str(row.arm): row for row in arms.itertuples(index=False)}
    base = by_name[control]
    others = [n for n in names if n != control]
    m = len(others)
    raw = [_compare_proportions(base.users, base.conversions, by_name[n].users, by_name[n].conversions,
                                mde=minimum_detectable_effect, alpha=alpha / m, power=power,
                                control=control, treatment=n, comparisons=m) for n in others]
    adjusted = multipletests([r.p_value for r in raw], alpha=alpha, method="holm")[1]
    results = []
    for readout, p_adj in zip(raw, adjusted, strict=True):
        significant = bool(p_adj < alpha)
        results.append(_with_decision(readout, p_value_adjusted=float(p_adj), significant=significant))
    return MultiArmReadout(control=control, comparisons=tuple(results))


def revenue_readout(
    control_revenue,
    treatment_revenue,
    *,
    minimum_detectable_effect: float,
    alpha: float = 0.05,
    power: float = 0.8,
    control: str = "A",
    treatment: str = "B",
) -> RevenueReadout:
    """A/B read-out on revenue per user: Welch t-test, interval of the difference, sufficiency, verdict.

    `control_revenue`, `treatment_revenue`: revenue of every user in each arm (0 for users who did
    not buy). `minimum_detectable_effect` is in the same currency; the users needed per arm use
    the pooled standard deviation of the two arms.
    """
    _check_level(alpha, power)
    mde = _positive(minimum_detectable_effect, "minimum_detectable_effect")
    a, b = _revenues(control_revenue, "control_revenue"), _revenues(treatment_revenue, "treatment_revenue")
    compare = CompareMeans(DescrStatsW(b), DescrStatsW(a))
    _, p_value, _ = compare.ttest_ind(usevar="unequal")
    low, high = compare.tconfint_diff(alpha=alpha, usevar="unequal")
    sd = math.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
    if sd == 0:
        raise ValueError(phrase("every user in both arms has the same revenue; there is nothing to compare"))
    required = revenue_sample_size_per_arm(sd, mde, alpha=alpha, power=power)
    more = max(0, required - min(len(a), len(b)))
    difference = float(b.mean() - a.mean())
    significant = bool(low > 0 or high < 0)
    confidence = 1 - alpha
    means = dict(treatment=treatment, control=control, mean_t=float(b.mean()), mean_c=float(a.mean()))
    if difference > 0:
        gap = phrase("{treatment} brings {amount:,.2f} more revenue per user than {control} ({mean_t:,.2f} vs "
                     "{mean_c:,.2f})", amount=difference, **means)
    elif difference < 0:
        gap = phrase("{treatment} brings {amount:,.2f} less revenue per user than {control} ({mean_t:,.2f} vs "
                     "{mean_c:,.2f})", amount=-difference, **means)
    else:
        gap = phrase("{treatment} brings the same revenue per user as {control} ({mean_t:,.2f} vs {mean_c:,.2f})",
                     **means)
    interval = phrase("{level:.0%} CI {low:,.2f} to {high:,.2f}", level=confidence, low=float(low), high=float(high))
    verdict = _sentence(gap, interval, significant, more, required, phrase("{mde:,.2f} per user", mde=mde), power)
    return RevenueReadout(
        control=control, treatment=treatment, users_control=len(a), users_treatment=len(b),
        mean_control=float(a.mean()), mean_treatment=float(b.mean()), difference=difference,
        ci_low=float(low), ci_high=float(high), confidence=confidence, p_value=float(p_value),
        significant=significant, minimum_detectable_effect=mde, power=power,
        required_users_per_arm=required, more_users_needed_per_arm=more, enough_data=more == 0, verdict=verdict,
    )


def sample_ratio_mismatch(
    users_per_arm: Mapping[str, int] | Sequence[int],
    planned_shares: Mapping[str, float] | Sequence[float] | None = None,
    *,
    threshold: float = 0.001,
) -> SampleRatioCheck:
    """Check the users per arm against the planned split with a chi-square goodness-of-fit test.

    `users_per_arm`: counts by arm name (or a list, arms named A, B, C...). `planned_shares`: the
    planned split in the same order or by name (any positive weights; default equal). A p-value
    below `threshold` (0.001 by convention, since the check runs on every experiment) flags a
    mismatch: assignment or logging is broken and the read-out should not be trusted.
    """
    if isinstance(users_per_arm, Mapping):
        arms, observed = tuple(str(k) for k in users_per_arm), [users_per_arm[k] for k in users_per_arm]
    else:
        observed = list(users_per_arm)
        arms = tuple(chr(ord("A") + i) for i in range(len(observed)))
    if len(observed) < 2:
        raise ValueError("a sample-ratio check needs at least two arms")
    counts = np.asarray(observed, dtype="float64")
    if not np.isfinite(counts).all() or (counts < 0).any() or (counts != np.round(counts)).any() or counts.sum() == 0:
        raise ValueError(f"users per arm must be whole numbers >= 0 with a positive total, got {observed}")
    if planned_shares is None:
        shares = np.ones(len(counts))
    elif isinstance(planned_shares, Mapping):
        if set(map(str, planned_shares)) != set(arms):
            raise ValueError(f"planned_shares names {sorted(map(str, planned_shares))} do not match the arms {list(arms)}")
        shares = np.asarray([planned_shares[k] for k in (users_per_arm if isinstance(users_per_arm, Mapping) else arms)],
                            dtype="float64")
    else:
        shares = np.asarray(list(planned_shares), dtype="float64")
    if len(shares) != len(counts) or not np.isfinite(shares).all() or (shares <= 0).any():
        raise ValueError(f"planned_shares must give one positive share per arm ({len(counts)}), got {planned_shares}")
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must be a probability in (0, 1), got {threshold!r}")
    expected = counts.sum() * shares / shares.sum()
    chi2, p_value = stats.chisquare(counts, expected)
    mismatch = bool(p_value < threshold)
    observed_split = " / ".join(f"{100 * c / counts.sum():.1f}%" for c in counts)
    planned_split = " / ".join(f"{100 * s / shares.sum():.1f}%" for s in shares)
    split = dict(observed=observed_split, users=int(counts.sum()), planned=planned_split, p_value=float(p_value))
    if mismatch:
        verdict = phrase("Sample ratio mismatch: {observed} of {users:,} users against a planned {planned} (chi-square "
                         "p = {p_value:.1e}); check assignment and logging before reading the results.", **split)
    else:
        verdict = phrase("Split as planned: {observed} of {users:,} users against {planned} (chi-square p = "
                         "{p_value:.2f}).", **split)
    return SampleRatioCheck(arms=arms, observed=tuple(int(c) for c in counts), expected=tuple(float(e) for e in expected),
                            chi2=float(chi2), p_value=float(p_value), threshold=threshold, mismatch=mismatch,
                            verdict=verdict)


# --- internals -------------------------------------------------------------------------------


def _compare_proportions(users_c, conv_c, users_t, conv_t, *, mde, alpha, power, control, treatment,
                         comparisons) -> ConversionReadout:
    _check_level(alpha, power)
    mde = _positive(mde, "minimum_detectable_effect")
    users_c, conv_c = _arm(users_c, conv_c, control)
    users_t, conv_t = _arm(users_t, conv_t, treatment)
    rate_c, rate_t = conv_c / users_c, conv_t / users_t
    # Newcomb's hybrid score interval stays sound with zero conversions, where the score interval's
    # root-finding fails; the pooled z-test gives the p-value. The decision follows the interval.
    low, high = confint_proportions_2indep(conv_t, users_t, conv_c, users_c, compare="diff", method="newcomb",
                                           alpha=alpha)
    if conv_c + conv_t in (0, users_c + users_t):
        p_value = 1.0  # identical all-or-nothing arms: no variance, nothing to test
    else:
        p_value = float(proportions_ztest([conv_t, conv_c], [users_t, users_c])[1])
    if rate_c + mde > 1:
        raise ValueError(phrase("the control rate {rate:.3f} plus minimum_detectable_effect {mde} exceeds 1; give the "
                                "effect as a proportion (0.02 for 2 points)", rate=rate_c, mde=mde))
    required = sample_size_per_arm(rate_c, mde, alpha=alpha, power=power)
    more = max(0, required - min(users_c, users_t))
    readout = ConversionReadout(
        control=control, treatment=treatment, users_control=users_c, conversions_control=conv_c,
        users_treatment=users_t, conversions_treatment=conv_t, rate_control=rate_c, rate_treatment=rate_t,
        difference=rate_t - rate_c, ci_low=float(low), ci_high=float(high), confidence=1 - alpha,
        p_value=p_value, p_value_adjusted=p_value, comparisons=comparisons, significant=False,
        minimum_detectable_effect=mde, power=power, required_users_per_arm=required,
        more_users_needed_per_arm=more, enough_data=more == 0, verdict="",
    )
    return _with_decision(readout, p_value_adjusted=p_value, significant=bool(low > 0 or high < 0))


def _with_decision(r: ConversionReadout, *, p_value_adjusted: float, significant: bool) -> ConversionReadout:
    """The read-out with its decision and the verdict sentence that states it."""
    points = 100 * r.difference
    rates = dict(treatment=r.treatment, control=r.control, rate_t=100 * r.rate_treatment, rate_c=100 * r.rate_control)
    if points > 0:
        gap = phrase("{treatment} converts {points} better than {control} ({rate_t:.1f}% vs {rate_c:.1f}%)",
                     points=_points(points), **rates)
    elif points < 0:
        gap = phrase("{treatment} converts {points} worse than {control} ({rate_t:.1f}% vs {rate_c:.1f}%)",
                     points=_points(-points), **rates)
    else:
        gap = phrase("{treatment} converts the same as {control} ({rate_t:.1f}% vs {rate_c:.1f}%)", **rates)
    bounds = dict(level=round(100 * (1 - (1 - r.confidence) * r.comparisons)), low=100 * r.ci_low, high=100 * r.ci_high)
    if r.comparisons > 1:
        interval = phrase("{level}% CI (adjusted for {comparisons} comparisons) {low:.1f} to {high:.1f} points",
                          comparisons=r.comparisons, **bounds)
    else:
        interval = phrase("{level}% CI {low:.1f} to {high:.1f} points", **bounds)
    verdict = _sentence(gap, interval, significant, r.more_users_needed_per_arm, r.required_users_per_arm,
                        _points(100 * r.minimum_detectable_effect), r.power)
    return replace(r, p_value_adjusted=p_value_adjusted, significant=significant, verdict=verdict)


def _sentence(gap: Phrase, interval: Phrase, significant: bool, more: int, required: int, mde: Phrase,
              power: float) -> Phrase:
    if more > 0:
        return phrase("Not enough data yet: {more:,} more users per arm ({required:,} per arm to detect {mde} at "
                      "{power:.0%} power). So far {gap}, {interval}.", more=int(more), required=int(required), mde=mde,
                      power=power, gap=gap, interval=interval)
    if significant:
        return phrase("{gap}, {interval}, enough data.", gap=gap, interval=interval)  # arm names keep their own case
    return phrase("No clear difference: {gap}, {interval}, enough data to have seen an effect of {mde}.", gap=gap,
                  interval=interval, mde=mde)


def _arm(users, conversions, name: str) -> tuple[int, int]:
    try:
        users_i, conv_i = int(users), int(conversions)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"arm {name!r}: users and conversions must be whole numbers") from exc
    if users_i != users or conv_i != conversions or users_i <= 0 or not 0 <= conv_i <= users_i:
        raise ValueError(f"arm {name!r}: need whole numbers with users > 0 and 0 <= conversions <= users, "
                         f"got users={users!r}, conversions={conversions!r}")
    return users_i, conv_i


def _revenues(values, name: str) -> np.ndarray:
    array = np.asarray(values, dtype="float64")
    if array.ndim != 1 or len(array) < 2:
        raise ValueError(f"{name} must be a flat list of revenue per user with at least two users")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} has missing or infinite values; count users who did not buy as 0")
    return array


def _check_level(alpha: float, power: float) -> None:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), e.g. 0.05, got {alpha!r}")
    if not 0 < power < 1:
        raise ValueError(f"power must be in (0, 1), e.g. 0.8, got {power!r}")


def _positive(value, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a positive number, got {value!r}") from exc
    if not math.isfinite(number) or number <= 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return number


def _points(points: float) -> Phrase:
    """ "2.1 points", "1.0 point": a difference in percentage points."""
    if f"{points:.1f}" == "1.0":
        return phrase("{points:.1f} point", points=points)
    return phrase("{points:.1f} points", points=points)
