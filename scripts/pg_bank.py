"""A SQLite bank copied into a fresh PostgreSQL database, for measuring search on both backends
over the same lessons (scripts/eval_retrieval.py, scripts/bench_search.py). Not the product's
`lessonbank migrate-to` (no progress, no resuming): a scratch copy, made whole or not at all.

    .venv/bin/python scripts/pg_bank.py SQLITE_FILE POSTGRES_SERVER_URL DATABASE_NAME
"""

from __future__ import annotations

import sys
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
    head first (so its own triggers fill the full-text rows); returns its URL."""
    import lessons.storage.models  # noqa: F401  (registers the tables)
    from lessons.storage.db import make_engine, migrate

    url = recreate(server_url, name)
    source = make_engine(f"sqlite:///{sqlite_file}")
    target = make_engine(url)
    migrate(target)
    with source.connect() as reading, target.begin() as writing:
        tables = SQLModel.metadata.sorted_tables
        for table in reversed(tables):
            writing.execute(table.delete())
        for table in tables:
            rows = reading.execute(table.select()).mappings()
            batch: list[dict[str, object]] = []
            for row in rows:
                batch.append(dict(row))
                if len(batch) == _BATCH:
                    writing.execute(table.insert(), batch)
                    batch = []
            if batch:
                writing.execute(table.insert(), batch)
        _reset_sequences(writing, tables)
    source.dispose()
    fill_vectors(target)
    target.dispose()
    return url


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
