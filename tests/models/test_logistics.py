"""Logistics arithmetic on hand-checked rows: late parcels, cost split and share, returns by
channel, supplier lead time, on-time rate and fill rate."""
import math

import pandas as pd
import pytest

from models import logistics

NOW = 1_000_000
H = 3600


def test_late_parcels_and_the_in_flight_summary():
    in_flight = pd.DataFrame({"shipment_id": [1, 2, 3, 4], "order_id": [1, 2, 3, 4], "warehouse_id": "W",
                              "tier": "regional", "region": ["N", "N", "S", "S"], "carrier": "C",
                              "shipped_ts_utc": NOW - 50 * H,
                              "promised_ts_utc": [NOW - 2 * H, NOW - 10 * H, NOW + 5 * H, NOW + 30 * H]})
    late = logistics.late_parcels(in_flight, NOW)
    assert late["shipment_id"].tolist() == [2, 1] and late["hours_late"].tolist() == [10.0, 2.0]
    summary = logistics.in_flight_summary(in_flight, NOW).set_index("region")
    assert summary.loc["N"].tolist() == [2, 2, 0] and summary.loc["S"].tolist() == [2, 0, 1]


def test_cost_split_and_share():
    costs = pd.DataFrame({"tier": ["regional", "regional", "forward"], "region": ["N", "S", "N"],
                          "carrier": ["A", "B", "A"], "parcels": [10, 30, 10], "cost": [100.0, 200.0, 100.0]})
    by_carrier = logistics.cost_split(costs, 2000.0, "carrier").set_index("carrier")
    assert by_carrier.loc["B", "cost_per_parcel"] == pytest.approx(200 / 30)
    assert by_carrier.loc["A", "share_of_cost"] == pytest.approx(0.5)
    assert by_carrier.loc["A", "share_of_revenue"] == pytest.approx(0.1)
    assert logistics.cost_share(costs, 2000.0) == pytest.approx(0.2)
    assert math.isnan(logistics.cost_share(costs, 0.0))


def test_returns_by_channel():
    frame = pd.DataFrame({"channel": ["live", "app", "new"], "units_sold": [100, 200, 0],
                          "units_returned": [20, 10, 0], "resellable_units": [5, 9, 0], "refunds": [1.0, 2.0, 0.0]})
    out = logistics.channel_returns(frame).set_index("channel")
    assert list(out.index) == ["live", "app", "new"]
    assert out.loc["live", "return_rate"] == pytest.approx(0.2) and out.loc["live", "resold_share"] == pytest.approx(0.25)
    assert math.isnan(out.loc["new", "return_rate"])


def test_supplier_lead_time_on_time_and_fill_rate():
    day = 86_400
    orders = pd.DataFrame({
        "replenishment_id": ["a", "b", "c", "d"], "supplier_id": ["S1"] * 3 + ["S2"], "supplier": ["One"] * 3 + ["Two"],
        "sku": "X", "warehouse_id": "W", "qty": [100, 50, 10, 40],
        "qty_received": pd.array([90, 50, None, 40], dtype="Int64"),
        "status": ["received", "received", "open", "received"],
        "created_ts_utc": [0, 0, 0, 0], "expected_ts_utc": [5 * day, 5 * day, NOW - 1, 3 * day],
        "received_ts_utc": pd.array([4 * day, 7 * day, None, 2 * day], dtype="Int64"),
    })
    out = logistics.supplier_performance(orders, NOW).set_index("supplier_id")
    one = out.loc["S1"]
    assert (one["orders"], one["received"], one["open"], one["overdue"]) == (3, 2, 1, 1)
    assert one["lead_time_days"] == pytest.approx(5.5) and one["on_time_rate"] == pytest.approx(0.5)
    assert one["fill_rate"] == pytest.approx(140 / 150)
    assert out.index.tolist() == ["S1", "S2"]  # the lowest fill rate first


def test_fluctuating_regions():
    by_region = pd.DataFrame({"region": ["N", "N", "S"], "spread_days": [1.0, 2.5, 1.9]})
    assert logistics.fluctuating_regions(by_region) == ["N"]


def test_the_returns_flow_splits_back_on_sale_awaiting_and_scrapped():
    returns = pd.DataFrame({
        "return_id": [1, 2, 3, 4, 5], "channel": ["app"] * 5, "qty": [1, 2, 1, 3, 1],
        "ts_utc": [0, 3600, 7200, 0, 0], "resellable": [True, True, True, False, True],
        "back_on_sale_ts_utc": pd.array([36 * 3600, 3600 + 24 * 3600, None, None, 60 * 3600], dtype="Int64"),
    })
    flow = logistics.returns_flow(returns)
    assert flow["units_returned"] == 8 and flow["back_on_sale_units"] == 4
    assert flow["awaiting_units"] == 1 and flow["scrapped_units"] == 3
    assert flow["back_on_sale_share"] == pytest.approx(4 / 7) and flow["scrapped_share"] == pytest.approx(3 / 7)
    assert flow["hours_to_back_median"] == 36.0  # of 36, 24 and 60 hours


def test_an_empty_returns_flow_has_no_shares():
    empty = pd.DataFrame({"return_id": [], "channel": [], "qty": [], "ts_utc": [], "resellable": [],
                          "back_on_sale_ts_utc": pd.array([], dtype="Int64")})
    flow = logistics.returns_flow(empty)
    assert flow["units_returned"] == 0 and math.isnan(flow["back_on_sale_share"])
    assert math.isnan(flow["hours_to_back_median"])
