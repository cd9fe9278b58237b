"""The weekly report's arithmetic on hand-checked cases: segment conversion, stock-outs,
turnover and sell-through, delivery times, the comparison with targets, and the findings."""
import math

import numpy as np
import pandas as pd
import pytest

from models import report

DAY = 86_400


def test_segment_conversion_counts_visitors_buyers_and_first_time_buyers():
    segments = pd.DataFrame({"customer_id": [1, 2, 3, 4, 5, 6], "segment": ["a", "a", "a", "b", "b", "b"]})
    activity = pd.DataFrame({
        "customer_id": [1, 2, 4, 6, 9, 10],
        "visited": [True, True, True, False, True, False],
        "orders": [2, 0, 1, 1, 1, 0],
        "revenue": [50.0, 0.0, 20.0, 5.0, 30.0, 0.0],
    })
    frame = report.segment_conversion(segments, activity).set_index("segment")
    # a: 3 customers, 2 visited, 1 ordered (2 orders, 50); b: 3 customers, 1 visited and
    # ordered, 1 ordered without a signed-in visit (counted as a buyer, not in the conversion).
    assert frame.loc["a", ["customers", "visited", "ordered", "orders"]].tolist() == [3, 2, 1, 2]
    assert frame.loc["a", "conversion"] == pytest.approx(0.5)
    assert frame.loc["b", ["customers", "visited", "ordered"]].tolist() == [3, 1, 2]
    assert frame.loc["b", "conversion"] == pytest.approx(1.0)
    # Customer 9 bought without a segment: a first-time buyer; 10 only visited and is left out.
    assert frame.loc[report.NEW_CUSTOMERS, ["customers", "ordered", "revenue"]].tolist() == [1, 1, 30.0]
    assert math.isnan(frame.loc[report.NEW_CUSTOMERS, "conversion"])
    assert list(frame.index) == ["a", report.NEW_CUSTOMERS, "b"]  # by revenue


def test_stock_figures_by_hand():
    # Two pairs of one category over 7 days: A ends 10, 8, 6, 4, 2, 0, 0; B holds 10 all week.
    on_hand_a = [10, 8, 6, 4, 2, 0, 0]
    days = pd.DataFrame({
        "sku": ["A"] * 7 + ["B"] * 7, "warehouse_id": ["W"] * 14, "category": ["c"] * 14,
        "day_index": list(range(7)) * 2, "on_hand_end_of_day": on_hand_a + [10] * 7,
    })
    sales = pd.DataFrame({"sku": ["A"], "warehouse_id": ["W"], "category": ["c"], "units_sold": [14],
                          "revenue": [140.0]})
    figures, by_category = report.stock_figures(days, sales, 7)
    assert figures["stockout_rate"] == pytest.approx(2 / 14)
    assert figures["pairs_stocked_out"] == 1 and figures["pairs"] == 2
    assert figures["sell_through"] == pytest.approx(14 / (14 + 10))
    average = (sum(on_hand_a) + 70) / 7  # stock held on an average day
    assert figures["turnover_days"] == pytest.approx(average / 2)  # 14 units in 7 days: 2 a day
    row = by_category.iloc[0]
    assert row["avg_on_hand"] == pytest.approx(average)
    assert row["turnover_days"] == pytest.approx(average / 2)
    assert row["stockout_rate"] == pytest.approx(2 / 14)


def test_stock_without_sales_has_infinite_turnover():
    days = pd.DataFrame({"sku": ["A"] * 7, "warehouse_id": ["W"] * 7, "category": ["c"] * 7,
                         "day_index": list(range(7)), "on_hand_end_of_day": [5] * 7})
    sales = pd.DataFrame({"sku": [], "warehouse_id": [], "category": [], "units_sold": [], "revenue": []})
    figures, _ = report.stock_figures(days, sales, 7)
    assert math.isinf(figures["turnover_days"]) and figures["sell_through"] == 0.0


def test_delivery_figures_by_hand():
    paid = 1_000_000
    days = np.array([1, 1, 1, 2, 2, 2, 3, 3, 4, 10], dtype=float)
    frame = pd.DataFrame({
        "order_id": range(10), "region": ["North"] * 5 + ["South"] * 5, "tier": ["regional"] * 10,
        "paid_ts_utc": [paid] * 10, "shipped_ts_utc": [paid + 3600] * 10,
        "promised_ts_utc": [paid + 3 * DAY] * 10, "delivered_ts_utc": (paid + days * DAY).astype("int64"),
    })
    shop, by_region = report.delivery_figures(frame)
    p10, p50, p90 = np.quantile(days, [0.1, 0.5, 0.9])
    assert shop["parcels"] == 10
    assert shop["median_days"] == pytest.approx(p50) == pytest.approx(2.0)
    assert shop["spread_days"] == pytest.approx(p90 - p10)
    assert shop["on_time_rate"] == pytest.approx(0.8) and shop["late"] == 2  # 4 and 10 days are late
    south = by_region.set_index("region").loc["South"]
    assert south["on_time_rate"] == pytest.approx(0.6) and south["median_days"] == pytest.approx(3.0)


def test_comparison_with_targets_and_direction():
    this = {"gmv": 1200.0, "stockout_rate": 0.05, "on_time_rate": 0.97, "turnover_days": 30.0}
    before = {"gmv": 1000.0, "stockout_rate": 0.01, "on_time_rate": 0.90, "turnover_days": 30.0}
    targets = {"stockout_rate": report.Target(0.02, "max"), "on_time_rate": report.Target(0.95, "min")}
    table = report.comparison(this, before, targets).set_index("key")
    assert table.loc["gmv", "change"] == pytest.approx(0.2) and table.loc["gmv", "better"] is True
    assert table.loc["stockout_rate", "met"] is False and table.loc["stockout_rate", "better"] is False
    assert table.loc["on_time_rate", "met"] is True and table.loc["on_time_rate", "target"] == "≥ 95.0%"
    assert table.loc["turnover_days", "better"] is None  # unchanged
    assert table.loc["paid_orders", "met"] is None and math.isnan(table.loc["paid_orders", "change"])


def test_findings_put_missed_targets_first_and_name_the_moves():
    this = {"gmv": 700.0, "stockout_rate": 0.05, "on_time_rate": 0.97, "anomalies": 3}
    before = {"gmv": 1000.0, "stockout_rate": 0.01, "on_time_rate": 0.96, "anomalies": 1}
    table = report.comparison(this, before, {"stockout_rate": report.Target(0.02, "max")})
    segments = pd.DataFrame({"segment": ["loyal"], "visited": [100], "conversion": [0.20]})
    previous = pd.DataFrame({"segment": ["loyal"], "visited": [120], "conversion": [0.30]})
    channels = pd.DataFrame({"channel": ["x"], "name": ["Feed ads"], "spend": [500.0], "revenue": [400.0],
                             "roi": [-0.2], "roi_floor": [0.5]})
    anomalies = pd.DataFrame({"metric": ["sessions_anomaly", "sessions_anomaly", "return_anomaly"],
                              "entity_id": ["a", "b", "c"], "level": ["warn", "critical", "warn"]})
    found = [str(text) for text in
             report.findings(table, segments, previous, channels, anomalies, ["Pausing campaign c1 saved about 10."])]
    assert found[0].startswith("Stock-out rate (SKU-days out) missed its target: 5.0%")
    assert any(text.startswith("GMV fell 30% to 700 (a move the wrong way)") for text in found)
    assert any("loyal segment fell from 30.0% to 20.0%" in text for text in found)
    assert any("Feed ads returned an ROI of -0.20" in text for text in found)
    assert any(text.startswith("3 anomaly alerts this week (1 critical): 2 sessions anomaly, 1 return anomaly")
               for text in found)
    assert found[-1] == "Pausing campaign c1 saved about 10."


def test_a_quiet_week_says_so():
    table = report.comparison({"gmv": 1000.0}, {"gmv": 1010.0}, {})
    empty = pd.DataFrame({"segment": [], "visited": [], "conversion": []})
    channels = pd.DataFrame({"channel": [], "name": [], "spend": [], "revenue": [], "roi": [], "roi_floor": []})
    anomalies = pd.DataFrame({"metric": [], "entity_id": [], "level": []})
    assert [str(text) for text in report.findings(table, empty, empty, channels, anomalies, [])] == [
        "Every figure is on target and within 10% of the week before."]


def test_effect_sentences_for_a_pause_and_a_replenishment():
    effects = pd.DataFrame([
        {"action_id": 1, "verb": "pause_campaign", "entity": "c1", "metric": "spend", "post_hours": 24,
         "effect": -3200.0, "lower": -3500.0, "upper": -2900.0},
        {"action_id": 1, "verb": "pause_campaign", "entity": "c1", "metric": "orders", "post_hours": 24,
         "effect": -40.0, "lower": -55.0, "upper": -25.0},
        {"action_id": 2, "verb": "replenish_sku", "entity": "S1 at W1", "metric": "units sold", "post_hours": 48,
         "effect": 120.0, "lower": 80.0, "upper": 160.0},
        {"action_id": 3, "verb": "replenish_sku", "entity": "S2 at W1", "metric": "units sold", "post_hours": 0,
         "effect": float("nan"), "lower": float("nan"), "upper": float("nan")},
    ])
    assert [str(text) for text in report.effect_sentences(effects)] == [
        "Pausing campaign c1 saved about 3,200 in spend for about 40 lost orders over 24 hours.",
        "Replenishing S1 at W1 added about 120 units sold over 48 hours against no replenishment "
        "(95% interval 80 to 160).",
    ]


def test_an_incomplete_week_before_is_not_compared():
    table = report.comparison({"gmv": 1200.0}, {"gmv": 400.0}, {}, previous_complete=False).set_index("key")
    assert table.loc["gmv", "previous_week"] == 400.0
    assert math.isnan(table.loc["gmv", "change"]) and table.loc["gmv", "better"] is None


def test_findings_are_phrases_whose_figures_the_report_can_format_in_either_language():
    this = {"gmv": 700.0, "stockout_rate": 0.05}
    before = {"gmv": 1000.0, "stockout_rate": 0.01}
    table = report.comparison(this, before, {"stockout_rate": report.Target(0.02, "max")})
    empty = pd.DataFrame({"segment": [], "visited": [], "conversion": []})
    channels = pd.DataFrame({"channel": [], "name": [], "spend": [], "revenue": [], "roi": [], "roi_floor": []})
    anomalies = pd.DataFrame({"metric": ["spend_anomaly"], "entity_id": ["c1"], "level": ["critical"]})
    missed, moved, alerts = report.findings(table, empty, empty, channels, anomalies, [])
    assert missed.template == "{label} missed its target: {value} against {target} (previous week {previous})."
    assert missed.values["value"] == report.Figure(0.05, "share")
    assert missed.values["target"] == report.Figure(0.02, "share", "max") and str(missed.values["target"]) == "≤ 2.0%"
    assert str(missed.values["label"]) == "Stock-out rate (SKU-days out)"
    # Words inside a sentence are phrases too, so they are translated with it.
    assert moved.values["direction"].template == "fell" and moved.values["value"] == report.Figure(700.0, "money")
    assert str(moved) == "GMV fell 30% to 700 (a move the wrong way)."
    assert str(alerts) == "1 anomaly alert this week (1 critical): 1 spend anomaly."


@pytest.mark.parametrize("figure, text", [
    (report.Figure(1234.5, "money"), "1,234"), (report.Figure(12.5, "money"), "12.50"),
    (report.Figure(12.5, "money", digits=0), "12"), (report.Figure(2.44, "days"), "2.4 days"),
    (report.Figure(0.95, "share", "min"), "≥ 95.0%"), (report.Figure(float("nan"), "ratio"), "–"),
])
def test_a_figure_reads_in_english_as_format_value_writes_it(figure, text):
    assert str(figure) == f"{figure}" == text


def test_the_comparison_keeps_each_target_as_a_number_and_a_bound():
    table = report.comparison({"on_time_rate": 0.9}, {}, {"on_time_rate": report.Target(0.95, "min")}).set_index("key")
    assert table.loc["on_time_rate", "target_limit"] == 0.95 and table.loc["on_time_rate", "target_kind"] == "min"
    assert math.isnan(table.loc["gmv", "target_limit"]) and table.loc["gmv", "target_kind"] == ""
