from __future__ import annotations

import pytest
from sqlmodel import Session

from lessons import capture, lifecycle
from lessons.errors import InvalidTransition
from lessons.models import LessonStatus
from lessons.schemas import LessonIn

S = LessonStatus


def _lesson(session: Session, status: LessonStatus) -> object:
    lesson = capture.add_lesson(
        session,
        data=LessonIn(title="A lesson"),
        project=None,
        review=None,
        author=None,
        actor="tester",
        status=status,
    )
    return lesson


VALID = [(src, dst) for src, targets in lifecycle.ALLOWED.items() for dst in targets]
INVALID = [(src, dst) for src in S for dst in S if dst not in lifecycle.ALLOWED[src]]


@pytest.mark.parametrize(("src", "dst"), VALID)
def test_transition_allowed_records_who_when_why(
    session: Session, src: LessonStatus, dst: LessonStatus
) -> None:
    lesson = _lesson(session, src)
    event = lifecycle.transition(session, lesson=lesson, to=dst, actor="curator", reason="because")
    assert lesson.status == dst  # type: ignore[attr-defined]
    assert (event.from_status, event.to_status, event.actor, event.reason) == (
        src,
        dst,
        "curator",
        "because",
    )
    history = lifecycle.history(session, lesson_id=lesson.id)  # type: ignore[attr-defined]
    assert [e.to_status for e in history] == [src, dst]


@pytest.mark.parametrize(("src", "dst"), INVALID)
def test_transition_refused_leaves_lesson_unchanged(
    session: Session, src: LessonStatus, dst: LessonStatus
) -> None:
    lesson = _lesson(session, src)
    with pytest.raises(InvalidTransition) as refused:
        lifecycle.transition(session, lesson=lesson, to=dst, actor="curator", reason="because")
    assert str(src) in refused.value.message
    assert lesson.status == src  # type: ignore[attr-defined]
    assert len(lifecycle.history(session, lesson_id=lesson.id)) == 1  # type: ignore[attr-defined]


@pytest.mark.parametrize("dst", sorted(lifecycle.NEEDS_REASON))
def test_transition_without_reason_refused_when_reason_required(
    session: Session, dst: LessonStatus
) -> None:
    src = next(s for s, targets in lifecycle.ALLOWED.items() if dst in targets)
    lesson = _lesson(session, src)
    with pytest.raises(InvalidTransition) as refused:
        lifecycle.transition(session, lesson=lesson, to=dst, actor="curator", reason="  ")
    assert refused.value.fields == {"reason": "required"}


def test_allowed_next_follows_lifecycle_order() -> None:
    assert lifecycle.allowed_next("identified") == [S.VALIDATED, S.REJECTED, S.MERGED]
    assert lifecycle.allowed_next("merged") == []
