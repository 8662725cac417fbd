"""A SQLite bank copied into a fresh PostgreSQL database, for measuring search on both backends
over the same lessons (scripts/eval_retrieval.py, scripts/bench_search.py). Not the product's
`lessonbank migrate-to` (no progress, no resuming): a scratch copy, made whole or not at all.

    .venv/bin/python scripts/pg_bank.py SQLITE_FILE POSTGRES_SERVER_URL DATABASE_NAME
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a file: make the project's packages importable
    sys.path.insert(0, str(REPO))

from sqlalchemy import Engine, create_engine, make_url, text  # noqa: E402
from sqlmodel import SQLModel  # noqa: E402

_BATCH = 2_000


def database_url(server_url: str, name: str) -> str:
    """The URL of database `name` on the server of `server_url` (psycopg driver)."""
    url = make_url(server_url).set(drivername="postgresql+psycopg", database=name)
    return url.render_as_string(hide_password=False)


def recreate(server_url: str, name: str, template: str | None = None) -> str:
    """Database `name` made afresh on the server (a copy of `template` when given)."""
    admin = create_engine(database_url(server_url, "postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        suffix = f' TEMPLATE "{template}"' if template else ""
        connection.execute(text(f'CREATE DATABASE "{name}"{suffix}'))
    admin.dispose()
    return database_url(server_url, name)


def copy_bank(sqlite_file: Path, server_url: str, name: str) -> str:
    """Every table of the models, rows as they are, into a new database `name` migrated to
    head first; returns its URL (`copy_bank_timed` for what each step took)."""
    return copy_bank_timed(sqlite_file, server_url, name)[0]


# Migration 0012's triggers that fill `lesson_search`, off while rows are copied in bulk (each
# tag would fill its lesson's row again); the rows are filled once afterwards.
_SEARCH_TRIGGERS = (
    ("lesson", "lesson_search_insert"),
    ("lesson", "lesson_search_update"),
    ("lesson_tag", "lesson_search_tag"),
)


# Migration 0012's indexes, dropped while rows go in and built once afterwards (timed).
_BUILT_AFTER = (
    "ix_lesson_embedding_hnsw",
    "ix_lesson_search_document",
    "ix_lesson_term_term",
    "ix_lesson_search_length",
    "ix_lesson_access",
)


def copy_bank_timed(sqlite_file: Path, server_url: str, name: str) -> tuple[str, dict[str, float]]:
    """`copy_bank`, and the seconds its steps took: copying the rows, filling the full-text
    rows and their postings (with their indexes), filling the pgvector column, and building
    the HNSW index (migration 0012's indexes are dropped while rows go in, then made again as
    the migration made them)."""
    import lessons.storage.models  # noqa: F401  (registers the tables)
    from lessons.storage.db import make_engine, migrate

    url = recreate(server_url, name)
    source = make_engine(f"sqlite:///{sqlite_file}")
    target = make_engine(url)
    migrate(target)
    times: dict[str, float] = {}
    started = time.perf_counter()
    with source.connect() as reading, target.begin() as writing:
        indexes = {
            name: writing.execute(
                text("SELECT indexdef FROM pg_indexes WHERE indexname = :name"), {"name": name}
            ).scalar_one()
            for name in _BUILT_AFTER
        }
        for name in _BUILT_AFTER:
            writing.execute(text(f"DROP INDEX {name}"))
        for table, trigger in _SEARCH_TRIGGERS:
            writing.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}"))
        tables = SQLModel.metadata.sorted_tables
        for table in reversed(tables):
            writing.execute(table.delete())
        for table in tables:
            batch: list[dict[str, object]] = []
            for row in reading.execute(table.select()).mappings():
                batch.append(dict(row))
                if len(batch) == _BATCH:
                    writing.execute(table.insert(), batch)
                    batch = []
            if batch:
                writing.execute(table.insert(), batch)
        _reset_sequences(writing, tables)
        times["rows_s"] = time.perf_counter() - started
        started = time.perf_counter()
        writing.execute(text("SELECT lesson_search_fill(array_agg(id)) FROM lesson"))
        for table, trigger in _SEARCH_TRIGGERS:
            writing.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}"))
        writing.execute(text("SET maintenance_work_mem = '1GB'"))
        for name in _BUILT_AFTER[1:]:
            writing.execute(text(indexes[name]))
        times["full_text_s"] = time.perf_counter() - started
    source.dispose()
    started = time.perf_counter()
    fill_vectors(target)
    times["vectors_s"] = time.perf_counter() - started
    started = time.perf_counter()
    with target.begin() as writing:
        writing.execute(text("SET maintenance_work_mem = '1GB'"))
        writing.execute(text(indexes["ix_lesson_embedding_hnsw"]))
    times["hnsw_build_s"] = time.perf_counter() - started
    with target.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
    target.dispose()
    return url, {k: round(v, 1) for k, v in times.items()}


def _reset_sequences(connection: object, tables: object) -> None:
    for table in tables:  # type: ignore[attr-defined]
        for column in table.primary_key.columns:
            if column.autoincrement is True or (
                column.autoincrement == "auto" and column.type.python_type is int
            ):
                connection.execute(  # type: ignore[attr-defined]
                    text(
                        f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', "
                        f"'{column.name}'), coalesce((SELECT max({column.name}) "
                        f'FROM "{table.name}"), 0) + 1, false)'
                    )
                )


def fill_vectors(engine: Engine) -> None:
    """The pgvector column filled from the stored bytes (what the app does at start-up)."""
    from lessons.storage.db import transaction
    from retrieval.backends import postgres

    with transaction(engine, write=True) as session:
        postgres.fill_missing_vectors(session)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    print(copy_bank(Path(sys.argv[1]), sys.argv[2], sys.argv[3]))
