"""Product 360 arithmetic on hand-checked rows: daily series, returns by cause, the return
spike against a usual day, and weekly ratings."""
import math
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from models import product
from tests.support.chinese import assert_chinese_with_the_same_numbers

TZ = ZoneInfo("Asia/Shanghai")
DAY = 86_400
NOW = 1_795_000_000


def returns(rows) -> pd.DataFrame:
    """rows: (seconds before NOW, qty, reason)."""
    return pd.DataFrame({"return_id": range(len(rows)), "order_id": range(len(rows)),
                         "ts_utc": [NOW - ago for ago, _, _ in rows], "qty": [q for _, q, _ in rows],
                         "reason": [r for _, _, r in rows], "refund_amount": 1.0, "resellable": False, "channel": "x"})


def test_returns_split_into_quality_transport_and_other():
    frame = product.return_breakdown(returns([(10, 3, "quality"), (20, 1, "transport_damage"), (30, 2, "size_fit"),
                                              (40, 2, "changed_mind"), (50, 1, "quality")]))
    assert frame.values.tolist() == [
        ["quality problem", "quality", 4, pytest.approx(4 / 9)],
        ["transport damage", "transport_damage", 1, pytest.approx(1 / 9)],
        ["other", "changed_mind", 2, pytest.approx(2 / 9)],
        ["other", "size_fit", 2, pytest.approx(2 / 9)],
    ]


def test_a_spike_is_many_times_a_usual_day_with_its_cause():
    usual = [(2 * DAY + i * DAY // 2, 1, "size_fit") for i in range(7)]  # 7 units over the 7 days before
    recent = [(600 + i * 60, 1, "quality") for i in range(8)] + [(3000, 2, "transport_damage")]
    spike = product.return_spike(returns(usual + recent), NOW)
    assert (spike.recent_units, spike.usual_units_per_day) == (10, pytest.approx(1.0))
    assert spike.ratio == pytest.approx(10.0) and spike.is_spike
    assert spike.dominant_group == "quality problem" and spike.dominant_share == pytest.approx(0.8)
    assert str(spike.sentence("Watch")) == ("Return spike: 10 units of Watch came back in the last 24 hours, 10.0 times "
                                       "a usual day's 1.0; 80% of them for a quality problem.")


def test_three_times_a_usual_day_on_a_handful_of_units_can_be_chance_and_is_no_spike():
    # 13 units over the 7 days before (1.86 a day), then 6: 3.2 times, but P(X >= 6) = 0.012.
    usual = [(DAY + day * DAY, qty, "other") for day, qty in enumerate([2, 2, 2, 2, 2, 2, 1])]
    chance = product.return_spike(returns(usual + [(600 * i, 1, "other") for i in range(1, 7)]), NOW)
    assert chance.recent_units == 6 and chance.ratio == pytest.approx(6 / (13 / 7)) and not chance.is_spike
    # 12 units against the same usual day: P(X >= 12) is about 2e-6.
    real = product.return_spike(returns(usual + [(600 * i, 2, "other") for i in range(1, 7)]), NOW)
    assert real.recent_units == 12 and real.is_spike


def test_a_few_returns_are_no_spike_and_none_says_so():
    few = product.return_spike(returns([(600, 2, "quality")]), NOW)  # from nothing, but only 2 units
    assert not few.is_spike and math.isinf(few.ratio)
    none = product.return_spike(returns([(3 * DAY, 7, "quality")]), NOW)
    assert none.recent_units == 0 and not none.is_spike
    assert str(none.sentence("Watch")) == "No returns of Watch in the last 24 hours (usually 1.0 a day)."


def test_daily_sales_fill_every_local_day():
    first, last = pd.Timestamp("2026-11-20"), pd.Timestamp("2026-11-22")
    # 2026-11-20 23:30 Shanghai is 15:30 UTC: hour 15 of the 20th counts on the 20th, 16 UTC on the 21st.
    hour = int(pd.Timestamp("2026-11-20 15:00", tz="UTC").timestamp()) // 3600
    hourly = pd.DataFrame({"hour_utc": [hour, hour + 1, hour + 1], "warehouse_id": ["A", "A", "B"],
                           "units_sold": [2, 3, 4], "revenue": [20.0, 30.0, 40.0], "units_returned": [0, 1, 0]})
    daily = product.daily_sales(hourly, TZ, first, last)
    assert daily["day"].dt.strftime("%m-%d").tolist() == ["11-20", "11-21", "11-22"]
    assert daily["units_sold"].tolist() == [2, 7, 0] and daily["units_returned"].tolist() == [0, 1, 0]


def test_ratings_by_week():
    stamps = [pd.Timestamp(d, tz=TZ).timestamp() for d in ("2026-11-16 10:00", "2026-11-22 23:00", "2026-11-23 01:00")]
    reviews = pd.DataFrame({"review_id": [1, 2, 3], "ts_utc": np.array(stamps, dtype="int64"), "rating": [5, 2, 4],
                            "text": ["a", "b", "c"], "customer_id": [1, 2, 3]})
    trend = product.rating_trend(reviews, TZ)
    assert trend["week"].dt.strftime("%Y-%m-%d").tolist() == ["2026-11-16", "2026-11-23"]
    assert trend["reviews"].tolist() == [2, 1] and trend["mean_rating"].tolist() == [3.5, 4.0]
    assert trend["low_share"].tolist() == [0.5, 0.0]


@pytest.mark.parametrize("rows", [
    [(2 * DAY + i * DAY // 2, 1, "size_fit") for i in range(7)]
    + [(600 + i * 60, 1, "quality") for i in range(8)] + [(3000, 2, "transport_damage")],  # a spike, 10 times
    [(600 + i * 60, 1, "transport_damage") for i in range(9)],  # a spike from nothing: far more than usual
    [(600, 2, "quality"), (2 * DAY, 7, "size_fit")],  # a few returns, no spike
    [(3 * DAY, 7, "quality")],  # none in the last 24 hours
])
def test_the_return_sentence_reads_in_chinese_with_the_same_numbers(rows):
    spike = product.return_spike(returns(rows), NOW)
    assert_chinese_with_the_same_numbers(spike.sentence("Watch"))
