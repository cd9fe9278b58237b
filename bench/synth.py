"""Synthetic writer frames for benchmarks: one peak minute of N events, and a fast bulk history loader.

`synth_frames` is pure (numpy + pandas, seeded): given the entity ids of a seeded database
(`SynthCatalog.from_db`), it returns frames with the simulator's columns (data.simulator.
FRAME_COLUMNS) that `cockpit.ingest.writer.write_batch` accepts: paid orders whose lines sit on
stocked (sku, warehouse) pairs (so they make stock movements), sessions, page views, cart adds,
marketing touches and ad spend on the catalogue's channels and campaigns, new customers for
first orders. Ids come from a reserved range (>= SYNTH_ID_BASE, far above the simulator's
`minute_utc * 1e6 + k` and page views' `minute_utc * 1e9 + k`) and from the caller's `first_id`, so successive batches never
collide when each starts at the previous one's `next_id`.

`load_history` writes N events spread over the days before a minute straight into the raw
tables at the driver's speed (plain INSERT executemany, no ON CONFLICT, no RETURNING), plus the
sales' stock movements and the exact-UV bucket rows, then builds the aggregates with
`rebuild_range`: millions of events a minute instead of the refresh path's thousands.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, func, insert, select

from cockpit.db.dialect import executemany_rows, upsert_first_last
from cockpit.db.schema import TABLES, Campaign, Channel, Customer, Product, StockLevel, StockMovement, UvDay, UvHour, UvMinute
from cockpit.ingest.writer import INSERT_FRAMES, row_tuples, stock_movement_rows, unique_visitor_rows
from cockpit.metrics.aggregate import rebuild_range
from cockpit.timebuckets import local_days
from data.catalog import REGIONS
from data.simulator import FRAME_COLUMNS

# Reserved id ranges: the simulator's ids are minute_utc * 1e6 + k, page views' minute_utc * 1e9
# + k (about 3e16 in 2026; 4e18 would be the minute of the year 9600). Below 2**63 with room for
# billions of synthetic rows.
SYNTH_ID_BASE = 4 * 10**18
HISTORY_ID_BASE = SYNTH_ID_BASE  # bulk history
PEAK_ID_BASE = 6 * 10**18  # peak minutes

# Share of the total per frame; the rest is ad spend, orders, their lines and new customers.
DEFAULT_MIX = {"page_views": 0.70, "sessions": 0.15, "cart_adds": 0.08, "marketing_touches": 0.03}
SYNTH_FRAMES = ("customers", "sessions", "page_views", "cart_adds", "marketing_touches", "ad_spend", "orders",
                "order_lines")
RETURNING_SHARE = 0.35
CHANNEL_WEIGHTS = {"paid_search": 0.10, "feed_ads": 0.10, "short_video_ads": 0.10, "live_stream": 0.15,
                   "kol_seeding": 0.05, "social_referral": 0.05, "app": 0.18, "mini_program": 0.15,
                   "community": 0.04, "organic": 0.08}
PAGE_TYPES = np.array(["home", "search", "category", "product", "cart", "checkout"], dtype=object)
PAGE_P = np.array([0.14, 0.12, 0.16, 0.45, 0.08, 0.05])
UV_MINUTE_KEEP_MINUTES = 2 * 1440  # as the refresh's retention (cockpit.jobs)


@dataclass(frozen=True)
class SynthCatalog:
    """The entity ids a valid batch may use, read from a seeded database."""

    channels: np.ndarray  # channel names
    channel_p: np.ndarray  # their traffic weights (sum 1)
    campaigns: np.ndarray  # campaign ids
    campaign_channels: np.ndarray  # channel of each campaign
    skus: np.ndarray
    prices: np.ndarray  # by sku
    costs: np.ndarray
    pair_skus: np.ndarray  # stocked (sku index, warehouse) pairs, sorted by warehouse
    pair_warehouses: np.ndarray
    customers: np.ndarray  # customer ids returning visitors are drawn from

    @classmethod
    def from_db(cls, conn: Connection, *, max_customers: int = 50_000) -> "SynthCatalog":
        channels = np.array(conn.execute(select(Channel.channel).order_by(Channel.channel)).scalars().all(), dtype=object)
        weights = np.array([CHANNEL_WEIGHTS.get(c, 0.05) for c in channels])
        campaigns = conn.execute(select(Campaign.campaign_id, Campaign.channel).order_by(Campaign.campaign_id)).all()
        products = conn.execute(select(Product.sku, Product.price, Product.cost).order_by(Product.sku)).all()
        pairs = conn.execute(
            select(StockLevel.sku, StockLevel.warehouse_id).where(StockLevel.on_hand > 0)
            .order_by(StockLevel.warehouse_id, StockLevel.sku)
        ).all()
        if not pairs:  # everything sold out: any known pair is still a valid order line
            pairs = conn.execute(select(StockLevel.sku, StockLevel.warehouse_id)
                                 .order_by(StockLevel.warehouse_id, StockLevel.sku)).all()
        customers = conn.execute(select(Customer.customer_id).order_by(Customer.customer_id.desc())
                                 .limit(max_customers)).scalars().all()
        if not channels.size or not products or not pairs:
            raise ValueError("the database has no catalogue: seed it first (cockpit.ingest.seed.seed_history)")
        sku_index = {sku: i for i, (sku, _, _) in enumerate(products)}
        return cls(
            channels=channels, channel_p=weights / weights.sum(),
            campaigns=np.array([c for c, _ in campaigns], dtype=object),
            campaign_channels=np.array([ch for _, ch in campaigns], dtype=object),
            skus=np.array([p[0] for p in products], dtype=object),
            prices=np.array([float(p[1]) for p in products]), costs=np.array([float(p[2]) for p in products]),
            pair_skus=np.array([sku_index[s] for s, _ in pairs]), pair_warehouses=np.array([w for _, w in pairs], dtype=object),
            customers=np.array(customers, dtype="int64"),
        )


@dataclass
class SynthBatch:
    frames: dict[str, pd.DataFrame]
    next_id: int  # the first id the next batch may use
    events: int  # rows over all frames (what write_batch counts)


def mix_counts(total: int, ad_slots: int, has_customers: bool = True, mix: dict[str, float] | None = None) -> dict[str, int]:
    """Rows per frame adding up to `total`: the mix's shares, then ad spend (at most one row per
    campaign and minute, `ad_slots`), orders, their lines and the new customers of first orders."""
    if total < 0:
        raise ValueError("total must be >= 0")
    mix = DEFAULT_MIX if mix is None else mix
    counts = {name: int(round(total * share)) for name, share in mix.items()}
    if total:
        counts["sessions"] = max(1, counts.get("sessions", 0))  # page views and carts need a session
    rest = total - sum(counts.values())
    if rest < 0:  # rounding on tiny totals
        counts["page_views"] += rest
        rest = 0
    ad = min(ad_slots, rest // 4)
    left = rest - ad
    orders = min(left // 3, counts["sessions"])
    customers = orders // 3 if has_customers else orders
    lines = left - orders - customers
    if orders == 0:
        counts["page_views"] += lines
        lines = 0
    return {**counts, "ad_spend": ad, "orders": orders, "order_lines": lines, "customers": customers}


def _typed(name: str, data: dict) -> pd.DataFrame:
    columns = FRAME_COLUMNS[name]
    frame = pd.DataFrame({c: data[c] for c in columns})
    return frame.astype(columns)


def _int_or_na(values: np.ndarray, keep: np.ndarray) -> pd.array:
    """A nullable Int64 array: values where keep, missing elsewhere."""
    return pd.arrays.IntegerArray(np.where(keep, values, 0).astype("int64"), ~np.asarray(keep, dtype=bool))


def synth_frames(catalog: SynthCatalog, start_minute: int, end_minute: int, total: int, *, first_id: int,
                 seed: int = 0, mix: dict[str, float] | None = None) -> SynthBatch:
    """Writer frames with `total` rows in all, dated in minutes [start_minute, end_minute).

    Ids (sessions, page views, cart adds, touches, orders) are first_id, first_id + 1, ... in
    time order; new visitors' visitor_id is their session's id (and their customer_id once they
    order), returning visitors are the catalogue's customers. Every order is paid, its lines
    are on pairs stocked at its warehouse. Raises ValueError on an empty window."""
    if end_minute <= start_minute:
        raise ValueError("end_minute must be after start_minute")
    rng = np.random.default_rng([seed, start_minute, end_minute, first_id % 2**32])
    lo, hi = start_minute * 60, end_minute * 60
    n_campaigns = len(catalog.campaigns)
    n = mix_counts(total, n_campaigns * (end_minute - start_minute), bool(catalog.customers.size), mix)
    # Sessions: one id and time each, in time order.
    s = n["sessions"]
    s_ts = np.sort(rng.integers(lo, hi, s))
    s_id = np.arange(first_id, first_id + s, dtype="int64")
    cursor = first_id + s
    s_channel_i = rng.choice(len(catalog.channels), s, p=catalog.channel_p)
    s_channel = catalog.channels[s_channel_i]
    order_sessions = rng.choice(s, n["orders"], replace=False) if n["orders"] else np.array([], dtype="int64")
    returning = rng.random(s) < RETURNING_SHARE
    returning[order_sessions[: n["customers"]]] = False
    returning[order_sessions[n["customers"]:]] = True
    if not catalog.customers.size:
        returning[:] = False
    s_customer = np.where(returning, catalog.customers[rng.integers(0, max(1, catalog.customers.size), s)]
                          if catalog.customers.size else 0, 0)
    s_visitor = np.where(returning, s_customer, s_id)
    # Most sessions of a channel with campaigns arrive through one of them.
    by_channel = [np.flatnonzero(catalog.campaign_channels == c) for c in catalog.channels]
    sizes = np.array([len(found) for found in by_channel])
    firsts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    flat = np.concatenate(by_channel + [np.array([], dtype="int64")]).astype("int64")
    has = (sizes[s_channel_i] > 0) & (rng.random(s) < 0.8)
    pick = firsts[s_channel_i] + (rng.random(s) * sizes[s_channel_i]).astype("int64")
    s_campaign = np.where(has, catalog.campaigns[flat[np.where(has, pick, 0)]] if flat.size else None, None)
    sessions = _typed("sessions", {
        "session_id": s_id, "visitor_id": s_visitor, "customer_id": _int_or_na(s_customer, returning),
        "ts_utc": s_ts, "duration_s": np.minimum(rng.lognormal(5.0, 0.8, s), 3600).astype("int64"),
        "channel": s_channel, "campaign_id": s_campaign, "is_returning": returning,
        "device": rng.choice(np.array(["mobile", "desktop", "tablet"], dtype=object), s, p=[0.82, 0.13, 0.05]),
    })

    def in_session(count: int, every_session: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Session index and time of `count` events (each session one first when asked)."""
        if every_session and count >= s:
            which = np.concatenate([np.arange(s), rng.integers(0, s, count - s)])
        else:
            which = rng.integers(0, s, count) if s else np.array([], dtype="int64")
        ts = np.minimum(s_ts[which] + rng.integers(0, 120, count), hi - 1)
        order = np.argsort(ts, kind="stable")
        return which[order], ts[order]

    def session_events(count: int, every_session: bool) -> tuple[dict, np.ndarray, np.ndarray]:
        """The session columns, ids and session index of `count` events in time order."""
        nonlocal cursor
        which, ts = in_session(count, every_session)
        event_ids = np.arange(cursor, cursor + count, dtype="int64")
        cursor += count
        base = {"session_id": s_id[which], "visitor_id": s_visitor[which], "ts_utc": ts,
                "channel": s_channel[which], "is_returning": returning[which]}
        return base, event_ids, which

    # Page views: every session has at least one.
    base, event_ids, which = session_events(n["page_views"], True)
    page_type = rng.choice(PAGE_TYPES, len(event_ids), p=PAGE_P)
    sku_pick = catalog.skus[rng.integers(0, len(catalog.skus), len(event_ids))]
    page_views = _typed("page_views", {"event_id": event_ids, **base, "page_type": page_type,
                                       "sku": np.where(page_type == "product", sku_pick, None)})
    base, event_ids, which = session_events(n["cart_adds"], False)
    cart_adds = _typed("cart_adds", {"event_id": event_ids, **base,
                                     "sku": catalog.skus[rng.integers(0, len(catalog.skus), len(event_ids))],
                                     "qty": 1 + rng.poisson(0.3, len(event_ids))})
    # Marketing touches of this window's visitors.
    t = n["marketing_touches"]
    which = rng.integers(0, s, t) if s else np.array([], dtype="int64")
    which = which[np.argsort(s_ts[which], kind="stable")]
    touches = _typed("marketing_touches", {
        "touch_id": np.arange(cursor, cursor + t, dtype="int64"), "visitor_id": s_visitor[which],
        "ts_utc": s_ts[which], "channel": s_channel[which], "campaign_id": s_campaign[which],
        "touch_type": rng.choice(np.array(["impression", "click", "visit"], dtype=object), t, p=[0.5, 0.3, 0.2]),
    })
    cursor += t
    # Ad spend: distinct (campaign, minute) slots.
    a = n["ad_spend"]
    slots = rng.choice(n_campaigns * (end_minute - start_minute), a, replace=False) if a else np.array([], dtype="int64")
    impressions = rng.integers(500, 5000, a)
    ad_spend = _typed("ad_spend", {
        "campaign_id": catalog.campaigns[slots % n_campaigns] if a else np.array([], dtype=object),
        "minute_utc": start_minute + slots // max(1, n_campaigns), "spend": np.round(rng.gamma(4.0, 5.0, a), 2),
        "impressions": impressions, "clicks": (impressions * rng.uniform(0.005, 0.03, a)).astype("int64"),
    })
    # Orders: one per chosen session, paid, shipped from a warehouse with stocked pairs.
    o = n["orders"]
    which = order_sessions[np.argsort(s_ts[order_sessions], kind="stable")]
    o_ts = np.minimum(s_ts[which] + rng.integers(20, 180, o), hi - 1)
    order_by_time = np.argsort(o_ts, kind="stable")
    which, o_ts = which[order_by_time], o_ts[order_by_time]
    o_id = np.arange(cursor, cursor + o, dtype="int64")
    cursor += o
    warehouses, starts, sizes = np.unique(catalog.pair_warehouses, return_index=True, return_counts=True)
    o_wh = rng.integers(0, len(warehouses), o)
    # Lines: one per order, the rest spread over random orders.
    lines_of = np.sort(np.concatenate([np.arange(o), rng.integers(0, o, n["order_lines"] - o)])) if o else np.array([], dtype="int64")
    line_no = (pd.Series(lines_of).groupby(lines_of).cumcount() + 1).to_numpy(dtype="int64")
    pair = starts[o_wh[lines_of]] + (rng.random(len(lines_of)) * sizes[o_wh[lines_of]]).astype("int64")
    sku_i = catalog.pair_skus[pair]
    qty = 1 + rng.poisson(0.25, len(lines_of))
    unit_price = np.round(catalog.prices[sku_i] * rng.choice([1.0, 0.9, 0.8], len(lines_of), p=[0.6, 0.3, 0.1]), 2)
    order_lines = _typed("order_lines", {"order_id": o_id[lines_of], "line_no": line_no, "sku": catalog.skus[sku_i],
                                         "qty": qty, "unit_price": unit_price, "unit_cost": catalog.costs[sku_i]})
    gross = np.bincount(lines_of, weights=qty * unit_price, minlength=o) if o else np.array([])
    discount = np.round(gross * np.where(rng.random(o) < 0.3, 0.1, 0.0), 2)
    paid_ts = np.minimum(o_ts + rng.integers(5, 60, o), hi - 1)
    none = np.zeros(o, dtype=bool)
    orders = _typed("orders", {
        "order_id": o_id, "customer_id": s_visitor[which], "session_id": pd.array(s_id[which], dtype="Int64"),
        "ts_utc": o_ts, "channel": s_channel[which], "campaign_id": s_campaign[which], "is_returning": returning[which],
        "region": rng.choice(np.array(REGIONS, dtype=object), o), "warehouse_id": warehouses[o_wh],
        "status": np.full(o, "paid", dtype=object), "amount": np.round(gross - discount, 2), "discount": discount,
        "paid_ts_utc": pd.array(paid_ts, dtype="Int64"), "cancelled_ts_utc": _int_or_na(paid_ts, none),
        "shipped_ts_utc": _int_or_na(paid_ts, none), "delivered_ts_utc": _int_or_na(paid_ts, none),
        "returned_ts_utc": _int_or_na(paid_ts, none),
    })
    # New customers: the visitors of first orders (their visitor_id is their session id).
    new = ~returning[which]
    customers = _typed("customers", {
        "customer_id": s_visitor[which][new], "created_ts_utc": o_ts[new],
        "region": orders["region"].to_numpy(dtype=object)[new], "acquisition_channel": s_channel[which][new],
        "referred_by": pd.array([pd.NA] * int(new.sum()), dtype="Int64"),
    })
    frames = {"customers": customers, "sessions": sessions, "page_views": page_views, "cart_adds": cart_adds,
              "marketing_touches": touches, "ad_spend": ad_spend, "orders": orders, "order_lines": order_lines}
    return SynthBatch(frames=frames, next_id=cursor, events=sum(len(f) for f in frames.values()))


class SyntheticMinuteSource:
    """A refresh source (see cockpit.jobs.refresh(sources=...)) handing over one prepared
    synthetic minute: `prepare(minute)` builds it (outside any timing), `collect` returns it
    for the refresh's last complete minute. Ids continue from batch to batch."""

    name = "synthetic"

    def __init__(self, catalog: SynthCatalog, events: int, *, first_id: int = PEAK_ID_BASE, seed: int = 0):
        self.catalog, self.events, self.next_id, self.seed = catalog, events, first_id, seed
        self._prepared: tuple[int, SynthBatch] | None = None

    def prepare(self, minute: int) -> SynthBatch:
        batch = synth_frames(self.catalog, minute, minute + 1, self.events, first_id=self.next_id, seed=self.seed)
        self.next_id = batch.next_id
        self._prepared = (minute, batch)
        return batch

    def collect(self, conn: Connection, until_minute: int) -> tuple[dict[str, pd.DataFrame], int | None, int]:
        if self._prepared is None or self._prepared[0] != until_minute:
            self.prepare(until_minute)
        _, batch = self._prepared
        self._prepared = None
        return batch.frames, until_minute, 1


# --- bulk history -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadReport:
    events: int  # rows written into the raw event tables (stock movements and UV rows not counted)
    rows: int  # every row written, stock movements and UV bucket rows included
    first_minute: int
    end_minute: int  # exclusive
    insert_seconds: float
    aggregate_seconds: float
    next_id: int

    @property
    def seconds(self) -> float:
        return self.insert_seconds + self.aggregate_seconds

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def _plain_insert(conn: Connection, table, frame: pd.DataFrame, chunk_rows: int = 100_000) -> int:
    if frame.empty:
        return 0
    columns = [c.name for c in table.columns if c.name in frame.columns]
    rows = row_tuples(frame, columns)
    for start in range(0, len(rows), chunk_rows):
        executemany_rows(conn, insert(table), columns, rows[start : start + chunk_rows])
    return len(rows)


def _unique_visitor_buckets(conn: Connection, frames: dict[str, pd.DataFrame], tz: ZoneInfo, uv_minute_from: int) -> int:
    """The exact-UV bucket rows of the frames (as the writer makes them), upserted so that a
    bucket cut between two chunks stays right; minute rows only for the last two days."""
    seen = unique_visitor_rows(frames).drop_duplicates()
    if seen.empty:
        return 0
    written = 0
    minutes = seen["minute"].to_numpy(dtype="int64")
    for model, column, values, keep in (
        (UvMinute, "minute_utc", minutes, minutes >= uv_minute_from),
        (UvHour, "hour_utc", minutes // 60, np.ones(len(minutes), dtype=bool)),
        (UvDay, "day_local", local_days(minutes, tz), np.ones(len(minutes), dtype=bool)),
    ):
        spans = (
            seen.assign(**{column: values})[keep]
            .groupby([column, "activity", "channel", "visitor_id"], as_index=False)
            .agg(first_minute=("minute", "min"), last_minute=("minute", "max"))
        )
        key = [column, "activity", "channel", "visitor_id"]
        rows = row_tuples(spans, list(spans.columns))
        executemany_rows(conn, upsert_first_last(conn, model.__table__, key), list(spans.columns), rows)
        written += len(rows)
    return written


def load_history(engine: Engine, catalog: SynthCatalog, *, events: int, end_minute: int, events_per_day: int,
                 tz: ZoneInfo, first_id: int = HISTORY_ID_BASE, seed: int = 0, chunk_events: int = 500_000,
                 now_minute: int | None = None, progress=None) -> LoadReport:
    """Write `events` synthetic events dated in the minutes before end_minute at `events_per_day`
    (so more events reach further back), then build their minutes' aggregates.

    Written straight into the raw tables with plain INSERTs at the driver's speed, one
    transaction per chunk of about chunk_events; each chunk's paid lines add their sale stock
    movements (stock_levels.on_hand is left alone) and the UV bucket rows (minute rows only for
    the two days before now_minute, default end_minute, as retention keeps them). The minutes
    must hold no ad spend yet (load before a seeded history's first minute). Returns a
    LoadReport; `first_id` must lie beyond every id already used (LoadReport.next_id next time)."""
    now_minute = end_minute if now_minute is None else now_minute
    per_minute = events_per_day / 1440
    span = max(1, math.ceil(events / per_minute))
    first_minute = end_minute - span
    n_chunks = max(1, math.ceil(events / chunk_events))
    bounds = np.linspace(first_minute, end_minute, min(n_chunks, span) + 1).round().astype("int64")
    counts = np.diff(np.linspace(0, events, len(bounds)).round().astype("int64"))
    written = rows = 0
    next_id = first_id
    clock = time.perf_counter()
    for (start, stop), count in zip(zip(bounds[:-1], bounds[1:]), counts):
        batch = synth_frames(catalog, int(start), int(stop), int(count), first_id=next_id, seed=seed)
        next_id = batch.next_id
        with engine.begin() as conn:
            for name in INSERT_FRAMES:
                if name in batch.frames:
                    written += _plain_insert(conn, TABLES[name], batch.frames[name])
            movements = stock_movement_rows(conn, batch.frames)
            rows += _plain_insert(conn, StockMovement.__table__, movements)
            rows += _unique_visitor_buckets(conn, batch.frames, tz, now_minute - UV_MINUTE_KEEP_MINUTES)
        if progress:
            progress(written, events)
    insert_seconds = time.perf_counter() - clock
    clock = time.perf_counter()
    for day_start in range(first_minute, end_minute, 1440):
        with engine.begin() as conn:
            rebuild_range(conn, day_start, min(day_start + 1440, end_minute))
    return LoadReport(events=written, rows=rows + written, first_minute=first_minute, end_minute=end_minute,
                      insert_seconds=insert_seconds, aggregate_seconds=time.perf_counter() - clock, next_id=next_id)


def raw_event_count(conn: Connection) -> int:
    """Rows in the raw event tables (the "history" a refresh works beside)."""
    return sum(conn.execute(select(func.count()).select_from(TABLES[name])).scalar() or 0 for name in SYNTH_FRAMES)
