"""Recurring lessons: the same problem met in three or more projects and not yet learned.

Retrieval groups lessons by meaning (`retrieval.themes`); this module says which lessons may
be grouped for a reader and which groups are themes worth a curator's attention.

A group is a theme when its lessons that are not yet learned come from at least MIN_PROJECTS
distinct projects. A lesson learned in one project does not close the theme if three others
met the problem again: the change did not reach them, and the learned lesson (shown with the
theme) is the evidence to spread.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import selectinload
from sqlmodel import Session, col
from sqlmodel.sql.expression import SelectOfScalar

from lessons.accounts.access import Viewer, visible_lesson_ids, visible_lessons
from lessons.catalogue import service as catalogue
from lessons.schemas import SearchFilters
from lessons.storage.models import Action, Lesson, LessonStatus, Project

MIN_PROJECTS = 3
# Lessons that count: submitted and not set aside. Drafts are unfinished; rejected, merged
# (their canonical lesson stands for them) and retired (out of date) lessons are not problems
# the organisation is still meeting.
THEME_STATUSES = (
    LessonStatus.IDENTIFIED,
    LessonStatus.VALIDATED,
    LessonStatus.ACTIONED,
    LessonStatus.LEARNED,
)
_LABEL_TAGS = 3


def _filters() -> SearchFilters:
    return SearchFilters(status=list(THEME_STATUSES))


def candidate_ids(viewer: Viewer) -> SelectOfScalar[int | None]:
    """Ids of the lessons that may be grouped for `viewer`: what they may see, never deleted
    ones (curators see those, to restore them, but they are not part of the bank)."""
    return visible_lesson_ids(viewer, _filters()).where(col(Lesson.deleted_at).is_(None))


def access_key(viewer: Viewer) -> str:
    """What decides which lessons `viewer` may see: readers with equal keys see equal sets."""
    return json.dumps(
        [
            viewer.is_curator,
            viewer.trusted_only,
            sorted(viewer.sensitivities),
            sorted(viewer.project_ids),
        ]
    )


@dataclass(frozen=True)
class Theme:
    """A problem met again and again: its lessons (the most central first), where and when."""

    label: str
    tags: list[str]
    lessons: list[Lesson]
    projects: list[Project]
    years: list[int]
    open_actions: list[Action]

    @property
    def central(self) -> Lesson:
        return self.lessons[0]

    @property
    def learned(self) -> list[Lesson]:
        return [le for le in self.lessons if le.status == LessonStatus.LEARNED]

    @property
    def open_projects(self) -> list[Project]:
        """Projects where the problem was met and is not yet learned."""
        ids = {le.project_id for le in self.lessons if le.status != LessonStatus.LEARNED}
        return [p for p in self.projects if p.id in ids]


def lesson_year(lesson: Lesson) -> int:
    """When the lesson was met: its own date, else its review's, else when it was recorded."""
    if lesson.lesson_date is not None:
        return lesson.lesson_date.year
    if lesson.review is not None and lesson.review.held_on is not None:
        return lesson.review.held_on.year
    return lesson.created_at.year


def build(
    session: Session,
    *,
    clusters: Sequence[Sequence[int]],
    viewer: Viewer,
    min_projects: int = MIN_PROJECTS,
) -> list[Theme]:
    """Themes from groups of lesson ids, most projects first. Lessons are loaded again through
    the viewer's access, so a cached grouping can never show what the viewer may not see."""
    wanted = sorted({lesson_id for group in clusters for lesson_id in group})
    if not wanted:
        return []
    loaded = session.exec(
        visible_lessons(viewer, _filters())
        .where(col(Lesson.id).in_(wanted), col(Lesson.deleted_at).is_(None))
        .options(
            selectinload(Lesson.tag_links),  # type: ignore[arg-type]
            selectinload(Lesson.project),  # type: ignore[arg-type]
            selectinload(Lesson.review),  # type: ignore[arg-type]
        )
    )
    by_id = {lesson.id: lesson for lesson in loaded}
    actions = catalogue.open_actions(session, lesson_ids=[i for i in wanted if i in by_id])
    themes = []
    for group in clusters:
        lessons = [by_id[i] for i in group if i in by_id]
        theme = _theme(lessons, actions)
        if theme is not None and len(theme.open_projects) >= min_projects:
            themes.append(theme)
    return sorted(
        themes,
        key=lambda t: (-len(t.open_projects), -len(t.projects), -len(t.lessons), t.label),
    )


def _theme(lessons: list[Lesson], actions: dict[int, list[Action]]) -> Theme | None:
    if not lessons:
        return None
    projects = {le.project.id: le.project for le in lessons if le.project is not None}
    tag_counts = Counter(tag for le in lessons for tag in le.tags)
    # Tags that at least two lessons share say what the group has in common.
    shared = [tag for tag, n in tag_counts.most_common() if n >= 2][:_LABEL_TAGS]
    return Theme(
        label=lessons[0].title,
        tags=shared,
        lessons=lessons,
        projects=sorted(projects.values(), key=lambda p: p.name.lower()),
        years=sorted({lesson_year(le) for le in lessons}),
        open_actions=[a for le in lessons for a in actions.get(le.id or 0, [])],
    )
