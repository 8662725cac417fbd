from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session

from lessons.accounts import access
from lessons.capture import service as capture
from lessons.catalogue import service as catalogue
from lessons.errors import NotFound
from lessons.schemas import Limits, ReviewIn, SearchFilters, parse
from tests.conftest import review_payload

LIMITS = Limits(title=200, text=20_000, brief=20_000, items=100)


def _review(session: Session, sensitivity: str, **overrides: Any) -> int:
    lessons = [{"title": f"A {sensitivity} lesson", "sensitivity": sensitivity}]
    actions = [
        {"what": f"Fix the {sensitivity} thing", "lesson_index": 0},
        {"what": "A review-level action"},
    ]
    review = capture.log_review(
        session,
        payload=parse(
            ReviewIn, review_payload(lessons=lessons, actions=actions, **overrides), LIMITS
        ),
    )
    return review.lessons[0].id or 0


def test_actions_on_lessons_the_viewer_cannot_see_are_left_out(session: Session) -> None:
    _review(session, "restricted")
    # The action on no lesson goes with the review's story: restricted, as its lesson is.
    assert catalogue.list_actions(session, viewer=access.STAFF) == []
    curator = [a.what for a in catalogue.list_actions(session, viewer=access.CURATOR)]
    assert sorted(curator) == ["A review-level action", "Fix the restricted thing"]
    _review(session, "internal", project={"name": "Another project"})
    seen = [a.what for a in catalogue.list_actions(session, viewer=access.STAFF)]
    assert sorted(seen) == ["A review-level action", "Fix the internal thing"]


def test_get_lesson_hides_what_the_viewer_cannot_see(session: Session) -> None:
    restricted = _review(session, "restricted")
    internal = _review(session, "internal", project={"name": "Other"})
    with pytest.raises(NotFound):
        catalogue.get_lesson(session, lesson_id=restricted, viewer=access.STAFF)
    with pytest.raises(NotFound):
        catalogue.get_lesson(session, lesson_id=internal, viewer=access.PUBLIC)
    assert catalogue.get_lesson(session, lesson_id=internal, viewer=access.STAFF).id == internal
    member = access.Viewer(name="member", project_ids=frozenset({1}))
    assert catalogue.get_lesson(session, lesson_id=restricted, viewer=member).id == restricted


def test_list_lessons_counts_only_visible_lessons(session: Session) -> None:
    _review(session, "restricted")
    _review(session, "public", project={"name": "Other"})
    every = SearchFilters(status=["identified"])
    reader = access.Viewer(name="public-only reader")
    lessons, total = catalogue.list_lessons(session, viewer=reader, filters=every)
    assert total == 1 and [le.sensitivity for le in lessons] == ["public"]
    # The anonymous partner view shows only lessons a curator accepted, whatever is asked.
    assert catalogue.list_lessons(session, viewer=access.PUBLIC, filters=every)[1] == 0
