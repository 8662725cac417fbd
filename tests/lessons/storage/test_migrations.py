from __future__ import annotations

import ast
import json
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect
from sqlmodel import SQLModel

from lessons.storage import fulltext
from lessons.storage.db import MIGRATIONS, make_engine, migrate
from tests.databases import sqlite_only

# Columns added by migrations 0005 and 0007 with ALTER TABLE ... ADD COLUMN ... REFERENCES
# (rebuilding `lesson` would drop its triggers, and cascade deletes with foreign keys on).
# SQLAlchemy's SQLite reflection reads ON DELETE only from table-level FOREIGN KEY clauses, so
# for these it reports a differing constraint; the test below reads the real rule from SQLite.
INLINE_REFERENCES = {
    ("action", "carried_to_review_id", "review"),
    ("lesson", "merged_into_id", "lesson"),
    ("bar", "run_by_user_id", "user"),
    ("review", "recorded_by_id", "user"),
}


def _inline_reference(change: object) -> bool:
    if not isinstance(change, tuple) or change[0] not in ("add_fk", "remove_fk"):
        return False
    constraint = change[1]
    columns = [c.name for c in constraint.columns]
    key = (constraint.table.name, *columns, constraint.referred_table.name)
    return len(columns) == 1 and key in INLINE_REFERENCES


def _on_delete(engine: Engine, table: str, column: str) -> list[tuple[str, str]]:
    """(referred table, ON DELETE rule) of the foreign keys on `table`.`column`, as the
    database itself holds them."""
    if engine.dialect.name != "sqlite":
        keys = inspect(engine).get_foreign_keys(table)
        return [
            (k["referred_table"], k.get("options", {}).get("ondelete", ""))
            for k in keys
            if k["constrained_columns"] == [column]
        ]
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(f'PRAGMA foreign_key_list("{table}")').all()
    return [(r[2], r[6]) for r in rows if r[3] == column]


def test_inline_references_set_null_on_delete(engine: Engine) -> None:
    for table, column, target in INLINE_REFERENCES:
        assert _on_delete(engine, table, column) == [(target, "SET NULL")]


def test_migrations_build_exactly_the_models_schema(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "include_name": lambda name, type_, parents: (
                    not fulltext.is_own(name, type_, parents)
                )
            },
        )
        diff = compare_metadata(context, SQLModel.metadata)
    assert [change for change in diff if not _inline_reference(change)] == []


def test_migrate_is_idempotent(engine: Engine) -> None:
    migrate(engine)  # a second start-up on the same database
    with engine.connect() as connection:
        version = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    assert version is not None
    assert "lesson" in inspect(engine).get_table_names()


@sqlite_only("SQLite's PRAGMAs, set on each connection")
def test_sqlite_connections_have_wal_and_foreign_keys(engine: Engine) -> None:
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_make_engine_creates_the_data_folder(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'nested' / 'dir' / 'lb.db'}")
    migrate(engine)
    assert (tmp_path / "nested" / "dir" / "lb.db").exists()


def test_0006_gives_each_review_the_audience_of_its_lessons_purged_ones_included(
    tmp_path: Path,
) -> None:
    """An existing database: one review kept its internal lesson, one lost its restricted
    lesson to a purge (only the audit log remembers it). After 0006 the first is internal, the
    second restricted, so the purge does not open its answers."""
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0005")
        run = connection.exec_driver_sql
        run(
            "INSERT INTO project (id, uid, name, summary, unit, tags, created_at) "
            "VALUES (1, 'p', 'P', '', '', '[]', '2026-01-01')"
        )
        for review_id in (1, 2):
            run(
                "INSERT INTO review (id, uid, project_id, kind, question_set_version, answers, "
                f"created_at) VALUES ({review_id}, 'r{review_id}', 1, 'aar', 1, '{{}}', "
                "'2026-01-01')"
            )
        run(
            "INSERT INTO lesson (id, uid, title, observation, insight, recommendation, "
            "polarity, perspective, sensitivity, status, unit, project_id, review_id, "
            "created_at, updated_at, learned_evidence) VALUES (1, 'l1', 'Kept', '', '', '', "
            "'improve', 'operational', 'internal', 'identified', '', 1, 1, '2026-01-01', "
            "'2026-01-01', '')"
        )
        purged = json.dumps({"review_id": 2, "sensitivity": "restricted", "title": "Gone"})
        run(
            "INSERT INTO audit_event (at, actor, action, entity, entity_id, before) "
            "VALUES ('2026-01-02', 'kim', 'purge', 'lesson', 9, ?)",
            (purged,),
        )
        command.upgrade(config, "head")
        audiences = dict(run("SELECT id, sensitivity FROM review ORDER BY id").all())
    engine.dispose()
    assert audiences == {1: "internal", 2: "restricted"}


PROJECT_PACKAGES = {"lessons", "retrieval", "ui"}


def _project_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        found += [f"{path.name}: {n}" for n in names if n.split(".")[0] in PROJECT_PACKAGES]
    return found


def test_migrations_call_no_live_code() -> None:
    """A migration's SQL is written out in it: one that imported the project's modules would
    change what it does whenever they are edited."""
    versions = sorted((MIGRATIONS / "versions").glob("*.py"))
    assert len(versions) > 5
    assert [hit for path in versions for hit in _project_imports(path)] == []
