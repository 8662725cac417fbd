"""The backend seam (lessons/storage/backends): URLs, the change counter and timestamps, on the
backend the session runs on (`pytest --backend=postgresql` for PostgreSQL)."""

from __future__ import annotations

from datetime import UTC

import pytest
from sqlalchemy import DateTime, Engine, delete, inspect
from sqlmodel import Session, select

from lessons.storage import backends, changes
from lessons.storage.db import make_engine, transaction
from lessons.storage.models import Lesson, LessonTag
from lessons.storage.settings import Settings
from tests.conftest import Client, review_payload


def test_a_plain_postgresql_url_gets_the_shipped_driver() -> None:
    url = backends.database_url("postgresql://lessons:s3cret@db.example:5432/bank")
    assert url.drivername == "postgresql+psycopg"
    assert url.password == "s3cret" and url.database == "bank"
    # A driver the user chose is kept; SQLite needs none.
    assert backends.database_url("postgresql+psycopg://u@h/db").drivername == "postgresql+psycopg"
    assert backends.database_url("sqlite:///x.db").drivername == "sqlite"


def test_an_unsupported_database_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="SQLite or PostgreSQL, not mysql"):
        make_engine("mysql://u@h/db")


def _version(engine: Engine) -> tuple[object, ...]:
    with Session(engine) as session:
        return changes.version(session)


def test_every_lesson_change_moves_the_counter_another_connection_reads(
    client: Client, settings: Settings
) -> None:
    """The counter is kept by the database, so a second engine (another app process) sees
    every change: a new lesson, an edit, a tag, a delete."""
    other = make_engine(settings.database_url)
    seen = [_version(other)]
    assert client.post("/api/reviews", json=review_payload()).status_code == 201
    seen.append(_version(other))
    with transaction(other, write=True) as session:
        lesson = session.exec(select(Lesson)).one()
        lesson.title = "Order fridges at the draft plan"
    seen.append(_version(other))
    with transaction(other, write=True) as session:
        session.execute(delete(LessonTag))
    seen.append(_version(other))
    other.dispose()
    numbers = [v[0] for v in seen]
    assert all(isinstance(n, int) for n in numbers)
    assert numbers == sorted(set(numbers)), numbers  # strictly growing: each change seen
    assert changes.older(seen[0], seen[-1])


def test_timestamps_come_back_in_utc_with_their_zone(client: Client, engine: Engine) -> None:
    assert client.post("/api/reviews", json=review_payload()).status_code == 201
    with Session(engine) as session:
        lesson = session.exec(select(Lesson)).one()
    assert lesson.created_at.tzinfo is not None
    assert lesson.created_at.utcoffset() == UTC.utcoffset(None)


def test_postgresql_stores_every_timestamp_with_its_time_zone(engine: Engine) -> None:
    if backends.of(engine).name != "postgresql":
        pytest.skip("PostgreSQL's column types (SQLite has no timestamp type)")
    zoned = {
        (table, column["name"]): column["type"].timezone
        for table in inspect(engine).get_table_names()
        for column in inspect(engine).get_columns(table)
        if isinstance(column["type"], DateTime)
    }
    assert zoned[("lesson", "created_at")] is True
    assert [column for column, timezone in zoned.items() if not timezone] == []
