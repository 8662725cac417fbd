"""Who may see which records. Every path that returns lessons starts from `visible_lessons`;
reviews, actions, projects, people and BARs each have one rule here, used by every page.

The rules (README, "Access"): a review's own story (answers, author, actions on no lesson)
goes to those cleared for its stored audience; an action on a lesson to those who may see the
lesson; a project to those who may see any of its work (or when it holds none yet); a person
to those who may see any record naming them (or when none does); a BAR to its runner, its
project's members and curators. Whatever else a viewer may not see answers as missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, true, union
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from lessons.schemas import SearchFilters
from lessons.storage.models import (
    Action,
    BeforeActionReview,
    Lesson,
    LessonStatus,
    LessonTag,
    Person,
    Project,
    Review,
    Sensitivity,
)
from lessons.storage.tagging import matches_tag

# Widest audience first (public reaches anyone, restricted one project's members).
AUDIENCES = (Sensitivity.PUBLIC, Sensitivity.INTERNAL, Sensitivity.RESTRICTED)


def most_restricted(*sensitivities: str) -> str:
    """The most restricted of these sensitivities (an unknown one counts as restricted)."""
    return max(
        sensitivities,
        key=lambda s: AUDIENCES.index(Sensitivity(s)) if s in AUDIENCES else len(AUDIENCES),
    )


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

    def can_read_review(self, review: Review) -> bool:
        """Whether the viewer may read a review's own story (answers, author, actions on no
        lesson): as sensitive as the most sensitive lesson it ever held (`Review.sensitivity`,
        kept when lessons are purged), whatever that lesson's status."""
        return self._cleared_for(review.sensitivity, review.project_id)

    def can_change_action(self, action: Action) -> bool:
        """Who may edit, close, drop or carry an action: its owner, the project's members and
        curators (seeing it is not enough)."""
        return (
            self.is_curator
            or (self.person_id is not None and action.owner_id == self.person_id)
            or (action.project_id is not None and action.project_id in self.project_ids)
        )

    def can_use_bar(self, bar: BeforeActionReview) -> bool:
        """Who may read a BAR and record its decisions and outcomes: whoever ran it, the
        project's members and curators. Its brief may describe restricted work."""
        return (
            self.is_curator
            or (self.user_id is not None and bar.run_by_user_id == self.user_id)
            or (bar.project_id is not None and bar.project_id in self.project_ids)
        )

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
    return _cleared_clause(viewer, Lesson.sensitivity, Lesson.project_id)


def _cleared_clause(viewer: Viewer, sensitivity: Any, project_id: Any) -> ColumnElement[bool]:
    """`Viewer._cleared_for` in SQL, over a record's sensitivity and project columns."""
    if viewer.is_curator:
        return true()
    clauses: list[ColumnElement[bool]] = [col(sensitivity).in_(sorted(viewer.sensitivities))]
    if viewer.project_ids:
        clauses.append(
            and_(
                col(sensitivity) == Sensitivity.RESTRICTED,
                col(project_id).in_(sorted(viewer.project_ids)),
            )
        )
    return or_(*clauses) if clauses else false()


def readable_review_ids(viewer: Viewer) -> SelectOfScalar[int | None]:
    """Reviews whose own story (answers, author, actions on no lesson) `viewer` may read."""
    return select(col(Review.id)).where(
        _cleared_clause(viewer, Review.sensitivity, Review.project_id)
    )


def _every_state_ids(viewer: Viewer) -> SelectOfScalar[int | None]:
    return visible_lesson_ids(viewer, SearchFilters(status=list(LessonStatus)))


def visible_review_ids(viewer: Viewer) -> Any:
    """Reviews `viewer` may open: those whose story they may read, and those holding a lesson
    they may see (shown without the story)."""
    return union(
        readable_review_ids(viewer),
        select(col(Lesson.review_id)).where(
            col(Lesson.id).in_(_every_state_ids(viewer)), col(Lesson.review_id).is_not(None)
        ),
    )


def action_clause(viewer: Viewer) -> ColumnElement[bool]:
    """Actions `viewer` may see: one on a lesson goes with the lesson (its wording would
    reveal it); one on no lesson (never linked, or its lesson purged) goes with its review's
    story; one on neither goes with its project."""
    no_lesson = col(Action.lesson_id).is_(None)
    return or_(
        col(Action.lesson_id).in_(_every_state_ids(viewer)),
        and_(no_lesson, col(Action.review_id).in_(readable_review_ids(viewer))),
        and_(
            no_lesson,
            col(Action.review_id).is_(None),
            col(Action.project_id).in_(visible_project_ids(viewer)),
        ),
    )


def bar_clause(viewer: Viewer) -> ColumnElement[bool]:
    """`Viewer.can_use_bar` in SQL: BARs the viewer ran, of their projects, or all (curators)."""
    if viewer.is_curator:
        return true()
    clauses: list[ColumnElement[bool]] = []
    if viewer.user_id is not None:
        clauses.append(col(BeforeActionReview.run_by_user_id) == viewer.user_id)
    if viewer.project_ids:
        clauses.append(col(BeforeActionReview.project_id).in_(sorted(viewer.project_ids)))
    return or_(*clauses) if clauses else false()


def visible_project_ids(viewer: Viewer) -> SelectOfScalar[int | None]:
    """Projects `viewer` may know of: those with a lesson they may see or a review whose story
    they may read, their own, and those holding no lessons or reviews yet. A project holding
    only work they may not see answers as missing (even its name tells of that work)."""
    if viewer.is_curator:
        return select(col(Project.id))
    with_work: Any = union(
        select(col(Lesson.project_id)).where(col(Lesson.project_id).is_not(None)),
        select(col(Review.project_id)),
    )
    seen: Any = union(
        select(col(Lesson.project_id)).where(col(Lesson.id).in_(_every_state_ids(viewer))),
        select(col(Review.project_id)).where(col(Review.id).in_(readable_review_ids(viewer))),
    )
    return select(col(Project.id)).where(
        or_(
            col(Project.id).in_(seen),
            col(Project.id).in_(sorted(viewer.project_ids)),
            col(Project.id).not_in(with_work),
        )
    )


def visible_person_ids(viewer: Viewer) -> SelectOfScalar[int | None]:
    """People `viewer` may see named: on a lesson they may see, a review whose story they may
    read or an action they may see, people named on nothing yet, and themselves. Someone named
    only on restricted work is not listed to those who may not see it."""
    if viewer.is_curator:
        return select(col(Person.id))
    named = union(
        select(col(Lesson.author_id)).where(col(Lesson.author_id).is_not(None)),
        select(col(Review.author_id)).where(col(Review.author_id).is_not(None)),
        select(col(Action.owner_id)).where(col(Action.owner_id).is_not(None)),
    )
    seen = union(
        select(col(Lesson.author_id)).where(col(Lesson.id).in_(_every_state_ids(viewer))),
        select(col(Review.author_id)).where(col(Review.id).in_(readable_review_ids(viewer))),
        select(col(Action.owner_id)).where(action_clause(viewer)),
    )
    known: list[ColumnElement[bool]] = [col(Person.id).in_(seen), col(Person.id).not_in(named)]
    if viewer.person_id is not None:  # whatever they are named on, people know themselves
        known.append(col(Person.id) == viewer.person_id)
    return select(col(Person.id)).where(or_(*known))


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
    if filters.author_id is not None:
        conditions.append(col(Lesson.author_id) == filters.author_id)
    return conditions


def visible_lessons(viewer: Viewer, filters: SearchFilters | None = None) -> SelectOfScalar[Lesson]:
    """Lessons `viewer` may see, narrowed by `filters` (trusted statuses by default)."""
    return select(Lesson).where(*_conditions(viewer, filters))


def visible_lesson_ids(
    viewer: Viewer, filters: SearchFilters | None = None
) -> SelectOfScalar[int | None]:
    """The ids of `visible_lessons`: what ranking may look at, decided before it ranks."""
    return select(col(Lesson.id)).where(*_conditions(viewer, filters))
