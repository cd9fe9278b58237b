"""Seeding's shortcuts write exactly what the plain way writes."""
import threading
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from sqlalchemy import select

from cockpit.db.engine import bulk_load_engine, get_engine, upgrade_schema
from cockpit.db.schema import Base
from cockpit.ingest import seed
from cockpit.ingest.seed import seed_history
from cockpit.metrics.aggregate import TrafficMinuteBuilder, backfill, traffic_minute_rows

TZ = ZoneInfo("Asia/Shanghai")
T0 = 1_795_000_000 // 60


def table_rows(engine) -> dict[str, list[tuple]]:
    with engine.connect() as conn:
        return {table.name: sorted(map(tuple, conn.execute(select(table)).all()), key=repr)
                for table in Base.metadata.sorted_tables if table.name != "refresh_runs"}


def test_seeding_with_the_simulators_customers_writes_what_rereading_them_writes(fresh_db_url, backend, monkeypatch):
    # load_state's cache holds the simulator's own customer list between days instead of the
    # database's; a load_state without a cache reads every customer from the database each day.
    urls = [fresh_db_url(backend), fresh_db_url(backend)]
    for url in urls:
        upgrade_schema(url)
    cached = seed_history(get_engine(urls[0]), days=2, scenario="sales-event", seed=3, now_minute=T0, tz=TZ,
                          progress=False)
    plain_load_state = seed.load_state
    monkeypatch.setattr(seed, "load_state", lambda conn, cache, *args: plain_load_state(conn, None, *args))
    reread = seed_history(get_engine(urls[1]), days=2, scenario="sales-event", seed=3, now_minute=T0, tz=TZ,
                          progress=False)
    assert cached.events == reread.events > 200_000
    first, second = table_rows(get_engine(urls[0])), table_rows(get_engine(urls[1]))
    assert len(first["customers"]) > 20_000 and len(first["stock_movements"]) > 1_000
    assert first == second


@pytest.mark.parametrize("scenario", ["normal", "sales-event", "incident"])
def test_the_traffic_aggregate_built_from_the_frames_equals_the_one_built_from_the_tables(
        fresh_db_url, backend, monkeypatch, scenario):
    urls = [fresh_db_url(backend), fresh_db_url(backend)]
    for url in urls:
        upgrade_schema(url)
    from_frames = seed_history(get_engine(urls[0]), days=2, scenario=scenario, seed=8, now_minute=T0, tz=TZ,
                               progress=False)

    class NoRows(TrafficMinuteBuilder):
        def add(self, frames):
            super().add(frames)
            return traffic_minute_rows({})

        def finish(self):
            super().finish()
            return traffic_minute_rows({})

    # The plain way: no rows from the frames, agg_traffic_minute built by the backfill's SQL.
    monkeypatch.setattr(seed, "TrafficMinuteBuilder", NoRows)
    monkeypatch.setattr(seed, "backfill", lambda conn, start, end, traffic: backfill(conn, start, end))
    from_tables = seed_history(get_engine(urls[1]), days=2, scenario=scenario, seed=8, now_minute=T0, tz=TZ,
                               progress=False)
    assert from_frames.events == from_tables.events
    first, second = table_rows(get_engine(urls[0])), table_rows(get_engine(urls[1]))
    assert len(first["agg_traffic_minute"]) > 2 * 1440
    assert sum(row[6] for row in first["agg_traffic_minute"]) > 10_000  # uv
    assert first == second


def _views(minutes: list[int], visitors: list[int]) -> pd.DataFrame:
    return pd.DataFrame({"ts_utc": [m * 60 + 5 for m in minutes], "channel": "organic", "is_returning": False,
                         "visitor_id": visitors})


def test_a_minute_that_two_days_share_is_counted_once_with_its_distinct_visitors():
    # Day one's last session runs past the next day's first minute (100): visitor 7 views a
    # page in minute 100 in both days' frames, visitor 8 only in day two's.
    day_one = {"page_views": _views([98, 99, 100], [1, 2, 7])}
    day_two = {"page_views": _views([100, 100, 101], [7, 8, 9])}
    builder = TrafficMinuteBuilder()
    assert builder.add(day_one).empty
    done = builder.add(day_two)
    rest = builder.finish()
    rows = pd.concat([done, rest], ignore_index=True).set_index("minute_utc")
    assert list(done["minute_utc"]) == [98, 99]
    assert rows.loc[100, "page_views"] == 3 and rows.loc[100, "uv"] == 2
    assert rows.loc[101, "uv"] == 1 and rows["sessions"].sum() == 0
    whole = traffic_minute_rows({"page_views": pd.concat([day_one["page_views"], day_two["page_views"]])})
    pd.testing.assert_frame_equal(rows.reset_index(), whole)


def test_a_day_reaching_back_before_a_completed_minute_is_refused():
    builder = TrafficMinuteBuilder()
    builder.add({"page_views": _views([50], [1])})
    builder.add({"page_views": _views([100], [2])})  # minutes before 100 are complete
    with pytest.raises(ValueError, match="minute 99"):
        builder.add({"page_views": _views([99], [3])})


def test_the_seed_skips_the_fsync_but_the_app_keeps_it_and_the_seeded_file_is_sound(fresh_db_url):
    url = fresh_db_url("sqlite")
    upgrade_schema(url)
    engine = get_engine(url)
    with bulk_load_engine(engine) as loader:
        assert loader is not engine
        with loader.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 0  # OFF
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0  # the thread's job
        assert [thread.name for thread in threading.enumerate()].count("seed-checkpoints") == 1
    seed_history(engine, days=1, scenario="incident", seed=4, now_minute=T0, tz=TZ, progress=False)
    with pytest.raises(seed.AlreadySeeded):  # a seed that fails stops its checkpoint thread too
        seed_history(engine, days=1, scenario="normal", seed=4, now_minute=T0, tz=TZ, progress=False)
    assert "seed-checkpoints" not in [thread.name for thread in threading.enumerate()]
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        assert conn.exec_driver_sql("SELECT count(*) FROM page_views").scalar() > 50_000
