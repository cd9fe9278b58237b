"""The Products page's figures on a seeded shop, on SQLite and PostgreSQL, against a recount of
the raw tables; and the page itself (AppTest)."""
import re
import time
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from sqlalchemy import func, select

from cockpit import assortment
from cockpit.db.engine import get_engine
from cockpit.db.schema import Clearance, Order, OrderLine, Product, StockLevel
from cockpit.ingest.seed import seed_history
from cockpit.metrics.read import last_heartbeat
from tests.pages.test_pages import app_for

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def shop(module_db_url):
    engine = get_engine(module_db_url)
    seed_history(engine, days=12, scenario="normal", seed=13, now_minute=int(time.time()) // 60, tz=TZ, progress=False)
    with engine.connect() as conn:
        minute = last_heartbeat(conn).data_minute_utc
        value = assortment.products_page(conn, minute, TZ)
    return {"url": module_db_url, "engine": engine, "minute": minute, "value": value}


def test_stock_figures_equal_a_recount(shop):
    now_ts = (shop["minute"] + 1) * 60
    with shop["engine"].connect() as conn:
        levels = pd.DataFrame(conn.execute(
            select(StockLevel.sku, Product.category, StockLevel.on_hand)
            .join(Product, Product.sku == StockLevel.sku).where(Product.launched_ts_utc < now_ts)).all(),
            columns=["sku", "category", "on_hand"])
    value = shop["value"]
    assert value["stockout_rate"] == pytest.approx((levels["on_hand"] <= 0).mean())
    on_hand = levels.assign(on_hand=levels["on_hand"].clip(lower=0)).groupby("category")["on_hand"].sum()
    assert value["categories"].set_index("category")["on_hand"].to_dict() == {k: int(v) for k, v in on_hand.items()}
    assert value["categories"]["skus"].sum() == levels["sku"].nunique()


def test_new_products_and_their_sales_since_launch(shop):
    now_ts = (shop["minute"] + 1) * 60
    new = shop["value"]["new_products"]
    with shop["engine"].connect() as conn:
        launched = dict(conn.execute(select(Product.sku, Product.launched_ts_utc).where(
            Product.launched_ts_utc >= now_ts - assortment.NEW_PRODUCT_DAYS * 86_400,
            Product.launched_ts_utc < now_ts)).all())
        assert set(new["sku"]) == set(launched) and len(launched) > 0
        for row in new.itertuples():
            sold = conn.execute(select(func.coalesce(func.sum(OrderLine.qty), 0))
                                .join(Order, Order.order_id == OrderLine.order_id)
                                .where(OrderLine.sku == row.sku, Order.paid_ts_utc.is_not(None),
                                       Order.ts_utc < now_ts)).scalar()
            assert row.units_since_launch == sold, row.sku
    assert set(new["status"]) <= {"succeeded", "failed", "incubating"}


def test_price_bands_cover_every_product(shop):
    bands = shop["value"]["price_bands"]
    with shop["engine"].connect() as conn:
        launched = conn.execute(select(func.count()).select_from(Product).where(
            Product.launched_ts_utc < (shop["minute"] + 1) * 60)).scalar()
    assert bands["skus"].sum() == launched
    shares = bands.groupby("category")["unit_share"].sum()
    assert ((shares - 1).abs() < 1e-9).all()


def test_the_page_shows_the_figures(shop, monkeypatch):
    at = app_for(shop["url"], monkeypatch, "pages/15_products.py")
    assert not at.exception
    assert [h.value for h in at.subheader] == ["Turnover and stock-outs by category", "Slow movers", "New products",
                                               "Price bands", "Rising searches"]
    # Twelve days cannot fill two 30-day periods: the page says so.
    assert any(re.search(r"The data holds 1[0-2] of the 60 days", c.value) for c in at.caption)
    tiles = {m.label: m.value for m in at.metric}
    assert tiles["Slow movers"].endswith("%") and any(label.startswith("Stock-out rate") for label in tiles)


def test_an_operator_starts_a_clearance_from_the_page_and_a_viewer_cannot(shop, monkeypatch):
    slow = shop["value"]["slow_movers"]
    assert len(slow) > 0, "the demo's dead stock shows as slow movers"
    sku = slow["sku"].iloc[-1]
    viewer = app_for(shop["url"], monkeypatch, "pages/15_products.py", user="vera", role="viewer")
    assert not viewer.exception
    assert not [s for s in viewer.selectbox if s.key == "products_clear_sku"]
    at = app_for(shop["url"], monkeypatch, "pages/15_products.py", user="olga", role="operator")
    at.selectbox(key="products_clear_sku").set_value(sku)
    at.selectbox(key="products_clear_kind").set_value("community_clearance")
    at.slider(key="products_clear_pct").set_value(25)
    at.number_input(key="products_clear_days").set_value(4)
    next(b for b in at.button if b.label == "Start clearance…").click().run()
    assert not at.exception, at.exception
    at.button(key="clearance_confirm").click().run()
    assert not at.exception, at.exception
    assert any(s.value.startswith(f"Done: Community clearance of {sku}") and "25% off" in s.value for s in at.success), (
        [s.value for s in at.success], [w.value for w in at.warning], [i.value for i in at.info], [e.value for e in at.error])
    with shop["engine"].connect() as conn:
        rows = conn.execute(select(Clearance.sku, Clearance.kind, Clearance.discount_pct, Clearance.end_ts_utc
                                   - Clearance.start_ts_utc, Clearance.created_by)).all()
    assert [tuple(r) for r in rows] == [(sku, "community_clearance", 25.0, 4 * 86_400, "olga")]
    assert "Clearances" in [h.value for h in at.subheader]
    assert at.button(key=f"products_end_{1}").label == f"End the clearance of {sku}"
