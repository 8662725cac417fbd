"""`backup` and `restore` on a real PostgreSQL through the server's own pg_dump and pg_restore:
backup, change, restore brings back every row; missing or older tools and a file that is no
archive are refused before anything is written."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, MetaData, text

from lessons.storage.backup import (
    BackupError,
    RestoreCancelled,
    RestorePlan,
    backup,
    restore,
)
from lessons.storage.db import make_engine
from lessons.storage.moving import migrate_to
from tests.conftest import run_cli
from tests.databases import sqlite_file
from tests.postgres import every_row


@pytest.fixture
def bank(tmp_path: Path, demo_template: str, pg_url: str) -> Iterator[Engine]:
    """The demo bank on PostgreSQL (copied there by migrate-to)."""
    shutil.copyfile(sqlite_file(demo_template), tmp_path / "demo.db")
    assert migrate_to(f"sqlite:///{tmp_path / 'demo.db'}", pg_url).ok
    engine = make_engine(pg_url)
    yield engine
    engine.dispose()


@pytest.fixture
def pg_bin(pg_server: Any) -> str:
    return str(pg_server.bin_path)


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    schema = MetaData()
    schema.reflect(engine)
    return {name: every_row(engine, name) for name in sorted(schema.tables)}


def test_backup_change_restore_brings_every_row_back(
    bank: Engine, pg_url: str, pg_bin: str, tmp_path: Path
) -> None:
    before = snapshot(bank)
    with bank.connect() as connection:
        counter = connection.execute(text("SELECT n FROM lesson_version")).scalar_one()
    made = backup(pg_url, tmp_path / "bank.dump", pg_bin=pg_bin)
    assert made.counts.lessons == len(before["lesson"]) > 0
    with bank.begin() as connection:
        connection.execute(text("UPDATE lesson SET title = 'Changed after the backup'"))
        connection.execute(text("DELETE FROM action"))
        connection.execute(text("CREATE TABLE added_later (id integer PRIMARY KEY)"))
    plans: list[RestorePlan] = []

    def agree(plan: RestorePlan) -> bool:
        plans.append(plan)
        return True

    done = restore(pg_url, made.path, pg_bin=pg_bin, confirm=agree)

    after = snapshot(bank)
    assert plans[0].revision == made.revision
    assert done.counts == made.counts
    assert "added_later" not in after
    for table, rows in before.items():
        if table != "lesson_version":
            assert after[table] == rows, table
    with bank.connect() as connection:
        assert connection.execute(text("SELECT n FROM lesson_version")).scalar_one() > counter
        # the next lesson still gets a new id: the sequences came back too
        following = connection.execute(
            text("SELECT nextval(pg_get_serial_sequence('lesson', 'id'))")
        ).scalar_one()
    assert following > max(row[0] for row in before["lesson"])


def test_a_declined_restore_changes_nothing(
    bank: Engine, pg_url: str, pg_bin: str, tmp_path: Path
) -> None:
    made = backup(pg_url, tmp_path / "bank.dump", pg_bin=pg_bin)
    with bank.begin() as connection:
        connection.execute(text("UPDATE lesson SET title = 'Kept'"))
    before = snapshot(bank)

    with pytest.raises(RestoreCancelled):
        restore(pg_url, made.path, pg_bin=pg_bin, confirm=lambda _plan: False)

    assert snapshot(bank) == before


def fake_tool(folder: Path, name: str, version: str) -> None:
    tool = folder / name
    tool.write_text(f"#!/bin/sh\necho '{name} (PostgreSQL) {version}'\n")
    tool.chmod(0o755)


def test_tools_older_than_the_server_are_refused(bank: Engine, pg_url: str, tmp_path: Path) -> None:
    old = tmp_path / "old-bin"
    old.mkdir()
    fake_tool(old, "pg_dump", "12.22")
    fake_tool(old, "pg_restore", "12.22")

    with pytest.raises(BackupError, match=r"PostgreSQL 12, older than the server \(PostgreSQL"):
        backup(pg_url, tmp_path / "bank.dump", pg_bin=str(old))

    assert not list(tmp_path.glob("*bank.dump*"))


def test_missing_tools_are_refused_by_name(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(BackupError, match="There is no pg_dump in"):
        backup(pg_url, tmp_path / "bank.dump", pg_bin=str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BackupError, match="pg_restore was not found on PATH"):
        (tmp_path / "x.dump").write_bytes(b"")
        fake_tool(tmp_path, "pg_dump", "18.1")
        restore(pg_url, tmp_path / "x.dump")


def test_a_file_that_is_no_archive_is_refused_untouched(
    bank: Engine, pg_url: str, pg_bin: str, tmp_path: Path
) -> None:
    before = snapshot(bank)
    notes = tmp_path / "notes.txt"
    notes.write_text("not a dump\n")

    with pytest.raises(BackupError, match="as a pg_dump custom-format archive"):
        restore(pg_url, notes, pg_bin=pg_bin)

    assert snapshot(bank) == before


def test_cli_backup_and_restore_on_postgres(
    bank: Engine, pg_url: str, pg_bin: str, tmp_path: Path
) -> None:
    path = str(tmp_path / "bank.dump")
    env = {"LESSONBANK_PG_BIN": pg_bin}
    made = run_cli("backup", path, "--database-url", pg_url, env=env)
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith("Backed up ") and path in made.stdout

    done = run_cli("restore", path, "--yes", "--database-url", pg_url, env=env)

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Restored ")
    assert f"into {pg_url.split('?')[0]}" in done.stdout  # the database, shown as a URL
