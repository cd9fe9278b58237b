"""Engines and the schema's migration: one engine per URL, created with the right pragmas."""
from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url

from cockpit.db.dialect import install_sqlite_transaction_control

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class DatabaseError(RuntimeError):
    """The database cannot be reached or used; the message says what to do."""


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the app servers read while the scheduler writes; busy_timeout makes a
    # writer wait for a lock instead of failing at once.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


# A seed writes a whole history into a new database. A power cut during it costs a re-run
# (`seed --reset`), so its commits and checkpoints skip the fsync, and a larger page cache
# keeps the index builds in memory (10 days: about 10 % faster). Its commits do not copy the
# WAL into the database themselves: a thread of bulk_load_engine does, beside the load.
_BULK_LOAD_PRAGMAS = ("PRAGMA synchronous=OFF", "PRAGMA cache_size=-65536", "PRAGMA wal_autocheckpoint=0")
_CHECKPOINT_EVERY_S = 0.2


def _bulk_load_pragmas(dbapi_connection, _record) -> None:
    for pragma in _BULK_LOAD_PRAGMAS:
        dbapi_connection.execute(pragma)


@contextmanager
def bulk_load_engine(engine: Engine) -> Iterator[Engine]:
    """An engine for a bulk load into `engine`'s database, closed afterwards: on a SQLite
    file, one whose connections do not wait for the disk; otherwise `engine` itself."""
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        yield engine
        return
    loader = make_engine(engine.url.render_as_string(hide_password=False))
    event.listen(loader, "connect", _bulk_load_pragmas)
    stop = threading.Event()
    checkpointer = threading.Thread(target=_checkpoint_until, args=(engine.url.database, stop),
                                    name="seed-checkpoints", daemon=True)
    checkpointer.start()
    try:
        yield loader
    finally:
        stop.set()
        checkpointer.join()  # its last checkpoint copies what the load's end wrote
        loader.dispose()


def _checkpoint_until(path: str, stop: threading.Event) -> None:
    """Copy committed WAL pages into the database file until `stop`, then once more. A passive
    checkpoint does not block the writer, and SQLite runs it without holding the GIL."""
    db = sqlite3.connect(path, timeout=10)
    try:
        db.execute("PRAGMA synchronous=OFF")
        while not stop.wait(_CHECKPOINT_EVERY_S):
            db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        db.execute("PRAGMA wal_checkpoint(PASSIVE)")
    finally:
        db.close()


def shown_url(url: str) -> str:
    """`url` as logs and messages may show it: the password replaced by ***."""
    return make_url(url).render_as_string(hide_password=True)


def make_engine(url: str) -> Engine:
    """A new engine for `url`; SQLite files get WAL mode and their folder is created."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        install_sqlite_transaction_control(engine)
        return engine
    # A server that does not answer (a network cut, not a refusal) fails a connection after
    # 10 s instead of hanging the refresh or a page; the scheduler then backs off and retries.
    return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 10})


_ENGINES: dict[str, Engine] = {}


def get_engine(url: str) -> Engine:
    """The process-wide engine for `url` (engines pool connections; make one per URL)."""
    engine = _ENGINES.get(url)
    if engine is None:
        engine = _ENGINES[url] = make_engine(url)
    return engine


def dispose_engines() -> None:
    """Close every pooled connection (tests, and the CLI before it exits)."""
    for engine in _ENGINES.values():
        engine.dispose()
    _ENGINES.clear()


def _alembic_config(url: str):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["url"] = url
    return config


def upgrade_schema(url: str) -> str:
    """Create or migrate the schema at `url` to the newest revision; returns that revision."""
    from alembic import command
    from alembic.script import ScriptDirectory

    config = _alembic_config(url)
    command.upgrade(config, "head")
    return ScriptDirectory.from_config(config).get_current_head()


def known_revisions() -> list[str]:
    """Every schema revision this code's migrations know, newest (the head) first."""
    from alembic.script import ScriptDirectory

    return [script.revision for script in ScriptDirectory.from_config(_alembic_config("")).walk_revisions()]


def head_revision() -> str:
    """The newest schema revision this code knows: the one `upgrade_schema` migrates to."""
    return known_revisions()[0]


def schema_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None when it has no cockpit schema."""
    if not inspect(engine).has_table("alembic_version"):
        return None
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
