"""Shared fixtures: every database test runs on a fresh SQLite file and on a fresh PostgreSQL schema."""
from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from cockpit.db.engine import dispose_engines, get_engine, upgrade_schema  # noqa: E402

PG_BASE_URL = os.environ.get("COCKPIT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ARTIFACTS = ROOT / "test-artifacts"


def _pg_schema_url(schema: str) -> str:
    sep = "&" if "?" in PG_BASE_URL else "?"
    return f"{PG_BASE_URL}{sep}options={quote(f'-csearch_path={schema}')}"


def _database_factory(folder: Path):
    """A function making empty databases, and a cleanup that drops the PostgreSQL ones."""
    created: list[str] = []

    def make(backend: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{folder / f'cockpit-{uuid.uuid4().hex[:8]}.db'}"
        schema = f"t_{uuid.uuid4().hex[:12]}"
        admin = create_engine(PG_BASE_URL)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
        created.append(schema)
        return _pg_schema_url(schema)

    def cleanup() -> None:
        dispose_engines()
        if created:
            admin = create_engine(PG_BASE_URL)
            with admin.begin() as conn:
                for schema in created:
                    conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            admin.dispose()

    return make, cleanup


@pytest.fixture
def fresh_db_url(tmp_path):
    """Factory: a URL for an empty database of the requested backend ('sqlite' or 'postgresql')."""
    make, cleanup = _database_factory(tmp_path)
    yield make
    cleanup()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_db_url(request, tmp_path_factory):
    """A migrated database shared by one test module (for expensive read-only fixtures)."""
    make, cleanup = _database_factory(tmp_path_factory.mktemp("db"))
    url = make(request.param)
    upgrade_schema(url)
    yield url
    cleanup()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request) -> str:
    return request.param


@pytest.fixture
def db_url(backend, fresh_db_url) -> str:
    """A migrated, empty cockpit database on the parametrised backend."""
    url = fresh_db_url(backend)
    upgrade_schema(url)
    return url


@pytest.fixture
def engine(db_url):
    return get_engine(db_url)


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
