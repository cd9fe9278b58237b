"""Assortment arithmetic on hand-checked rows: turnover and stock-outs per category, slow
movers at SKU level, new products' incubation, price bands and price competition."""

import numpy as np
import pandas as pd
import pytest

from models import assortment

NOW = 10_000_000
DAY = 86_400


def stock_rows(rows):
    """rows: (sku, category, warehouse, on_hand, units_sold_30d, days_since_last_sale, is_slow_mover)."""
    frame = pd.DataFrame(rows, columns=["sku", "category", "warehouse_id", "on_hand", "units_sold_30d",
                                        "days_since_last_sale", "is_slow_mover"])
    return frame.assign(name=frame["sku"] + " name", is_stocked_out=frame["on_hand"] <= 0)


def test_category_turnover_stock_outs_and_slow_movers():
    stock = stock_rows([
        ("A", "c", "W1", 30, 30, 1.0, False), ("A", "c", "W2", 0, 0, np.inf, False),
        ("B", "c", "W1", 20, 0, np.inf, True), ("B", "c", "W2", 10, 0, np.inf, True),
        ("C", "d", "W1", 5, 0, 20.0, True), ("C", "d", "W2", 0, 15, 2.0, False),  # sold in W2: not slow
    ])
    table = assortment.category_stock(stock, 14).set_index("category")
    assert table.loc["c", "turnover_days"] == pytest.approx(60 / (30 / 30))
    assert table.loc["c", "stockout_rate"] == pytest.approx(0.25)
    assert table.loc["c", "slow_mover_share"] == pytest.approx(0.5)  # B of A, B
    assert table.loc["d", "slow_mover_share"] == 0.0
    assert assortment.slow_mover_share(stock, 14) == pytest.approx(1 / 3)
    slow = assortment.slow_movers(stock, 14)
    assert slow["sku"].tolist() == ["B"] and slow["on_hand"].tolist() == [30]
    assert slow["suggestion"].tolist() == ["flash_sale"]


def test_new_products_incubation():
    catalogue = pd.DataFrame({
        "sku": ["old1", "old2", "new_ok", "new_bad", "new_young"], "name": "x",
        "category": ["c", "c", "c", "c", "c"], "price": 10.0, "cost": 5.0,
        "launched_ts_utc": [NOW - 400 * DAY, NOW - 300 * DAY, NOW - 40 * DAY, NOW - 35 * DAY, NOW - 3 * DAY],
        "units_sold": [56, 112, 0, 0, 0], "revenue": 0.0,
    })
    # The category's usual pace: median of 56 and 112 over 28 days = 3 a day; half of it is 1.5.
    hours = pd.DataFrame({
        "sku": ["new_ok", "new_ok", "new_bad", "new_young"],
        "hour_utc": [(NOW - 39 * DAY) // 3600, (NOW - 2 * DAY) // 3600, (NOW - 30 * DAY) // 3600,
                     (NOW - 2 * DAY) // 3600],
        "units_sold": [56, 10, 20, 9],
    })
    on_hand = pd.Series({"new_ok": 34, "new_bad": 80, "new_young": 1})
    new = assortment.new_products(catalogue, hours, on_hand, NOW, 60).set_index("sku")
    assert set(new.index) == {"new_ok", "new_bad", "new_young"}
    assert new.loc["new_ok", "category_per_day"] == pytest.approx(3.0)
    assert new.loc["new_ok", "first_weeks_per_day"] == pytest.approx(56 / 28)  # the later 10 are after week 4
    assert new.loc["new_ok", "status"] == "succeeded" and new.loc["new_bad", "status"] == "failed"
    assert new.loc["new_young", "status"] == "incubating"
    assert new.loc["new_ok", "sell_through"] == pytest.approx(66 / 100)
    assert assortment.incubation_success_rate(new.reset_index()) == pytest.approx(0.5)


def test_price_bands_and_price_competition():
    catalogue = pd.DataFrame({
        "sku": list("abcdefgh"), "name": "x", "category": ["cheap"] * 4 + ["fine"] * 4,
        "price": [10.0, 20.0, 30.0, 40.0] * 2, "cost": [9.5, 10.0, 15.0, 20.0, 5.0, 10.0, 15.0, 20.0],
        "launched_ts_utc": 0, "units_sold": [90, 5, 3, 2, 10, 10, 10, 10], "revenue": 0.0,
    })
    bands = assortment.price_bands(catalogue)
    cheap = bands[bands["category"] == "cheap"].set_index("band")
    assert list(cheap.index) == list(assortment.BANDS)
    assert cheap.loc["entry", "unit_share"] == pytest.approx(0.9)
    assert cheap.loc["entry", "margin"] == pytest.approx(0.05)
    assert assortment.price_competition(bands) == ["cheap"]
