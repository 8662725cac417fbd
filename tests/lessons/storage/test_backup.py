"""Backup and restore on real SQLite files: round trips, a backup under concurrent writes,
refusals that leave the target alone, schema upgrades, and the CLI as a real process."""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import pty
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlmodel import Session, func, select

from data import DEMO_BANK
from lessons.accounts import access
from lessons.bar import service as bar
from lessons.imports.exchange import export_bank
from lessons.imports.seed import load_bank, read_bank
from lessons.schemas import BarIn, DecisionIn
from lessons.storage.backup import (
    BackupError,
    RestoreCancelled,
    RestorePlan,
    TargetExists,
    backup,
    restore,
)
from lessons.storage.db import MIGRATIONS, make_engine, transaction
from lessons.storage.models import Lesson, LessonVersion
from lessons.storage.settings import Settings
from retrieval.embedder import HashingEmbedder
from retrieval.service import Retriever
from tests.databases import sqlite_only
from ui.cli.backup import add_parsers

pytestmark = sqlite_only(
    "SQLite's online backup API and its files (PostgreSQL: test_backup_postgres.py)"
)

ROOT = Path(__file__).resolve().parents[3]
HEAD = ScriptDirectory(str(MIGRATIONS)).get_current_head()


def main(argv: list[str]) -> int:
    """The CLI as `ui.cli.main` will wire it: a parser with the shared --database-url parent."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--database-url")
    top = argparse.ArgumentParser(prog="lessonbank")
    add_parsers(top.add_subparsers(dest="command", required=True), common)
    args = top.parse_args(argv)
    return int(args.func(args))


def _url(path: Path) -> str:
    return f"sqlite:///{path}"


def _seed(engine: Engine) -> None:
    """The demo bank with vectors, lifecycle events and a decided BAR."""
    with Session(engine) as session:
        load_bank(session, read_bank(DEMO_BANK))
        Retriever(HashingEmbedder()).sync(session)
        lesson = session.exec(select(Lesson).where(Lesson.status == "validated")).first()
        assert lesson is not None and lesson.id is not None
        record = bar.record(
            session,
            payload=BarIn(brief="A new vaccination campaign"),
            surfaced=[bar.Surfaced(lesson_id=lesson.id, score=0.5)],
            model="hashing",
        )
        bar.decide(
            session,
            bar=record,
            viewer=access.CURATOR,
            decisions=[DecisionIn(lesson_id=lesson.id, decision="apply", note="yes")],
        )
        session.commit()


@pytest.fixture
def seeded(engine: Engine, settings: Settings) -> str:
    """The URL of a database holding the demo bank (its engine stays open, like a live app)."""
    _seed(engine)
    return settings.database_url


def _export(engine: Engine) -> dict[str, Any]:
    with Session(engine) as session:
        document = export_bank(session)
    document.pop("exported_at")
    return document


def _raw(path: Path) -> dict[str, Any]:
    """Row counts of every table (full-text shadow tables included), vectors and events."""
    with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {
            "counts": {t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables},
            "vectors": db.execute(
                "SELECT lesson_id, model, dim, content_hash, vector FROM lesson_embedding "
                "ORDER BY lesson_id"
            ).fetchall(),
            "events": db.execute("SELECT * FROM lesson_event ORDER BY id").fetchall(),
        }


def _integrity(path: Path) -> str:
    with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])


def _fingerprint(path: Path) -> dict[str, str | None]:
    """Hashes of a database file and its sidecars (None where absent)."""
    return {
        suffix: hashlib.sha256(p.read_bytes()).hexdigest() if p.exists() else None
        for suffix in ("", "-wal", "-journal")
        for p in [path.with_name(path.name + suffix)]
    }


def _db_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def test_backup_then_restore_over_live_database_keeps_every_record_vector_and_event(
    seeded: str, engine: Engine, tmp_path: Path
) -> None:
    live = _db_path(seeded)
    before, raw_before = _export(engine), _raw(live)
    assert raw_before["counts"]["lesson_embedding"] > 0
    assert raw_before["counts"]["lesson_event"] > 0
    assert raw_before["counts"]["lesson_fts"] == raw_before["counts"]["lesson"]
    assert raw_before["counts"]["bar_item"] > 0

    report = backup(seeded, tmp_path / "bank.backup")
    assert report.revision == HEAD
    assert report.counts.lessons == raw_before["counts"]["lesson"]
    assert report.counts.reviews == raw_before["counts"]["review"]
    assert report.counts.embeddings == raw_before["counts"]["lesson_embedding"]
    assert report.counts.events == raw_before["counts"]["lesson_event"]
    assert _integrity(report.path) == "ok"
    assert _raw(report.path) == raw_before
    assert not report.path.with_name("bank.backup-wal").exists()  # one self-contained file

    # Change the live bank, then restore over it while the app's engine is still connected.
    with transaction(engine) as session:
        session.delete(session.exec(select(Lesson)).first())
        session.add(Lesson(title="Written after the backup"))
    with Session(engine) as session:
        counter = session.exec(select(LessonVersion.n)).one()
    assert _export(engine) != before

    restored = restore(seeded, report.path)

    assert restored.counts == report.counts
    assert (restored.source_revision, restored.revision) == (HEAD, HEAD)
    assert _export(engine) == before
    assert _raw(live) == raw_before
    with Session(engine) as session:
        assert session.exec(select(LessonVersion.n)).one() > counter  # running apps reload


def test_backup_while_another_thread_commits_is_consistent(
    seeded: str, engine: Engine, tmp_path: Path
) -> None:
    with Session(engine) as session:
        before = session.exec(select(func.count()).select_from(Lesson)).one()
    commits = [0]
    failures: list[BaseException] = []
    changed = threading.Condition()
    stop = threading.Event()

    def write() -> None:
        writer = make_engine(seeded)
        try:
            while not stop.is_set():
                with transaction(writer) as session:
                    session.add(Lesson(title=f"Concurrent lesson {commits[0]}", unit="ops"))
                with changed:
                    commits[0] += 1
                    changed.notify_all()
        except BaseException as exc:  # the test thread reports it
            failures.append(exc)
            with changed:
                changed.notify_all()
        finally:
            writer.dispose()

    seen: list[int] = []

    def step(done: int, total: int) -> None:
        # Let at least one more commit land between every two pages copied.
        with changed:
            start = commits[0]
            changed.wait_for(lambda: commits[0] > start or bool(failures), timeout=30)
            seen.append(commits[0])

    thread = threading.Thread(target=write)
    thread.start()
    try:
        report = backup(seeded, tmp_path / "busy.backup", progress=step, pages=1)
    finally:
        stop.set()
        thread.join()
    assert not failures
    with Session(engine) as session:
        after = session.exec(select(func.count()).select_from(Lesson)).one()
    assert len(seen) > 1 and seen[-1] > seen[0]  # commits really landed mid-copy
    assert _integrity(report.path) == "ok"
    raw = _raw(report.path)["counts"]
    assert before <= raw["lesson"] <= after
    assert report.counts.lessons == raw["lesson"]
    # One snapshot: the full-text index agrees with the lesson table row for row.
    assert raw["lesson_fts"] == raw["lesson"]
    with closing(sqlite3.connect(report.path)) as db:
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []


def test_restore_into_path_that_does_not_exist_creates_the_database(
    seeded: str, engine: Engine, tmp_path: Path
) -> None:
    report = backup(seeded, tmp_path / "bank.backup")
    target = tmp_path / "new" / "place" / "lessonbank.db"

    restored = restore(_url(target), report.path)

    assert restored.path == target
    assert restored.counts == report.counts
    assert _raw(target) == _raw(report.path)
    copy = make_engine(_url(target))
    try:
        assert _export(copy) == _export(engine)
    finally:
        copy.dispose()


def _text_file(path: Path) -> Path:
    path.write_text("lesson title,observation\nLate fridges,They came late\n")
    return path


def _empty_file(path: Path) -> Path:
    path.touch()
    return path


def _other_app(path: Path) -> Path:
    with closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT)")
        db.execute("INSERT INTO note (body) VALUES ('not a lesson')")
        db.commit()
    return path


def _newer_revision(path: Path) -> Path:
    with closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        db.execute("INSERT INTO alembic_version VALUES ('9999_from_the_future')")
        db.execute("CREATE TABLE lesson (id INTEGER PRIMARY KEY, title TEXT)")
        db.commit()
    return path


def _damaged(path: Path) -> Path:
    _newer_revision(path)
    with closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA journal_mode=DELETE")
        db.execute("CREATE TABLE filler (x BLOB)")
        db.executemany("INSERT INTO filler VALUES (randomblob(3000))", [()] * 20)
        db.commit()
    data = bytearray(path.read_bytes())
    data[4096 * 2 : 4096 * 4] = b"\xff" * 8192  # scribble over two pages past the header
    path.write_bytes(bytes(data))
    return path


BAD_SOURCES = [
    pytest.param(_text_file, "not an SQLite database", id="text-file"),
    pytest.param(_empty_file, "not a Lessonbank database", id="empty-file"),
    pytest.param(_other_app, "not a Lessonbank database", id="other-app"),
    pytest.param(_newer_revision, "newer than this Lessonbank knows", id="newer-schema"),
    pytest.param(_damaged, "damaged", id="damaged"),
]


@pytest.mark.parametrize(("make", "message"), BAD_SOURCES)
def test_restore_bad_source_is_refused_and_target_untouched(
    seeded: str, engine: Engine, tmp_path: Path, make: Callable[[Path], Path], message: str
) -> None:
    engine.dispose()  # the bytes on disk are now everything there is
    target = _db_path(seeded)
    before = _fingerprint(target)
    source = make(tmp_path / "suspect.db")

    with pytest.raises(BackupError, match=message) as caught:
        restore(seeded, source)

    assert str(source) in caught.value.message
    assert "\n" not in caught.value.message
    assert _fingerprint(target) == before


@pytest.mark.parametrize(("make", "message"), BAD_SOURCES)
def test_restore_bad_source_into_missing_path_creates_nothing(
    tmp_path: Path, make: Callable[[Path], Path], message: str
) -> None:
    target = tmp_path / "absent" / "lessonbank.db"
    with pytest.raises(BackupError, match=message):
        restore(_url(target), make(tmp_path / "suspect.db"))
    assert not target.parent.exists()


def test_restore_missing_source_is_refused(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="no backup file"):
        restore(settings.database_url, tmp_path / "nowhere.backup")


def test_restore_declined_by_confirm_changes_nothing(
    seeded: str, engine: Engine, tmp_path: Path
) -> None:
    report = backup(seeded, tmp_path / "bank.backup")
    target = tmp_path / "other.db"
    plans: list[RestorePlan] = []

    def decline(plan: RestorePlan) -> bool:
        plans.append(plan)
        return False

    with pytest.raises(RestoreCancelled):
        restore(_url(target), report.path, confirm=decline)

    assert [(p.source, p.target, p.counts) for p in plans] == [(report.path, target, report.counts)]
    assert not target.exists()


def test_restore_older_backup_upgrades_to_head(tmp_path: Path) -> None:
    old = tmp_path / "old.db"
    old_engine = make_engine(_url(old))
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with old_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")
        # Raw SQL: today's models describe today's schema, not revision 0002's.
        connection.exec_driver_sql(
            "INSERT INTO lesson (uid, title, observation, insight, recommendation, polarity, "
            "perspective, sensitivity, status, unit, created_at, updated_at) VALUES ('old1', "
            "'Kept since schema 0002', '', '', '', 'improve', 'operational', 'internal', "
            "'validated', '', '2025-01-01 00:00:00', '2025-01-01 00:00:00')"
        )
    old_backup = backup(_url(old), tmp_path / "old.backup")
    old_engine.dispose()
    assert old_backup.revision == "0002"
    target = tmp_path / "restored.db"

    restored = restore(_url(target), old_backup.path)

    assert (restored.source_revision, restored.revision) == ("0002", HEAD)
    assert restored.counts.lessons == 1
    with closing(sqlite3.connect(target)) as db:
        assert db.execute("SELECT title FROM lesson").fetchall() == [("Kept since schema 0002",)]
        assert db.execute("SELECT rowid FROM lesson_fts WHERE lesson_fts MATCH 'kept'").fetchall()
        assert db.execute("SELECT n FROM lesson_version").fetchone()[0] >= 1


def test_backup_refuses_existing_target_unless_overwrite(
    seeded: str, engine: Engine, tmp_path: Path
) -> None:
    target = tmp_path / "backups" / "bank.backup"
    first = backup(seeded, target)
    kept = target.read_bytes()

    with pytest.raises(TargetExists, match="already exists"):
        backup(seeded, target)
    assert target.read_bytes() == kept

    with transaction(engine) as session:
        session.add(Lesson(title="One more"))
    second = backup(seeded, target, overwrite=True)
    assert second.counts.lessons == first.counts.lessons + 1
    assert sorted(os.listdir(target.parent)) == ["bank.backup"]  # no temporary files left


def _notes_db(path: Path) -> str:
    _other_app(path)
    return _url(path)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        pytest.param(lambda p: _url(p / "missing.db"), "no database at", id="missing"),
        pytest.param(lambda p: _notes_db(p / "notes.db"), "not a Lessonbank", id="other-app"),
        pytest.param(lambda p: "sqlite://", "Only an SQLite database file", id="in-memory"),
        pytest.param(lambda p: "mysql://u@h/db", "Only SQLite and PostgreSQL", id="mysql"),
    ],
)
def test_backup_bad_source_is_refused_and_leaves_no_file(
    tmp_path: Path, source: Callable[[Path], str], message: str
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    url = source(tmp_path)
    with pytest.raises(BackupError, match=message):
        backup(url, out / "bank.backup")
    assert os.listdir(out) == []
    assert not (tmp_path / "missing.db").exists()  # never creates the database it reads


def test_backup_to_the_database_itself_is_refused(seeded: str) -> None:
    with pytest.raises(BackupError, match="the database itself"):
        backup(seeded, _db_path(seeded), overwrite=True)


# --- the CLI, run as a real process -------------------------------------------------------


def _cli(*args: str, stdin: int | None = subprocess.DEVNULL) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, tests.lessons.storage.test_backup as t; sys.exit(t.main(sys.argv[1:]))",
            *args,
        ],
        cwd=ROOT,
        stdin=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_backup_and_restore_round_trip(seeded: str, engine: Engine, tmp_path: Path) -> None:
    path = str(tmp_path / "bank.backup")
    target = tmp_path / "copy.db"

    made = _cli("backup", path, "--database-url", seeded)
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith("Backed up ") and path in made.stdout

    done = _cli("restore", path, "--yes", "--database-url", _url(target))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Restored ") and f"schema {HEAD}" in done.stdout
    copy = make_engine(_url(target))
    try:
        assert _export(copy) == _export(engine)
    finally:
        copy.dispose()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(["backup", "{existing}"], "--overwrite", id="backup-exists"),
        pytest.param(
            ["backup", "{out}", "--database-url", "postgresql://u@h/db"],
            "There is no pg_dump in",
            id="backup-postgres-without-tools",
        ),
        pytest.param(["restore", "{existing}"], "pass --yes", id="restore-no-tty-no-yes"),
        pytest.param(["restore", "{text}", "--yes"], "not an SQLite database", id="restore-text"),
    ],
)
def test_cli_refusals_exit_2_with_one_line(
    seeded: str,
    tmp_path: Path,
    args: list[str],
    expected: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    existing = backup(seeded, tmp_path / "bank.backup").path
    text = _text_file(tmp_path / "notes.txt")
    target = _db_path(seeded)
    before = _fingerprint(target)
    names = {"existing": existing, "out": tmp_path / "out.backup", "text": text}
    argv = [a.format(**names) for a in args]
    if "--database-url" not in argv:
        argv += ["--database-url", seeded]
    monkeypatch.setattr(sys, "stdin", io.StringIO("yes\n"))  # piped, not a terminal
    monkeypatch.setenv("LESSONBANK_PG_BIN", str(tmp_path))  # a folder with no pg_dump in it

    code = main(argv)

    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert len(err.splitlines()) == 1 and expected in err
    assert _fingerprint(target) == before


@pytest.mark.parametrize(("answer", "code"), [("n\n", 1), ("yes\n", 0)])
def test_cli_restore_asks_on_a_terminal(
    seeded: str, tmp_path: Path, answer: str, code: int
) -> None:
    path = backup(seeded, tmp_path / "bank.backup").path
    target = tmp_path / "copy.db"
    leader, follower = pty.openpty()
    try:
        os.write(leader, answer.encode())
        result = _cli("restore", str(path), "--database-url", _url(target), stdin=follower)
    finally:
        os.close(follower)
        os.close(leader)
    assert "[y/N]" in result.stderr
    assert result.returncode == code, result.stderr
    assert target.exists() is (code == 0)
