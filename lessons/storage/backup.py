"""Online backup and restore: SQLite here, PostgreSQL in `backup_postgres` (pg_dump/pg_restore).

`backup` and `restore` take either kind of database URL and hand a PostgreSQL one over.

`backup` copies a live database while the app keeps reading and writing it. It uses SQLite's
backup API, never a file copy: in WAL mode the newest commits live in the `-wal` file, so a
copied main file can be stale or torn. The copy is checked and then renamed into place.

`restore` copies a backup over the configured database with the same API in reverse, so the
target's WAL (and any process still connected to it) sees one clean commit, then runs the
migrations so a backup made by an older Lessonbank upgrades.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from lessons.storage import backup_postgres
from lessons.storage.backup_common import (
    BackupError,
    BackupReport,
    BankCounts,
    RestoreCancelled,
    RestorePlan,
    RestoreReport,
    TargetExists,
    check_revision_known,
    fsync,
    publish,
    temp_beside,
)
from lessons.storage.db import make_engine, migrate

__all__ = [
    "BackupError",
    "BackupReport",
    "BankCounts",
    "RestoreCancelled",
    "RestorePlan",
    "RestoreReport",
    "TargetExists",
    "backup",
    "restore",
]

Progress = Callable[[int, int], None]
"""Called after each step of a copy with (pages copied, pages in all)."""

PAGES_PER_STEP = 1024  # 4 MiB with the default page size: a steady progress bar, short steps
_BUSY_TIMEOUT = 30.0  # seconds, as lessons.storage.db gives the app's own connections
_REQUIRED_TABLES = ("alembic_version", "lesson")


def backup(
    database_url: str,
    target: Path,
    *,
    overwrite: bool = False,
    progress: Progress | None = None,
    pages: int = PAGES_PER_STEP,
    pg_bin: str = "",
) -> BackupReport:
    """Copy the live database to `target`: SQLite as one consistent, self-contained file,
    PostgreSQL as a pg_dump archive (`pg_bin`: the folder of pg_dump, else PATH)."""
    url = _url(database_url)
    if url.get_backend_name() == "postgresql":
        return backup_postgres.backup(url, target, pg_bin=pg_bin, overwrite=overwrite)
    source = _sqlite_path(url, doing="backed up")
    if not source.is_file():
        raise BackupError(f"There is no database at {source} to back up.")
    target = target.expanduser()
    if target.is_dir():
        raise BackupError(f"{target} is a directory; give the backup's file name.")
    if target.exists() and _same_file(source, target):
        raise BackupError(f"{target} is the database itself; choose another backup path.")
    if target.exists() and not overwrite:
        raise TargetExists(f"{target} already exists; refusing to overwrite it.")
    temp = temp_beside(target)
    try:
        with (
            closing(_connect(source, mode="rw")) as src,
            closing(_connect(temp, mode="rw")) as dst,
        ):
            _begin_snapshot(src, source)
            total = _copy(src, dst, progress=progress, pages=pages, what=f"back up {source}")
            # The copied header says WAL; a backup is one file with no -wal beside it.
            dst.execute("PRAGMA journal_mode=DELETE").fetchall()
            revision = _check(dst, source, check_revision=False)
            counts = _counts(dst)
        fsync(temp)
        publish(temp, target, overwrite=overwrite)
    finally:
        for leftover in (temp, *_sidecars(temp)):
            leftover.unlink(missing_ok=True)
    return BackupReport(target, revision, counts, total, target.stat().st_size)


def restore(
    database_url: str,
    source: Path,
    *,
    progress: Progress | None = None,
    confirm: Callable[[RestorePlan], bool] | None = None,
    pages: int = PAGES_PER_STEP,
    pg_bin: str = "",
) -> RestoreReport:
    """Replace the configured database with a checked backup, then migrate it.

    `confirm` sees the plan after the backup is checked and before anything is written;
    returning False raises `RestoreCancelled`.
    """
    url = _url(database_url)
    if url.get_backend_name() == "postgresql":
        return backup_postgres.restore(url, source, pg_bin=pg_bin, confirm=confirm)
    target = _sqlite_path(url, doing="restored")
    source = source.expanduser()
    if not source.is_file():
        raise BackupError(f"There is no backup file at {source}.")
    if target.is_dir():
        raise BackupError(f"The database path {target} is a directory.")
    if target.exists() and _same_file(source, target):
        raise BackupError(f"{source} is the database itself; nothing to restore.")
    with closing(_connect(source, mode="ro")) as src:
        _begin_snapshot(src, source)
        revision = _check(src, source, check_revision=True)
        counts = _counts(src)
        plan = RestorePlan(source, target, revision, counts)
        if confirm is not None and not confirm(plan):
            raise RestoreCancelled(f"restore of {source} cancelled")
        target.parent.mkdir(parents=True, exist_ok=True)
        with closing(_connect(target, mode="rwc")) as dst:
            before = _change_counter(dst)
            _copy(src, dst, progress=progress, pages=pages, what=f"restore {source}")
    engine = make_engine(database_url)
    try:
        migrate(engine)
        with engine.begin() as connection:
            # Running apps cache their vector index against this counter; moving it past any
            # value they have seen makes each of them reload instead of serving the old bank.
            connection.exec_driver_sql(
                "UPDATE lesson_version SET n = max(n, ?) + 1 WHERE id = 1", (before,)
            )
    finally:
        engine.dispose()
    with closing(_connect(target, mode="rw")) as done:
        return RestoreReport(target, source, revision, _revision(done), _counts(done))


def _url(database_url: str) -> URL:
    try:
        return make_url(database_url)
    except ArgumentError as exc:
        raise BackupError(f"Cannot read the database URL: {exc}.") from exc


def _sqlite_path(url: URL, *, doing: str) -> Path:
    backend = url.get_backend_name()
    if backend != "sqlite":
        raise BackupError(
            f"Only SQLite and PostgreSQL databases can be {doing} here; "
            f"use {backend}'s own backup tools."
        )
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        raise BackupError(f"Only an SQLite database file can be {doing}, not {url}.")
    return Path(url.database).expanduser()


def _connect(path: Path, *, mode: str) -> sqlite3.Connection:
    """A connection in autocommit mode; `mode=rw` and `ro` never create a missing file."""
    uri = f"{path.resolve().as_uri()}?mode={mode}"
    try:
        return sqlite3.connect(uri, uri=True, timeout=_BUSY_TIMEOUT, isolation_level=None)
    except sqlite3.Error as exc:
        raise BackupError(f"Cannot open {path}: {exc}.") from exc


def _begin_snapshot(connection: sqlite3.Connection, path: Path) -> None:
    """Open a read transaction that pins one snapshot until the connection closes.

    The backup API reuses an open read transaction on its source instead of opening one per
    step. In WAL mode writers keep committing meanwhile (to the -wal, past our snapshot), and
    every step reads the same snapshot, so the copy is the database as of this moment. Without
    it, each step starts afresh and any commit in between restarts the copy from page one,
    which never finishes while the app keeps writing.
    """
    try:
        connection.execute("BEGIN")
        connection.execute("SELECT count(*) FROM sqlite_master").fetchall()
    except sqlite3.DatabaseError as exc:
        raise _unreadable(path, exc) from exc


def _unreadable(path: Path, exc: sqlite3.DatabaseError) -> BackupError:
    if exc.sqlite_errorname.startswith("SQLITE_CORRUPT"):
        return BackupError(f"{path} is damaged ({exc}).")
    return BackupError(f"{path} is not an SQLite database ({exc}).")


def _copy(
    src: sqlite3.Connection,
    dst: sqlite3.Connection,
    *,
    progress: Progress | None,
    pages: int,
    what: str,
) -> int:
    """Copy every page of `src` (already pinned by `_begin_snapshot`) into `dst`."""
    seen = [0]

    def step(_status: int, remaining: int, total: int) -> None:
        seen[0] = total
        if progress is not None:
            progress(total - remaining, total)

    try:
        src.backup(dst, pages=max(1, pages), progress=step)
    except sqlite3.Error as exc:
        raise BackupError(f"Could not {what}: {exc}.") from exc
    return seen[0]


def _check(connection: sqlite3.Connection, path: Path, *, check_revision: bool) -> str:
    """The schema revision of a sound Lessonbank database, or a BackupError saying why not."""
    try:
        problems = [row[0] for row in connection.execute("PRAGMA integrity_check(5)")]
        tables = {
            row[0]
            for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
    except sqlite3.DatabaseError as exc:
        raise _unreadable(path, exc) from exc
    if problems != ["ok"]:
        raise BackupError(f"{path} is damaged: {'; '.join(problems)}.")
    missing = [t for t in _REQUIRED_TABLES if t not in tables]
    if missing:
        raise BackupError(
            f"{path} is not a Lessonbank database (it has no {' or '.join(missing)} table)."
        )
    revision = _revision(connection)
    if not revision:
        raise BackupError(f"{path} is not a Lessonbank database (it has no schema revision).")
    if check_revision:
        check_revision_known(revision, path)
    return revision


def _revision(connection: sqlite3.Connection) -> str:
    row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    return str(row[0]) if row else ""


def _counts(connection: sqlite3.Connection) -> BankCounts:
    tables = {
        row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    }

    def count(table: str) -> int:
        if table not in tables:
            return 0
        return int(connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])

    return BankCounts(
        lessons=count("lesson"),
        reviews=count("review"),
        embeddings=count("lesson_embedding"),
        events=count("lesson_event"),
    )


def _change_counter(connection: sqlite3.Connection) -> int:
    """The target's `lesson_version.n` before a restore (0 if it has none yet)."""
    try:
        row = connection.execute("SELECT n FROM lesson_version WHERE id = 1").fetchone()
    except sqlite3.Error:
        return 0
    return int(row[0]) if row else 0


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:
        return False


def _sidecars(path: Path) -> tuple[Path, ...]:
    return tuple(path.with_name(path.name + s) for s in ("-journal", "-wal", "-shm"))
