"""PostgreSQL through psycopg 3: a server many app processes share.

Read transactions run at READ COMMITTED, side by side. A transaction marked as a writer
(`lessons.storage.db.transaction(write=True)`) first takes one transaction-scoped advisory
lock, so writers follow each other as they do on SQLite (BEGIN IMMEDIATE): the services were
written for one writer at a time (read, check, then write) and keep that guarantee across
processes. Get-or-create of names (people, projects) is safe even outside such a transaction
(an import beside the web app): lessons/storage/get_or_create.py retries a lost race.
Sessions speak UTC, so timestamps read and written as text are UTC too.
"""

from __future__ import annotations

from sqlalchemy import URL, Connection, Engine, event
from sqlmodel import create_engine

from lessons.storage.backends.base import WRITE

# The advisory lock writers take (any constant both processes agree on: "LESSONBANK").
WRITERS_LOCK = 0x4C455353_4F4E42


class PostgreSQL:
    name = "postgresql"
    fts5 = False

    def with_driver(self, url: URL) -> URL:
        # psycopg 3 is the driver the app ships (psycopg[binary] in pyproject.toml).
        return url.set(drivername="postgresql+psycopg") if url.drivername == "postgresql" else url

    def engine(self, url: URL) -> Engine:
        engine = create_engine(
            url,
            pool_pre_ping=True,
            pool_size=16,
            max_overflow=16,
            pool_timeout=60,
            connect_args={"options": "-c timezone=UTC"},
        )
        event.listen(engine, "begin", _begin)
        return engine


def _begin(connection: Connection) -> None:
    if connection.get_execution_options().get(WRITE, False):
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITERS_LOCK})")


BACKEND = PostgreSQL()
