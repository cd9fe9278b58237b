"""Product 360 on a seeded incident shop, on SQLite and PostgreSQL: search, the figures against a
recount of the raw tables, and the incident's return spike with its dominant cause."""
import time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from cockpit import product
from cockpit.config import load_settings
from cockpit.db.engine import get_engine
from cockpit.db.schema import Order, OrderLine, Product, Return, Review, StockLevel
from cockpit.ingest.seed import seed_history
from cockpit.jobs import refresh
from cockpit.metrics.read import last_heartbeat
from cockpit.timebuckets import day_start_minute, local_day_of
from data import simulator

TZ = ZoneInfo("Asia/Shanghai")
DAYS, SEED = 10, 9


@pytest.fixture(scope="module")
def shop(module_db_url):
    """Ten days of an incident shop, five hours into the incident, then one live refresh (so
    the alert rules have run)."""
    now = int(time.time()) // 60
    seed_history(get_engine(module_db_url), days=DAYS, scenario="incident", seed=SEED, now_minute=now - 2, tz=TZ,
                 anchor_minute=now - 300, progress=False)
    refresh(load_settings({"COCKPIT_DB_URL": module_db_url, "COCKPIT_SOURCES": "simulator",
                           "COCKPIT_SCENARIO": "incident", "COCKPIT_SIM_SEED": str(SEED)}), now_ts=now * 60)
    catalog = simulator.build_catalog(SEED, ((now - 2) - DAYS * 1440) // 60 * 60)
    engine = get_engine(module_db_url)
    with engine.connect() as conn:
        data_minute = last_heartbeat(conn).data_minute_utc
    targets = simulator.incident_targets(catalog)
    return {"engine": engine, "data_minute": data_minute, "return_sku": targets["return_sku"],
            "stockout_sku": targets["stockout_sku"], "stockout_warehouse": targets["stockout_warehouse"]}


def test_search_finds_by_id_then_by_name_and_treats_input_as_text(shop):
    with shop["engine"].connect() as conn:
        sku, name = conn.execute(select(Product.sku, Product.name).order_by(Product.sku)).first()
        assert product.search(conn, sku.lower()).iloc[0]["sku"] == sku  # the exact ID first, any case
        word = name.split()[-2] if len(name.split()) > 2 else name.split()[0]
        found = product.search(conn, word)
        assert len(found) and found["name"].str.lower().str.contains(word.lower()).all()
        for hostile in ("' OR 1=1 --", "%", "_", "APP'); DROP TABLE products; --", "", "   ", "雪" * 300):
            assert product.search(conn, hostile).empty
        assert conn.execute(select(func.count()).select_from(Product)).scalar() > 0  # still there


def test_unknown_products_give_none(shop):
    with shop["engine"].connect() as conn:
        assert product.product_360(conn, "NO-SUCH-SKU", shop["data_minute"], TZ) is None


def test_the_figures_equal_a_recount_of_the_raw_tables(shop):
    sku, minute = shop["return_sku"], shop["data_minute"]
    with shop["engine"].connect() as conn:
        value = product.product_360(conn, sku, minute, TZ)
        start_ts = day_start_minute(local_day_of(minute, TZ) - 29, TZ) * 60
        end_ts = (minute + 1) * 60
        sold = conn.execute(select(func.coalesce(func.sum(OrderLine.qty), 0))
                            .join(Order, Order.order_id == OrderLine.order_id)
                            .where(OrderLine.sku == sku, Order.paid_ts_utc.is_not(None), Order.ts_utc >= start_ts,
                                   Order.ts_utc < end_ts)).scalar()
        by_reason = dict(conn.execute(select(Return.reason, func.sum(Return.qty))
                                      .where(Return.sku == sku, Return.ts_utc >= start_ts, Return.ts_utc < end_ts)
                                      .group_by(Return.reason)).all())
        on_hand = dict(conn.execute(select(StockLevel.warehouse_id, StockLevel.on_hand)
                                    .where(StockLevel.sku == sku)).all())
        ratings = conn.execute(select(Review.rating).where(Review.sku == sku, Review.ts_utc < end_ts,
                                                           Review.ts_utc >= start_ts - 335 * 86_400)).scalars().all()
    assert value["units_sold"] == sold > 0
    assert len(value["daily"]) == 30 and value["daily"]["units_sold"].sum() == sold
    breakdown = value["return_breakdown"].set_index("reason")["units"].to_dict()
    assert breakdown == {reason: int(units) for reason, units in by_reason.items()}
    assert dict(zip(value["stock"]["warehouse_id"], value["stock"]["on_hand"])) == on_hand
    assert value["mean_rating"] == pytest.approx(sum(ratings) / len(ratings)) if ratings else True
    assert value["returns_by_day"]["units"].sum() == sum(by_reason.values())


def test_the_incident_return_spike_shows_with_its_dominant_cause(shop):
    with shop["engine"].connect() as conn:
        value = product.product_360(conn, shop["return_sku"], shop["data_minute"], TZ)
        normal_sku = conn.execute(select(Product.sku).where(Product.sku != shop["return_sku"])
                                  .order_by(Product.sku)).scalar()
        normal = product.product_360(conn, normal_sku, shop["data_minute"], TZ)
    spike = value["return_spike"]
    assert spike.is_spike and spike.recent_units >= 10
    assert spike.dominant_group == "quality problem" and spike.dominant_share > 0.8
    assert not normal["return_spike"].is_spike
    per_day = value["returns_by_day"].groupby("day")["units"].sum()
    # The spike began five hours ago: today's bar, or yesterday's just after local midnight,
    # is the highest of the month.
    assert per_day.iloc[-2:].max() == per_day.max() > per_day.iloc[:-2].max()


def test_the_alert_history_holds_the_products_stock_alerts(shop):
    """The incident writes a best seller off in one warehouse: its stock alert is on its page."""
    sku, warehouse = shop["stockout_sku"], shop["stockout_warehouse"]
    with shop["engine"].connect() as conn:
        alerts = product.product_360(conn, sku, shop["data_minute"], TZ)["alerts"]
    assert (alerts["entity_id"] == f"{sku}|{warehouse}").any(), alerts
    assert set(alerts["entity_id"]) <= {sku} | {e for e in alerts["entity_id"] if e.startswith(f"{sku}|")}
