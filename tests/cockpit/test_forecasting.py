"""Daily sales per shop-local day, and the scheduler's forecast job on a known weekly pattern."""
import time
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import insert

from cockpit import forecasting, snapshots
from cockpit.db.schema import AggSkuMinute, Product, RefreshRun
from cockpit.metrics.aggregate import rebuild_sku_days
from cockpit.metrics.sales import daily_sales, top_skus
from cockpit.timebuckets import day_start_minute

TZ = ZoneInfo("Asia/Shanghai")
TODAY = 20_400  # a shop-local day number (2025-11-09)
WEEKLY = [10, 12, 11, 13, 20, 30, 25]


def put_products(conn):
    conn.execute(insert(Product), [
        {"sku": sku, "name": sku, "category": category, "price": 10.0, "cost": 5.0, "supplier_id": None,
         "launched_ts_utc": 0}
        for sku, category in (("A1", "apparel"), ("A2", "apparel"), ("F1", "food"), ("NEW", "food"))
    ])


def put_sales(conn, rows):
    """rows: (local day, minute of the local day, sku, units)."""
    conn.execute(insert(AggSkuMinute), [
        {"minute_utc": day_start_minute(day, TZ) + minute, "sku": sku, "warehouse_id": "W1", "units_sold": units,
         "revenue": 10.0 * units, "units_returned": 0}
        for day, minute, sku, units in rows
    ])
    rebuild_sku_days(conn)


@pytest.fixture
def shop(engine):
    with engine.begin() as conn:
        put_products(conn)
        rows = []
        for back in range(1, 57):  # 8 weeks of complete days before today
            day = TODAY - back
            rows.append((day, 600, "A1", WEEKLY[day % 7]))
            rows.append((day, 700, "A2", 2))
            rows.append((day, 800, "F1", 5 + (day % 2)))
        rows += [(TODAY - back, 900, "NEW", 3) for back in range(1, 6)]  # launched five days ago
        rows.append((TODAY, 60, "A1", 999))  # today is incomplete: not in the history
        put_sales(conn, rows)
        conn.execute(insert(RefreshRun), {"started_ts_utc": time.time(), "finished_ts_utc": time.time(),
                                          "data_minute_utc": day_start_minute(TODAY, TZ) + 720, "duration_s": 0.1,
                                          "events_ingested": 1, "minutes_ingested": 1, "status": "ok", "message": ""})
    return engine


def test_daily_sales_sum_each_shop_local_day_and_fill_quiet_days(engine):
    with engine.begin() as conn:
        put_products(conn)
        # 23:50 local on day D and 00:10 local on D + 1 (both 15:50 / 16:10 UTC of D): two days.
        put_sales(conn, [(TODAY - 3, 23 * 60 + 50, "A1", 4), (TODAY - 2, 10, "A1", 6), (TODAY - 2, 20, "F1", 1)])
    with engine.connect() as conn:
        frame = daily_sales(conn, TODAY - 4, TODAY - 1, TZ, by="category")
        by_sku = daily_sales(conn, TODAY - 4, TODAY - 1, TZ, by="sku", skus=["F1"])
    apparel = frame[frame["key"] == "apparel"].set_index("day")["units"]
    assert apparel.tolist() == [0, 4, 6, 0]
    assert str(apparel.index[1].date()) == str((pd.Timestamp("1970-01-01") + pd.Timedelta(days=TODAY - 3)).date())
    assert frame["revenue"].sum() == pytest.approx(110.0)
    assert set(by_sku["key"]) == {"F1"} and by_sku["units"].sum() == 1


def test_the_forecast_job_learns_the_weekly_pattern_and_says_when_history_is_short(shop):
    with shop.connect() as conn:
        skus = top_skus(conn, day_start_minute(TODAY - 28, TZ), day_start_minute(TODAY, TZ))
        assert skus[:2] == ["A1", "F1"]
        value = forecasting.compute_forecasts(conn, day_start_minute(TODAY, TZ) + 720, TZ)
    scores = value["scores"].set_index(["kind", "key"])
    assert value["as_of_day"] == TODAY
    assert scores.loc[("sku", "A1"), "beats_baseline"] or scores.loc[("sku", "A1"), "mase"] < 0.05
    assert "season of 7" in str(scores.loc[("sku", "A1"), "model"])
    assert "Not enough history" in str(scores.loc[("sku", "NEW"), "verdict"])
    ahead = value["forecasts"]
    a1 = ahead[(ahead["kind"] == "sku") & (ahead["key"] == "A1")]
    assert len(a1) == forecasting.HORIZON_DAYS
    expected = [WEEKLY[day % 7] for day in range(TODAY, TODAY + forecasting.HORIZON_DAYS)]
    assert np.abs(a1["mean"].to_numpy() - expected).max() < 1.0
    assert (a1["lower"] >= 0).all() and (a1["lower"] <= a1["mean"]).all()
    history = value["history"]
    assert history[(history["key"] == "A1")]["units"].max() == 30  # today's 999 is not history


def test_published_forecasts_read_back_and_survive_an_action(shop):
    run = forecasting.publish_forecasts(shop, TZ)
    with shop.connect() as conn:
        assert run is not None and run.series == len(forecasting.compute_forecasts(conn, run.data_minute, TZ)["scores"])
    with shop.begin() as conn:
        snapshots.forget_all(conn)  # what an action does
    with shop.connect() as conn:
        minute, value = forecasting.latest_forecasts(conn, TZ)
    assert minute == run.data_minute
    assert set(value["scores"]["key"]) >= {"apparel", "food", "A1"}


def test_a_skus_forecast_feeds_replenishment_only_while_it_is_fresh(shop):
    from cockpit import actions

    run = forecasting.publish_forecasts(shop, TZ)
    now = run.data_minute
    with shop.connect() as conn:
        ahead = forecasting.sku_forecast(conn, "A1", TZ, now)
        stale = forecasting.sku_forecast(conn, "A1", TZ, now + forecasting.MAX_FORECAST_AGE_MINUTES + 1)
        unknown = forecasting.sku_forecast(conn, "NOT-A-SKU", TZ, now)
        _, value = forecasting.latest_forecasts(conn, TZ)
    published = value["forecasts"]
    expected = published[(published["kind"] == "sku") & (published["key"] == "A1")]
    assert list(ahead.columns) == ["day", "mean", "lower", "upper"]
    assert len(ahead) == len(expected) == forecasting.HORIZON_DAYS  # today is the first forecast day
    np.testing.assert_allclose(ahead["mean"].to_numpy(), expected["mean"].to_numpy())
    assert stale is None and unknown is None
    assert actions.SERVICE_Z == 1.65
