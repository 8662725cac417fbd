"""Tell whether lessons changed since a process last looked, in one cheap read.

On SQLite, triggers bump `lesson_version.n` in the same transaction as any insert, update or
delete of a lesson, its tags or its vector, from any process. Elsewhere (PostgreSQL) the
version is read off counts and newest timestamps instead.
"""

from __future__ import annotations

from sqlalchemy import Connection, func
from sqlmodel import Session, select

from lessons.models import Lesson, LessonEmbedding, LessonVersion

_WATCHED = ("lesson", "lesson_tag", "lesson_embedding")


def install(connection: Connection) -> None:
    """Create the counter's row and the triggers that bump it (idempotent)."""
    connection.exec_driver_sql(
        "INSERT INTO lesson_version (id, n) SELECT 1, 0 WHERE NOT EXISTS "
        "(SELECT 1 FROM lesson_version WHERE id = 1)"
    )
    if connection.dialect.name != "sqlite":
        return
    for table in _WATCHED:
        for event in ("INSERT", "UPDATE", "DELETE"):
            name = f"{table}_version_{event.lower()}"
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
            connection.exec_driver_sql(
                f"CREATE TRIGGER {name} AFTER {event} ON {table} BEGIN "
                "UPDATE lesson_version SET n = n + 1 WHERE id = 1; END"
            )


def version(session: Session) -> tuple[object, ...]:
    """A value that differs whenever any lesson, tag or vector has changed."""
    bind = session.get_bind()
    if bind.dialect.name == "sqlite":
        return (session.exec(select(LessonVersion.n).where(LessonVersion.id == 1)).one(),)
    lessons = session.exec(select(func.count(), func.max(Lesson.updated_at))).one()
    vectors = session.exec(select(func.count(), func.max(LessonEmbedding.updated_at))).one()
    return (*lessons, *vectors)


def older(version: tuple[object, ...], than: tuple[object, ...] | None) -> bool:
    """Whether `version` was read in a snapshot taken before the one `than` was read in.
    Known only for SQLite's counter, which only grows; elsewhere never claimed."""
    if than is None or len(version) != 1 or len(than) != 1:
        return False
    a, b = version[0], than[0]
    return isinstance(a, int) and isinstance(b, int) and a < b
