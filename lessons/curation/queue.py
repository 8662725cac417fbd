"""The curation queue: lessons waiting for a curator, and the decisions taken on them.

Three sections, each oldest first so nothing waits forever behind newer work:
- lessons newly identified, to validate or reject;
- trusted lessons past their review date, to confirm (with any updates) or retire;
- trusted lessons whose text is weak: no tags, no insight, or a recommendation too short to act
  on (`WEAK_RECOMMENDATION_CHARS`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, exists, func, or_
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from lessons.accounts import audit
from lessons.accounts.access import TRUSTED_STATUSES, Viewer, visible_lessons
from lessons.catalogue import service as catalogue
from lessons.curation import lifecycle
from lessons.errors import InvalidTransition, ValidationFailed
from lessons.schemas import (
    LessonPatch,
    ReviewDecision,
    ReviewDueIn,
    SearchFilters,
    ValidateDecision,
    ValidateIn,
)
from lessons.storage.models import Lesson, LessonStatus, LessonTag

# A recommendation shorter than this is flagged. Measured on the 1,270 NASA lessons with a
# recommendation section: the 34 under 40 characters are empty (5) or pointers, not advice
# ("See Lessons Learned", "See attached PDF"); the shortest real one is 47 ("Try to have
# interfaces as flexible as possible."). A higher bar would flag terse but usable advice.
WEAK_RECOMMENDATION_CHARS = 40


class Section(StrEnum):
    VALIDATE = "validate"
    REVIEW_DUE = "review_due"
    FLAGGED = "flagged"


class Flag(StrEnum):
    NO_TAGS = "no_tags"
    SHORT_RECOMMENDATION = "short_recommendation"
    NO_INSIGHT = "no_insight"


# What each flag asks the curator to fix.
FLAG_TEXT = {
    Flag.NO_TAGS: "No tags: it will not turn up under any tag.",
    Flag.SHORT_RECOMMENDATION: (
        f"Recommendation under {WEAK_RECOMMENDATION_CHARS} characters: say what to do next time."
    ),
    Flag.NO_INSIGHT: "No insight: say why it happened.",
}

# Fields a curator may change from the queue; the review date belongs to the decision.
EDIT_FIELDS = tuple(name for name in LessonPatch.model_fields if name != "review_due")


@dataclass(frozen=True)
class QueuePage:
    """One page of a section, with how many lessons the section holds in all."""

    section: Section
    lessons: list[Lesson]
    total: int
    limit: int
    offset: int


def flags(lesson: Lesson) -> list[Flag]:
    """What is weak about a lesson (the same rules the flagged section selects by)."""
    found = []
    if not lesson.tag_links:
        found.append(Flag.NO_TAGS)
    # Spaces only, as SQL's trim(): stored text is already stripped by the input models.
    if len(lesson.recommendation.strip(" ")) < WEAK_RECOMMENDATION_CHARS:
        found.append(Flag.SHORT_RECOMMENDATION)
    if not lesson.insight.strip(" "):
        found.append(Flag.NO_INSIGHT)
    return found


def in_section(lesson: Lesson, section: Section, today: date) -> bool:
    """Whether `lesson` waits in `section` (what the section's query selects, for one lesson)."""
    if lesson.deleted_at is not None:
        return False
    if section == Section.VALIDATE:
        return lesson.status == LessonStatus.IDENTIFIED
    if lesson.status not in TRUSTED_STATUSES:
        return False
    if section == Section.REVIEW_DUE:
        return lesson.review_due is not None and lesson.review_due <= today
    return bool(flags(lesson))


def _weak() -> ColumnElement[bool]:
    tagged = exists().where(col(LessonTag.lesson_id) == col(Lesson.id))
    return or_(
        ~tagged,
        func.length(func.trim(col(Lesson.recommendation))) < WEAK_RECOMMENDATION_CHARS,
        func.trim(col(Lesson.insight)) == "",
    )


def _query(viewer: Viewer, section: Section, today: date) -> SelectOfScalar[Lesson]:
    waiting = section == Section.VALIDATE
    statuses = [LessonStatus.IDENTIFIED] if waiting else list(TRUSTED_STATUSES)
    # The one access rule first, then the section's own condition; deleted lessons wait for an
    # admin, not a curator.
    query = visible_lessons(viewer, SearchFilters(status=statuses)).where(
        col(Lesson.deleted_at).is_(None)
    )
    if section == Section.VALIDATE:
        return query.order_by(col(Lesson.created_at), col(Lesson.id))
    if section == Section.REVIEW_DUE:
        return query.where(col(Lesson.review_due) <= today).order_by(
            col(Lesson.review_due), col(Lesson.id)
        )
    return query.where(_weak()).order_by(col(Lesson.created_at), col(Lesson.id))


def counts(session: Session, *, viewer: Viewer, today: date) -> dict[Section, int]:
    """How many lessons wait in each section."""
    return {
        section: int(
            session.exec(
                select(func.count()).select_from(_query(viewer, section, today).subquery())
            ).one()
        )
        for section in Section
    }


def page(
    session: Session, *, viewer: Viewer, section: Section, today: date, limit: int, offset: int
) -> QueuePage:
    """A page of one section, oldest first."""
    query = _query(viewer, section, today)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    lessons = list(session.exec(query.limit(limit).offset(offset)))
    return QueuePage(section, lessons, int(total), limit, offset)


def edit(session: Session, *, lesson: Lesson, changes: LessonPatch, actor: str) -> bool:
    """Save the fields that differ from the lesson (one audited edit); False when none do."""
    current: dict[str, Any] = {name: getattr(lesson, name) for name in EDIT_FIELDS}
    current["tags"] = lesson.tags
    differ = {
        name: value
        for name, value in changes.model_dump(include=changes.model_fields_set).items()
        if name in EDIT_FIELDS and value is not None and value != current[name]
    }
    if "tags" in differ and sorted(differ["tags"]) == current["tags"]:
        del differ["tags"]
    if not differ:
        return False
    # Only curators reach the curation queue (its pages and API require the role).
    catalogue.update_lesson(
        session,
        lesson=lesson,
        patch=LessonPatch.model_validate(differ),
        actor=actor,
        by_curator=True,
    )
    return True


def _edits(choice: LessonPatch) -> LessonPatch:
    """The wording and classification part of a decision."""
    return LessonPatch.model_validate(
        choice.model_dump(include=set(EDIT_FIELDS) & choice.model_fields_set)
    )


def _future(day: date | None, today: date) -> None:
    if day is not None and day <= today:
        raise ValidationFailed(
            "The review date must be after today.", {"review_due": "after today"}
        )


def _not_deleted(lesson: Lesson) -> None:
    if lesson.deleted_at is not None:
        raise InvalidTransition(
            "This lesson is deleted: an admin restores it before it can be curated.",
            {"decision": "deleted"},
        )


def validate(
    session: Session,
    *,
    lesson: Lesson,
    choice: ValidateIn,
    actor: str,
    today: date,
    review_months: int = lifecycle.DEFAULT_REVIEW_MONTHS,
) -> None:
    """Accept (validated, next review set) or reject (reason required) an identified lesson,
    saving the curator's edits first; each change is audited with before and after."""
    _not_deleted(lesson)
    if lesson.status != LessonStatus.IDENTIFIED:
        raise InvalidTransition(
            f"This lesson is {lesson.status} now, no longer waiting for validation "
            "(another curator may have decided on it).",
            {"decision": f"already {lesson.status}"},
        )
    reject = choice.decision == ValidateDecision.REJECT
    if reject and not choice.reason.strip():
        raise ValidationFailed("Say why the lesson is rejected.", {"reason": "required"})
    _future(choice.review_due, today)
    edit(session, lesson=lesson, changes=_edits(choice), actor=actor)
    lifecycle.transition(
        session,
        lesson=lesson,
        to=LessonStatus.REJECTED if reject else LessonStatus.VALIDATED,
        actor=actor,
        reason=choice.reason,
        review_due=choice.review_due,
        review_months=review_months,
    )


def review(
    session: Session,
    *,
    lesson: Lesson,
    choice: ReviewDueIn,
    actor: str,
    today: date,
    review_months: int = lifecycle.DEFAULT_REVIEW_MONTHS,
) -> None:
    """Confirm a trusted lesson until its next review (saving any updates) or retire it
    (reason required); audited with before and after."""
    _not_deleted(lesson)
    if lesson.status not in TRUSTED_STATUSES:
        raise InvalidTransition(
            f"This lesson is {lesson.status}: only validated, actioned or learned lessons "
            "come up for review.",
            {"decision": f"already {lesson.status}"},
        )
    retire = choice.decision == ReviewDecision.RETIRE
    if retire and not choice.reason.strip():
        raise ValidationFailed("Say why the lesson is retired.", {"reason": "required"})
    _future(choice.review_due, today)
    edit(session, lesson=lesson, changes=_edits(choice), actor=actor)
    if retire:
        lifecycle.transition(
            session, lesson=lesson, to=LessonStatus.RETIRED, actor=actor, reason=choice.reason
        )
        return
    before = lesson.review_due
    lesson.review_due = choice.review_due or lifecycle.next_review(
        today=today, months=review_months
    )
    session.add(lesson)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="confirm_review",
        entity=lesson,
        before={"review_due": before.isoformat() if before else None},
        after={"review_due": lesson.review_due.isoformat(), "reason": choice.reason},
    )
