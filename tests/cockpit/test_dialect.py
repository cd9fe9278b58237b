"""Bulk writes through dialect.executemany_rows: the same result on SQLite (executemany) and on
PostgreSQL (COPY into a staging table above COPY_MIN_ROWS), conflict clauses included."""
from sqlalchemy import func, select

from cockpit.db.dialect import COPY_MIN_ROWS, executemany_rows, insert_ignore, upsert_first_last
from cockpit.db.schema import PageView, UvMinute

VIEW_COLUMNS = ["event_id", "session_id", "visitor_id", "ts_utc", "channel", "is_returning", "page_type", "sku"]


def views(ids) -> list[tuple]:
    return [(i, i // 3, i % 97, 1_800_000_000 + i, "organic", i % 2 == 0, "product", None if i % 5 else "SKU-1")
            for i in ids]


def test_a_large_batch_is_written_once_and_replays_add_nothing(engine):
    n = COPY_MIN_ROWS + 500
    with engine.begin() as conn:
        executemany_rows(conn, insert_ignore(conn, PageView.__table__), VIEW_COLUMNS, views(range(n)))
        # twice in one transaction, overlapping the first batch: only the new ids land
        executemany_rows(conn, insert_ignore(conn, PageView.__table__), VIEW_COLUMNS, views(range(n - 100, n + 2400)))
    with engine.connect() as conn:
        count, nulls, total_ts = conn.execute(select(
            func.count(), func.count() - func.count(PageView.sku), func.sum(PageView.ts_utc - 1_800_000_000))).one()
    assert count == n + 2400
    assert nulls == sum(1 for i in range(n + 2400) if i % 5)
    assert total_ts == sum(range(n + 2400))


def test_a_large_upsert_widens_existing_spans(engine):
    key = ["minute_utc", "activity", "channel", "visitor_id"]
    columns = [*key, "first_minute", "last_minute"]
    rows = [(10, "visit", "app", v, 10, 10) for v in range(COPY_MIN_ROWS + 10)]
    with engine.begin() as conn:
        statement = upsert_first_last(conn, UvMinute.__table__, key)
        executemany_rows(conn, statement, columns, rows)
        executemany_rows(conn, statement, columns, [(10, "visit", "app", v, 7, 12) for v in range(COPY_MIN_ROWS + 10)])
    with engine.connect() as conn:
        spans = set(conn.execute(select(UvMinute.first_minute, UvMinute.last_minute)).all())
        count = conn.execute(select(func.count()).select_from(UvMinute)).scalar()
    assert count == COPY_MIN_ROWS + 10 and spans == {(7, 12)}
