"""The migrated schema is the declared schema, on both backends."""
from sqlalchemy import inspect

from cockpit.db.engine import schema_revision, upgrade_schema
from cockpit.db.schema import TABLES


def test_migration_creates_every_declared_table(engine):
    assert set(TABLES) <= set(inspect(engine).get_table_names())


def test_migration_is_idempotent_and_reports_its_revision(db_url, engine):
    head = upgrade_schema(db_url)
    assert schema_revision(engine) == head
