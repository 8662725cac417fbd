"""Metric figures test_metrics.py's bank does not reach, pinned before the metrics moved from
Python loops to SQL aggregates: lessons that arrive validated, a lesson retired and validated
again, a learned event dated before the identified one, projects dated by their creation or
first BAR, and an action created after its due date."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, select

from lessons.accounts.access import CURATOR
from lessons.curation import lifecycle
from lessons.storage.models import Action, LessonStatus, Project
from tests.lessons.metrics.test_metrics import _at, _bar, _review, _walk, compute

S = LessonStatus


def test_a_lesson_that_arrived_validated_counts_as_identified_but_has_no_time_to_learned(
    session: Session,
) -> None:
    (arrived,) = _review(session, {"name": "Imported"}, "2025-01-15", [("A", "internal")])
    (event,) = lifecycle.history(session, lesson_id=arrived.id or 0)
    event.to_status, arrived.status = S.VALIDATED, S.VALIDATED  # as an import records it
    session.add_all([event, arrived])
    _walk(session, arrived, (S.LEARNED, "2025-03-01"))
    session.commit()
    assert compute(session, "lessons", CURATOR).rows == [
        ["2025-01", 1, 1, 0],
        ["2025-02", 0, 0, 0],
        ["2025-03", 0, 0, 1],
    ]
    assert compute(session, "time-to-learned", CURATOR).rows == []


def test_a_lesson_retired_and_validated_again_counts_once_per_stage(session: Session) -> None:
    (lesson,) = _review(session, {"name": "Again"}, "2025-01-05", [("B", "internal")])
    _walk(session, lesson, (S.VALIDATED, "2025-01-20"))
    lesson_row = lesson
    for to, day in ((S.RETIRED, "2025-02-10"), (S.VALIDATED, "2025-04-02")):
        event = lifecycle.transition(
            session, lesson=lesson_row, to=to, actor="kim", reason="checked"
        )
        event.at = _at(day)
        session.add(event)
    session.commit()
    metric = compute(session, "lessons", CURATOR)
    assert metric.summary == {"Identified": 1, "Validated": 1, "Learned": 0}
    assert metric.rows[0] == ["2025-01", 1, 1, 0]


def test_a_learned_event_dated_before_identified_counts_as_zero_days(session: Session) -> None:
    lessons = _review(
        session, {"name": "Skewed"}, "2025-05-10", [("C", "internal"), ("D", "internal")]
    )
    _walk(session, lessons[0], (S.VALIDATED, "2025-05-01"), (S.LEARNED, "2025-05-02"))
    _walk(session, lessons[1], (S.VALIDATED, "2025-05-11"), (S.LEARNED, "2025-06-30"))
    session.commit()
    metric = compute(session, "time-to-learned", CURATOR)
    assert metric.rows[:2] == [["under 1 month", 1], ["1-3 months", 1]]
    assert metric.summary == {"Lessons learned": 2, "Median days": 25.5}  # (0 + 51) / 2


def test_projects_without_a_start_date_are_dated_by_first_bar_review_or_creation(
    session: Session,
) -> None:
    _review(session, {"name": "Reviewed"}, "2024-11-20", [("E", "public")])
    _bar(session, "Reviewed", "2024-12-01", [])  # after the review: no BAR first
    _bar(session, "Barred", "2025-02-01", [])
    _review(session, {"name": "Barred"}, "2025-04-20", [("F", "public")])
    session.add(Project(name="Empty", created_at=_at("2025-08-09")))
    session.commit()
    metric = compute(session, "bar-adoption", CURATOR)
    assert metric.rows == [
        ["2024 Q4", 1, 0, 0.0],
        ["2025 Q1", 1, 1, 100.0],
        ["2025 Q2", 0, 0, None],
        ["2025 Q3", 1, 0, 0.0],
    ]


def test_an_action_created_after_its_due_date_is_overdue_from_its_creation(
    session: Session,
) -> None:
    _review(
        session,
        {"name": "Late"},
        "2025-03-20",
        [("G", "internal")],
        [{"what": "Already late", "due": "2025-02-01"}],
    )
    session.commit()
    action = session.exec(select(Action)).one()
    assert action.due == date(2025, 2, 1)
    metric = compute(session, "actions", CURATOR)
    assert [row[3] for row in metric.rows] == [1, 1, 1, 1]  # March to June (today)
    assert metric.summary == {"Open now": 1, "Overdue now": 1}
