"""Action effects: a known step after the action is recovered within its interval, no change
gives an interval around 0, too few hours say "too early", and the verdicts read as sentences."""
import numpy as np
import pandas as pd
import pytest

from models import action_effect as ae
from models.phrases import phrase
from tests.support.chinese import assert_chinese_with_the_same_numbers

DAY = 10 + 4 * np.sin(np.arange(24) * 2 * np.pi / 24)  # an hourly pattern around 10 per hour


def hourly(hours: int, *, step: float = 0.0, after: int = 0, noise: float = 1.0, seed: int = 7):
    """(before, after): `hours` of the daily pattern plus noise, then `after` hours with `step` added."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2026-03-01", periods=hours + after, freq="h")
    values = np.resize(DAY, hours + after) + rng.normal(0, noise, hours + after)
    values[hours:] += step
    series = pd.Series(values, index=index)
    return series.iloc[:hours], series.iloc[hours:]


def test_a_known_step_after_the_action_is_recovered_within_its_interval():
    before, after = hourly(14 * 24, step=5.0, after=24)
    effect = ae.action_effect(before, after, metric="units")
    assert effect.status == "ok" and effect.post_steps == 24 and effect.history_steps == 336
    assert effect.lower <= 5.0 * 24 <= effect.upper  # the true step, 5 per hour over 24 hours
    assert abs(effect.effect - 120) < 30
    assert effect.significant
    assert effect.actual == pytest.approx(after.sum())
    assert effect.effect == pytest.approx(effect.actual - effect.counterfactual)
    assert list(effect.steps.columns) == ["actual", "mean", "lower", "upper"]
    assert len(effect.steps) == 24 and "season of 24" in effect.model


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_series_without_change_gives_an_interval_containing_zero(seed):
    before, after = hourly(14 * 24, after=48, seed=seed)
    effect = ae.action_effect(before, after, metric="units", seed=seed)
    assert effect.lower < 0 < effect.upper
    assert not effect.significant
    assert str(ae.verdict(effect, "replenishing SKU-1", more=lambda n: phrase("recovered about {n} units", n=n),
                          less=lambda n: phrase("lost about {n} units", n=n))) \
        .startswith("No measurable effect of replenishing SKU-1 on units")


def test_the_interval_of_the_sum_is_wider_than_independent_steps_would_give():
    # Level uncertainty carries over from step to step: the simulated sum's interval must be at
    # least as wide as the root-sum-of-squares of the per-step intervals.
    before, after = hourly(14 * 24, after=72, noise=2.0)
    effect = ae.action_effect(before, after)
    per_step_sd = (effect.steps["upper"] - effect.steps["lower"]) / (2 * 1.96)
    independent_width = 2 * 1.96 * np.sqrt((per_step_sd ** 2).sum())
    assert effect.upper - effect.lower >= 0.9 * independent_width


def test_a_paused_metric_going_to_zero_is_a_negative_effect_of_about_its_usual_level():
    before, _ = hourly(14 * 24, after=24)
    after = pd.Series(0.0, index=pd.date_range(before.index[-1] + pd.Timedelta(hours=2), periods=24, freq="h"))
    effect = ae.action_effect(before, after, metric="spend")  # the action's own hour is skipped
    usual = np.resize(DAY, 14 * 24 + 25)[-24:].sum()  # the pattern over the hours in `after`
    assert effect.lower <= -usual <= effect.upper
    assert effect.actual == 0 and effect.upper < 0


def test_floored_forecasts_never_go_below_zero():
    before = pd.Series(np.resize([0.0, 0.0, 0.0, 3.0], 24 * 14), index=pd.date_range("2026-01-01", periods=336,
                                                                                     freq="h"))
    after = pd.Series(0.0, index=pd.date_range(before.index[-1], periods=25, freq="h")[1:])
    effect = ae.action_effect(before, after)
    assert (effect.steps["mean"] >= 0).all() and (effect.steps["lower"] >= 0).all()
    assert effect.counterfactual >= 0


def test_a_flat_history_gives_a_flat_counterfactual_and_recovers_everything_sold_after():
    before = pd.Series(0.0, index=pd.date_range("2026-01-01", periods=100, freq="h"))
    after = pd.Series(2.0, index=pd.date_range(before.index[-1], periods=11, freq="h")[1:])
    effect = ae.action_effect(before, after, metric="units sold")
    assert (effect.counterfactual, effect.effect, effect.lower, effect.upper) == (0, 20, 20, 20)
    assert str(ae.verdict(effect, "replenishing SKU-1 at WH-A",
                          more=lambda n: phrase("Replenishing SKU-1 at WH-A recovered about {n} units sold", n=n),
                          less=lambda n: phrase("Replenishing SKU-1 at WH-A lost about {n} units sold", n=n))) \
        == "Replenishing SKU-1 at WH-A recovered about 20 units sold"


@pytest.mark.parametrize("post, text", [(0, "Too early to tell: 0 hours after the action"),
                                        (1, "Too early to tell: 1 hour after the action"),
                                        (2, "Too early to tell: 2 hours after the action")])
def test_too_few_hours_after_the_action_are_too_early_to_tell(post, text):
    before, after = hourly(14 * 24, after=post)
    effect = ae.action_effect(before, after)
    assert effect.status == "too_early" and np.isnan(effect.effect)
    assert str(ae.verdict(effect, "x", more=phrase, less=phrase)) == text
    assert str(ae.campaign_verdict("pausing campaign X", effect, effect, subject="Pausing campaign X")) == text


def test_too_little_history_says_so():
    before, after = hourly(10, after=24)
    effect = ae.action_effect(before, after)
    assert effect.status == "no_history"
    assert "Too little history" in str(ae.verdict(effect, "x", more=phrase, less=phrase))


def test_the_input_series_are_not_changed():
    before, after = hourly(14 * 24, step=3.0, after=12)
    b, a = before.copy(), after.copy()
    ae.action_effect(before, after)
    pd.testing.assert_series_equal(before, b)
    pd.testing.assert_series_equal(after, a)


@pytest.mark.parametrize("make_after, message", [
    (lambda b: b.iloc[-5:], "after must start after"),
    (lambda b: pd.Series(1.0, index=b.index[-1] + pd.to_timedelta([30, 90, 150], unit="min")), "grid"),
    (lambda b: pd.Series([1.0, None, 2.0], index=pd.date_range(b.index[-1], periods=4, freq="h")[1:]), "missing"),
    (lambda b: [1.0, 2.0], "pandas Series"),
])
def test_bad_input_is_refused_with_a_message_that_says_what_to_do(make_after, message):
    before, _ = hourly(48)
    with pytest.raises(ValueError, match=message):
        ae.action_effect(before, make_after(before))


@pytest.mark.parametrize("value, text", [(3187, "3,200"), (-40.4, "40"), (7.34, "7.3"), (0.0123, "0.012"),
                                         (125_000, "130,000"), (0, "0")])
def test_amounts_are_rounded_to_two_significant_figures(value, text):
    assert ae.about(value) == text


def effect_of(metric, value, lower, upper):
    return ae.ActionEffect(metric, "ok", 24, 336, 0.0, -value, value, lower, upper, "ETS", pd.DataFrame())


@pytest.mark.parametrize("spend, orders, text", [
    ((-3187, -3900, -2500), (-40.2, -55, -28), "Pausing campaign X saved about 3,200 in spend for about 40 lost orders"),
    ((-3187, -3900, -2500), (-4, -12, 5), "Pausing campaign X saved about 3,200 in spend with no measurable change "
                                           "in orders"),
    ((50, -100, 200), (-4, -12, 5), "No measurable effect of pausing campaign X on spend or orders"),
    ((50, -100, 200), (-30, -45, -12), "Pausing campaign X made no measurable change in spend but cost about 30 "
                                       "orders"),
    ((2100, 1500, 2800), (33, 20, 45), "Pausing campaign X added about 2,100 in spend for about 33 more orders"),
])
def test_campaign_verdicts_read_as_sentences(spend, orders, text):
    assert str(ae.campaign_verdict("pausing campaign X", effect_of("spend", *spend), effect_of("orders", *orders),
                                   subject="Pausing campaign X")) == text


def test_the_interval_text_shows_signs():
    assert str(ae.interval_text(effect_of("spend", -3187, -3900, -2500))) == "−3,200 (95%: −3,900 to −2,500)"


# --- verdicts in Chinese -------------------------------------------------------------------------

def replenishing(effect):
    """The verdict the replenishment measure gives (cockpit.action_effects), on the model's effect."""
    where = dict(sku="SKU-1", warehouse="WH-A")
    return ae.verdict(
        effect, phrase("replenishing {sku} at {warehouse}", **where), metric=phrase("units sold"),
        more=lambda n: phrase("Replenishing {sku} at {warehouse} recovered about {n} units sold once the stock arrived",
                              n=n, **where),
        less=lambda n: phrase("Replenishing {sku} at {warehouse} was followed by about {n} fewer units sold than "
                              "forecast", n=n, **where))


@pytest.mark.parametrize("hours, step, after", [(14 * 24, 5.0, 24), (14 * 24, -5.0, 24), (14 * 24, 0.0, 48),
                                                (14 * 24, 0.0, 1), (14 * 24, 0.0, 2), (10, 0.0, 24)])
def test_measured_early_and_unmeasurable_verdicts_read_in_chinese_with_the_same_numbers(hours, step, after):
    before, later = hourly(hours, step=step, after=after)
    verdict = replenishing(ae.action_effect(before, later, metric="units sold"))
    assert_chinese_with_the_same_numbers(verdict)


@pytest.mark.parametrize("spend, orders", [((-3187, -3900, -2500), (-40.2, -55, -28)),
                                           ((-3187, -3900, -2500), (-4, -12, 5)), ((50, -100, 200), (-4, -12, 5)),
                                           ((50, -100, 200), (-30, -45, -12)), ((2100, 1500, 2800), (33, 20, 45))])
def test_campaign_verdicts_read_in_chinese_with_the_same_numbers(spend, orders):
    verdict = ae.campaign_verdict(phrase("pausing campaign {campaign}", campaign="CMP-A"), effect_of("spend", *spend),
                                  effect_of("orders", *orders),
                                  subject=phrase("Pausing campaign {campaign}", campaign="CMP-A"))
    assert "暂停广告计划 CMP-A" in assert_chinese_with_the_same_numbers(verdict)
