"""The one module that knows SQL dialects: upserts, bulk writes, write locks and the advisory lock."""
from __future__ import annotations

import zlib
from contextlib import contextmanager
from typing import Iterator

from psycopg import sql
from sqlalchemy import Connection, Engine, Table, column, event, func, select, table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

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
    """executemany_columns for row tuples (rows[i][j] belongs to columns[j])."""
    if rows:
        executemany_columns(conn, statement, columns, [list(values) for values in zip(*rows)])


def executemany_columns(conn: Connection, statement, columns: list[str], values: list[list]) -> None:
    """Run an INSERT, upsert or UPDATE for many rows at the driver's speed. values[j] holds
    column j's plain Python values (ints, floats, bools, strs, None), bound to the statement's
    parameter named columns[j]; the statement's own constants are bound as compiled.

    The statement is compiled once for the connection's dialect and handed to the driver;
    SQLAlchemy's per-row parameter processing would otherwise cost more than the database's
    own work (measured: 3 of 5 s when seeding three days). SQLite gets INSERTs as multi-row
    INSERT ... VALUES statements of SQLITE_PARAMS_PER_STATEMENT parameters, all of them in one
    driver executemany. On PostgreSQL, large INSERTs are copied into a staging table and
    inserted with one INSERT ... SELECT carrying the statement's own ON CONFLICT clause (the
    rows must not repeat a conflict key, which the callers' batches never do)."""
    if not values or not values[0]:
        return
    if conn.dialect.name == "postgresql" and isinstance(statement, Insert) and len(values[0]) >= COPY_MIN_ROWS:
        _copy_and_insert(conn, statement, columns, list(zip(*values)))
        return
    compiled = statement.compile(dialect=conn.dialect, column_keys=columns)
    multi = _multirow_sql(compiled, columns) if conn.dialect.name == "sqlite" else None
    if multi is None:
        conn.exec_driver_sql(compiled.string, _driver_params(compiled, columns, values))
        return
    sql_for, order = multi
    ordered = [values[i] for i in order]
    width, n = len(ordered), len(ordered[0])
    per_statement = max(1, SQLITE_PARAMS_PER_STATEMENT // width)
    full = n - n % per_statement
    if full:
        flat = _interleave(ordered, 0, full)
        step = per_statement * width
        conn.exec_driver_sql(sql_for(per_statement), [tuple(flat[i : i + step]) for i in range(0, len(flat), step)])
    if full < n:
        conn.exec_driver_sql(sql_for(n - full), tuple(_interleave(ordered, full, n)))


def insert_returning(conn: Connection, statement, columns: list[str], values: list[list]) -> list[tuple]:
    """executemany_columns for an INSERT ... [ON CONFLICT ...] RETURNING: the returned rows (of
    the rows actually inserted, when conflicts are ignored) as tuples, in no particular order."""
    if not values or not values[0]:
        return []
    if conn.dialect.name == "postgresql" and len(values[0]) >= COPY_MIN_ROWS:
        return [tuple(row) for row in _copy_and_insert(conn, statement, columns, list(zip(*values)))]
    compiled = statement.compile(dialect=conn.dialect, column_keys=columns)
    multi = _multirow_sql(compiled, columns) if conn.dialect.name == "sqlite" else None
    if multi is None:
        rows = [dict(zip(columns, row)) for row in zip(*values)]
        return [tuple(row) for row in conn.execute(statement, rows).all()]
    sql_for, order = multi
    ordered = [values[i] for i in order]
    n = len(ordered[0])
    per_statement = max(1, SQLITE_PARAMS_PER_STATEMENT // len(ordered))
    returned: list[tuple] = []
    for start in range(0, n, per_statement):
        stop = min(n, start + per_statement)
        result = conn.exec_driver_sql(sql_for(stop - start), tuple(_interleave(ordered, start, stop)))
        returned.extend(tuple(row) for row in result.all())
    return returned


# SQLite binds up to 32,766 parameters per statement; statements of about 2,000 (250 rows of 8
# columns) measured fastest here: 1.4x the rows/s of a row-by-row executemany.
SQLITE_PARAMS_PER_STATEMENT = 2000


def _interleave(columns: list[list], start: int, stop: int) -> list:
    """Rows start..stop-1 of column lists, flattened row after row."""
    width = len(columns)
    flat = [None] * ((stop - start) * width)
    for j, column_values in enumerate(columns):
        flat[j::width] = column_values[start:stop]
    return flat


def _driver_params(compiled, columns: list[str], values: list[list]) -> list:
    """Per-row parameters in the driver's style: the columns' values under their parameter
    names, and the statement's constants (UPDATE ... SET status = 'shipped') as compiled."""
    n = len(values[0])
    if compiled.positional:
        slots = [values[columns.index(name)] if name in columns else [compiled.binds[name].effective_value] * n
                 for name in compiled.positiontup]
        return list(zip(*slots))
    constants = {name: bind.effective_value for name, bind in compiled.binds.items() if name not in columns}
    return [{**constants, **dict(zip(columns, row))} for row in zip(*values)]


def _multirow_sql(compiled, columns: list[str]):
    """(rows -> SQL text with that many VALUES groups, column order) for a compiled one-row
    INSERT whose only parameters are its columns' values; None for any other statement."""
    names = list(compiled.positiontup or ())
    if not compiled.isinsert or sorted(names) != sorted(columns):
        return None
    group = "(" + ", ".join(["?"] * len(names)) + ")"
    text = compiled.string
    if text.count(group) != 1 or text.count("?") != len(names) or " VALUES " + group not in text:
        return None
    head, tail = text.split(group)
    cache: dict[int, str] = {}

    def sql_for(rows: int) -> str:
        if rows not in cache:
            cache[rows] = head + ", ".join([group] * rows) + tail
        return cache[rows]

    return sql_for, [columns.index(name) for name in names]


def _copy_and_insert(conn: Connection, statement, columns: list[str], rows: list[tuple]) -> list:
    """COPY rows into a staging table, then one INSERT ... SELECT; returns what the statement
    returns (its RETURNING rows, else nothing)."""
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
    result = conn.execute(statement.from_select(columns, select(*stage.c)))
    returned = result.all() if result.returns_rows else []
    with raw.cursor() as cursor:
        cursor.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier(stage_name)))
    return returned


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
