"""Who may see which lessons. Every path that returns lessons starts from `visible_lessons`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, and_, false, or_, true
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from lessons.models import Lesson, LessonStatus, LessonTag, Project, Sensitivity
from lessons.schemas import SearchFilters
from lessons.tagging import matches_tag

# What retrieval shows unless a curator asks for more (DESIGN.md, lifecycle).
TRUSTED_STATUSES = (LessonStatus.VALIDATED, LessonStatus.ACTIONED, LessonStatus.LEARNED)


@dataclass(frozen=True)
class Viewer:
    """The reader a query runs for.

    `sensitivities` are the levels seen everywhere; restricted lessons are seen by curators
    and, on their own projects, by members (`project_ids`).
    """

    name: str = ""
    sensitivities: frozenset[str] = frozenset({Sensitivity.PUBLIC})
    project_ids: frozenset[int] = field(default_factory=frozenset)
    is_curator: bool = False
    # Anonymous partners see only lessons a curator has accepted, whatever they ask for.
    trusted_only: bool = False
    user_id: int | None = None
    person_id: int | None = None  # the Person the user writes as
    role: str = ""  # empty for anonymous

    def can_edit(self, lesson: Lesson) -> bool:
        """Curators edit any lesson they curate; contributors the lessons they wrote."""
        if not self.can_see(lesson):
            return False
        return self.is_curator or (
            self.person_id is not None and lesson.author_id == self.person_id
        )

    @property
    def signed_in(self) -> bool:
        return bool(self.role)

    def can_see(self, lesson: Lesson) -> bool:
        if lesson.deleted_at is not None and not self.is_curator:
            return False
        if self.trusted_only and lesson.status not in TRUSTED_STATUSES:
            return False
        return self._cleared_for(lesson.sensitivity, lesson.project_id)

    def can_read_answers(self, lessons: Iterable[Lesson], project_id: int | None) -> bool:
        """Whether the viewer may read a review's free-text answers: they tell the story its
        lessons were drawn from, so they are as sensitive as its most sensitive lesson
        (whatever that lesson's status)."""
        return all(self._cleared_for(le.sensitivity, le.project_id or project_id) for le in lessons)

    def _cleared_for(self, sensitivity: str, project_id: int | None) -> bool:
        if self.is_curator or sensitivity in self.sensitivities:
            return True
        return sensitivity == Sensitivity.RESTRICTED and project_id in self.project_ids


PUBLIC = Viewer(name="anonymous", trusted_only=True)
STAFF = Viewer(
    name="staff",
    sensitivities=frozenset({Sensitivity.PUBLIC, Sensitivity.INTERNAL}),
    role="contributor",
)
CURATOR = Viewer(
    name="curator", sensitivities=frozenset(Sensitivity), is_curator=True, role="curator"
)


def sensitivity_clause(viewer: Viewer) -> ColumnElement[bool]:
    """The SQL condition for the lessons `viewer` may see."""
    if viewer.is_curator:
        return true()
    clauses: list[ColumnElement[bool]] = [col(Lesson.sensitivity).in_(sorted(viewer.sensitivities))]
    if viewer.project_ids:
        clauses.append(
            and_(
                col(Lesson.sensitivity) == Sensitivity.RESTRICTED,
                col(Lesson.project_id).in_(sorted(viewer.project_ids)),
            )
        )
    return or_(*clauses) if clauses else false()


def _conditions(viewer: Viewer, filters: SearchFilters | None) -> list[ColumnElement[bool]]:
    filters = filters or SearchFilters()
    statuses = filters.status or list(TRUSTED_STATUSES)
    if viewer.trusted_only:
        statuses = [s for s in statuses if s in TRUSTED_STATUSES]
    conditions = [sensitivity_clause(viewer), col(Lesson.status).in_(statuses)]
    if not viewer.is_curator:  # soft-deleted lessons stay reachable for curators to restore
        conditions.append(col(Lesson.deleted_at).is_(None))
    for tag in filters.tags or []:
        # A broader taxonomy term also finds the lessons tagged with its narrower terms.
        conditions.append(
            col(Lesson.id).in_(
                select(LessonTag.lesson_id).where(matches_tag(col(LessonTag.tag), tag))
            )
        )
    if filters.polarity:
        conditions.append(col(Lesson.polarity) == filters.polarity)
    if filters.perspective:
        conditions.append(col(Lesson.perspective) == filters.perspective)
    if filters.project_id is not None:
        conditions.append(col(Lesson.project_id) == filters.project_id)
    if filters.unit:
        conditions.append(
            col(Lesson.project_id).in_(select(Project.id).where(Project.unit == filters.unit))
        )
    return conditions


def visible_lessons(viewer: Viewer, filters: SearchFilters | None = None) -> SelectOfScalar[Lesson]:
    """Lessons `viewer` may see, narrowed by `filters` (trusted statuses by default)."""
    return select(Lesson).where(*_conditions(viewer, filters))


def visible_lesson_ids(
    viewer: Viewer, filters: SearchFilters | None = None
) -> SelectOfScalar[int | None]:
    """The ids of `visible_lessons`: what ranking may look at, decided before it ranks."""
    return select(col(Lesson.id)).where(*_conditions(viewer, filters))
