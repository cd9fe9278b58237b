"""The simulator as an event source: seeding history, and each refresh's new minutes.

The simulator (data/simulator.py) is pure; this module gives it its state from the database,
parks events dated after the ingested minute (deliveries, returns, reviews) in sim_outbox,
and releases them when their minute comes.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Connection, and_, delete, func, insert, or_, select

from cockpit.db.dialect import insert_ignore
from cockpit.db.frames import to_frame
from cockpit.db.schema import (
    Campaign,
    Clearance,
    Customer,
    IngestWatermark,
    Order,
    OrderLine,
    Return,
    ReplenishmentOrder,
    ServiceContact,
    SimOutbox,
    StockLevel,
    TABLES,
)
from cockpit.ingest.writer import TIME_COLUMNS, records
from cockpit.promotions import record_promotions
from data import simulator

SOURCE = "simulator"
REFERENCE_FRAMES = ("suppliers", "products", "warehouses", "channels", "campaigns", "experiments", "stock_levels")
STATE_STOCK_COLUMNS = ["sku", "warehouse_id", "on_hand", "safety_stock", "reorder_point", "lead_time_days"]


@dataclass(frozen=True)
class SimParams:
    """What makes the simulated shop the same world from seed to live mode."""

    seed: int
    scenario: str
    anchor_minute: int
    history_start_minute: int

    def to_json(self) -> str:
        return json.dumps(self.__dict__)

    @classmethod
    def from_json(cls, text: str) -> "SimParams":
        return cls(**json.loads(text))

    @property
    def scenario_obj(self) -> simulator.Scenario:
        return simulator.Scenario(name=self.scenario, anchor_minute=self.anchor_minute)


def read_watermark(conn: Connection) -> tuple[int, SimParams] | None:
    row = conn.execute(
        select(IngestWatermark.minute_utc, IngestWatermark.params_json).where(IngestWatermark.source == SOURCE)
    ).first()
    return (int(row[0]), SimParams.from_json(row[1])) if row else None


def write_watermark(conn: Connection, minute: int, params: SimParams) -> None:
    table = IngestWatermark.__table__
    conn.execute(delete(table).where(table.c.source == SOURCE))
    conn.execute(insert(table).values(source=SOURCE, minute_utc=minute, params_json=params.to_json()))


def write_catalog(conn: Connection, catalog: simulator.Catalog, scenario: simulator.Scenario | None = None) -> None:
    """Reference data (products, warehouses, channels, campaigns...) and initial stock, and
    with a scenario its promotions calendar."""
    for name in REFERENCE_FRAMES:
        frame: pd.DataFrame = getattr(catalog, name)
        table = TABLES[name]
        columns = [c.name for c in table.columns if c.name in frame.columns]
        conn.execute(insert_ignore(conn, table), records(frame, columns))
    if scenario is not None:
        # Dated at the catalog's start (its stock count), not the clock: a seed writes the same rows each time.
        record_promotions(conn, simulator.promotions(scenario),
                          now_ts=int(catalog.stock_levels["updated_ts_utc"].min()))


def _incident_deliveries(conn: Connection, catalog: simulator.Catalog, scenario: simulator.Scenario):
    """What the incident's wave of early returns draws from: the delivered, not yet returned
    lines of its SKU from the two weeks before the anchor (see simulator.recent_deliveries)."""
    sku = simulator.incident_targets(catalog)["return_sku"]
    lo = (scenario.anchor_minute - simulator.INCIDENT_RETURN_LOOKBACK_DAYS * 1440) * 60
    hi = scenario.anchor_minute * 60
    lines = to_frame(
        conn.execute(
            select(Order.order_id, OrderLine.sku, OrderLine.qty, OrderLine.unit_price, Order.status, Order.amount,
                   Order.discount, Order.delivered_ts_utc)
            .join(Order, Order.order_id == OrderLine.order_id)
            .where(OrderLine.sku == sku, Order.ts_utc >= lo, Order.ts_utc < hi)
        ).all(),
        ["order_id", "sku", "qty", "unit_price", "status", "amount", "discount", "delivered_ts_utc"],
    )
    returns = to_frame(
        conn.execute(select(Return.order_id, Return.sku).where(Return.sku == sku, Return.order_id.in_(
            select(Order.order_id).where(Order.ts_utc >= lo, Order.ts_utc < hi)))).all(),
        ["order_id", "sku"],
    )
    orders = lines[["order_id", "status", "amount", "discount"]].drop_duplicates("order_id")
    delivered = lines.loc[lines["delivered_ts_utc"].notna(), ["order_id", "delivered_ts_utc"]].drop_duplicates("order_id")
    return simulator.recent_deliveries(
        catalog, scenario, orders, lines[["order_id", "sku", "qty", "unit_price"]], delivered, returns
    )


def _lost_customers(conn: Connection, seed: int) -> pd.DataFrame:
    """Whom the simulated service lost (simulator.lost_customers), from the stored contacts
    that can lose a customer: the unresolved ones and a person's slow first responses."""
    slow_s = simulator.SERVICE_TRUE_EFFECTS["slow_response_s"]
    columns = ["contact_id", "customer_id", "ts_utc", "resolved", "handled_by", "first_response_s"]
    contacts = to_frame(
        conn.execute(
            select(*[ServiceContact.__table__.c[c] for c in columns]).where(or_(
                ServiceContact.resolved.is_(False),
                and_(ServiceContact.handled_by == "human", ServiceContact.first_response_s > slow_s)))
        ).all(),
        columns,
    )
    return simulator.lost_customers(contacts, seed)


def load_state(
    conn: Connection,
    cache: dict | None = None,
    catalog: simulator.Catalog | None = None,
    scenario: simulator.Scenario | None = None,
    seed: int | None = None,
) -> simulator.SimState:
    """The simulator's view of the shop, read from the database.

    Customers only grow, so a per-process cache keyed by their count saves re-reading
    tens of thousands of rows every minute. With the incident scenario (and its catalog),
    the deliveries its early returns draw from are read too; with the seed, the customers
    the simulated service lost (from the stored contacts)."""
    count = conn.execute(select(func.count()).select_from(Customer)).scalar()
    if cache is not None and cache.get("customer_count") == count:
        customers = cache["customers"]
    else:
        customers = to_frame(
            conn.execute(
                select(Customer.customer_id, Customer.created_ts_utc, Customer.region, Customer.acquisition_channel)
            ).all(),
            ["customer_id", "created_ts_utc", "region", "acquisition_channel"],
        ).astype({"customer_id": "int64", "created_ts_utc": "int64"})
        if cache is not None:
            cache.update(customer_count=count, customers=customers)
    stock = pd.DataFrame(
        conn.execute(select(*[StockLevel.__table__.c[c] for c in STATE_STOCK_COLUMNS])).all(),
        columns=STATE_STOCK_COLUMNS,
    )
    open_replenishments = pd.DataFrame(
        conn.execute(
            select(
                ReplenishmentOrder.replenishment_id, ReplenishmentOrder.sku, ReplenishmentOrder.warehouse_id,
                ReplenishmentOrder.qty, ReplenishmentOrder.created_ts_utc, ReplenishmentOrder.expected_ts_utc,
            ).where(ReplenishmentOrder.status == "open")
        ).all(),
        columns=["replenishment_id", "sku", "warehouse_id", "qty", "created_ts_utc", "expected_ts_utc"],
    )
    paused = frozenset(conn.execute(select(Campaign.campaign_id).where(Campaign.status == "paused")).scalars())
    recent = None
    if scenario is not None and catalog is not None and scenario.name == "incident":
        recent = _incident_deliveries(conn, catalog, scenario)
    return simulator.SimState(
        customers=customers, stock=stock, open_replenishments=open_replenishments, paused_campaigns=paused,
        recent_deliveries=recent, lost_customers=None if seed is None else _cached_lost_customers(conn, seed, cache),
        clearances=_clearances(conn),
    )


def _clearances(conn: Connection) -> pd.DataFrame | None:
    """The clearances the team started that have not ended before the ingested minute (the
    simulator prices and sells their SKUs accordingly); None when there are none."""
    mark = read_watermark(conn)
    since = 0 if mark is None else mark[0] * 60
    rows = conn.execute(
        select(Clearance.sku, Clearance.kind, Clearance.discount_pct, Clearance.start_ts_utc, Clearance.end_ts_utc)
        .where(Clearance.end_ts_utc > since)
    ).all()
    if not rows:
        return None
    return pd.DataFrame(rows, columns=list(simulator.CLEARANCE_COLUMNS)).astype(
        {"discount_pct": "float64", "start_ts_utc": "int64", "end_ts_utc": "int64"})


def _cached_lost_customers(conn: Connection, seed: int, cache: dict | None) -> pd.DataFrame:
    """_lost_customers, re-read only when contacts were added: the table is insert-only, so an
    unchanged count and newest id mean an unchanged set (most minutes bring no contact, and
    the read grows with the shop's history)."""
    if cache is None:
        return _lost_customers(conn, seed)
    key = (seed, *conn.execute(select(func.count(), func.max(ServiceContact.contact_id))).one())
    if cache.get("lost_key") != key:
        cache.update(lost_key=key, lost=_lost_customers(conn, seed))
    return cache["lost"]


def hour_windows(start: int, end: int) -> list[tuple[int, int]]:
    """[start, end) cut at whole hours, so a long catch-up is simulated in hour-sized steps."""
    windows = []
    while start < end:
        stop = min(end, (start // 60 + 1) * 60)
        windows.append((start, stop))
        start = stop
    return windows


def split_due(frames: dict[str, pd.DataFrame], end_minute: int) -> tuple[dict[str, pd.DataFrame], list[dict]]:
    """Split frames into rows dated before end_minute and outbox rows for the rest."""
    due: dict[str, pd.DataFrame] = {}
    parked: list[dict] = []
    end_ts = end_minute * 60
    for name, frame in frames.items():
        column = TIME_COLUMNS.get(name)
        if frame.empty or column is None:
            due[name] = frame
            continue
        stamps = frame[column] * (60 if column == "minute_utc" else 1)
        later = stamps >= end_ts
        if not later.any():  # most frames of a seeded day: nothing to filter or park
            due[name] = frame
            continue
        due[name] = frame[~later]
        for row, stamp in zip(records(frame[later]), stamps[later].to_numpy()):
            parked.append({"due_minute_utc": int(stamp) // 60, "kind": name, "payload_json": json.dumps(row)})
    return due, parked


def release_outbox(conn: Connection, until_minute: int) -> dict[str, pd.DataFrame]:
    """Take parked events whose minute has come (<= until_minute) out of the outbox."""
    rows = conn.execute(
        select(SimOutbox.outbox_id, SimOutbox.kind, SimOutbox.payload_json).where(
            SimOutbox.due_minute_utc <= until_minute
        )
    ).all()
    if not rows:
        return {}
    by_kind: dict[str, list[dict]] = {}
    for _id, kind, payload in rows:
        by_kind.setdefault(kind, []).append(json.loads(payload))
    conn.execute(delete(SimOutbox).where(SimOutbox.due_minute_utc <= until_minute))
    return {kind: pd.DataFrame.from_records(items) for kind, items in by_kind.items()}


def park(conn: Connection, parked: list[dict]) -> None:
    if parked:
        conn.execute(insert(SimOutbox.__table__), parked)


def merge_frames(parts: list[dict[str, pd.DataFrame]]) -> dict[str, pd.DataFrame]:
    merged: dict[str, list[pd.DataFrame]] = {}
    for frames in parts:
        for name, frame in frames.items():
            if not frame.empty:
                merged.setdefault(name, []).append(frame)
    return {name: pd.concat(items, ignore_index=True) for name, items in merged.items()}


def simulate_minutes(
    catalog: simulator.Catalog, state: simulator.SimState, start: int, end: int, params: SimParams
) -> tuple[dict[str, pd.DataFrame], simulator.SimState]:
    """Run the simulator over [start, end) in hour-aligned windows."""
    parts = []
    for window_start, window_end in hour_windows(start, end):
        frames, state = simulator.simulate(
            catalog, state, window_start, window_end, scenario=params.scenario_obj, seed=params.seed
        )
        parts.append(frames)
    return merge_frames(parts), state


class SimulatorSource:
    """Live mode: each refresh simulates the minutes after the watermark up to `until`."""

    name = SOURCE

    def __init__(self, scenario: str, max_catchup_minutes: int):
        self.scenario = scenario
        self.max_catchup_minutes = max_catchup_minutes
        self._cache: dict = {}
        self._catalogs: dict[tuple[int, int], simulator.Catalog] = {}

    def catalog(self, params: SimParams) -> simulator.Catalog:
        key = (params.seed, params.history_start_minute)
        if key not in self._catalogs:
            self._catalogs[key] = simulator.build_catalog(params.seed, params.history_start_minute)
        return self._catalogs[key]

    def collect(self, conn: Connection, until_minute: int) -> tuple[dict[str, pd.DataFrame], int | None, int]:
        """Frames for the minutes (watermark, until_minute], the new watermark and how many
        minutes were simulated. Returns ({}, None, 0) when there is nothing to do or the
        database was never seeded by the simulator."""
        mark = read_watermark(conn)
        if mark is None:
            return {}, None, 0
        watermark, params = mark
        if params.scenario != self.scenario:
            # A scenario switched in live mode takes effect from the next minute.
            params = SimParams(params.seed, self.scenario, watermark + 1, params.history_start_minute)
            record_promotions(conn, simulator.promotions(params.scenario_obj), now_ts=(watermark + 1) * 60)
        end = min(until_minute + 1, watermark + 1 + self.max_catchup_minutes)
        if end <= watermark + 1:
            return {}, None, 0
        catalog = self.catalog(params)
        state = load_state(conn, self._cache, catalog, params.scenario_obj, params.seed)
        frames, _ = simulate_minutes(catalog, state, watermark + 1, end, params)
        due, parked = split_due(frames, end)
        park(conn, parked)
        released = release_outbox(conn, end - 1)
        write_watermark(conn, end - 1, params)
        return merge_frames([due, released]), end - 1, end - 1 - watermark
