"""`lessonbank migrate-to`: the demo bank into a real PostgreSQL, its report, and a refusal
that is one line, not a traceback."""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

from tests.conftest import run_cli
from tests.databases import sqlite_file


def test_migrate_to_copies_the_demo_bank_and_reports_every_table(
    tmp_path: Path, demo_template: str, pg_url: str
) -> None:
    shutil.copyfile(sqlite_file(demo_template), tmp_path / "demo.db")
    source = f"sqlite:///{tmp_path / 'demo.db'}"

    done = run_cli("migrate-to", pg_url, "--database-url", source, "--batch-size", "50")

    assert done.returncode == 0, done.stderr
    with closing(sqlite3.connect(tmp_path / "demo.db")) as connection:
        lessons = str(connection.execute("SELECT count(*) FROM lesson").fetchone()[0])
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
