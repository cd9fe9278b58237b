"""Clearing a slow mover on a real database (SQLite and PostgreSQL): the demo's dead stock shows
as slow movers, a clearance is an audited, idempotent action that only an operator may start,
the simulated shop sells the SKU at the clearance price and far more of it, the effect is
measured, and ending it brings the list price back."""
from __future__ import annotations

from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from sqlalchemy import func, select

from cockpit import actions, assortment
from cockpit.action_effects import action_effects
from cockpit.config import load_settings
from cockpit.db.engine import get_engine
from cockpit.db.schema import ActionLog, Clearance, Order, OrderLine, Product
from cockpit.ingest.seed import seed_history
from cockpit.jobs import refresh
from cockpit.metrics.read import last_heartbeat
from data.catalog import product_traits
from tests.support.signin import ensure_users

TZ = ZoneInfo("Asia/Shanghai")
NOW_MINUTE = 1_795_000_000 // 60  # a fixed present (an evening in Shanghai)
HOURS_ON_SALE = 10


def units_and_prices(conn, sku: str, start_ts: int, end_ts: int) -> tuple[int, set[float]]:
    rows = conn.execute(
        select(OrderLine.qty, OrderLine.unit_price).join(Order, Order.order_id == OrderLine.order_id)
        .where(OrderLine.sku == sku, Order.ts_utc >= start_ts, Order.ts_utc < end_ts)
    ).all()
    return sum(int(q) for q, _ in rows), {round(float(p), 2) for _, p in rows}


@pytest.fixture
def shop(db_url):
    engine = get_engine(db_url)
    seed_history(engine, days=16, scenario="normal", seed=23, now_minute=NOW_MINUTE, tz=TZ, progress=False)
    ensure_users(engine, ops="operator", watcher="viewer")
    return engine


def test_a_clearance_sells_the_dead_stock_at_its_price_and_is_measured(shop, db_url):
    with shop.connect() as conn:
        minute = last_heartbeat(conn).data_minute_utc
        page = assortment.products_page(conn, minute, TZ)
        faded = set(product_traits(catalogue(conn)).query("faded")["sku"])
    slow = page["slow_movers"]
    assert page["slow_mover_share"] > 0 and len(slow) >= 3
    assert set(slow["sku"]) & faded, "the demo's faded SKUs are its slow movers"
    sku = slow.iloc[0]["sku"]
    now_ts = (minute + 1) * 60

    with shop.begin() as conn:
        token = actions.entity_state_token(conn, "sku", sku, now_ts)
        key = actions.intent_key("start_clearance", sku, token)
        denied = actions.start_clearance(conn, sku, "flash_sale", 30, 3, "watcher", key, now_ts, tz=TZ)
        bad = actions.start_clearance(conn, sku, "flash_sale", 95, 3, "ops", "bad-discount", now_ts, tz=TZ)
        done = actions.start_clearance(conn, sku, "flash_sale", 30, 3, "ops", key, now_ts, tz=TZ)
        again = actions.start_clearance(conn, sku, "flash_sale", 30, 3, "ops", key, now_ts, tz=TZ)
        second = actions.start_clearance(conn, sku, "community_clearance", 20, 5, "ops", "other-key", now_ts, tz=TZ)
        price = conn.execute(select(Product.price).where(Product.sku == sku)).scalar_one()
        audit = dict(conn.execute(select(ActionLog.result, func.count()).where(ActionLog.verb == "start_clearance")
                                  .group_by(ActionLog.result)).all())
        running = conn.execute(select(func.count()).select_from(Clearance)).scalar_one()
    assert denied.result == "refused" and "Not allowed" in denied.message
    assert bad.result == "refused" and "5 to 70 percent" in bad.message
    assert done.done and done.after["clearance"]["discount_pct"] == 30 and done.before["clearance"] is None
    assert again.duplicate and again.action_id == done.action_id
    assert second.result == "refused" and "already on flash sale" in second.message
    assert audit == {"done": 1, "refused": 3} and running == 1

    settings = load_settings({"COCKPIT_DB_URL": db_url, "COCKPIT_SOURCES": "simulator"})
    refresh(settings, now_ts=now_ts + HOURS_ON_SALE * 3600 + 3)
    with shop.connect() as conn:
        before_units, _ = units_and_prices(conn, sku, now_ts - 14 * 86_400, now_ts)
        on_sale_units, prices = units_and_prices(conn, sku, now_ts, now_ts + HOURS_ON_SALE * 3600)
        effects = action_effects(conn, last_heartbeat(conn).data_minute_utc, TZ, action_id=done.action_id)
        page = assortment.products_page(conn, last_heartbeat(conn).data_minute_utc, TZ)
    # Fourteen days sold next to nothing; ten hours on sale sell more than all of them.
    assert on_sale_units >= 5 and on_sale_units > 3 * max(before_units, 1)
    assert prices == {round(float(price) * 0.7, 2)}
    row = effects.iloc[0]
    assert row["verb"] == "start_clearance" and row["entity"] == sku and row["post_hours"] >= HOURS_ON_SALE - 1
    assert row["actual"] == on_sale_units - units_in_first_hour(shop, sku, now_ts)
    assert row["lower"] > 0, row["verdict"]
    assert "flash sale of " + sku in str(row["verdict"]) and "more units than it would have sold" in str(row["verdict"])
    shown = page["clearances"]
    assert list(shown["sku"]) == [sku] and bool(shown["running"].iloc[0])
    assert shown["effect"].iloc[0] == pytest.approx(row["effect"])

    end_ts = now_ts + HOURS_ON_SALE * 3600 + 60
    with shop.begin() as conn:
        ended = actions.end_clearance(conn, sku, "ops", "end-1", end_ts, tz=TZ)
        not_running = actions.end_clearance(conn, sku, "ops", "end-2", end_ts + 1, tz=TZ)
    assert ended.done and ended.after["clearance"] is None
    assert not_running.result == "refused" and "not on clearance" in not_running.message
    refresh(settings, now_ts=end_ts + 6 * 3600 + 3)
    with shop.connect() as conn:
        _, later_prices = units_and_prices(conn, sku, end_ts + 60, end_ts + 6 * 3600)
    assert later_prices <= {round(float(price), 2)}  # back at list price (if it sold at all)


def units_in_first_hour(engine, sku: str, now_ts: int) -> int:
    """Units sold in the partial hour the clearance started in: the effect leaves that hour out."""
    next_hour = -(-now_ts // 3600) * 3600
    with engine.connect() as conn:
        return units_and_prices(conn, sku, now_ts, next_hour)[0]


def catalogue(conn) -> pd.DataFrame:
    return pd.DataFrame(conn.execute(select(Product.sku, Product.category, Product.price)).all(),
                        columns=["sku", "category", "price"])
