"""Engine, sessions and migrations. The caller owns the transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session, create_engine

MIGRATIONS = Path(__file__).parent / "migrations"
# Execution option: the transaction will write, so on SQLite it starts with BEGIN IMMEDIATE.
WRITE = "lessonbank_write"


def make_engine(database_url: str) -> Engine:
    """An engine for the URL; SQLite files get WAL, a busy timeout and foreign keys."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
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

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
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

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        # A writer takes the write lock up front. Starting deferred, it would read first and
        # then fail at once ("database is locked", no waiting) if another writer committed
        # since its read: WAL cannot upgrade a stale snapshot.
        immediate = connection.get_execution_options().get(WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def migrate(engine: Engine) -> None:
    """Bring the schema up to the newest Alembic revision (run at every start-up)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.execution_options(**{WRITE: True}).begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


@contextmanager
def transaction(engine: Engine, *, write: bool = False) -> Iterator[Session]:
    """A session that commits when the block ends cleanly and rolls back otherwise.

    `write=True` for a transaction that will write: it waits for the write lock before its
    first read, so it never reads a snapshot it then cannot write on."""
    bind = engine.execution_options(**{WRITE: True}) if write else engine
    with Session(bind, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
