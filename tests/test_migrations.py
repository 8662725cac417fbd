from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect
from sqlmodel import SQLModel

from lessons import fulltext
from lessons.db import make_engine, migrate


def test_migrations_build_exactly_the_models_schema(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "include_name": lambda name, type_, _: (
                    not (type_ == "table" and fulltext.is_own_table(name))
                )
            },
        )
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == []


def test_migrate_is_idempotent_and_sets_sqlite_pragmas(engine: Engine) -> None:
    migrate(engine)  # a second start-up on the same file
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        version = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    assert version is not None
    assert "lesson" in inspect(engine).get_table_names()


def test_make_engine_creates_the_data_folder(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'nested' / 'dir' / 'lb.db'}")
    migrate(engine)
    assert (tmp_path / "nested" / "dir" / "lb.db").exists()
