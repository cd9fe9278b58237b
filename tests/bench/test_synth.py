"""The benchmarks' synthetic frames: the writer's columns, the requested size, fresh ids, accepted by write_batch."""
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bench.synth import PEAK_ID_BASE, SynthCatalog, load_history, mix_counts, raw_event_count, synth_frames
from cockpit.db.engine import get_engine, upgrade_schema
from cockpit.db.schema import TABLES, StockMovement
from cockpit.ingest.seed import seed_history
from cockpit.ingest.writer import write_batch
from data.simulator import FRAME_COLUMNS
from tests.support.recount import assert_aggregates_match_raw

TZ = ZoneInfo("Asia/Shanghai")
T0 = 1_795_000_000 // 60


@pytest.fixture(scope="module")
def seeded_url(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('synth') / 'seeded.db'}"
    upgrade_schema(url)
    seed_history(get_engine(url), days=1, scenario="normal", seed=3, now_minute=T0, tz=TZ, progress=False)
    return url


@pytest.fixture(scope="module")
def catalog(seeded_url):
    with get_engine(seeded_url).connect() as conn:
        return SynthCatalog.from_db(conn)


@pytest.mark.parametrize("total", [0, 1, 7, 100, 2_000])
def test_the_mix_adds_up_to_the_requested_total(total):
    counts = mix_counts(total, ad_slots=8)
    assert sum(counts.values()) == total
    assert counts["order_lines"] >= counts["orders"] and counts["customers"] <= counts["orders"]


@pytest.mark.parametrize("total", [1, 50, 3_000])
def test_frames_have_the_writers_columns_and_the_requested_total(catalog, total):
    batch = synth_frames(catalog, T0, T0 + 1, total, first_id=PEAK_ID_BASE)
    assert batch.events == total == sum(len(frame) for frame in batch.frames.values())
    for name, frame in batch.frames.items():
        assert list(frame.columns) == list(FRAME_COLUMNS[name])
        assert set(frame.columns) <= {c.name for c in TABLES[name].columns}
        time_column = {"ad_spend": "minute_utc", "order_lines": None}.get(name, "ts_utc" if "ts_utc" in frame else None)
        if time_column == "ts_utc" and not frame.empty:
            assert frame["ts_utc"].between(T0 * 60, T0 * 60 + 59).all()


def test_ids_are_unique_across_calls_that_chain_next_id(catalog):
    first = synth_frames(catalog, T0, T0 + 1, 2_000, first_id=PEAK_ID_BASE)
    second = synth_frames(catalog, T0 + 1, T0 + 2, 2_000, first_id=first.next_id)
    ids = []
    for batch in (first, second):
        for name, column in (("sessions", "session_id"), ("page_views", "event_id"), ("cart_adds", "event_id"),
                             ("marketing_touches", "touch_id"), ("orders", "order_id")):
            ids.extend(batch.frames[name][column].tolist())
    assert len(ids) == len(set(ids)) and min(ids) >= PEAK_ID_BASE


def test_write_batch_accepts_a_synthetic_minute_and_its_sales_move_stock(seeded_url, catalog):
    batch = synth_frames(catalog, T0 + 5, T0 + 6, 2_000, first_id=PEAK_ID_BASE + 10**12)
    engine = get_engine(seeded_url)
    with engine.begin() as conn:
        result = write_batch(conn, batch.frames, TZ)
    assert result.events == 2_000 and result.touched_minutes == {T0 + 5}
    assert result.stock_changes == len(batch.frames["order_lines"]) > 0
    with engine.connect() as conn:
        for name in ("sessions", "page_views", "orders", "order_lines"):
            table = TABLES[name]
            key = table.primary_key.columns.values()[0]
            assert conn.execute(select(func.count()).select_from(table).where(key >= PEAK_ID_BASE)).scalar() == len(batch.frames[name])


def test_the_history_loader_writes_raw_events_and_matching_aggregates(tmp_path):
    url = f"sqlite:///{tmp_path / 'history.db'}"
    upgrade_schema(url)
    report = seed_history(get_engine(url), days=1, scenario="normal", seed=4, now_minute=T0, tz=TZ, progress=False)
    engine = get_engine(url)
    with engine.connect() as conn:
        catalog, before = SynthCatalog.from_db(conn), raw_event_count(conn)
    loaded = load_history(engine, catalog, events=30_000, end_minute=report.first_minute, events_per_day=20_000,
                          tz=TZ, chunk_events=10_000, now_minute=T0)
    assert loaded.events == 30_000 and loaded.end_minute - loaded.first_minute == 2160
    with engine.connect() as conn:
        assert raw_event_count(conn) == before + 30_000
        assert conn.execute(select(func.count()).select_from(StockMovement)).scalar() > 0
        assert_aggregates_match_raw(conn)
