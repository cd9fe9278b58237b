"""The one module that knows SQL dialects: upserts, write locks and the advisory lock."""
from __future__ import annotations

import zlib
from contextlib import contextmanager
from typing import Iterator

from psycopg import sql
from sqlalchemy import Connection, Engine, Table, column, event, func, select, table
from sqlalchemy.dialects import postgresql, sqlite

_INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


def backend(bind: Connection | Engine) -> str:
    return bind.dialect.name


def insert_ignore(bind: Connection | Engine, table: Table):
    """INSERT ... ON CONFLICT DO NOTHING for `table`: replayed events are skipped, not doubled."""
    return _INSERTS[backend(bind)](table).on_conflict_do_nothing()


def upsert_first_last(bind: Connection | Engine, table: Table, key: list[str]):
    """INSERT that widens an existing row's [first_minute, last_minute] span on conflict.

    Re-applying the same rows changes nothing, so the UV bucket tables stay exact when a
    refresh replays events."""
    stmt = _INSERTS[backend(bind)](table)
    least, greatest = (func.min, func.max) if backend(bind) == "sqlite" else (func.least, func.greatest)
    return stmt.on_conflict_do_update(
        index_elements=key,
        set_={
            "first_minute": least(table.c.first_minute, stmt.excluded.first_minute),
            "last_minute": greatest(table.c.last_minute, stmt.excluded.last_minute),
        },
    )


def upsert(bind: Connection | Engine, table: Table, key: list[str], update_columns: list[str]):
    """INSERT ... ON CONFLICT (key) DO UPDATE SET the given columns to the new values."""
    stmt = _INSERTS[backend(bind)](table)
    return stmt.on_conflict_do_update(
        index_elements=key, set_={name: stmt.excluded[name] for name in update_columns}
    )


def upsert_add(bind: Connection | Engine, table: Table, key: list[str], sum_columns: list[str]):
    """INSERT ... ON CONFLICT (key) DO UPDATE SET each column to its old value plus the new one:
    applying a delta to a rollup row."""
    stmt = _INSERTS[backend(bind)](table)
    return stmt.on_conflict_do_update(
        index_elements=key, set_={name: table.c[name] + stmt.excluded[name] for name in sum_columns}
    )


def install_sqlite_transaction_control(engine: Engine) -> None:
    """Let SQLite connections open write transactions with BEGIN IMMEDIATE on request.

    pysqlite's own implicit BEGIN is deferred: two writers would both read the watermark and
    only collide at their first write. BEGIN IMMEDIATE takes the database's write lock up
    front, so a second refresh waits (or gives up) before it reads anything."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _no_implicit_begin(dbapi_connection, _record):
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(conn):
        mode = "BEGIN IMMEDIATE" if conn.get_execution_options().get("cockpit_write_lock") else "BEGIN"
        conn.exec_driver_sql(mode)


def lock_key(name: str) -> int:
    """A stable 31-bit key for PostgreSQL's advisory locks."""
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


@contextmanager
def write_transaction(engine: Engine, lock_name: str, *, wait: bool = False) -> Iterator[Connection | None]:
    """A transaction holding the database-wide lock `lock_name`, or None if another holds it.

    PostgreSQL: a transaction-scoped advisory lock (released at commit or when the holder's
    connection dies). SQLite: BEGIN IMMEDIATE, the database's single write lock; with
    wait=False a busy database answers at once instead of after the busy timeout."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            if wait:
                conn.execute(select(func.pg_advisory_xact_lock(lock_key(lock_name))))
            elif not conn.execute(select(func.pg_try_advisory_xact_lock(lock_key(lock_name)))).scalar():
                yield None
                return
            yield conn
        return
    conn = engine.connect().execution_options(cockpit_write_lock=True)
    # PRAGMAs go to the driver connection directly: through SQLAlchemy they would autobegin.
    raw = conn.connection.driver_connection
    try:
        if not wait:
            raw.execute("PRAGMA busy_timeout=0")
        try:
            transaction = conn.begin()
        except Exception as exc:  # "database is locked": another writer holds the lock
            if "locked" in str(exc).lower() or "busy" in str(exc).lower():
                yield None
                return
            raise
        finally:
            raw.execute("PRAGMA busy_timeout=10000")
        with transaction:
            yield conn
    finally:
        conn.close()


# From this many rows on, PostgreSQL gets them by COPY into a staging table and one INSERT ...
# SELECT (a peak minute's 14,000 page views: 220 ms row by row); below it, executemany.
COPY_MIN_ROWS = 2000


def executemany_rows(conn: Connection, statement, columns: list[str], rows: list[tuple]) -> None:
    """Run an INSERT (or upsert) for many rows at the driver's speed.

    The statement is compiled once for the connection's dialect and handed to the driver's
    executemany; SQLAlchemy's per-row parameter processing would otherwise cost more than the
    database's own work (measured: 3 of 5 s when seeding three days). On PostgreSQL, large
    batches are copied into a staging table and inserted with one INSERT ... SELECT carrying
    the statement's own ON CONFLICT clause (the rows must not repeat a conflict key, which the
    callers' batches never do)."""
    if not rows:
        return
    if conn.dialect.name == "postgresql" and len(rows) >= COPY_MIN_ROWS:
        _copy_and_insert(conn, statement, columns, rows)
        return
    compiled = statement.compile(dialect=conn.dialect, column_keys=columns)
    if compiled.positional:
        order = [columns.index(name) for name in compiled.positiontup]
        params = rows if order == list(range(len(columns))) else [tuple(row[i] for i in order) for row in rows]
    else:
        params = [dict(zip(columns, row)) for row in rows]
    conn.exec_driver_sql(compiled.string, params)


def _copy_and_insert(conn: Connection, statement, columns: list[str], rows: list[tuple]) -> None:
    target = statement.table
    stage_name = f"stage_{target.name}_{zlib.crc32(','.join(columns).encode()) & 0xFFFFFF:06x}"
    names = sql.SQL(", ").join(sql.Identifier(name) for name in columns)
    raw = conn.connection.driver_connection
    with raw.cursor() as cursor:
        # A temporary table of the target's column types, empty, private to this session.
        cursor.execute(sql.SQL("CREATE TEMP TABLE IF NOT EXISTS {} AS SELECT {} FROM {} WITH NO DATA").format(
            sql.Identifier(stage_name), names, sql.Identifier(target.name)))
        with cursor.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(stage_name), names)) as copy:
            for row in rows:
                copy.write_row(row)
    stage = table(stage_name, *(column(name) for name in columns))
    conn.execute(statement.from_select(columns, select(*stage.c)))
    with raw.cursor() as cursor:
        cursor.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier(stage_name)))


@contextmanager
def secondary_indexes_dropped(engine: Engine, tables: list[Table]) -> Iterator[None]:
    """Drop the secondary indexes of `tables` for a bulk load and build them again afterwards,
    also when the load fails: one sorted build costs far less than keeping them up to date row
    by row (seeding three days: 6.1 s -> 4.0 s here). Primary keys and unique constraints stay,
    so inserts still refuse duplicates."""
    indexes = [index for table in tables for index in table.indexes]
    with engine.begin() as conn:
        for index in indexes:
            index.drop(conn, checkfirst=True)
    try:
        yield
    finally:
        with engine.begin() as conn:
            for index in indexes:
                index.create(conn, checkfirst=True)
