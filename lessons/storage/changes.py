"""Tell whether lessons changed since a process last looked, in one cheap read.

Database triggers bump `lesson_version.n` in the same transaction as any insert, update or
delete of a lesson, its tags or its vector, from any process (migration 0003 creates them and
the counter's row, on SQLite and on PostgreSQL). Every in-process cache built from lessons
(the vector index, BM25 statistics and postings, themes, duplicate pairs) keys itself on this
value and reads it per request, so several app processes on one PostgreSQL database never
serve a state older than the request's own snapshot.
"""

from __future__ import annotations

from sqlmodel import Session, select

from lessons.storage.models import LessonVersion


def version(session: Session) -> tuple[object, ...]:
    """A value that differs whenever any lesson, tag or vector has changed."""
    return (session.exec(select(LessonVersion.n).where(LessonVersion.id == 1)).one(),)


def older(version: tuple[object, ...], than: tuple[object, ...] | None) -> bool:
    """Whether `version` was read in a snapshot taken before the one `than` was read in
    (the counter only grows)."""
    if than is None or len(version) != 1 or len(than) != 1:
        return False
    a, b = version[0], than[0]
    return isinstance(a, int) and isinstance(b, int) and a < b
