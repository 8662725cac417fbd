"""SQLite: one file, WAL, one writer at a time (BEGIN IMMEDIATE), FTS5 for full text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import URL, Connection, Engine, event
from sqlmodel import create_engine

from lessons.storage.backends.base import WRITE


class SQLite:
    name = "sqlite"
    fts5 = True

    def with_driver(self, url: URL) -> URL:
        return url  # the standard library's sqlite3

    def engine(self, url: URL) -> Engine:
        """WAL, a busy timeout and foreign keys on every connection; writers begin IMMEDIATE."""
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        # The pool must outlast the server's worker threads (40 by default), each holding a
        # connection while it waits its turn to write; SQLite connections are cheap.
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=16,
            max_overflow=48,
            pool_timeout=60,
        )
        event.listen(engine, "connect", _pragmas)
        event.listen(engine, "begin", _begin)
        return engine


def _pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling commits before a SAVEPOINT and starts
    # transactions lazily; turn it off and let `_begin` below emit BEGIN itself, so
    # savepoints nest for real and a failed import row rolls back alone.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _begin(connection: Connection) -> None:
    # A writer takes the write lock up front. Starting deferred, it would read first and
    # then fail at once ("database is locked", no waiting) if another writer committed
    # since its read: WAL cannot upgrade a stale snapshot.
    immediate = connection.get_execution_options().get(WRITE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


BACKEND = SQLite()
