"""Customer service: service figures of a set of contacts, and the effect of a contact's outcome on repurchase.

`service_figures` turns contacts into the figures the service is steered by: the share the bot
resolved without a person, the share escalated, a person's first-response time (p50 and p90 by
linear interpolation, the share within the target) and the resolution rate.

`compare_repurchase` compares how often two groups of customers bought again after their
contact (e.g. unresolved against resolved): the difference of the two proportions with Newcomb's
hybrid score interval (statsmodels `confint_proportions_2indep`, sound with few or zero
repurchases), the ratio with its log-adjusted interval (0.5 added to every count), and the score
test's p-value. The verdict calls it a difference only when the interval of the difference
excludes zero and quotes that interval only, so the sentence never contradicts the interval it
quotes (the ratio's interval, from another method, may disagree at the margin). It is an observational comparison: it says how much
less often these customers came back, which is the contact's effect only when the groups are
otherwise alike.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import confint_proportions_2indep, test_proportions_2indep

from models.phrases import Phrase, phrase

FIGURE_COLUMNS = ["contacts", "bot_resolved", "bot_resolved_share", "escalated", "escalated_share",
                  "human_responses", "human_p50_s", "human_p90_s", "within_target_share", "resolved_share"]
_CONTACT_COLUMNS = ("handled_by", "first_response_s", "resolved")


def service_figures(contacts: pd.DataFrame, *, response_target_s: float) -> dict[str, float]:
    """Figures of a set of contacts (columns handled_by: "bot" | "human", first_response_s:
    seconds, missing for the bot, resolved: bool), keyed as FIGURE_COLUMNS. Shares are
    proportions of all contacts, except within_target_share: of the escalated contacts with a
    first-response time, those answered within `response_target_s` (inclusive). Shares and
    percentiles are NaN where there is nothing to measure."""
    missing = set(_CONTACT_COLUMNS) - set(contacts.columns)
    if missing:
        raise ValueError(f"contacts lacks column(s) {sorted(missing)}: pass handled_by, first_response_s, resolved")
    if not response_target_s > 0:
        raise ValueError(f"response_target_s must be a positive number of seconds, not {response_target_s!r}")
    n = len(contacts)
    bot = contacts["handled_by"].to_numpy(dtype=object) == "bot"
    human = contacts["handled_by"].to_numpy(dtype=object) == "human"
    resolved = contacts["resolved"].to_numpy(dtype=bool)
    wait = pd.to_numeric(contacts["first_response_s"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    waits = wait[human & ~np.isnan(wait)]
    bot_resolved = int((bot & resolved).sum())
    escalated = int(human.sum())

    def share(count: float, of: int) -> float:
        return count / of if of else math.nan

    return {
        "contacts": n,
        "bot_resolved": bot_resolved,
        "bot_resolved_share": share(bot_resolved, n),
        "escalated": escalated,
        "escalated_share": share(escalated, n),
        "human_responses": len(waits),
        "human_p50_s": float(np.percentile(waits, 50)) if len(waits) else math.nan,
        "human_p90_s": float(np.percentile(waits, 90)) if len(waits) else math.nan,
        "within_target_share": share(float((waits <= response_target_s).sum()), len(waits)),
        "resolved_share": share(float(resolved.sum()), n),
    }


@dataclass(frozen=True)
class RepurchaseComparison:
    """How often a group's customers bought again within `days` of their contact, against a
    baseline group's; rates and differences are proportions (0.164 = 16.4 points)."""

    group: str  # e.g. "unresolved"
    baseline: str  # e.g. "resolved"
    days: int
    customers_group: int
    repurchased_group: int
    customers_baseline: int
    repurchased_baseline: int
    rate_group: float
    rate_baseline: float
    difference: float  # rate_group - rate_baseline
    ci_low: float
    ci_high: float
    ratio: float  # rate_group / rate_baseline
    ratio_ci_low: float
    ratio_ci_high: float
    confidence: float
    p_value: float
    significant: bool  # the interval of the difference excludes zero
    verdict: Phrase


def compare_repurchase(
    repurchased_group: int,
    customers_group: int,
    repurchased_baseline: int,
    customers_baseline: int,
    *,
    group: str,
    baseline: str,
    days: int,
    confidence: float = 0.95,
) -> RepurchaseComparison:
    """Two-proportion comparison of repurchase after a contact: `group` (e.g. "unresolved")
    against `baseline` (e.g. "resolved"); counts are customers, and those of them who placed a
    paid order within `days` after their contact. Raises ValueError on impossible counts."""
    for name, value in (("repurchased_group", repurchased_group), ("customers_group", customers_group),
                        ("repurchased_baseline", repurchased_baseline), ("customers_baseline", customers_baseline)):
        if int(value) != value or value < 0:
            raise ValueError(f"{name} must be a whole number of customers, not {value!r}")
    if customers_group < 1 or customers_baseline < 1:
        raise ValueError("each group needs at least one customer: widen the window or wait for more contacts")
    if repurchased_group > customers_group or repurchased_baseline > customers_baseline:
        raise ValueError("a group cannot have more repurchasing customers than customers: pass (repurchased, customers)")
    if not 0.5 < confidence < 1:
        raise ValueError(f"confidence must lie between 0.5 and 1 (e.g. 0.95), not {confidence!r}")
    if days < 1:
        raise ValueError(f"days must be at least 1, not {days!r}")
    counts = (int(repurchased_group), int(customers_group), int(repurchased_baseline), int(customers_baseline))
    alpha = 1 - confidence
    rate_g, rate_b = counts[0] / counts[1], counts[2] / counts[3]
    low, high = confint_proportions_2indep(*counts, method="newcomb", compare="diff", alpha=alpha)
    r_low, r_high = confint_proportions_2indep(*counts, method="log-adjusted", compare="ratio", alpha=alpha)
    if rate_g == rate_b:
        p_value = 1.0
    else:
        p_value = float(test_proportions_2indep(*counts, method="score", compare="diff").pvalue)
    ratio = rate_g / rate_b if rate_b > 0 else math.inf
    significant = bool(low > 0 or high < 0)
    verdict = _verdict(group, baseline, days, rate_g, rate_b, float(low), float(high), ratio, float(r_low),
                       float(r_high), confidence, significant)
    return RepurchaseComparison(
        group=group, baseline=baseline, days=int(days), customers_group=counts[1], repurchased_group=counts[0],
        customers_baseline=counts[3], repurchased_baseline=counts[2], rate_group=rate_g, rate_baseline=rate_b,
        difference=rate_g - rate_b, ci_low=float(low), ci_high=float(high), ratio=ratio, ratio_ci_low=float(r_low),
        ratio_ci_high=float(r_high), confidence=confidence, p_value=p_value, significant=significant, verdict=verdict,
    )


def _verdict(group, baseline, days, rate_g, rate_b, low, high, ratio, r_low, r_high, confidence, significant) -> Phrase:
    """group and baseline complete "customers whose contact was ...", e.g. "left unresolved"."""
    values = dict(group=group, baseline=baseline, days=days, rate_g=rate_g, rate_b=rate_b, level=confidence)
    if not significant:
        return phrase("No clear difference yet: customers whose contact was {group} bought again within {days} days "
                      "{rate_g:.1%} of the time, those whose contact was {baseline} {rate_b:.1%} ({diff:+.1f} points, "
                      "{level:.0%} CI {low:+.1f} to {high:+.1f}).", diff=(rate_g - rate_b) * 100, low=low * 100,
                      high=high * 100, **values)
    bounds = sorted((abs(low) * 100, abs(high) * 100))
    values.update(points=abs(rate_g - rate_b) * 100, low=bounds[0], high=bounds[1], ratio=ratio)
    if rate_g < rate_b:
        return phrase("Customers whose contact was {group} bought again within {days} days less often than those whose "
                      "contact was {baseline}: {rate_g:.1%} against {rate_b:.1%}, {points:.1f} points fewer ({level:.0%} "
                      "CI {low:.1f} to {high:.1f}), {ratio:.2f} times the rate.", **values)
    return phrase("Customers whose contact was {group} bought again within {days} days more often than those whose "
                  "contact was {baseline}: {rate_g:.1%} against {rate_b:.1%}, {points:.1f} points more ({level:.0%} CI "
                  "{low:.1f} to {high:.1f}), {ratio:.2f} times the rate.", **values)
