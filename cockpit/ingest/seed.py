"""Seeds N days of simulated history ending at the present, fast, then hands over to live mode."""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Connection, Engine, delete, func, select
from tqdm import tqdm

from cockpit import alerts
from cockpit.db.dialect import executemany_columns, secondary_indexes_dropped
from cockpit.db.engine import bulk_load_engine
from cockpit.db.schema import TABLES, AggTrafficMinute, Base, Customer, RefreshRun
from cockpit.ingest.simulator_source import (
    SimParams,
    load_state,
    merge_frames,
    park,
    split_due,
    write_catalog,
    write_watermark,
)
from cockpit.ingest.writer import WriteResult, column_values, write_batch
from cockpit.metrics.aggregate import TRAFFIC_COLUMNS, TrafficMinuteBuilder, backfill
from cockpit.timebuckets import day_start_minute, local_day_of
from data import simulator

DAY = 1440


class AlreadySeeded(RuntimeError):
    """The database holds events already; seeding again needs an explicit reset."""


@dataclass(frozen=True)
class SeedReport:
    days: int
    events: int
    seconds: float
    first_minute: int
    last_minute: int

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


# Raw event tables whose secondary indexes are built once after the days are written.
BULK_TABLES = ("customers", "sessions", "page_views", "cart_adds", "marketing_touches", "ad_spend", "orders",
               "order_lines", "shipments", "returns", "reviews", "stock_movements")


def default_anchor(scenario: str, now_minute: int, tz: ZoneInfo) -> int:
    """Where a seeded scenario's effect starts: a sales event peaks from today's midnight
    (the 11.11 surge is under way), incidents began half an hour ago."""
    if scenario == "sales-event":
        return day_start_minute(local_day_of(now_minute, tz), tz)
    if scenario == "incident":
        return now_minute - 30
    return 0


def wipe(engine: Engine) -> None:
    """Delete every row of every cockpit table (the schema stays)."""
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(delete(table))


def _write_traffic(conn: Connection, rows: pd.DataFrame) -> None:
    executemany_columns(conn, AggTrafficMinute.__table__.insert(), TRAFFIC_COLUMNS, column_values(rows, TRAFFIC_COLUMNS))


def seed_history(
    engine: Engine,
    *,
    days: int,
    scenario: str,
    seed: int,
    now_minute: int,
    tz: ZoneInfo,
    anchor_minute: int | None = None,
    progress: bool = True,
) -> SeedReport:
    """Write `days` of history ending at the last complete minute before now_minute.

    Each simulated day is written in its own transaction, with the traffic aggregate of the
    minutes it completed (built from the day's frames); the other aggregates are built once
    at the end from the raw events (a backfill), then the watermark hands over to live
    refreshes."""
    if days < 1:
        raise ValueError("days must be at least 1")
    with bulk_load_engine(engine) as loader:  # the seed's own connections (no fsync)
        started = time.perf_counter()
        with loader.connect() as conn:
            if conn.execute(select(func.count()).select_from(Customer)).scalar():
                raise AlreadySeeded(
                    "the database already holds data: run `python -m cockpit seed --reset ...` to replace it")
        end = now_minute  # exclusive: the last complete minute is now_minute - 1
        start = (end - days * DAY) // 60 * 60
        params = SimParams(
            seed=seed,
            scenario=scenario,
            anchor_minute=default_anchor(scenario, now_minute, tz) if anchor_minute is None else anchor_minute,
            history_start_minute=start,
        )
        catalog = simulator.build_catalog(seed, start)
        state = simulator.initial_state(catalog, seed, start)
        total = WriteResult()
        traffic = TrafficMinuteBuilder()
        with loader.begin() as conn:
            write_catalog(conn, catalog, params.scenario_obj)
            columns = ["customer_id", "created_ts_utc", "region", "acquisition_channel"]
            executemany_columns(conn, Customer.__table__.insert(), columns, column_values(state.customers, columns))
            alerts.seed_default_rules(conn, now_minute)
            # The customers just written, for load_state's cache (see the loop below).
            cache: dict = {"customer_count": len(state.customers), "customers": state.customers}
            state = load_state(conn, cache, catalog, params.scenario_obj, seed)  # as the database holds it
        windows = list(range(start, end, DAY))
        bar = tqdm(total=len(windows), desc="seeding days", unit="day", file=sys.stderr, disable=not progress)
        with secondary_indexes_dropped(loader, [TABLES[name] for name in BULK_TABLES]):
            for window_start in windows:
                window_end = min(window_start + DAY, end)
                parts = []
                for hour_start in range(window_start, window_end, 360):
                    frames, state = simulator.simulate(
                        catalog, state, hour_start, min(hour_start + 360, window_end), scenario=params.scenario_obj,
                        seed=seed
                    )
                    parts.append(frames)
                due, parked = split_due(merge_frames(parts), end)
                with loader.begin() as conn:
                    total.merge(write_batch(conn, due, tz))
                    _write_traffic(conn, traffic.add(due))
                    park(conn, parked)
                    # The day's new customers were all written (none is dated after the end of
                    # history), so the simulator's list is the database's: load_state's cache takes
                    # it instead of re-reading every customer each day (its count check still guards).
                    cache.update(customer_count=len(state.customers), customers=state.customers)
                    # The database is the truth about stock (returns dated later were written with
                    # their order's day), so the next day starts from what it holds.
                    state = load_state(conn, cache, catalog, params.scenario_obj, seed)
                bar.update(1)
                bar.set_postfix(events=f"{total.events:,}")
            bar.close()
        # Events released from earlier days' futures (deliveries of day 1 orders written with day 1)
        # are already in place: split_due only parks what lies after the end of history.
        with loader.begin() as conn:
            _write_traffic(conn, traffic.finish())
            backfill(conn, start, end, traffic=False)
            write_watermark(conn, end - 1, params)
            seconds = time.perf_counter() - started
            conn.execute(
                RefreshRun.__table__.insert().values(
                    started_ts_utc=time.time() - seconds, finished_ts_utc=time.time(), data_minute_utc=end - 1,
                    duration_s=seconds, events_ingested=total.events, minutes_ingested=end - start, status="ok",
                    message=f"seeded {days} days ({scenario}, seed {seed})",
                )
            )
        return SeedReport(days=days, events=total.events, seconds=time.perf_counter() - started, first_minute=start,
                          last_minute=end - 1)
