"""The Logistics & supply figures on a seeded shop, on SQLite and PostgreSQL, against a recount
of the raw tables."""
import time
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from sqlalchemy import func, select

from cockpit import logistics
from cockpit.db.engine import get_engine
from cockpit.db.schema import Order, OrderLine, Product, ReplenishmentOrder, Return, Shipment, StockMovement
from cockpit.ingest.seed import seed_history
from cockpit.metrics.read import last_heartbeat
from cockpit.timebuckets import day_start_minute, local_day_of

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def shop(module_db_url):
    engine = get_engine(module_db_url)
    seed_history(engine, days=9, scenario="normal", seed=17, now_minute=int(time.time()) // 60, tz=TZ, progress=False)
    with engine.connect() as conn:
        minute = last_heartbeat(conn).data_minute_utc
        value = logistics.logistics_page(conn, minute, TZ, 7)
    start_ts = day_start_minute(local_day_of(minute, TZ) - 6, TZ) * 60
    return {"engine": engine, "minute": minute, "value": value, "start_ts": start_ts, "end_ts": (minute + 1) * 60}


def test_delivery_and_cost_figures_equal_a_recount(shop):
    value, start_ts, end_ts = shop["value"], shop["start_ts"], shop["end_ts"]
    with shop["engine"].connect() as conn:
        delivered = pd.DataFrame(conn.execute(
            select(Shipment.delivered_ts_utc, Shipment.promised_ts_utc)
            .join(Order, Order.order_id == Shipment.order_id)
            .where(Shipment.delivered_ts_utc >= start_ts, Shipment.delivered_ts_utc < end_ts,
                   Order.paid_ts_utc.is_not(None))).all(), columns=["delivered", "promised"])
        cost = conn.execute(select(func.sum(Shipment.cost)).where(Shipment.shipped_ts_utc >= start_ts,
                                                                  Shipment.shipped_ts_utc < end_ts)).scalar()
        in_flight = conn.execute(select(func.count()).select_from(Shipment).where(
            Shipment.shipped_ts_utc < end_ts,
            Shipment.delivered_ts_utc.is_(None) | (Shipment.delivered_ts_utc >= end_ts))).scalar()
        late = conn.execute(select(func.count()).select_from(Shipment).where(
            Shipment.shipped_ts_utc < end_ts, Shipment.promised_ts_utc < end_ts,
            Shipment.delivered_ts_utc.is_(None) | (Shipment.delivered_ts_utc >= end_ts))).scalar()
    assert value["delivery"]["parcels"] == len(delivered) > 500
    assert value["delivery"]["on_time_rate"] == pytest.approx((delivered["delivered"] <= delivered["promised"]).mean())
    assert value["delivery_by_region"]["parcels"].sum() == len(delivered)
    assert value["cost_by_tier"]["cost"].sum() == pytest.approx(float(cost))
    assert value["cost_share"] == pytest.approx(float(cost) / value["revenue"])
    for split in ("cost_by_carrier", "cost_by_region"):
        assert value[split]["share_of_cost"].sum() == pytest.approx(1.0)
    assert value["in_flight"] == in_flight and len(value["late"]) == late


def test_returns_by_channel_equal_a_recount(shop):
    start_ts, end_ts = shop["start_ts"], shop["end_ts"]
    with shop["engine"].connect() as conn:
        returned = dict(conn.execute(select(Order.channel, func.sum(Return.qty))
                                     .join(Order, Order.order_id == Return.order_id)
                                     .where(Return.ts_utc >= start_ts, Return.ts_utc < end_ts)
                                     .group_by(Order.channel)).all())
        sold = dict(conn.execute(select(Order.channel, func.sum(OrderLine.qty))
                                 .join(OrderLine, OrderLine.order_id == Order.order_id)
                                 .where(Order.ts_utc >= start_ts, Order.ts_utc < end_ts, Order.paid_ts_utc.is_not(None))
                                 .group_by(Order.channel)).all())
    table = shop["value"]["returns_by_channel"].set_index("channel")
    assert {c: int(u) for c, u in table["units_returned"].items() if u} == {c: int(u) for c, u in returned.items()}
    assert {c: int(u) for c, u in table["units_sold"].items() if u} == {c: int(u) for c, u in sold.items()}
    live = table.loc["live_stream"]
    assert live["return_rate"] == pytest.approx(live["units_returned"] / live["units_sold"])
    assert (table["resold_share"].dropna().between(0, 1)).all()


def test_the_returns_flow_equals_a_recount_of_returns_and_their_restocking(shop):
    """A resellable return is back on sale when the returns centre's stock movement for it is
    booked (after inspection); the figures are recounted from returns and stock_movements."""
    start_ts, end_ts = shop["start_ts"], shop["end_ts"]
    with shop["engine"].connect() as conn:
        returns = pd.DataFrame(conn.execute(
            select(Return.return_id, Return.qty, Return.ts_utc, Return.resellable)
            .where(Return.ts_utc >= start_ts, Return.ts_utc < end_ts)).all(),
            columns=["return_id", "qty", "ts_utc", "resellable"])
        moves = pd.DataFrame(conn.execute(
            select(StockMovement.ref_id, StockMovement.ts_utc, StockMovement.qty_delta)
            .where(StockMovement.reason == "return", StockMovement.ts_utc < end_ts)).all(),
            columns=["ref_id", "back_ts", "qty_delta"])
    moves["return_id"] = moves["ref_id"].astype("int64")
    both = returns.merge(moves, on="return_id", how="left")
    back = both[both["back_ts"].notna() & both["resellable"].astype(bool)]
    flow = shop["value"]["returns_flow"]
    assert flow["units_returned"] == int(returns["qty"].sum()) > 20
    assert flow["back_on_sale_units"] == int(back["qty"].sum()) > 0
    assert (back["qty_delta"] == back["qty"]).all()
    assert flow["scrapped_units"] == int(returns.loc[~returns["resellable"].astype(bool), "qty"].sum()) > 0
    assert flow["awaiting_units"] == flow["units_returned"] - flow["back_on_sale_units"] - flow["scrapped_units"]
    hours = (back["back_ts"] - back["ts_utc"]) / 3600
    assert flow["hours_to_back_median"] == pytest.approx(hours.median())
    assert 12 <= hours.min() and hours.max() <= 24 * 5.5  # inspection: half a day to four days (+1 for quality)
    assert flow["back_on_sale_share"] == pytest.approx(
        flow["back_on_sale_units"] / (flow["back_on_sale_units"] + flow["scrapped_units"]))


def test_supplier_fill_rate_and_lead_time_equal_a_recount(shop):
    with shop["engine"].connect() as conn:
        rows = pd.DataFrame(conn.execute(
            select(Product.supplier_id, ReplenishmentOrder.qty, ReplenishmentOrder.qty_received,
                   ReplenishmentOrder.created_ts_utc, ReplenishmentOrder.received_ts_utc)
            .join(Product, Product.sku == ReplenishmentOrder.sku)
            .where(ReplenishmentOrder.status == "received")).all(),
            columns=["supplier_id", "qty", "qty_received", "created", "received"])
    assert len(rows) > 10
    suppliers = shop["value"]["suppliers"].set_index("supplier_id")
    for supplier_id, group in rows.groupby("supplier_id"):
        assert suppliers.loc[supplier_id, "fill_rate"] == pytest.approx(group["qty_received"].sum() / group["qty"].sum())
        assert suppliers.loc[supplier_id, "lead_time_days"] == pytest.approx(
            ((group["received"] - group["created"]) / 86_400).median())
        assert suppliers.loc[supplier_id, "received"] == len(group)
