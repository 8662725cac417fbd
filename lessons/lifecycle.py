"""The lesson lifecycle: which steps are allowed, and the record each step leaves."""

from __future__ import annotations

from sqlmodel import Session, col, select

from lessons import audit
from lessons.errors import InvalidTransition
from lessons.models import Lesson, LessonEvent, LessonStatus, utcnow

S = LessonStatus

# draft -> identified -> validated -> actioned -> learned; rejected, merged and retired
# branch off (DESIGN.md). A rejected or retired lesson can be reopened for another look.
ALLOWED: dict[LessonStatus, frozenset[LessonStatus]] = {
    S.DRAFT: frozenset({S.IDENTIFIED}),
    S.IDENTIFIED: frozenset({S.VALIDATED, S.REJECTED, S.MERGED}),
    S.VALIDATED: frozenset({S.ACTIONED, S.LEARNED, S.MERGED, S.RETIRED}),
    S.ACTIONED: frozenset({S.LEARNED, S.MERGED, S.RETIRED}),
    S.LEARNED: frozenset({S.RETIRED, S.MERGED}),
    S.REJECTED: frozenset({S.IDENTIFIED}),
    S.MERGED: frozenset(),
    S.RETIRED: frozenset({S.VALIDATED}),
}

# Steps whose "why" matters enough that they are refused without one.
NEEDS_REASON = frozenset({S.REJECTED, S.RETIRED, S.LEARNED})


def allowed_next(status: str) -> list[LessonStatus]:
    """The states a lesson in `status` may move to, in lifecycle order."""
    nexts = ALLOWED.get(LessonStatus(status), frozenset())
    return [s for s in LessonStatus if s in nexts]


def record_creation(session: Session, *, lesson: Lesson, actor: str, reason: str = "") -> None:
    """Log how a lesson came to exist (its first lifecycle event)."""
    assert lesson.id is not None
    session.add(
        LessonEvent(
            lesson_id=lesson.id,
            from_status=None,
            to_status=lesson.status,
            actor=actor,
            reason=reason,
        )
    )


def transition(
    session: Session, *, lesson: Lesson, to: LessonStatus, actor: str, reason: str = ""
) -> LessonEvent:
    """Move `lesson` to `to`, recording who, when and why; refuse steps the lifecycle forbids."""
    current = LessonStatus(lesson.status)
    if to not in ALLOWED[current]:
        options = ", ".join(allowed_next(current)) or "none"
        raise InvalidTransition(
            f"A lesson that is {current} cannot become {to} (allowed: {options}).",
            {"to": f"not allowed from {current}"},
        )
    if to in NEEDS_REASON and not reason.strip():
        raise InvalidTransition(f"Say why the lesson becomes {to}.", {"reason": "required"})
    assert lesson.id is not None
    event = LessonEvent(
        lesson_id=lesson.id, from_status=current, to_status=to, actor=actor, reason=reason
    )
    lesson.status = to
    lesson.updated_at = utcnow()
    session.add_all([lesson, event])
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="transition",
        entity=lesson,
        before={"status": current},
        after={"status": to, "reason": reason},
    )
    return event


def history(session: Session, *, lesson_id: int) -> list[LessonEvent]:
    """A lesson's lifecycle events, oldest first."""
    return list(
        session.exec(
            select(LessonEvent)
            .where(LessonEvent.lesson_id == lesson_id)
            .order_by(col(LessonEvent.at), col(LessonEvent.id))
        )
    )
