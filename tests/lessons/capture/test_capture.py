from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session, func, select

from lessons.capture import service as capture
from lessons.curation import lifecycle
from lessons.errors import NotFound, ValidationFailed
from lessons.schemas import Limits, ReviewIn, parse
from lessons.storage.models import Action, Lesson, Person, Project, Review
from tests.conftest import review_payload

LIMITS = Limits(title=200, text=20_000, brief=20_000, items=100)


def _log(session: Session, **overrides: Any) -> Review:
    return capture.log_review(session, payload=parse(ReviewIn, review_payload(**overrides), LIMITS))


def _count(session: Session, model: type) -> int:
    return int(session.exec(select(func.count()).select_from(model)).one())


def test_log_review_creates_project_lessons_actions_and_people(session: Session) -> None:
    review = _log(session)
    lesson = review.lessons[0]
    assert review.project.name == "Measles catch-up 2025"
    assert review.answers["planned"].startswith("Vaccinate")
    assert lesson.status == "identified"
    assert lesson.tags == ["cold-chain", "procurement"]
    assert lesson.author is not None and lesson.author.name == "Amina Diallo"
    action = session.exec(select(Action)).one()
    assert action.lesson_id == lesson.id and action.owner is not None
    assert action.owner.name == "Tom Reyes"
    assert [e.to_status for e in lifecycle.history(session, lesson_id=lesson.id or 0)] == [
        "identified"
    ]


def test_log_review_reuses_existing_project_and_person_by_name(session: Session) -> None:
    people_before = _count(session, Person)  # the test accounts' own people
    _log(session)
    _log(session, project={"name": "measles CATCH-UP 2025"}, author="amina diallo")
    assert _count(session, Project) == 1
    # Amina is new; the action's owner, Tom Reyes, was already in the directory.
    assert _count(session, Person) - people_before == 1
    assert _count(session, Review) == 2


def test_log_review_by_project_id(session: Session) -> None:
    first = _log(session)
    second = _log(session, project={"id": first.project_id})
    assert second.project_id == first.project_id


def test_log_review_unknown_project_id_not_found(session: Session) -> None:
    with pytest.raises(NotFound) as missing:
        _log(session, project={"id": 999})
    assert "project.id" in missing.value.fields


@pytest.mark.parametrize(
    ("kind", "answers", "field"),
    [
        ("aar", {"nonsense": "x"}, "answers.nonsense"),
        ("aar", {"planned": "   "}, "answers.planned"),
        ("aar", {}, "answers.planned"),
        ("retrospect", {"score": "11"}, "answers.score"),
        ("retrospect", {"score": "seven"}, "answers.score"),
        ("retrospect", {"score": -1}, "answers.score"),
        ("handover", {"planned": "an AAR question"}, "answers.planned"),
    ],
)
def test_log_review_bad_answers_refused(
    session: Session, kind: str, answers: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        _log(session, kind=kind, answers=answers)
    assert field in refused.value.fields


def test_log_review_score_is_normalised(session: Session) -> None:
    review = _log(session, kind="retrospect", answers={"score": " 07 ", "objectives": "x"})
    assert review.answers == {"score": "7", "objectives": "x"}


def test_lessons_keep_submission_order(session: Session) -> None:
    lessons = [{"title": f"Lesson {i}"} for i in range(5)]
    review = _log(session, lessons=lessons, actions=[])
    titles = [le.title for le in sorted(review.lessons, key=lambda le: le.id or 0)]
    assert titles == [f"Lesson {i}" for i in range(5)]
    assert _count(session, Lesson) == 5
