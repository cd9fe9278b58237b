"""The writer's pure parts: plain Python values for the driver, and the UV bucket rows."""
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from cockpit.ingest.writer import column_values, unique_visitor_rows, unique_visitor_spans
from cockpit.timebuckets import local_days


def test_column_values_are_plain_python_with_missing_values_as_none():
    frame = pd.DataFrame({
        "id": np.array([1, 2, 3], dtype="int64"),
        "maybe": pd.array([7, None, 9], dtype="Int64"),
        "amount": [1.5, np.nan, 2.0],
        "flag": [True, False, True],
        "text": pd.array(["a", None, "a"], dtype="str"),
    })
    values = column_values(frame, ["text", "id", "maybe", "amount", "flag"])
    assert values == [["a", None, "a"], [1, 2, 3], [7, None, 9], [1.5, None, 2.0], [True, False, True]]
    assert [type(v) for v in values[1] + values[2][:1] + values[3][:1] + values[4][:1]] == [int, int, int, int, float, bool]


def _spans_by_pandas(frames, tz):
    """The reference: unique_visitor_rows grouped per bucket with pandas (its sort order)."""
    seen = unique_visitor_rows(frames).drop_duplicates()
    minutes = seen["minute"].to_numpy()
    found = {}
    for table, column, values in (("uv_minute", "minute_utc", minutes), ("uv_hour", "hour_utc", minutes // 60),
                                  ("uv_day", "day_local", local_days(minutes, tz))):
        spans = (seen.assign(**{column: values})
                 .groupby([column, "activity", "channel", "visitor_id"], as_index=False)
                 .agg(first_minute=("minute", "min"), last_minute=("minute", "max")))
        found[table] = {name: spans[name].tolist() for name in spans.columns}
    return found


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "America/New_York", "Asia/Kolkata"])
def test_unique_visitor_spans_are_the_rows_pandas_groups_per_bucket(zone):
    rng = np.random.default_rng(7)
    n = 5000
    start = 29_000_000 + 1440 * 300 + 1200  # crosses local midnights (and a DST change in New York)
    channels = np.array(["app", "organic", "live_stream", None], dtype=object)
    views = pd.DataFrame({
        "ts_utc": rng.integers(start * 60, (start + 3 * 1440) * 60, n),
        "channel": pd.array(channels[rng.choice(4, n, p=[0.45, 0.3, 0.2, 0.05])], dtype="str"),
        "visitor_id": rng.integers(1, 400, n),  # few visitors: many repeat sightings
    })
    orders = pd.DataFrame({
        "ts_utc": rng.integers(start * 60, (start + 3 * 1440) * 60, 300),
        "channel": pd.array(channels[rng.choice(3, 300)], dtype="str"),
        "customer_id": rng.integers(1, 400, 300),
        "paid_ts_utc": pd.array(np.where(rng.random(300) < 0.8, 1, None), dtype="Int64"),
    })
    frames = {"page_views": views, "orders": orders}
    tz = ZoneInfo(zone)
    spans = unique_visitor_spans(frames, tz)
    expected = _spans_by_pandas(frames, tz)
    assert spans == expected
    assert len(spans["uv_minute"]["visitor_id"]) > len(spans["uv_hour"]["visitor_id"]) > len(spans["uv_day"]["visitor_id"])


def test_a_batch_without_page_views_or_paid_orders_has_no_visitor_rows():
    assert unique_visitor_spans({}, ZoneInfo("UTC")) == {}
    unpaid = pd.DataFrame({"ts_utc": [60], "channel": pd.array(["app"], dtype="str"), "customer_id": [1],
                           "paid_ts_utc": pd.array([None], dtype="Int64")})
    assert unique_visitor_spans({"orders": unpaid}, ZoneInfo("UTC")) == {}


def test_spans_group_alike_whether_the_keys_fit_one_integer_or_not():
    from cockpit.ingest.writer import _spans

    rng = np.random.default_rng(3)
    keys = [rng.integers(0, 5, 400), rng.integers(0, 2, 400), rng.integers(0, 50, 400)]
    first = rng.integers(0, 1000, 400)
    last = first + rng.integers(0, 10, 400)
    packed = _spans(keys, [5, 2, 50], first, last)
    sorted_apart = _spans(keys, [5, 2**40, 2**40], first, last)  # too wide for one int64: lexsort
    assert all(np.array_equal(a, b) for a, b in zip(packed[1:], sorted_apart[1:]))
    groups = {(int(a), int(b), int(c)) for a, b, c in zip(*keys)}
    representative = [(int(keys[0][r]), int(keys[1][r]), int(keys[2][r])) for r in packed[0]]
    assert representative == sorted(groups)
    assert packed[1].tolist() == [int(first[(keys[0] == a) & (keys[1] == b) & (keys[2] == c)].min()) for a, b, c in representative]
