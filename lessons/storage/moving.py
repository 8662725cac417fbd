"""Moving a bank: copy every table of one Lessonbank database into PostgreSQL.

`lessonbank migrate-to` uses this. The target is migrated to the newest schema first; the
tables to copy, their order and their columns come from the target's reflected schema (what
the migrations made), so a table added by a later migration is copied without a change here.

Each batch is an upsert by primary key in its own transaction: a copy interrupted anywhere
is finished by running it again, which rewrites what was already there and never duplicates.
A target that already holds other records than this bank's is refused before anything is
written. After the copy, every table is counted and checksummed on both sides.

The source is read inside one transaction, so the copy is the bank as of one moment even if
an app keeps writing to it (SQLite in WAL mode keeps that snapshot for the reader).
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pgvector.sqlalchemy  # noqa: F401  (lets reflection read pgvector's `vector` columns)
from alembic.script import ScriptDirectory
from sqlalchemy import (
    Column,
    Connection,
    Engine,
    MetaData,
    Table,
    bindparam,
    func,
    inspect,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError

from lessons.errors import ValidationFailed
from lessons.storage.db import MIGRATIONS, make_engine, migrate

BATCH_ROWS = 1000
# Bumped by the database itself whenever lessons change (triggers): after a copy the target's
# counter may rightly be ahead of the source's, so these are compared by row count only.
COUNTERS = frozenset({"lesson_version"})
_SKIP = frozenset({"alembic_version"})  # the target's own schema revision, set by `migrate`
_SAMPLE = 20  # rows compared at each end of a table when deciding whose records a target holds

Progress = Callable[[str, int], None]
"""Called after each committed batch with (table, rows written in it)."""


class MoveRefused(ValidationFailed):
    """A copy that cannot be done as asked; the target was not written to."""

    code = "migrate_refused"


@dataclass(frozen=True)
class TablePlan:
    name: str
    rows: int  # in the source
    columns: tuple[str, ...]
    key: tuple[str, ...]
    # References to rows of this table (or of one copied later): written in a second pass,
    # once every row they may point at is there.
    deferred: tuple[str, ...] = ()


@dataclass(frozen=True)
class CopyPlan:
    """What a copy will do: tables in dependency order, and what it leaves out and why."""

    tables: tuple[TablePlan, ...]
    skipped: Mapping[str, str]
    resuming: bool

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)


@dataclass(frozen=True)
class TableCheck:
    name: str
    source_rows: int
    target_rows: int
    checksum_matches: bool | None  # None: not compared (a counter, or checksums turned off)

    @property
    def ok(self) -> bool:
        return self.source_rows == self.target_rows and self.checksum_matches is not False


@dataclass(frozen=True)
class CopyReport:
    plan: CopyPlan
    checks: tuple[TableCheck, ...]
    rows_written: int
    copy_seconds: float
    verify_seconds: float
    sequences_reset: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def rows_of(self, table: str) -> int:
        return next((t.rows for t in self.plan.tables if t.name == table), 0)


def migrate_to(
    source_url: str,
    target_url: str,
    *,
    batch_rows: int = BATCH_ROWS,
    checksums: bool = True,
    progress: Progress | None = None,
    on_plan: Callable[[CopyPlan], None] | None = None,
) -> CopyReport:
    """Copy the bank at `source_url` into the PostgreSQL database at `target_url`.

    `on_plan` sees the plan once the target is migrated and checked, before any row is
    copied; `progress` is called after each batch commits (raising there stops the copy, as
    an interruption would, leaving the committed batches in place)."""
    _check_urls(source_url, target_url)
    source = _open_source(source_url)
    target = make_engine(target_url)
    try:
        with source.connect() as reading:
            reading.begin()  # one snapshot for the whole copy
            _check_source_revision(reading, source_url)
            try:
                migrate(target)
            except SQLAlchemyError as exc:
                raise MoveRefused(
                    f"Cannot prepare the target database: {_first_line(exc)}"
                ) from exc
            schema = MetaData()
            schema.reflect(target)
            plan = _plan(reading, schema)
            with target.connect() as writing:
                _refuse_other_bank(reading, writing, schema, plan)
            plan = CopyPlan(plan.tables, plan.skipped, _holds_rows(target, schema, plan))
            if on_plan is not None:
                on_plan(plan)
            started = time.perf_counter()
            written = 0
            for table in plan.tables:
                written += _copy_table(
                    reading, target, schema.tables[table.name], table, batch_rows, progress
                )
            for table in plan.tables:
                if table.deferred:
                    _copy_deferred(reading, target, schema.tables[table.name], table, batch_rows)
            sequences = _reset_sequences(target, schema, plan)
            copied = time.perf_counter() - started
            started = time.perf_counter()
            with target.connect() as writing:
                checks = tuple(
                    _verify(reading, writing, schema.tables[t.name], t, checksums=checksums)
                    for t in plan.tables
                )
            verified = time.perf_counter() - started
    finally:
        source.dispose()
        target.dispose()
    return CopyReport(plan, checks, written, copied, verified, sequences)


# --- checks before anything is written -----------------------------------------------------------


def _check_urls(source_url: str, target_url: str) -> None:
    try:
        source, target = make_url(source_url), make_url(target_url)
    except ArgumentError as exc:
        raise MoveRefused(f"Cannot read the database URL: {exc}.") from exc
    if target.get_backend_name() != "postgresql":
        raise MoveRefused(
            f"The target must be a PostgreSQL database (postgresql://...), not "
            f"{target.get_backend_name()}."
        )
    if (source.get_backend_name(), source.host, source.port, source.database) == (
        target.get_backend_name(),
        target.host,
        target.port,
        target.database,
    ) and source.query == target.query:
        raise MoveRefused("The source and the target are the same database.")


def _open_source(source_url: str) -> Engine:
    url = make_url(source_url)
    if url.get_backend_name() == "sqlite":
        path = url.database or ""
        if not path or path == ":memory:":
            raise MoveRefused("The source must be an SQLite database file.")
        if not Path(path).expanduser().is_file():
            raise MoveRefused(f"There is no database at {path} to copy.")
    return make_engine(source_url)


def _check_source_revision(reading: Connection, source_url: str) -> None:
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    try:
        row = reading.execute(text("SELECT version_num FROM alembic_version")).first()
    except (OperationalError, SQLAlchemyError) as exc:
        raise MoveRefused(
            f"{_where(source_url)} is not a Lessonbank database (it has no schema revision)."
        ) from exc
    revision = str(row[0]) if row else ""
    if revision != head:
        raise MoveRefused(
            f"{_where(source_url)} is at schema revision {revision or 'none'}, not the newest "
            f"({head}). Upgrade it first: run any lessonbank command on it with this version "
            f"(for example `lessonbank reindex --database-url SOURCE_URL`), then copy it."
        )


def _plan(reading: Connection, schema: MetaData) -> CopyPlan:
    source = inspect(reading)
    source_tables = set(source.get_table_names())
    derived = _sqlite_derived_tables(reading)
    skipped: dict[str, str] = {}
    for name in sorted(source_tables - set(schema.tables)):
        if name in derived:
            skipped[name] = "SQLite's own full-text index; PostgreSQL keeps its own"
        else:
            raise MoveRefused(
                f"The source has a table {name} the target's schema has no place for; "
                "copying would lose it. Is the target Lessonbank's newest version?"
            )
    order = [t for t in schema.sorted_tables if t.name in source_tables and t.name not in _SKIP]
    for table in schema.sorted_tables:
        if table.name not in source_tables and table.name not in _SKIP:
            skipped[table.name] = "not in the source; left as the migrations made it"
    plans = []
    for position, table in enumerate(order):
        source_columns = {c["name"] for c in source.get_columns(table.name)}
        writable = [c for c in table.columns if c.computed is None]
        lost = source_columns - {c.name for c in writable}
        if lost:
            raise MoveRefused(
                f"The target's table {table.name} has no column for {', '.join(sorted(lost))}; "
                "copying would lose it."
            )
        key = tuple(c.name for c in table.primary_key.columns)
        if not key:
            raise MoveRefused(f"The table {table.name} has no primary key to copy it by.")
        later = {t.name for t in order[position:]}
        deferred = tuple(
            c.name
            for c in writable
            if c.name in source_columns
            and c.name not in key
            and any(fk.column.table.name in later for fk in c.foreign_keys)
        )
        plans.append(
            TablePlan(
                table.name,
                _count(reading, table),
                tuple(c.name for c in writable if c.name in source_columns),
                key,
                deferred,
            )
        )
    return CopyPlan(tuple(plans), skipped, resuming=False)


def _sqlite_derived_tables(reading: Connection) -> set[str]:
    """FTS5 tables and their shadow tables: SQLite's index, rebuilt by PostgreSQL's own."""
    if reading.dialect.name != "sqlite":
        return set()
    virtual = [
        row[0]
        for row in reading.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL%'"
        )
    ]
    names = {row[0] for row in reading.exec_driver_sql("SELECT name FROM sqlite_master")}
    return {n for n in names if any(n == v or n.startswith(f"{v}_") for v in virtual)}


def _refuse_other_bank(
    reading: Connection, writing: Connection, schema: MetaData, plan: CopyPlan
) -> None:
    """A target holding rows this bank does not have is another bank: refuse to mix them.

    A target a previous run filled in part holds only this bank's rows, which is checked at
    both ends of every table (a copy fills each table in key order). Rows a fresh migration
    makes (the change counter) are the same in every bank and do not count."""
    seeds = _migration_seeds()
    for table_plan in plan.tables:
        table = schema.tables[table_plan.name]
        columns = [c for c in table_plan.columns if c not in table_plan.deferred]
        key = [table.c[k] for k in table_plan.key]
        theirs = 0
        for descending in (False, True):
            order = [k.desc() for k in key] if descending else key
            query = select(*(table.c[c] for c in columns)).order_by(*order).limit(_SAMPLE)
            for row in writing.execute(query).mappings():
                pk = tuple(row[k] for k in table_plan.key)
                if pk in seeds.get(table.name, ()):
                    continue
                theirs += 1
                if _normal(dict(row)) != _normal(_source_row(reading, table, columns, row)):
                    raise MoveRefused(
                        f"The target already holds another bank: its {table.name} row "
                        f"{_show(pk)} differs from this bank's (or this bank changed since an "
                        "earlier copy began). Copy into an empty database."
                    )
        if theirs and _count(writing, table) > table_plan.rows:
            raise MoveRefused(
                f"The target already holds another bank: it has more {table.name} rows than "
                "the source. Copy into an empty database."
            )


def _source_row(
    reading: Connection, table: Table, columns: Sequence[str], target_row: Mapping[Any, Any]
) -> dict[str, Any] | None:
    key = [c for c in table.primary_key.columns]
    query = select(*(table.c[c] for c in columns)).where(*(k == target_row[k.name] for k in key))
    found = reading.execute(query).mappings().first()
    return dict(found) if found is not None else None


@cache
def _migration_seeds() -> dict[str, set[tuple[Any, ...]]]:
    """Primary keys of the rows the migrations themselves insert, per table (found by
    migrating an empty scratch database, so a seed added by a new migration is known)."""
    with tempfile.TemporaryDirectory(prefix="lessonbank-seeds-") as scratch:
        return _seeds_of(make_engine(f"sqlite:///{Path(scratch) / 'seeds.db'}"))


def _seeds_of(engine: Engine) -> dict[str, set[tuple[Any, ...]]]:
    try:
        migrate(engine)
        schema = MetaData()
        schema.reflect(engine)
        with engine.connect() as connection:
            return {
                table.name: {
                    tuple(row) for row in connection.execute(select(*table.primary_key.columns))
                }
                for table in schema.sorted_tables
                if table.name not in _SKIP and table.primary_key.columns
            }
    finally:
        engine.dispose()


def _holds_rows(target: Engine, schema: MetaData, plan: CopyPlan) -> bool:
    seeds = _migration_seeds()
    with target.connect() as connection:
        return any(
            _count(connection, schema.tables[t.name]) > len(seeds.get(t.name, ()))
            for t in plan.tables
        )


# --- the copy ------------------------------------------------------------------------------------


def _copy_table(
    reading: Connection,
    target: Engine,
    table: Table,
    plan: TablePlan,
    batch_rows: int,
    progress: Progress | None,
) -> int:
    columns = [c for c in plan.columns if c not in plan.deferred]
    upsert = pg_insert(table)
    changing = [c for c in columns if c not in plan.key]
    statement = (
        upsert.on_conflict_do_update(
            index_elements=list(plan.key), set_={c: upsert.excluded[c] for c in changing}
        )
        if changing
        else upsert.on_conflict_do_nothing(index_elements=list(plan.key))
    )
    written = 0
    for batch in _batches(reading, table, columns, plan.key, batch_rows):
        with target.begin() as writing:
            _utc(writing)
            writing.execute(statement, batch)
        written += len(batch)
        if progress is not None:
            progress(table.name, len(batch))
    return written


def _copy_deferred(
    reading: Connection, target: Engine, table: Table, plan: TablePlan, batch_rows: int
) -> None:
    """Second pass: the references held back, now that every row they point at exists."""
    key = {k: f"key_{k}" for k in plan.key}
    statement = (
        update(table)
        .where(*(table.c[k] == bindparam(name) for k, name in key.items()))
        .values({c: bindparam(c) for c in plan.deferred})
    )
    for batch in _batches(reading, table, [*plan.key, *plan.deferred], plan.key, batch_rows):
        rows = [{**row, **{name: row[k] for k, name in key.items()}} for row in batch]
        if any(row[c] is not None for row in rows for c in plan.deferred):
            with target.begin() as writing:
                writing.execute(statement, rows)


def _batches(
    reading: Connection,
    table: Table,
    columns: Sequence[str],
    key: Sequence[str],
    batch_rows: int,
) -> Iterator[list[dict[str, Any]]]:
    """The source's rows in key order, `batch_rows` at a time (keyset paging: each batch is
    one indexed range read, however deep into the table)."""
    keys = [table.c[k] for k in key]
    wanted = [table.c[c] for c in columns]
    wanted += [k for k in keys if k.name not in columns]
    last: tuple[Any, ...] | None = None
    while True:
        query = select(*wanted).order_by(*keys).limit(max(1, batch_rows))
        if last is not None:
            query = query.where(
                tuple_(*keys) > tuple_(*last) if len(keys) > 1 else keys[0] > last[0]
            )
        rows = [dict(row) for row in reading.execute(query).mappings()]
        if not rows:
            return
        last = tuple(rows[-1][k] for k in key)
        yield [{c: row[c] for c in columns} for row in rows]


def _reset_sequences(target: Engine, schema: MetaData, plan: CopyPlan) -> tuple[str, ...]:
    """Move each id sequence past the ids copied, so the next row the app adds gets a new id."""
    reset = []
    with target.begin() as writing:
        for table_plan in plan.tables:
            if len(table_plan.key) != 1:
                continue
            table = schema.tables[table_plan.name]
            sequence = writing.execute(
                text("SELECT pg_get_serial_sequence(:table, :column)"),
                {"table": _quote(table), "column": table_plan.key[0]},
            ).scalar_one()
            if sequence is None:
                continue
            column = table.c[table_plan.key[0]]
            highest = writing.execute(select(func.max(column))).scalar_one()
            writing.execute(
                text("SELECT setval(:sequence, :value, :called)"),
                {"sequence": sequence, "value": highest or 1, "called": highest is not None},
            )
            reset.append(str(sequence))
    return tuple(reset)


# --- verification --------------------------------------------------------------------------------


def _verify(
    reading: Connection, writing: Connection, table: Table, plan: TablePlan, *, checksums: bool
) -> TableCheck:
    source_rows, target_rows = _count(reading, table), _count(writing, table)
    matches: bool | None = None
    if checksums and table.name not in COUNTERS:
        matches = _checksum(reading, table, plan) == _checksum(writing, table, plan)
    return TableCheck(table.name, source_rows, target_rows, matches)


def _checksum(connection: Connection, table: Table, plan: TablePlan) -> str:
    digest = hashlib.sha256()
    for row in rows_in_order(connection, table, plan.columns, plan.key):
        digest.update(repr(row).encode())
    return digest.hexdigest()


def rows_in_order(
    connection: Connection,
    table: Table,
    columns: Sequence[str],
    key: Sequence[str],
    batch_rows: int = 5000,
) -> Iterator[tuple[Any, ...]]:
    """Every row of `table` in key order, its values made comparable across backends."""
    for batch in _batches(connection, table, columns, key, batch_rows):
        for row in batch:
            yield tuple(_normal_value(row[c]) for c in columns)


def _normal(row: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return None if row is None else {k: _normal_value(v) for k, v in row.items()}


def _normal_value(value: Any) -> Any:
    """One spelling per value: SQLite keeps UTC datetimes naive, PostgreSQL returns them
    with a zone; bytes come back as memoryview from some drivers."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat()
    if isinstance(value, memoryview):
        return bytes(value)
    if isinstance(value, dict):
        return {k: _normal_value(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [_normal_value(v) for v in value]
    return value


# --- small helpers -------------------------------------------------------------------------------


def _count(connection: Connection, table: Table) -> int:
    return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def _utc(connection: Connection) -> None:
    # SQLite's datetimes are naive UTC; read into timestamptz columns, they must mean UTC.
    connection.exec_driver_sql("SET LOCAL TIME ZONE 'UTC'")


def _quote(table: Table | Column[Any]) -> str:
    return '"' + str(table.name).replace('"', '""') + '"'


def _show(pk: tuple[Any, ...]) -> str:
    return str(pk[0]) if len(pk) == 1 else str(pk)


def _where(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
