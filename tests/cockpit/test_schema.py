"""The migrated schema is the declared schema, on both backends."""
from sqlalchemy import inspect

from cockpit.db.engine import schema_revision, upgrade_schema
from cockpit.db.schema import TABLES


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
