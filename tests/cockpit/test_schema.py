"""The migrated schema is the declared schema, on both backends."""
import time
from zoneinfo import ZoneInfo

from sqlalchemy import inspect

from cockpit.db.engine import schema_revision, upgrade_schema
from cockpit.db.schema import TABLES
from cockpit.ingest.seed import BULK_TABLES, seed_history


def test_migration_creates_every_declared_table(engine):
    assert set(TABLES) <= set(inspect(engine).get_table_names())


def test_migration_is_idempotent_and_reports_its_revision(db_url, engine):
    head = upgrade_schema(db_url)
    assert schema_revision(engine) == head


def test_the_migrations_produce_exactly_the_declared_schema(engine):
    """A model change without its migration fails here."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from cockpit.db.schema import Base

    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert differences == []


def _index_names(engine) -> dict[str, set[str]]:
    inspector = inspect(engine)
    return {name: {index["name"] for index in inspector.get_indexes(name)} for name in TABLES}


def test_seeding_builds_back_every_index_it_drops_for_the_bulk_load(engine):
    before = _index_names(engine)
    assert all(before[name] for name in ("page_views", "orders", "sessions"))
    seed_history(engine, days=1, scenario="normal", seed=2, now_minute=int(time.time()) // 60,
                 tz=ZoneInfo("Asia/Shanghai"), progress=False)
    assert _index_names(engine) == before
    assert set(BULK_TABLES) <= set(TABLES)
