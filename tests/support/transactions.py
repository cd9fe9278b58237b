"""A connection whose work is thrown away: property tests start every example from the same data."""
from __future__ import annotations

from contextlib import contextmanager


@contextmanager
def rolled_back(engine):
    """A connection whose transaction is rolled back at the end (the code under test works
    inside its caller's transaction, as the importer and the actions do)."""
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            yield conn
        finally:
            transaction.rollback()
