"""Backup and restore of a PostgreSQL bank with PostgreSQL's own tools, pg_dump and pg_restore.

The tools are found in the `pg_bin` setting's folder (LESSONBANK_PG_BIN) or else on PATH, and
must be at least the server's major version: an older pg_dump refuses a newer server, and an
older pg_restore cannot read a newer dump, so both are checked before anything starts.

A backup is one custom-format archive (`pg_dump --format=custom`), taken in the snapshot of a
transaction that counts the bank first (`--snapshot`), so the counts reported are those of the
archive. It is written beside the target and renamed into place once complete.

A restore checks the archive (`pg_restore --list`, its schema revision), then replaces the
tables it holds in one transaction (`--clean --if-exists --single-transaction`), then migrates:
an archive made by an older Lessonbank is upgraded. Tables a newer schema added since the
backup are dropped first, so the migrations can make them again.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, inspect, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

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

_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")
_TIMEOUT = 24 * 3600  # seconds: a dump of a very large bank is slow, but never endless


@dataclass(frozen=True)
class Tools:
    pg_dump: Path
    pg_restore: Path


def backup(
    url: URL,
    target: Path,
    *,
    pg_bin: str = "",
    overwrite: bool = False,
) -> BackupReport:
    """Dump the bank at `url` into `target` (pg_dump's custom format)."""
    target = target.expanduser()
    if target.is_dir():
        raise BackupError(f"{target} is a directory; give the backup's file name.")
    if target.exists() and not overwrite:
        raise TargetExists(f"{target} already exists; refusing to overwrite it.")
    tools = find_tools(pg_bin)
    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        # The dump reads the snapshot this transaction exports, so it holds what is counted
        # here, whatever the app writes meanwhile.
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection:
            check_versions(tools, _server_major(connection))
            snapshot = connection.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
            revision = _revision(connection)
            if not revision:
                raise BackupError("The database is not a Lessonbank bank (no schema revision).")
            counts = _counts(connection)
            temp = temp_beside(target)
            try:
                _run(
                    [
                        str(tools.pg_dump),
                        "--format=custom",
                        # gzip level 1: on the 100k bench bank, 25 s and 1.12 GiB against the
                        # default level's 130 s and 1.10 GiB (vectors hardly compress).
                        "--compress=1",
                        f"--snapshot={snapshot}",
                        f"--file={temp}",
                        f"--dbname={_libpq(url)}",
                    ],
                    url,
                    doing="back up the database",
                )
                fsync(temp)
                publish(temp, target, overwrite=overwrite)
            finally:
                temp.unlink(missing_ok=True)
    except SQLAlchemyError as exc:
        raise BackupError(f"Cannot read the database: {_first_line(exc)}") from exc
    finally:
        engine.dispose()
    return BackupReport(target, revision, counts, 0, target.stat().st_size)


def restore(
    url: URL,
    source: Path,
    *,
    pg_bin: str = "",
    confirm: Callable[[RestorePlan], bool] | None = None,
) -> RestoreReport:
    """Replace the bank at `url` with the archive at `source`, then migrate it."""
    source = source.expanduser()
    if not source.is_file():
        raise BackupError(f"There is no backup file at {source}.")
    tools = find_tools(pg_bin)
    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        with engine.connect() as connection:
            check_versions(tools, _server_major(connection))
        tables = _archive_tables(tools, source, url)
        revision = _archive_revision(tools, source, url)
        check_revision_known(revision, source)
        plan = RestorePlan(source, _shown(url), revision, None)
        if confirm is not None and not confirm(plan):
            raise RestoreCancelled(f"restore of {source} cancelled")
        with engine.begin() as connection:
            before = _change_counter(connection)
            for extra in sorted(set(inspect(connection).get_table_names()) - tables):
                connection.execute(text(f'DROP TABLE IF EXISTS "{extra}" CASCADE'))
        _run(
            [
                str(tools.pg_restore),
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                "--exit-on-error",
                f"--dbname={_libpq(url)}",
                str(source),
            ],
            url,
            doing=f"restore {source}",
        )
        migrate(engine)
        with engine.begin() as connection:
            # Running apps cache the vector index against this counter; moving it past any
            # value they have seen makes each of them reload instead of serving the old bank.
            connection.execute(
                text("UPDATE lesson_version SET n = greatest(n, :before) + 1 WHERE id = 1"),
                {"before": before},
            )
            done = RestoreReport(
                plan.target, source, revision, _revision(connection), _counts(connection)
            )
    except SQLAlchemyError as exc:
        raise BackupError(f"Cannot restore into the database: {_first_line(exc)}") from exc
    finally:
        engine.dispose()
    return done


# --- the tools -----------------------------------------------------------------------------------


def find_tools(pg_bin: str) -> Tools:
    """pg_dump and pg_restore from the `pg_bin` folder, or else from PATH."""
    return Tools(_find("pg_dump", pg_bin), _find("pg_restore", pg_bin))


def check_versions(tools: Tools, server_major: int) -> None:
    """Refuse tools older than the server: they cannot read it, or what it dumped."""
    for path in (tools.pg_dump, tools.pg_restore):
        major = tool_major(path)
        if major < server_major:
            raise BackupError(
                f"{path} is PostgreSQL {major}, older than the server (PostgreSQL "
                f"{server_major}); it cannot handle this database. Install the server's "
                "version and set LESSONBANK_PG_BIN to the folder holding its pg_dump."
            )


def _find(name: str, pg_bin: str) -> Path:
    if pg_bin:
        path = Path(pg_bin).expanduser() / name
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise BackupError(
                f"There is no {name} in {pg_bin} (the LESSONBANK_PG_BIN setting); point it "
                "at the folder holding the PostgreSQL server's pg_dump and pg_restore."
            )
        return path
    located = shutil.which(name)
    if located is None:
        raise BackupError(
            f"{name} was not found on PATH. Install PostgreSQL's client tools (the server's "
            "major version or newer), or set LESSONBANK_PG_BIN to the folder holding them."
        )
    return Path(located)


def tool_major(path: Path) -> int:
    """The major version a PostgreSQL tool reports (`pg_dump (PostgreSQL) 18.1` -> 18)."""
    try:
        shown = subprocess.run(
            [str(path), "--version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise BackupError(f"Cannot run {path}: {exc}.") from exc
    match = _VERSION.search(shown)
    if match is None:
        raise BackupError(f"{path} did not say which PostgreSQL it belongs to ({shown.strip()}).")
    return int(match.group(1))


def _server_major(connection: Connection) -> int:
    return int(connection.exec_driver_sql("SHOW server_version_num").scalar_one()) // 10000


def _run(command: list[str], url: URL, *, doing: str) -> str:
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)  # not on the command line, where ps shows it
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=_TIMEOUT)
    except (OSError, subprocess.SubprocessError) as exc:
        raise BackupError(f"Could not {doing}: {exc}.") from exc
    if done.returncode != 0:
        said = " ".join(done.stderr.split()) or f"exit status {done.returncode}"
        raise BackupError(f"Could not {doing}: {Path(command[0]).name} said: {said}")
    return done.stdout


# --- reading an archive --------------------------------------------------------------------------


def _archive_tables(tools: Tools, source: Path, url: URL) -> set[str]:
    """The tables an archive holds, from its table of contents (this also checks that it is a
    pg_dump archive at all)."""
    listing = _run(
        [str(tools.pg_restore), "--list", str(source)],
        url,
        doing=f"read {source} as a pg_dump custom-format archive",
    )
    tables = set()
    for line in listing.splitlines():
        parts = line.split()
        # "215; 1259 16390 TABLE public lesson postgres"
        if len(parts) >= 6 and parts[3] == "TABLE" and parts[4] == "public":
            tables.add(parts[5])
    if "alembic_version" not in tables or "lesson" not in tables:
        raise BackupError(f"{source} is not a Lessonbank backup (it has no lesson table).")
    return tables


def _archive_revision(tools: Tools, source: Path, url: URL) -> str:
    script = _run(
        [
            str(tools.pg_restore),
            "--data-only",
            "--table=alembic_version",
            "--file=-",
            str(source),
        ],
        url,
        doing=f"read the schema revision of {source}",
    )
    lines = script.splitlines()
    for number, line in enumerate(lines):
        if line.startswith("COPY ") and "alembic_version" in line and number + 1 < len(lines):
            value = lines[number + 1].strip()
            return "" if value == "\\." else value
    return ""


# --- reading the database ------------------------------------------------------------------------


def _revision(connection: Connection) -> str:
    row = connection.exec_driver_sql("SELECT version_num FROM alembic_version").first()
    return str(row[0]) if row else ""


def _counts(connection: Connection) -> BankCounts:
    tables = set(inspect(connection).get_table_names())

    def count(table: str) -> int:
        if table not in tables:
            return 0
        return int(connection.exec_driver_sql(f'SELECT count(*) FROM "{table}"').scalar_one())

    return BankCounts(
        lessons=count("lesson"),
        reviews=count("review"),
        embeddings=count("lesson_embedding"),
        events=count("lesson_event"),
    )


def _change_counter(connection: Connection) -> int:
    if "lesson_version" not in inspect(connection).get_table_names():
        return 0
    row = connection.exec_driver_sql("SELECT n FROM lesson_version WHERE id = 1").first()
    return int(row[0]) if row else 0


def _libpq(url: URL) -> str:
    """A URL libpq reads: no `+driver`, and no password (it goes in PGPASSWORD)."""
    return URL.create(
        "postgresql",
        username=url.username,
        host=url.host,
        port=url.port,
        database=url.database,
        query=url.query,
    ).render_as_string(hide_password=False)


def _shown(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
