"""What a subscription feed holds: the newest validated lessons a reader may see, overall or
for one tag (its narrower terms included), unit or project, newest validation first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import false, func, or_
from sqlmodel import Session, col, select

from lessons.accounts.access import Viewer, visible_lesson_ids
from lessons.schemas import SearchFilters
from lessons.storage.models import Lesson, LessonEvent, LessonStatus, LessonTag
from lessons.storage.tagging import matches_tag


@dataclass(frozen=True)
class FeedEntry:
    lesson: Lesson
    validated_at: datetime


def newly_validated(
    session: Session,
    *,
    viewer: Viewer,
    tag: str | None = None,
    unit: str | None = None,
    project_id: int | None = None,
    any_tags: list[str] | None = None,
    limit: int = 50,
) -> list[FeedEntry]:
    """Validated (and since actioned or learned) lessons the viewer may see, by the time a
    curator last validated them, newest first. Access is decided by `visible_lessons` before
    anything is ordered or cut (the default statuses: validated, actioned, learned)."""
    validated = (
        select(
            col(LessonEvent.lesson_id).label("lesson_id"),
            func.max(LessonEvent.at).label("at"),
        )
        .where(LessonEvent.to_status == LessonStatus.VALIDATED)
        .group_by(col(LessonEvent.lesson_id))
        .subquery()
    )
    filters = SearchFilters(tags=[tag] if tag else None, project_id=project_id)
    query = (
        select(Lesson, validated.c.at)
        .join(validated, validated.c.lesson_id == col(Lesson.id))
        .where(col(Lesson.id).in_(visible_lesson_ids(viewer, filters)))
        .order_by(validated.c.at.desc(), col(Lesson.id).desc())
        .limit(limit)
    )
    if unit:
        query = query.where(func.lower(Lesson.unit) == unit.strip().lower())
    if any_tags is not None:  # a community's lessons: any one of its tags
        query = query.where(col(Lesson.id).in_(tagged_any(any_tags)))
    return [FeedEntry(lesson, at) for lesson, at in session.exec(query)]


def tagged_any(tags: list[str]) -> Any:
    """Ids of lessons carrying any of `tags` (or a narrower taxonomy term of one)."""
    if not tags:
        return select(col(LessonTag.lesson_id)).where(false())
    return select(col(LessonTag.lesson_id)).where(
        or_(*(matches_tag(col(LessonTag.tag), tag) for tag in tags))
    )
