"""Attribution: hand-checked credit on small journeys, credits that sum to the orders, the
Markov removal effect on a chain worked out by hand, and ROI per channel under each model."""
import numpy as np
import pandas as pd
import pytest

from models import attribution

DAY = 86400


def frames(touch_rows, order_rows):
    touches = pd.DataFrame(touch_rows, columns=["visitor_id", "ts_utc", "channel"])
    conversions = pd.DataFrame(order_rows, columns=["visitor_id", "ts_utc", "revenue"])
    return touches, conversions


# Visitor 1: search (day 0), social (day 6), email (day 7), orders 100 on day 7.
# Visitor 2: social (day 1), orders 50 on day 2, then search (day 3): a new open journey.
# Visitor 3: orders 30 without any touch.
TOUCHES, ORDERS = frames(
    [(1, 0, "search"), (1, 6 * DAY, "social"), (1, 7 * DAY, "email"), (2, 1 * DAY, "social"), (2, 3 * DAY, "search")],
    [(1, 7 * DAY, 100.0), (2, 2 * DAY, 50.0), (3, 5 * DAY, 30.0)],
)
AS_OF = 10 * DAY


def credit(model, **kw):
    out = attribution.attribute(TOUCHES, ORDERS, model=model, as_of_ts=AS_OF, **kw)
    return {row.channel: (row.conversions, row.revenue) for row in out.itertuples()}


@pytest.mark.parametrize("model, expected", [
    ("last_touch", {"email": (1, 100), "social": (1, 50), "direct": (1, 30)}),
    ("first_touch", {"search": (1, 100), "social": (1, 50), "direct": (1, 30)}),
    ("linear", {"search": (1 / 3, 100 / 3), "social": (1 + 1 / 3, 50 + 100 / 3), "email": (1 / 3, 100 / 3),
                "direct": (1, 30)}),
    ("position_based", {"search": (0.4, 40), "social": (1.2, 70), "email": (0.4, 40), "direct": (1, 30)}),
])
def test_rule_models_give_the_hand_checked_credit(model, expected):
    got = credit(model)
    # Channels of the journeys that earn nothing under this model are listed with zero credit.
    assert {ch for ch, (conversions, _r) in got.items() if conversions > 0} == expected.keys()
    assert set(got) == {"search", "social", "email", "direct"}
    for channel, (conversions, revenue) in expected.items():
        assert got[channel] == (pytest.approx(conversions), pytest.approx(revenue)), channel


def test_time_decay_halves_a_touch_per_half_life():
    got = credit("time_decay", half_life_days=7)
    # Visitor 1's touches are 7, 1 and 0 days old: weights 0.5, 2^(-1/7), 1.
    w = np.array([0.5, 2 ** (-1 / 7), 1.0])
    w = w / w.sum()
    assert got["search"][0] == pytest.approx(w[0])
    assert got["email"][1] == pytest.approx(100 * w[2])
    assert got["social"][0] == pytest.approx(1 + w[1])


@pytest.mark.parametrize("model", attribution.MODELS)
def test_every_model_credits_exactly_the_orders_and_their_revenue(model):
    out = attribution.attribute(TOUCHES, ORDERS, model=model, as_of_ts=AS_OF)
    assert out["conversions"].sum() == pytest.approx(3.0)
    assert out["revenue"].sum() == pytest.approx(180.0)
    assert (out["conversions"] >= 0).all()


def test_a_touch_after_the_order_or_after_as_of_gets_no_credit():
    touches, orders = frames([(1, 0, "search"), (1, 2 * DAY, "video")], [(1, DAY, 10.0)])
    out = attribution.attribute(touches, orders, model="linear", as_of_ts=3 * DAY)
    assert dict(zip(out["channel"], out["conversions"])) == {"search": 1.0}
    late = attribution.attribute(touches, orders, model="linear", as_of_ts=DAY // 2)
    assert late.empty


def test_the_markov_removal_effect_matches_the_chain_worked_by_hand():
    # A>B>conversion, A>null, B>conversion. P(conv) = 2/3 * 1/2 + 1/3 = 2/3.
    # Without A: 1/3 (effect 1/2); without B: 0 (effect 1). Shares 1/3 and 2/3 of 2 orders.
    touches, orders = frames([(1, 0, "A"), (1, 10, "B"), (2, 0, "A"), (3, 0, "B")], [(1, 20, 90.0), (3, 20, 30.0)])
    paths = attribution.journeys(touches, orders, as_of_ts=100)
    effects = attribution.markov_removal_effects(paths)
    assert effects["A"] == pytest.approx(0.5) and effects["B"] == pytest.approx(1.0)
    out = attribution.attribute(touches, orders, model="markov", as_of_ts=100)
    got = dict(zip(out["channel"], out["conversions"]))
    assert got["A"] == pytest.approx(2 / 3) and got["B"] == pytest.approx(4 / 3)
    assert out["revenue"].sum() == pytest.approx(120.0)


def test_compare_models_gives_roi_per_channel_under_each_model():
    spend = pd.Series({"search": 20.0, "social": 40.0, "email": 5.0})
    table = attribution.compare_models(TOUCHES, ORDERS, as_of_ts=AS_OF, spend=spend)
    assert set(table["model"]) == set(attribution.MODELS)
    last = table[(table["model"] == "last_touch")].set_index("channel")
    assert last.loc["email", "roi"] == pytest.approx((100 - 5) / 5)
    assert last.loc["social", "roi"] == pytest.approx((50 - 40) / 40)
    assert np.isnan(last.loc["direct", "roi"])


def test_revenue_splits_into_new_and_returning_customers():
    conversions = pd.DataFrame({"visitor_id": [1, 1, 2], "ts_utc": [10, 20, 30], "revenue": [5.0, 7.0, 11.0]})
    first = pd.Series({1: 10, 2: 30})
    out = attribution.new_vs_returning_revenue(conversions, first).set_index("segment")
    assert out.loc["new", "orders"] == 2 and out.loc["new", "revenue"] == pytest.approx(16.0)
    assert out.loc["returning", "revenue"] == pytest.approx(7.0)


@pytest.mark.parametrize("touches, orders, message", [
    (pd.DataFrame({"visitor_id": [1]}), ORDERS, "touches lacks"),
    (TOUCHES, pd.DataFrame({"visitor_id": [1], "ts_utc": [1], "revenue": [-3.0]}), "negative revenue"),
])
def test_bad_input_is_refused_with_what_to_fix(touches, orders, message):
    with pytest.raises(ValueError, match=message):
        attribution.attribute(touches, orders, model="linear", as_of_ts=AS_OF)


def test_an_unknown_model_is_refused():
    with pytest.raises(ValueError, match="unknown attribution model"):
        attribution.attribute(TOUCHES, ORDERS, model="magic", as_of_ts=AS_OF)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_whole_shop_credit_equals_the_journey_by_journey_definition(seed):
    """attribute() works on frames (a shop has millions of touches); it must give what
    journeys() and touch_weights() define, journey by journey, on random shops."""
    rng = np.random.default_rng(seed)
    channels = np.array(["search", "social", "email", "video", "app"])
    touches = pd.DataFrame({"visitor_id": rng.integers(0, 300, 3000), "ts_utc": rng.integers(0, 30 * DAY, 3000),
                            "channel": channels[rng.integers(0, 5, 3000)]})
    orders = pd.DataFrame({"visitor_id": rng.integers(0, 330, 400), "ts_utc": rng.integers(0, 30 * DAY, 400),
                           "revenue": rng.gamma(2.0, 50.0, 400).round(2)})
    as_of = 28 * DAY
    paths = attribution.journeys(touches, orders, as_of_ts=as_of)
    for model in attribution.RULE_MODELS:
        expected: dict[str, list[float]] = {}
        for j in (j for j in paths if j.converted):
            shares = [("direct", 1.0)] if not j.channels else zip(j.channels, attribution.touch_weights(j, model))
            for ch, w in shares:
                entry = expected.setdefault(ch, [0.0, 0.0])
                entry[0] += w
                entry[1] += w * j.revenue
        got = attribution.attribute(touches, orders, model=model, as_of_ts=as_of).set_index("channel")
        assert set(got.index) == set(expected)
        for ch, (conversions, revenue) in expected.items():
            assert got.loc[ch, "conversions"] == pytest.approx(conversions, abs=1e-9)
            assert got.loc[ch, "revenue"] == pytest.approx(revenue, abs=1e-6)
    effects = attribution.markov_removal_effects(paths).clip(lower=0)
    touched = sum(1 for j in paths if j.converted and j.channels)
    markov = attribution.attribute(touches, orders, model="markov", as_of_ts=as_of).set_index("channel")
    for ch, effect in effects.items():
        assert markov.loc[ch, "conversions"] == pytest.approx(effect / effects.sum() * touched, rel=1e-9)


def test_orders_before_since_cut_the_journeys_but_get_no_credit():
    # Visitor 1 orders on day 7 (search, social, email before it) and on day 9 (video on day 8):
    # from day 8 on only the second order counts, and only video led to it.
    touches, orders = frames([(1, 0, "search"), (1, 6 * DAY, "social"), (1, 7 * DAY, "email"), (1, 8 * DAY, "video")],
                             [(1, 7 * DAY, 100.0), (1, 9 * DAY, 40.0), (2, 9 * DAY, 10.0)])
    for model in attribution.RULE_MODELS:
        out = attribution.attribute(touches, orders, model=model, as_of_ts=AS_OF, since_ts=8 * DAY)
        got = {row.channel: (row.conversions, row.revenue) for row in out.itertuples() if row.conversions > 0}
        assert got == {"video": (1.0, 40.0), "direct": (1.0, 10.0)}, model
    # The Markov model shares the period's touched orders by removal effects learnt from every
    # journey (the earlier one too): the credited totals are still the period's.
    markov = attribution.attribute(touches, orders, model="markov", as_of_ts=AS_OF, since_ts=8 * DAY)
    assert markov["conversions"].sum() == pytest.approx(2.0) and markov["revenue"].sum() == pytest.approx(50.0)
    assert markov.set_index("channel").loc["direct", "conversions"] == 1.0
