"""Reading and editing lessons, reviews and actions, always through the viewer's access."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import func
from sqlmodel import Session, col, select

from lessons.accounts import audit
from lessons.accounts.access import (
    AUDIENCES,
    TRUSTED_STATUSES,
    Viewer,
    action_clause,
    visible_lessons,
    visible_person_ids,
    visible_review_ids,
)
from lessons.capture import service as capture
from lessons.errors import NotFound, ValidationFailed
from lessons.schemas import LessonPatch, SearchFilters
from lessons.storage.models import (
    Action,
    ActionStatus,
    Lesson,
    LessonEvent,
    LessonStatus,
    Person,
    Review,
    Sensitivity,
    utcnow,
)


def get_lesson(session: Session, *, lesson_id: int, viewer: Viewer) -> Lesson:
    """One lesson the viewer may see; otherwise NotFound (never a hint that it exists)."""
    lesson = session.get(Lesson, lesson_id)
    if lesson is None or not viewer.can_see(lesson):
        raise NotFound(f"No lesson with id {lesson_id}.")
    return lesson


def list_lessons(
    session: Session,
    *,
    viewer: Viewer,
    filters: SearchFilters | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Lesson], int]:
    """A page of the lessons the viewer may see, newest first, and how many match in all."""
    query = visible_lessons(viewer, filters)
    total = count_lessons(session, viewer=viewer, filters=filters)
    page = session.exec(
        query.order_by(col(Lesson.created_at).desc(), col(Lesson.id).desc())
        .limit(limit)
        .offset(offset)
    )
    return list(page), total


def count_lessons(session: Session, *, viewer: Viewer, filters: SearchFilters | None = None) -> int:
    """How many lessons the viewer may see pass `filters` (what a search ranks)."""
    query = visible_lessons(viewer, filters)
    return int(session.exec(select(func.count()).select_from(query.subquery())).one())


def update_lesson(
    session: Session, *, lesson: Lesson, patch: LessonPatch, by_curator: bool, actor: str = ""
) -> Lesson:
    """Apply a partial edit (audited); the caller re-embeds when the text changed.

    A curator's word is what makes a lesson trusted, so when someone who is not a curator
    rewrites the text of a validated (or later) lesson, or widens who may see it, the edit is
    saved and the lesson goes back to identified for curation (`_send_back`): it leaves
    trusted results until a curator validates it again, never silently published."""
    changes = patch.model_dump(exclude_unset=True)
    needs_curation = None if by_curator else _needs_curation(lesson, changes)
    before = audit.snapshot(lesson, _EDITABLE)
    tags = changes.pop("tags", None)
    for name, value in changes.items():
        if value is not None or name == "review_due":
            setattr(lesson, name, value)
    capture.widen_review(session, lesson)
    if tags is not None:
        capture.set_tags(session, lesson=lesson, tags=tags)
    lesson.updated_at = utcnow()
    session.add(lesson)
    session.flush()
    session.refresh(lesson)
    audit.record(
        session,
        actor=actor,
        action="edit",
        entity=lesson,
        before=before,
        after=audit.snapshot(lesson, _EDITABLE),
    )
    if needs_curation:
        _send_back(session, lesson=lesson, actor=actor, why=needs_curation)
    return lesson


_EDITABLE = set(LessonPatch.model_fields) - {"tags"}
TEXT_FIELDS = ("title", "observation", "insight", "recommendation")


def _needs_curation(lesson: Lesson, changes: dict[str, object]) -> str | None:
    """Why a non-curator's edit sends a curated lesson back for curation, or None."""
    if lesson.status not in TRUSTED_STATUSES:
        return None  # not yet curated: the curator will see the text as it is
    rewritten = [name for name in TEXT_FIELDS if name in changes and changes[name] is not None]
    rewritten = [name for name in rewritten if changes[name] != getattr(lesson, name)]
    wanted = changes.get("sensitivity")
    widened = wanted is not None and AUDIENCES.index(Sensitivity(str(wanted))) < AUDIENCES.index(
        Sensitivity(lesson.sensitivity)
    )
    reasons = [f"{', '.join(rewritten)} rewritten"] if rewritten else []
    if widened:
        reasons.append(f"sensitivity widened from {lesson.sensitivity} to {wanted}")
    return "; ".join(reasons) or None


def delete_lesson(session: Session, *, lesson: Lesson, actor: str) -> None:
    """Soft-delete: hidden from everyone but curators, and an admin can restore it."""
    lesson.deleted_at = utcnow()
    lesson.updated_at = utcnow()
    session.add(lesson)
    audit.record(
        session,
        actor=actor,
        action="delete",
        entity=lesson,
        before=audit.snapshot(lesson, {"title", "status", "sensitivity"}),
    )


def restore_lesson(session: Session, *, lesson: Lesson, actor: str) -> None:
    """Undo a soft delete."""
    lesson.deleted_at = None
    lesson.updated_at = utcnow()
    session.add(lesson)
    audit.record(session, actor=actor, action="restore", entity=lesson)


def purge_lesson(session: Session, *, lesson: Lesson, actor: str) -> None:
    """Remove a soft-deleted lesson for good (retention rules); the audit row keeps its text."""
    if lesson.deleted_at is None:
        raise ValidationFailed("Delete the lesson before purging it.", {"lesson": "not deleted"})
    before = audit.snapshot(lesson)
    audit.record(session, actor=actor, action="purge", entity=lesson, before=before)
    session.delete(lesson)
    session.flush()


def get_review(session: Session, *, review_id: int, viewer: Viewer) -> Review:
    """One review the viewer may open (`access.visible_review_ids`); otherwise NotFound."""
    review = session.exec(
        select(Review).where(Review.id == review_id, col(Review.id).in_(visible_review_ids(viewer)))
    ).first()
    if review is None:
        raise NotFound(f"No review with id {review_id}.")
    return review


def list_reviews(
    session: Session, *, viewer: Viewer, project_id: int | None = None
) -> list[Review]:
    """Reviews the viewer may open, newest first, optionally of one project."""
    query = (
        select(Review)
        .where(col(Review.id).in_(visible_review_ids(viewer)))
        .order_by(col(Review.held_on).desc().nulls_last(), col(Review.id).desc())
    )
    if project_id is not None:
        query = query.where(Review.project_id == project_id)
    return list(session.exec(query))


def open_actions(session: Session, *, lesson_ids: Sequence[int]) -> dict[int, list[Action]]:
    """Open actions on each of the given lessons, soonest due first."""
    if not lesson_ids:
        return {}
    rows = session.exec(
        select(Action)
        .where(col(Action.lesson_id).in_(list(lesson_ids)), Action.status == ActionStatus.OPEN)
        .order_by(col(Action.due).asc().nulls_last())
    )
    found: dict[int, list[Action]] = {}
    for action in rows:
        assert action.lesson_id is not None
        found.setdefault(action.lesson_id, []).append(action)
    return found


def list_actions(
    session: Session,
    *,
    viewer: Viewer,
    project_id: int | None = None,
    review_id: int | None = None,
    status: str | None = None,
) -> list[Action]:
    """Actions across projects (or one), soonest due first, that the viewer may see
    (`access.action_clause`: an action's wording would reveal its lesson or review)."""
    query = (
        select(Action)
        .where(action_clause(viewer))
        .order_by(col(Action.due).asc().nulls_last(), col(Action.id))
    )
    if review_id is not None:
        query = query.where(Action.review_id == review_id)
    if project_id is not None:
        query = query.where(Action.project_id == project_id)
    if status:
        query = query.where(Action.status == status)
    return list(session.exec(query))


def today() -> date:
    return utcnow().date()


def _send_back(session: Session, *, lesson: Lesson, actor: str, why: str) -> LessonEvent:
    """Return a curated lesson to identified after an edit a curator has not seen (not a step
    anyone may choose: `update_lesson` takes it). Recorded in the lesson's history and
    the audit log; the curation queue lists it for validating again."""
    assert lesson.id is not None
    current = lesson.status
    reason = f"edited by {actor} ({why}): back for curation before it is trusted again"
    event = LessonEvent(
        lesson_id=lesson.id,
        from_status=current,
        to_status=LessonStatus.IDENTIFIED,
        actor=actor,
        reason=reason,
    )
    lesson.status = LessonStatus.IDENTIFIED
    lesson.updated_at = utcnow()
    session.add_all([lesson, event])
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="send_back",
        entity=lesson,
        before={"status": current},
        after={"status": LessonStatus.IDENTIFIED, "reason": reason},
    )
    return event


def list_people(session: Session, *, viewer: Viewer) -> list[Person]:
    """Everyone the viewer may see named (`access.visible_person_ids`), by name."""
    return list(
        session.exec(
            select(Person)
            .where(col(Person.id).in_(visible_person_ids(viewer)))
            .order_by(col(Person.name))
        )
    )
