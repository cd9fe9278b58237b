"""The attribution job on a seeded shop: every model credits exactly the period's paid orders,
campaigns' new vs returning split matches the raw orders, and the value survives publishing."""
from __future__ import annotations

from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from sqlalchemy import func, select

from cockpit import attribution
from cockpit.db.engine import get_engine
from cockpit.db.schema import Order
from cockpit.ingest.seed import seed_history
from cockpit.metrics.read import last_heartbeat
from models.attribution import MODELS

TZ = ZoneInfo("Asia/Shanghai")
T0 = 1_795_000_000 // 60


@pytest.fixture(scope="module")
def shop(module_db_url):
    engine = get_engine(module_db_url)
    seed_history(engine, days=3, scenario="normal", seed=5, now_minute=T0, tz=TZ, progress=False)
    return engine


def test_every_model_credits_exactly_the_periods_paid_orders_and_revenue(shop):
    with shop.connect() as conn:
        data_minute = last_heartbeat(conn).data_minute_utc
        # Three seeded days: the whole shop lies inside the 30-day period.
        value = attribution.compute_attribution(conn, data_minute, TZ)
        start = value["start_minute"] * 60
        paid = conn.execute(select(func.count(), func.sum(Order.amount)).where(
            Order.paid_ts_utc.is_not(None), Order.ts_utc >= start, Order.ts_utc < (data_minute + 1) * 60)).one()
    assert value["orders"] == paid[0] > 100
    totals = value["credit"].groupby("model")[["conversions", "revenue"]].sum()
    assert set(totals.index) == set(MODELS)
    for model in MODELS:
        assert totals.loc[model, "conversions"] == pytest.approx(paid[0]), model
        assert totals.loc[model, "revenue"] == pytest.approx(paid[1]), model
    # ROI appears only where the channel spent.
    credit = value["credit"]
    assert credit.loc[credit["spend"] == 0, "roi"].isna().all()
    assert credit.loc[credit["spend"] > 0, "roi"].notna().all()


def test_campaigns_split_into_new_and_returning_customers_as_the_raw_orders_say(shop):
    with shop.connect() as conn:
        data_minute = last_heartbeat(conn).data_minute_utc
        value = attribution.compute_attribution(conn, data_minute, TZ)
        end = (data_minute + 1) * 60
        orders = pd.DataFrame(conn.execute(select(Order.customer_id, Order.ts_utc, Order.amount, Order.campaign_id)
                                           .where(Order.paid_ts_utc.is_not(None), Order.ts_utc < end)).all(),
                              columns=["customer_id", "ts_utc", "amount", "campaign_id"])
    first = orders.groupby("customer_id")["ts_utc"].min()
    period = orders[(orders["ts_utc"] >= value["start_minute"] * 60) & orders["campaign_id"].notna()]
    is_new = period["ts_utc"].to_numpy() <= period["customer_id"].map(first).to_numpy()
    expected = period.assign(new=is_new).groupby(["campaign_id", "new"])["amount"].agg(["size", "sum"])
    campaigns = value["campaigns"].set_index("campaign_id")
    for (campaign_id, new), row in expected.iterrows():
        prefix = "new" if new else "returning"
        assert campaigns.loc[campaign_id, f"orders_{prefix}"] == row["size"]
        assert campaigns.loc[campaign_id, f"revenue_{prefix}"] == pytest.approx(row["sum"])
    both = campaigns[campaigns["spend"] > 0].iloc[0]
    assert both["roi"] == pytest.approx((both["revenue_new"] + both["revenue_returning"] - both["spend"]) / both["spend"])
    assert both["roi_new_only"] == pytest.approx((both["revenue_new"] - both["spend"]) / both["spend"])


def test_the_published_attribution_reads_back_equal(shop):
    run = attribution.publish_attribution(shop, TZ)
    with shop.connect() as conn:
        minute, value = attribution.latest_attribution(conn, TZ)
        again = attribution.compute_attribution(conn, minute, TZ)
    assert minute == run.data_minute and value["orders"] == run.orders
    pd.testing.assert_frame_equal(value["credit"], again["credit"])
    pd.testing.assert_frame_equal(value["campaigns"], again["campaigns"])
