"""`lessonbank migrate-to`: the demo bank into a real PostgreSQL, its report, and a refusal
that is one line, not a traceback."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from lessons.storage import moving
from lessons.storage.db import make_engine
from tests.conftest import run_cli
from tests.databases import sqlite_file


def test_migrate_to_copies_the_demo_bank_and_reports_every_table(
    tmp_path: Path, demo_template: str, pg_url: str
) -> None:
    shutil.copyfile(sqlite_file(demo_template), tmp_path / "demo.db")
    source = f"sqlite:///{tmp_path / 'demo.db'}"

    done = run_cli("migrate-to", pg_url, "--database-url", source, "--batch-size", "50")

    assert done.returncode == 0, done.stderr
    engine = make_engine(source)
    with engine.connect() as connection:
        lessons = str(connection.execute(text("SELECT count(*) FROM lesson")).scalar_one())
    engine.dispose()
    lines = done.stdout.splitlines()
    assert ["lesson", lessons, lessons, "same"] in [line.split() for line in lines], done.stdout
    assert "every table matches" in lines[-1]
    assert "lessons/s" in lines[-1]
    assert "Not copied: lesson_fts" in done.stdout

    again = run_cli("migrate-to", pg_url, "--database-url", source)

    assert again.returncode == 0, again.stderr
    assert "finishing an earlier copy" in again.stderr


def test_migrate_to_refuses_a_sqlite_target_in_one_line(tmp_path: Path) -> None:
    refused = run_cli(
        "migrate-to", f"sqlite:///{tmp_path / 'b.db'}", "--database-url", "sqlite:///x.db"
    )

    assert refused.returncode == 2
    assert refused.stderr.startswith("lessonbank migrate-to: The target must be a PostgreSQL")
    assert "Traceback" not in refused.stderr
    assert not (tmp_path / "b.db").exists()


def test_a_copy_stopped_by_a_database_error_says_to_run_it_again(
    tmp_path: Path, demo_template: str, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copyfile(sqlite_file(demo_template), tmp_path / "demo.db")
    source = f"sqlite:///{tmp_path / 'demo.db'}"
    copy_table = moving._copy_table
    tables: list[str] = []

    def lose_the_connection_on_the_third_table(*args: Any) -> int:
        tables.append(args[2].name)
        if len(tables) == 3:
            raise OperationalError("INSERT", {}, Exception("server closed the connection"))
        return copy_table(*args)

    monkeypatch.setattr(moving, "_copy_table", lose_the_connection_on_the_third_table)

    stopped = run_cli("migrate-to", pg_url, "--database-url", source)

    assert stopped.returncode == 3
    last = stopped.stderr.strip().splitlines()[-1]
    assert last.startswith("lessonbank migrate-to: stopped part way (")
    assert "run the same command again" in last and "Traceback" not in stopped.stderr
    monkeypatch.setattr(moving, "_copy_table", copy_table)
    assert run_cli("migrate-to", pg_url, "--database-url", source).returncode == 0
