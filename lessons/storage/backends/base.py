"""The one small protocol both backends implement."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import URL, Engine

# Execution option: the transaction will write, so it begins as a writer (SQLite: BEGIN
# IMMEDIATE; PostgreSQL: it takes the writers' lock first, see backends/postgresql.py).
WRITE = "lessonbank_write"


class Backend(Protocol):
    """What differs between SQLite and PostgreSQL, and nothing else."""

    # The SQLAlchemy dialect name ("sqlite", "postgresql").
    name: str
    # Whether lessons are searched by SQLite FTS5 (lesson_fts and its triggers, migration 0002;
    # retrieval/bm25.py reads its index). Off elsewhere: PostgreSQL's full text is its own.
    fts5: bool

    def with_driver(self, url: URL) -> URL:
        """The URL with the driver the app ships for this backend."""
        ...

    def engine(self, url: URL) -> Engine:
        """An engine with this backend's options and per-connection set-up; a transaction
        opened with the `lessons.storage.db.WRITE` execution option begins as a writer."""
        ...
