"""Tell whether lessons changed since a process last looked, in one cheap read.

On SQLite, triggers bump `lesson_version.n` in the same transaction as any insert, update or
delete of a lesson, its tags or its vector, from any process (migration 0003 creates them and
the counter's row). Elsewhere (PostgreSQL) the version is read off counts and newest
timestamps instead.
"""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, select

from lessons.storage.models import Lesson, LessonEmbedding, LessonVersion


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
