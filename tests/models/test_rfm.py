"""RFM: hand-checked recency, frequency, monetary, scores, the eight segments and their migration."""
from __future__ import annotations

import pandas as pd
import pytest

from models.rfm import (
    AT_RISK_SEGMENTS,
    NOT_YET_CUSTOMER,
    SEGMENT_KEYS,
    SEGMENT_LABELS,
    SEGMENTS,
    VALUABLE_SEGMENTS,
    quantile_scores,
    rfm_table,
    segment_label,
    segment_migration,
)


def lines(rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["customer_id", "order_id", "ts", "amount"])
    return frame.assign(ts=pd.to_datetime(frame["ts"], format="ISO8601"), amount=frame["amount"].astype(float))


FIVE_CUSTOMERS = lines([
    # a: four orders, the last one of two lines; last bought the day before as_of
    ("a", 1, "2024-03-01", 50), ("a", 2, "2024-03-10", 50), ("a", 3, "2024-03-20", 100),
    ("a", 4, "2024-03-30 10:00", 60), ("a", 4, "2024-03-30 10:00", 40),
    ("b", 5, "2024-03-31 23:59", 10),
    ("c", 6, "2024-01-10", 500), ("c", 7, "2024-01-20", 400),
    ("d", 8, "2024-01-01", 40), ("d", 9, "2024-01-15", 40), ("d", 10, "2024-01-31", 40),
    ("d", 11, "2024-02-10", 40), ("d", 12, "2024-02-20", 40),
    ("e", 13, "2024-03-05", 50), ("e", 14, "2024-03-15", 100), ("e", 15, "2024-03-21", 100),
    ("late", 16, "2024-04-01", 1_000),  # after as_of: not counted
])


def test_recency_frequency_and_monetary_are_counted_by_hand():
    table = rfm_table(FIVE_CUSTOMERS, as_of="2024-03-31")
    assert list(table.index) == ["a", "b", "c", "d", "e"]
    assert table["recency_days"].to_dict() == {"a": 1, "b": 0, "c": 71, "d": 40, "e": 10}
    assert table["frequency"].to_dict() == {"a": 4, "b": 1, "c": 2, "d": 5, "e": 3}
    assert table["monetary"].to_dict() == {"a": 300.0, "b": 10.0, "c": 900.0, "d": 200.0, "e": 250.0}


def test_quintile_scores_and_segments_follow_the_classic_high_low_pattern():
    table = rfm_table(FIVE_CUSTOMERS, as_of="2024-03-31", bins=5)
    assert table["rfm_code"].to_dict() == {"a": "444", "b": "511", "c": "125", "d": "252", "e": "333"}
    assert table["segment"].to_dict() == {
        "a": "important_value",       # recent, frequent, high spend
        "b": "ordinary_development",  # recent, one small order
        "c": "important_win_back",    # big spender gone quiet
        "d": "ordinary_retention",    # frequent, small, not lately
        "e": "ordinary_win_back",     # middle of every scale counts as not high
    }


def test_without_order_ids_a_purchase_day_is_one_order():
    table = rfm_table(FIVE_CUSTOMERS.drop(columns="order_id"), as_of="2024-03-31")
    assert table.loc["a", "frequency"] == 4


def test_an_earlier_as_of_sees_only_the_history_up_to_that_day():
    table = rfm_table(FIVE_CUSTOMERS, as_of="2024-01-31")
    assert list(table.index) == ["c", "d"]
    assert table.loc["d", "frequency"] == 3 and table.loc["d", "recency_days"] == 0


def test_a_lookback_window_drops_older_orders():
    table = rfm_table(FIVE_CUSTOMERS, as_of="2024-03-31", lookback_days=30)
    assert list(table.index) == ["a", "b", "e"]
    assert table.loc["a", "frequency"] == 3  # 03-01 is 30 days before and falls outside


@pytest.mark.parametrize(
    "values, bins, higher_is_better, expected",
    [
        ([10, 20, 30, 40, 50], 5, True, [1, 2, 3, 4, 5]),
        ([10, 20, 30, 40, 50], 5, False, [5, 4, 3, 2, 1]),
        ([1, 1, 1, 1, 2], 5, True, [3, 3, 3, 3, 5]),  # ties share their average rank 2.5
        ([7, 7, 7], 4, True, [3, 3, 3]),
        ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 5, True, [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]),
    ],
)
def test_quantile_scores_rank_values_into_equal_bins(values, bins, higher_is_better, expected):
    scores = quantile_scores(pd.Series(values), bins, higher_is_better=higher_is_better)
    assert scores.tolist() == expected


def test_the_eight_segments_cover_every_high_low_pattern_once_with_both_labels():
    patterns = {(s.recent, s.frequent, s.high_value) for s in SEGMENTS}
    assert len(SEGMENTS) == 8 and len(patterns) == 8
    assert all(key.isidentifier() and key == key.lower() for key in SEGMENT_KEYS)
    assert segment_label("important_value", "zh-CN") == "重要价值客户"
    assert segment_label("ordinary_win_back") == "Ordinary win-back"
    assert set(SEGMENT_LABELS) == {*SEGMENT_KEYS, NOT_YET_CUSTOMER}
    assert set(VALUABLE_SEGMENTS) | set(AT_RISK_SEGMENTS) <= set(SEGMENT_KEYS)


MIGRATION = lines([
    ("vip", 1, "2024-01-05", 100), ("vip", 2, "2024-01-20", 100), ("vip", 3, "2024-01-30", 100),
    ("low", 4, "2024-01-02", 5), ("low", 5, "2024-06-29", 5), ("low", 6, "2024-06-30", 5),
    ("new", 7, "2024-06-15", 500),
])


def test_migration_finds_the_valuable_customer_who_went_quiet():
    migration = segment_migration(MIGRATION, from_as_of="2024-01-31", to_as_of="2024-06-30", bins=2)
    assert migration.customers.to_dict("index") == {
        "low": {"from_segment": "ordinary_win_back", "to_segment": "ordinary_value"},
        "new": {"from_segment": NOT_YET_CUSTOMER, "to_segment": "important_development"},
        "vip": {"from_segment": "important_value", "to_segment": "important_retention"},
    }
    assert list(migration.moved().index) == ["vip"]
    matrix = migration.matrix
    assert matrix.loc["important_value", "important_retention"] == 1
    assert matrix.to_numpy().sum() == 3 and list(matrix.columns) == list(SEGMENT_KEYS)


def test_rfm_leaves_the_callers_frame_untouched():
    before = FIVE_CUSTOMERS.copy()
    rfm_table(FIVE_CUSTOMERS, as_of="2024-03-31")
    segment_migration(FIVE_CUSTOMERS, from_as_of="2024-02-01", to_as_of="2024-03-31")
    pd.testing.assert_frame_equal(FIVE_CUSTOMERS, before)


def test_timezone_aware_timestamps_are_read_in_utc():
    frame = FIVE_CUSTOMERS.assign(ts=FIVE_CUSTOMERS["ts"].dt.tz_localize("Asia/Shanghai"))
    table = rfm_table(frame, as_of="2024-03-31")
    assert table.loc["b", "recency_days"] == 0  # 23:59 in Shanghai is 15:59 UTC the same day


@pytest.mark.parametrize(
    "frame, kwargs, message",
    [
        (FIVE_CUSTOMERS.iloc[0:0], {"as_of": "2024-03-31"}, "empty"),
        (FIVE_CUSTOMERS.drop(columns="amount"), {"as_of": "2024-03-31"}, "missing column"),
        (FIVE_CUSTOMERS.rename(columns={"ts": "when"}), {"as_of": "2024-03-31"}, "`ts` or `date`"),
        (FIVE_CUSTOMERS.assign(amount=-1.0), {"as_of": "2024-03-31"}, "negative"),
        (FIVE_CUSTOMERS, {"as_of": "2023-01-01"}, "no order lines"),
        (FIVE_CUSTOMERS, {"as_of": "2024-03-31", "bins": 1}, "bins"),
        (FIVE_CUSTOMERS, {"as_of": None}, "as_of"),
    ],
)
def test_bad_input_raises_a_value_error_saying_what_to_fix(frame, kwargs, message):
    with pytest.raises(ValueError, match=message):
        rfm_table(frame, **kwargs)


def test_migration_needs_the_dates_in_order():
    with pytest.raises(ValueError, match="before"):
        segment_migration(MIGRATION, from_as_of="2024-06-30", to_as_of="2024-01-31")
