"""Figure builders of cockpit.ui.charts on hand-made frames: the numbers they plot."""
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from cockpit.alerts import Rule
from cockpit.panels import PanelState
from cockpit.ui import charts

TZ = ZoneInfo("Asia/Shanghai")
WEEK = 7 * 1440
NO_MARKERS = pd.DataFrame(columns=["ts_utc", "verb", "entity_kind", "entity_id", "actor", "automatic", "label"])


def per_minute(start: int, end: int, value) -> pd.DataFrame:
    return pd.DataFrame({"minute_utc": range(start, end), "gmv": [value(m) for m in range(start, end)]})


def test_buckets_count_back_from_the_newest_minute_so_the_last_bucket_is_whole():
    now = per_minute(1000, 1025, lambda m: 1.0)  # 25 minutes: buckets [1005,1015), [1015,1025) and a head
    figure = charts.versus_last_week_figure(now, per_minute(1000 - WEEK, 1025 - WEEK, lambda m: 2.0), "gmv", [],
                                            title="t", name="GMV", tz=TZ, markers=NO_MARKERS, height=200)
    current, before = figure.data[0], figure.data[1]
    assert list(current.y) == [5.0, 10.0, 10.0]
    assert list(before.y) == [10.0, 20.0, 20.0]


@pytest.mark.parametrize("warn,critical", [(0.5, 0.3), (0.6, None)])
def test_the_rules_ratios_are_drawn_on_last_weeks_line(warn, critical):
    rule = Rule(name="GMV drop", metric="gmv_vs_last_week", entity_kind="shop", window_minutes=60,
                direction="below", warn=warn, critical=critical, recovery=0.8)
    now = per_minute(2000, 2020, lambda m: 3.0)
    before = per_minute(2000 - WEEK, 2020 - WEEK, lambda m: float(m % 2 + 1))  # 1, 2, 1, 2 ...: 15 per bucket
    figure = charts.versus_last_week_figure(now, before, "gmv", [rule], title="t", name="GMV", tz=TZ,
                                            markers=NO_MARKERS, height=200)
    lines = {trace.name: list(trace.y) for trace in figure.data}
    assert lines["GMV"] == [30.0, 30.0] and lines["a week ago"] == [15.0, 15.0]
    assert lines[f"Warning ({warn:g}×)"] == [15.0 * warn] * 2
    assert [name for name in lines if name.startswith("Critical")] == ([f"Critical ({critical:g}×)"] if critical else [])


def test_drill_links_open_the_worst_entities_on_their_pages():
    readings = pd.DataFrame({
        "rule_id": [1, 1], "rule_name": ["Stock running out"] * 2, "metric": ["days_of_cover"] * 2,
        "entity_kind": ["sku_warehouse"] * 2, "window_minutes": [1, 1], "direction": ["below"] * 2,
        "warn": [1.0, 1.0], "critical": [0.25, 0.25], "entity_id": ["A|W1", "B|W2"], "value": [0.0, 0.5],
        "volume": [9.0, 9.0], "level": ["critical", "warn"],
    })
    links = charts.drill_links({"stock": PanelState("stock", "critical", (), readings)}, ("stock", "ads"))
    assert links == [
        ("pages/03_stock.py", {"sku": "A", "wh": "W1"}, "A|W1 (0.00)", "Stock running out"),
        ("pages/03_stock.py", {"sku": "B", "wh": "W2"}, "B|W2 (0.50)", "Stock running out"),
    ]
