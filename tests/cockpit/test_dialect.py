"""Bulk writes through dialect.executemany_rows / executemany_columns / insert_returning: the same
result on SQLite (multi-row INSERT ... VALUES) and on PostgreSQL (COPY into a staging table above
COPY_MIN_ROWS), conflict clauses, UPDATE constants and RETURNING included."""
import pytest
from sqlalchemy import bindparam, func, select, update

from cockpit.db.dialect import (
    COPY_MIN_ROWS,
    executemany_columns,
    executemany_rows,
    insert_ignore,
    insert_returning,
    upsert_first_last,
)
from cockpit.db.schema import PageView, StockMovement, UvMinute

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


def test_sqlite_multi_row_inserts_write_every_row_of_full_and_partial_statements(engine, monkeypatch):
    # 7 rows of 8 columns per statement: 100 rows make 14 full statements and one of 2 rows.
    monkeypatch.setattr("cockpit.db.dialect.SQLITE_PARAMS_PER_STATEMENT", 56)
    rows = views(range(100))
    with engine.begin() as conn:
        executemany_columns(conn, insert_ignore(conn, PageView.__table__), VIEW_COLUMNS, [list(c) for c in zip(*rows)])
        # columns in another order than the table's, a replay of ids 90..99 and 5 new rows
        order = [3, 0, 7, 1, 2, 4, 5, 6]
        again = [list(c) for c in zip(*views(range(90, 105)))]
        executemany_columns(conn, insert_ignore(conn, PageView.__table__), [VIEW_COLUMNS[i] for i in order],
                            [again[i] for i in order])
    with engine.connect() as conn:
        stored = conn.execute(select(*[PageView.__table__.c[c] for c in VIEW_COLUMNS]).order_by(PageView.event_id)).all()
    assert [tuple(r) for r in stored] == views(range(105))


def test_an_update_binds_each_rows_values_and_keeps_the_statements_constants(engine):
    with engine.begin() as conn:
        executemany_rows(conn, insert_ignore(conn, PageView.__table__), VIEW_COLUMNS, views(range(10)))
        statement = (
            update(PageView)
            .where(PageView.event_id == bindparam("e_id"), PageView.page_type == "product")
            .values(page_type="cart", ts_utc=bindparam("new_ts"))
        )
        executemany_columns(conn, statement, ["new_ts", "e_id"], [[7, 8, 9], [2, 3, 99]])
    with engine.connect() as conn:
        changed = conn.execute(select(PageView.event_id, PageView.page_type, PageView.ts_utc)
                               .where(PageView.page_type == "cart").order_by(PageView.event_id)).all()
    assert [tuple(r) for r in changed] == [(2, "cart", 7), (3, "cart", 8)]


@pytest.mark.parametrize("n", [40, COPY_MIN_ROWS + 40])
def test_insert_returning_returns_only_the_rows_it_inserted(engine, n):
    table = StockMovement.__table__
    columns = ["sku", "warehouse_id", "ts_utc", "qty_delta", "reason", "ref_id"]

    def movements(ids):
        return [[f"SKU-{i % 7}" for i in ids], ["WH-1" for _ in ids], [1_800_000_000 + i for i in ids],
                [-(i % 5) - 1 for i in ids], ["sale" for _ in ids], [f"{i}:1" for i in ids]]

    with engine.begin() as conn:
        first = insert_returning(conn, insert_ignore(conn, table).returning(table.c.ref_id, table.c.qty_delta),
                                 columns, movements(range(n)))
        # half of these were inserted above: only the other half comes back
        second = insert_returning(conn, insert_ignore(conn, table).returning(table.c.ref_id, table.c.qty_delta),
                                  columns, movements(range(n // 2, n + n // 2)))
        count = conn.execute(select(func.count()).select_from(table)).scalar()
    assert sorted(first) == sorted((f"{i}:1", -(i % 5) - 1) for i in range(n))
    assert sorted(second) == sorted((f"{i}:1", -(i % 5) - 1) for i in range(n, n + n // 2))
    assert count == n + n // 2
