"""The lesson lifecycle: which steps are allowed, and the record each step leaves."""

from __future__ import annotations

import calendar
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from lessons.accounts import audit
from lessons.errors import InvalidTransition, ValidationFailed
from lessons.schemas import link_problem
from lessons.storage.models import Lesson, LessonEvent, LessonStatus, utcnow

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
NEEDS_REASON = frozenset({S.REJECTED, S.RETIRED})
# Learned means something changed because of the lesson: the step needs that change described
# and a link to where it lives, so "learned" is a claim anyone can check.
NEEDS_EVIDENCE = frozenset({S.LEARNED})
# Merging keeps provenance and can be undone, so merged is reached (and left) only through the
# merge service, never as a plain step that would skip that record.
ONLY_BY_MERGE = S.MERGED

DEFAULT_REVIEW_MONTHS = 12


def allowed_next(status: str) -> list[LessonStatus]:
    """The plain steps a lesson in `status` may take, in lifecycle order (merging is not one)."""
    nexts = ALLOWED.get(LessonStatus(status), frozenset()) - {ONLY_BY_MERGE}
    return [s for s in LessonStatus if s in nexts]


def add_months(start: date, months: int) -> date:
    """The same day `months` later, or the month's last day when it is shorter (31 Jan + 1
    month = 28/29 Feb)."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return start.replace(
        year=year, month=month, day=min(start.day, calendar.monthrange(year, month)[1])
    )


def next_review(*, today: date, months: int = DEFAULT_REVIEW_MONTHS) -> date:
    """When a lesson validated or confirmed `today` is due for review again."""
    return add_months(today, months)


def transition(
    session: Session,
    *,
    lesson: Lesson,
    to: LessonStatus,
    actor: str,
    reason: str = "",
    evidence: str = "",
    link: str = "",
    review_due: date | None = None,
    review_months: int = DEFAULT_REVIEW_MONTHS,
    via_merge: bool = False,
) -> LessonEvent:
    """Move `lesson` to `to`, recording who, when and why (a lifecycle event and an audit row);
    refuse steps the lifecycle forbids, naming the ones it allows.

    Learned needs `evidence` of what changed and an http(s) `link` to it. Validating sets the
    next review date: `review_due` when given, else `review_months` ahead. `via_merge` is for
    the merge service alone: the only way into merged, and (to undo a merge) out of it.
    """
    current = LessonStatus(lesson.status)
    _check_step(current, to, via_merge=via_merge)
    if to in NEEDS_REASON and not reason.strip():
        raise ValidationFailed(f"Say why the lesson becomes {to}.", {"reason": "required"})
    undoing_merge = via_merge and current == ONLY_BY_MERGE
    if to in NEEDS_EVIDENCE and undoing_merge:
        evidence, link = lesson.learned_evidence, lesson.learned_link or ""  # as it was
    elif to in NEEDS_EVIDENCE:
        _check_evidence(evidence, link)
        # The change made is the best "why" of this step when none is typed.
        reason = reason if reason.strip() else evidence.strip()
    assert lesson.id is not None
    before: dict[str, Any] = {"status": current}
    after: dict[str, Any] = {"status": to, "reason": reason}
    if to in NEEDS_EVIDENCE:
        before |= {"learned_evidence": lesson.learned_evidence, "learned_link": lesson.learned_link}
        lesson.learned_evidence, lesson.learned_link = evidence.strip(), link.strip() or None
        after |= {"learned_evidence": lesson.learned_evidence, "learned_link": lesson.learned_link}
    if to == S.VALIDATED:
        today = utcnow().date()
        due = review_due or lesson.review_due
        # A review date still ahead (the curator's, or the author's) is kept.
        if due is None or due <= today:
            due = next_review(today=today, months=review_months)
        if due != lesson.review_due:
            before["review_due"], after["review_due"] = _iso(lesson.review_due), _iso(due)
            lesson.review_due = due
    event = LessonEvent(
        lesson_id=lesson.id, from_status=current, to_status=to, actor=actor, reason=reason
    )
    lesson.status = to
    lesson.updated_at = utcnow()
    session.add_all([lesson, event])
    session.flush()
    audit.record(
        session, actor=actor, action="transition", entity=lesson, before=before, after=after
    )
    return event


def _check_step(current: LessonStatus, to: LessonStatus, *, via_merge: bool) -> None:
    if to == ONLY_BY_MERGE and not via_merge and to in ALLOWED[current]:
        raise InvalidTransition(
            "A lesson becomes merged only by merging it into its canonical lesson, which keeps "
            "its sources and can be undone: use merge (Possible duplicates), not a lifecycle "
            "step.",
            {"to": "use merge"},
        )
    if via_merge and current == ONLY_BY_MERGE and to not in (S.MERGED, S.DRAFT):
        return  # undoing a merge restores the status the lesson had
    if to not in ALLOWED[current] or (via_merge and to != ONLY_BY_MERGE):
        options = ", ".join(allowed_next(current)) or "none"
        hint = " (undo the merge to bring it back)" if current == ONLY_BY_MERGE else ""
        raise InvalidTransition(
            f"A lesson that is {current} cannot become {to} (allowed: {options}){hint}.",
            {"to": f"not allowed from {current}"},
        )


def _check_evidence(evidence: str, link: str) -> None:
    problems: dict[str, str] = {}
    if not evidence.strip():
        problems["learned_evidence"] = (
            "required: what changed (a process, a guidance note, a checklist)"
        )
    if not link.strip():
        problems["learned_link"] = "required: a link to the changed process, guidance or checklist"
    elif problem := link_problem(link.strip()):
        problems["learned_link"] = problem
    if problems:
        raise ValidationFailed(
            "A lesson is learned only when something changed: say what changed and link to it.",
            problems,
        )


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def history(session: Session, *, lesson_id: int) -> list[LessonEvent]:
    """A lesson's lifecycle events, oldest first."""
    return list(
        session.exec(
            select(LessonEvent)
            .where(LessonEvent.lesson_id == lesson_id)
            .order_by(col(LessonEvent.at), col(LessonEvent.id))
        )
    )
