"""Trend detection on planted series: a term tripling on real volume is found; a flat term, a
small noisy one and a big one growing 20% are not."""
import numpy as np
import pandas as pd
import pytest

from models import trends

END = pd.Timestamp("2026-11-24")


def daily(term_rates: dict[str, tuple[float, float]], days: int = 30, seed: int = 3) -> pd.DataFrame:
    """Poisson daily searches: term -> (daily rate in the previous period, in the current one)."""
    rng = np.random.default_rng(seed)
    rows = []
    for term, (before, now) in term_rates.items():
        for offset in range(2 * days):
            day = END - pd.Timedelta(days=2 * days - 1 - offset)
            rows.append({"day": day, "term": term, "searches": int(rng.poisson(before if offset < days else now))})
    return pd.DataFrame(rows)


def test_a_planted_rising_term_is_found_and_flat_ones_are_not():
    frame = daily({"glow serum": (10, 30), "rain boots": (40, 40), "tiny niche": (0.2, 0.9), "socks": (200, 240),
                   "new gadget": (0, 12)})
    totals = trends.period_totals(frame, "term", END, 30)
    assert totals.set_index("term").loc["rain boots", ["current", "previous"]].sum() == frame[
        frame["term"] == "rain boots"]["searches"].sum()
    result = trends.rising(totals, "term").set_index("term")
    assert result.loc["glow serum", "is_rising"] and result.loc["glow serum", "growth"] == pytest.approx(3.0, rel=0.2)
    assert result.loc["new gadget", "is_rising"] and np.isinf(result.loc["new gadget", "growth"])
    for flat in ("rain boots", "tiny niche", "socks"):
        assert not result.loc[flat, "is_rising"], flat
    assert list(result.index[:2]) == ["glow serum", "new gadget"]  # the rising first, most extra searches first


def test_the_growth_must_not_be_chance_and_the_volume_must_matter():
    totals = pd.DataFrame({"term": ["few", "small", "real"], "current": [6, 150, 210], "previous": [2, 50, 100]})
    loose = trends.rising(totals, "term", min_searches=0).set_index("term")
    assert loose.loc["few", "growth"] == 3.0 and not loose.loc["few", "is_rising"]  # 2 to 6: chance
    assert loose.loc["few", "p_value"] > 0.05 and loose.loc["real", "p_value"] < 1e-4
    strict = trends.rising(totals, "term").set_index("term")
    assert not strict.loc["small", "is_rising"]  # tripled, but 150 searches do not matter yet
    assert strict.loc["real", "is_rising"]
