"""Databases at the newest schema on the tests' real PostgreSQL (tests/postgres.py's server):
the migrated template copied into it once (its users and tokens included), and a fresh
database per test made from that copy."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, make_url, text

from lessons.storage.settings import Settings

_TEMPLATE = "lessonbank_test_template"


def database_url(server_url: str, database: str) -> str:
    made = make_url(server_url).set(drivername="postgresql+psycopg", database=database)
    return made.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_template(pg_server: Any, migrated_template: str) -> str:
    """The migrated SQLite template (users and tokens included) copied into PostgreSQL (the
    server of tests/postgres.py) by the same copy the evaluation uses (scripts/pg_bank.py); its
    database's name. These tests set SQLite beside PostgreSQL; under --backend=postgresql the
    template is PostgreSQL already and they have nothing to compare."""
    from scripts import pg_bank

    template = make_url(migrated_template)
    if template.get_backend_name() != "sqlite":
        pytest.skip("compares PostgreSQL with SQLite: runs in the SQLite pass of the suite")
    assert template.database is not None
    pg_bank.copy_bank(Path(template.database), pg_server.get_uri(), _TEMPLATE)
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
def pg_bank_url(pg_server: Any, pg_template: str) -> Iterator[str]:
    """A fresh database at the newest schema with the template's users, dropped afterwards."""
    name, url = fresh_database(pg_server.get_uri(), pg_template)
    yield url
    drop_database(pg_server.get_uri(), name)


def pg_settings(url: str) -> Settings:
    """The tests' settings (hashing embedder, no demo bank) on a PostgreSQL database."""
    return Settings(
        database_url=url, embedding_model="hashing", load_demo=False, secret_key="test-secret-key"
    )
