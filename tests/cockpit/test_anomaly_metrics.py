"""The anomaly metrics on a tiny hand-made shop: scores recomputed here from first principles
(median and MAD of the reference days, the negative binomial's tail summed term by term,
the normal quantile from the standard library), on SQLite and PostgreSQL."""
from __future__ import annotations

import math
import statistics
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert

from cockpit.db.engine import get_engine
from cockpit.db.schema import AggCampaignMinute, AggSalesMinute, Return
from cockpit.metrics.read import ANOMALY_METRICS, metric_values
from tests.cockpit.test_metric_values import add_sku_minutes, add_traffic

TZ = ZoneInfo("Asia/Shanghai")
DAY = 1440
A = 29_000_040 + 59  # the "as of" minute
W = 10  # the window: [A - 9, A + 1)
START = A - W + 1
ORGANIC_REFS = [20, 22, 18, 25, 19, 21, 24]  # sessions in the window 1..7 days before
PAID_SESSIONS = 100  # paid_search, every day, today included
ORDERS_REF = 5  # paid orders in the window on each earlier day; none today
CLICKS_REF, SPEND_REF, CAMPAIGN_ORDERS_REF = 10, 30.0, 2  # campaign C1 on each earlier day
CLICKS_NOW, SPEND_NOW = 10, 90.0  # today: the same clicks at three times the price, no order
RETURN_WINDOW = 30


def assert_readings(frame, expected: dict[str, tuple[float, float]]) -> None:
    """Like test_metric_values' check, to 1e-6: the tails here are summed term by term."""
    assert list(frame.columns) == ["entity_id", "value", "volume"]
    actual = {e: (v, vol) for e, v, vol in zip(frame["entity_id"], frame["value"], frame["volume"])}
    assert set(actual) == set(expected)
    for entity, (value, volume) in expected.items():
        assert actual[entity][0] == pytest.approx(value, rel=1e-6, nan_ok=True), (entity, "value")
        assert actual[entity][1] == pytest.approx(volume, rel=1e-12), (entity, "volume")


def nb_tail(x: int, mean: float, extra_cv: float, *, low: bool) -> float:
    """P(X <= x) (low) or P(X >= x) of a negative binomial with variance mean + (cv mean)^2."""
    n = 1 / extra_cv ** 2
    p = n / (n + mean)

    def pmf(k):
        return math.exp(math.lgamma(k + n) - math.lgamma(n) - math.lgamma(k + 1) + n * math.log(p) + k * math.log(1 - p))

    below = sum(pmf(k) for k in range(0, x + 1))
    return below if low else 1 - sum(pmf(k) for k in range(0, x))


def score(x: int, refs: list[float]) -> float:
    """What the cockpit should say: median of the references, the spread beyond chance from
    1.4826 x MAD, at least 0.05, and the normal quantile of the tail on the count's side."""
    mean = statistics.median(refs)
    spread = 1.4826 * statistics.median([abs(r - mean) for r in refs])
    extra_cv = max(math.sqrt(max((spread / mean) ** 2 - 1 / mean, 0.0)), 0.05)
    if x < mean:
        return statistics.NormalDist().inv_cdf(nb_tail(x, mean, extra_cv, low=True))
    return -statistics.NormalDist().inv_cdf(nb_tail(x, mean, extra_cv, low=False))


@pytest.fixture(scope="module")
def shop(module_db_url):
    engine = get_engine(module_db_url)
    with engine.begin() as conn:
        traffic = [(START - d * DAY, "organic", False, sessions) for d, sessions in enumerate([5, *ORGANIC_REFS])]
        traffic += [(START - d * DAY + 1, "paid_search", False, PAID_SESSIONS) for d in range(8)]
        traffic += [(START - 8 * DAY, "organic", False, 1)]  # the shop's history starts a day earlier
        add_traffic(conn, traffic)
        conn.execute(insert(AggSalesMinute), [
            {"minute_utc": START - d * DAY + 2, "channel": "organic", "is_returning": False, "orders": ORDERS_REF,
             "paid_orders": ORDERS_REF, "cancelled_orders": 0, "gmv": 100.0, "units": ORDERS_REF}
            for d in range(1, 8)])
        conn.execute(insert(AggCampaignMinute), [
            {"minute_utc": START - d * DAY + 3, "campaign_id": "C1", "channel": "paid_search",
             "spend": SPEND_NOW if d == 0 else SPEND_REF, "impressions": 0,
             "clicks": CLICKS_NOW if d == 0 else CLICKS_REF, "orders": 0 if d == 0 else CAMPAIGN_ORDERS_REF,
             "revenue": 0.0 if d == 0 else 100.0}
            for d in range(8)])
        # SKU A: 200 units sold and 14 parcels returned over the week before the 30-minute
        # window; in it, two parcels (one of three units) come back.
        week_before = A - RETURN_WINDOW + 1 - 7 * DAY
        assert week_before >= START - 8 * DAY  # the whole week lies in the history: no young-shop scaling
        add_sku_minutes(conn, [(week_before + 100 * i, "A", "W1", 20, 0) for i in range(10)])
        returned = [week_before + 700 * i for i in range(14)] + [A - 5, A - 2]
        conn.execute(insert(Return), [
            {"return_id": i + 1, "order_id": i + 1, "sku": "A", "qty": 3 if minute == A - 2 else 1,
             "ts_utc": minute * 60 + 30, "reason": "quality", "refund_amount": 10.0, "resellable": False}
            for i, minute in enumerate(returned)])
    with engine.connect() as conn:
        yield conn


def test_every_anomaly_metric_has_a_case_here():
    here = {*CASES, ("sku", "return_anomaly")}  # returns have their own window: their own test below
    assert here == {(k, m) for k, ms in ANOMALY_METRICS.items() for m in ms}


def _sessions_today():
    return 5 + PAID_SESSIONS


CASES = {
    # organic fell from about 21 to 5; paid_search is exactly as usual (score 0).
    ("channel", "sessions_anomaly"): lambda: {
        "organic": (score(5, ORGANIC_REFS), statistics.median(ORGANIC_REFS)),
        "paid_search": (0.0, PAID_SESSIONS),
    },
    # No paid order today where each earlier day's conversion, applied to today's sessions, expected some.
    ("shop", "conversion_anomaly"): lambda: {
        "shop": (score(0, refs := [ORDERS_REF * _sessions_today() / (o + PAID_SESSIONS) for o in ORGANIC_REFS]),
                 statistics.median(refs)),
    },
    # 90 spent where 30 is usual every day: ln 3 over the floor spread of 0.1.
    ("campaign", "spend_anomaly"): lambda: {"C1": (math.log(SPEND_NOW / SPEND_REF) / 0.1, SPEND_REF)},
    # 90 spent usually brings 2 x 90 / 30 = 6 orders; none came.
    ("campaign", "roi_anomaly"): lambda: {"C1": (score(0, [6.0] * 7), 6.0)},
}


@pytest.mark.parametrize("entity_kind, metric", [key for key in CASES], ids=lambda x: str(x))
def test_the_anomaly_scores_match_the_hand_computed_ones(shop, entity_kind, metric):
    assert_readings(metric_values(shop, metric, entity_kind, W, A, TZ), CASES[(entity_kind, metric)]())


def test_a_wave_of_returns_scores_against_the_week_before(shop):
    expected = 14 * RETURN_WINDOW / (7 * DAY)  # 0.0417 parcels in 30 minutes at last week's pace
    at_least_2 = nb_tail(2, expected, 0.5, low=False)  # RETURN_EXTRA_CV; parcels, not units
    assert_readings(metric_values(shop, "return_anomaly", "sku", RETURN_WINDOW, A, TZ),
                    {"A": (-statistics.NormalDist().inv_cdf(at_least_2), 180.0)})
    # volume: units sold in the 7 days up to A (the first 20 fall just before them).


def test_with_fewer_than_three_earlier_days_there_is_no_score(shop):
    # Six days back only two earlier days lie inside the shop's history.
    frame = metric_values(shop, "sessions_anomaly", "channel", W, A - 6 * DAY, TZ)
    assert len(frame) and frame["value"].isna().all()


def test_the_scores_feed_the_alert_rules_like_any_metric(shop):
    from cockpit.alerts import Rule, instant_level

    rule = Rule(name="Traffic anomaly", metric="sessions_anomaly", entity_kind="channel", window_minutes=W,
                direction="below", warn=-3.5, critical=-6.0, recovery=-2.0)
    frame = metric_values(shop, "sessions_anomaly", "channel", W, A, TZ).set_index("entity_id")
    assert -6.0 < frame.loc["organic", "value"] < -3.5  # 5 sessions where about 21 come: p ~ 5e-5
    assert instant_level(rule, frame.loc["organic", "value"]) == "warn"
    assert instant_level(rule, frame.loc["paid_search", "value"]) == "ok"
