"""Seeding's shortcuts write exactly what the plain way writes."""
from zoneinfo import ZoneInfo

from sqlalchemy import select

from cockpit.db.engine import get_engine, upgrade_schema
from cockpit.db.schema import Base
from cockpit.ingest import seed
from cockpit.ingest.seed import seed_history

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
