"""POST /api/reviews: a review with its lessons and actions, or a refusal that writes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from tests.conftest import review_payload
from tests.ui.api.helpers import (
    BIG_IDS,
    COLD_ROOMS,
    LESSON_FIELDS,
    VOLUNTEERS,
    Bank,
    assert_error,
    lesson_in,
    post_review,
    row_counts,
    without,
)

# --- POST /api/reviews ---------------------------------------------------------------------


def test_post_review_valid_returns_201_with_lessons_and_actions(client: TestClient) -> None:
    response = client.post("/api/reviews", json=review_payload())
    assert response.status_code == 201, response.text
    body = response.json()
    assert isinstance(body["id"], int)
    assert body["kind"] == "aar"
    assert body["project"]["name"] == "Measles catch-up 2025"
    assert body["held_on"] == "2025-06-30"
    assert body["author"]["name"] == "Amina Diallo"
    assert body["answers"] == review_payload()["answers"]
    [lesson] = body["lessons"]
    assert set(lesson) >= LESSON_FIELDS
    assert isinstance(lesson["id"], int)
    assert lesson["external_id"] is None
    assert lesson["source_url"] is None
    assert lesson["title"] == review_payload()["lessons"][0]["title"]
    assert lesson["observation"].startswith("Cold-chain fridges arrived")
    assert lesson["insight"].startswith("Procurement began")
    assert lesson["recommendation"].startswith("Start procurement")
    assert lesson["status"] == "identified"
    assert lesson["sensitivity"] == "internal"
    assert lesson["tags"] == ["cold-chain", "procurement"]
    assert lesson["project"] == body["project"]
    assert lesson["review_id"] == body["id"]
    [action] = body["actions"]
    assert action["what"] == "Add a lead-time check to the plan template"
    assert action["owner"]["name"] == "Tom Reyes"
    assert action["due"] == "2025-09-30"
    assert action["status"] == "open"
    assert action["lesson_id"] == lesson["id"]
    assert action["review_id"] == body["id"]


def test_post_review_lessons_keep_their_order_and_fields(client: TestClient) -> None:
    body = post_review(client, lessons=[lesson_in(), COLD_ROOMS, VOLUNTEERS], actions=[])
    titles = [le["title"] for le in body["lessons"]]
    assert titles == [lesson_in()["title"], COLD_ROOMS["title"], VOLUNTEERS["title"]]
    volunteers = body["lessons"][2]
    assert volunteers["polarity"] == "sustain"
    assert volunteers["perspective"] == "partnership"
    assert volunteers["sensitivity"] == "public"
    assert body["lessons"][1]["tags"] == ["cold-chain", "storage"]


@pytest.mark.parametrize(
    ("kind", "answers", "stored"),
    [
        ("aar", {"planned": "A plan", "improve": "Order early"}, {"planned": "A plan"}),
        ("retrospect", {"objectives": "Reach 40,000", "score": "7"}, {"score": "7"}),
        ("retrospect", {"score": 0}, {"score": "0"}),
        ("retrospect", {"score": "10"}, {"score": "10"}),
        ("retrospect", {"score": " 07 "}, {"score": "7"}),
        (
            "handover",
            {"role": "Cold chain lead", "risks": "Ageing fridges"},
            {"role": "Cold chain lead"},
        ),
        ("aar", {"planned": "A plan", "actual": "   "}, {"planned": "A plan"}),
    ],
)
def test_post_review_each_kind_stores_answers_by_question_id(
    client: TestClient, kind: str, answers: dict[str, Any], stored: dict[str, str]
) -> None:
    body = post_review(client, kind=kind, answers=answers)
    assert body["kind"] == kind
    for question_id, text in stored.items():
        assert body["answers"][question_id] == text
    # Blank answers are dropped rather than stored.
    assert all(value.strip() for value in body["answers"].values())


def test_post_review_existing_project_by_id_or_name_is_reused(
    client: TestClient, engine: Engine
) -> None:
    first = post_review(client)
    project_id = first["project"]["id"]
    by_id = post_review(client, project={"id": project_id})
    by_name = post_review(client, project={"name": "MEASLES catch-up 2025"})
    assert by_id["project"]["id"] == project_id
    assert by_name["project"]["id"] == project_id
    assert row_counts(engine)["project"] == 1
    assert row_counts(engine)["review"] == 3


BAD_REVIEWS = [
    pytest.param(without(review_payload(), "kind"), 422, "kind", id="missing-kind"),
    pytest.param(without(review_payload(), "project"), 422, "project", id="missing-project"),
    pytest.param(review_payload(kind="debrief"), 422, "kind", id="unknown-kind"),
    pytest.param(review_payload(kind=3), 422, "kind", id="kind-not-text"),
    pytest.param(review_payload(project={}), 422, "project", id="project-without-id-or-name"),
    pytest.param(review_payload(project="Measles"), 422, "project", id="project-not-object"),
    pytest.param(review_payload(project={"id": "abc"}), 422, "project.id", id="project-id-text"),
    pytest.param(
        review_payload(project={"name": "X", "start_date": "2025-02-01", "end_date": "2025-01-01"}),
        422,
        "project",
        id="project-ends-before-start",
    ),
    pytest.param(review_payload(project={"id": 999}), 404, "project.id", id="unknown-project-id"),
    pytest.param(review_payload(held_on="yesterday"), 422, "held_on", id="held-on-not-a-date"),
    pytest.param(review_payload(colour="red"), 422, "colour", id="unknown-top-level-field"),
    pytest.param(review_payload(answers={}), 422, "answers.planned", id="no-answers"),
    pytest.param(review_payload(answers={"planned": "  "}), 422, "answers.planned", id="blank"),
    pytest.param(review_payload(answers="planned"), 422, "answers", id="answers-not-object"),
    pytest.param(review_payload(answers={"planned": ["x"]}), 422, "answers", id="answer-a-list"),
    pytest.param(
        review_payload(answers={"planned": "x", "why_oh_why": "y"}),
        422,
        "answers.why_oh_why",
        id="unknown-question-id",
    ),
    pytest.param(
        review_payload(answers={"planned": "x", "objectives": "y"}),
        422,
        "answers.objectives",
        id="question-of-another-kind",
    ),
    *[
        pytest.param(
            review_payload(kind="retrospect", answers={"objectives": "x", "score": score}),
            422,
            "answers.score",
            id=f"retrospect-score-{score!r}",
        )
        for score in ["11", "-1", "seven", "7.5", 11, -1, 100]
    ],
    pytest.param(review_payload(lessons="many"), 422, "lessons", id="lessons-not-a-list"),
    pytest.param(review_payload(lessons=[{}]), 422, "lessons.0.title", id="lesson-no-title"),
    pytest.param(
        review_payload(lessons=[lesson_in(title="   ")]), 422, "lessons.0.title", id="blank-title"
    ),
    pytest.param(
        review_payload(lessons=[lesson_in(), lesson_in(title="")]),
        422,
        "lessons.1.title",
        id="second-lesson-invalid",
    ),
    pytest.param(
        review_payload(lessons=[lesson_in(), COLD_ROOMS, lesson_in(polarity="meh")]),
        422,
        "lessons.2.polarity",
        id="third-lesson-bad-polarity",
    ),
    pytest.param(
        review_payload(lessons=[lesson_in(perspective="strategic")]),
        422,
        "lessons.0.perspective",
        id="bad-perspective",
    ),
    pytest.param(
        review_payload(lessons=[lesson_in(sensitivity="secret")]),
        422,
        "lessons.0.sensitivity",
        id="bad-sensitivity",
    ),
    pytest.param(
        review_payload(lessons=[lesson_in(tags="cold chain")]),
        422,
        "lessons.0.tags",
        id="tags-not-a-list",
    ),
    pytest.param(
        review_payload(lessons=[lesson_in(tags=[1])]), 422, "lessons.0.tags", id="tag-a-number"
    ),
    pytest.param(
        review_payload(lessons=[lesson_in(review_due="soon")]),
        422,
        "lessons.0.review_due",
        id="review-due-not-a-date",
    ),
    pytest.param(
        review_payload(lessons=[lesson_in(status="validated")]),
        422,
        "lessons.0.status",
        id="status-cannot-be-smuggled-in",
    ),
    pytest.param(
        review_payload(lessons=[lesson_in(external_id="LLIS-1")]),
        422,
        "lessons.0.external_id",
        id="external-id-not-accepted",
    ),
    pytest.param(
        review_payload(actions=[{"owner": "Tom"}]), 422, "actions.0.what", id="action-no-what"
    ),
    pytest.param(
        review_payload(actions=[{"what": "x", "due": "someday"}]),
        422,
        "actions.0.due",
        id="action-due-not-a-date",
    ),
    pytest.param(
        review_payload(actions=[{"what": "x", "lesson_index": -1}]),
        422,
        "actions.0.lesson_index",
        id="action-negative-lesson-index",
    ),
    pytest.param(
        review_payload(actions=[{"what": "x", "lesson_index": 3}]),
        422,
        "body",
        id="action-lesson-index-past-lessons",
    ),
]


@pytest.mark.parametrize(("payload", "status", "field"), BAD_REVIEWS)
def test_post_review_bad_input_is_rejected_and_writes_nothing(
    client: TestClient, engine: Engine, payload: dict[str, Any], status: int, field: str
) -> None:
    response = client.post("/api/reviews", json=payload)
    assert_error(response, status, field=field)
    assert set(row_counts(engine).values()) == {0}


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(
            review_payload(
                project={"name": "A brand new project"},
                author="A brand new author",
                lessons=[lesson_in(), lesson_in(title="")],
            ),
            id="second-lesson-invalid",
        ),
        pytest.param(
            review_payload(project={"id": 999}, author="Someone new"), id="unknown-project-id"
        ),
        pytest.param(
            review_payload(project={"name": "Another new one"}, answers={"nope": "x"}),
            id="unknown-question",
        ),
    ],
)
def test_post_review_rejected_on_a_filled_bank_changes_no_row(
    client: TestClient, engine: Engine, bank: Bank, payload: dict[str, Any]
) -> None:
    before = row_counts(engine)
    assert before["lesson"] == 3
    response = client.post("/api/reviews", json=payload)
    assert_error(response, response.status_code)
    assert row_counts(engine) == before


@pytest.mark.parametrize("big", BIG_IDS)
def test_post_review_project_id_beyond_64_bits_is_a_4xx(
    client: TestClient, engine: Engine, big: int
) -> None:
    response = client.post("/api/reviews", json=review_payload(project={"id": big}))
    assert_error(response, response.status_code, field="project.id")
    assert set(row_counts(engine).values()) == {0}


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        pytest.param(
            review_payload(lessons=[lesson_in()] * 4, actions=[]), "lessons", id="lessons"
        ),
        pytest.param(review_payload(actions=[{"what": "x"}] * 4), "actions", id="actions"),
        pytest.param(
            review_payload(lessons=[lesson_in(tags=["a", "b", "c", "d"])]),
            "lessons.0.tags",
            id="lesson-tags",
        ),
        pytest.param(
            review_payload(project={"name": "P", "tags": ["a", "b", "c", "d"]}),
            "project.tags",
            id="project-tags",
        ),
        pytest.param(
            review_payload(lessons=[lesson_in(observation="o" * 201)]),
            "lessons.0.observation",
            id="observation",
        ),
        pytest.param(
            review_payload(lessons=[lesson_in(insight="i" * 201)]),
            "lessons.0.insight",
            id="insight",
        ),
        pytest.param(
            review_payload(lessons=[lesson_in(recommendation="r" * 201)]),
            "lessons.0.recommendation",
            id="recommendation",
        ),
        pytest.param(
            review_payload(lessons=[lesson_in(title="t" * 61)]), "lessons.0.title", id="title"
        ),
        pytest.param(
            review_payload(answers={"planned": "p" * 201}), "answers.planned", id="answer"
        ),
        pytest.param(review_payload(project={"name": "n" * 61}), "project.name", id="project-name"),
        pytest.param(
            review_payload(project={"name": "P", "summary": "s" * 201}),
            "project.summary",
            id="project-summary",
        ),
        pytest.param(review_payload(actions=[{"what": "w" * 201}]), "actions.0.what", id="action"),
    ],
)
def test_post_review_over_limits_is_422_and_writes_nothing(
    small_client: TestClient, engine: Engine, payload: dict[str, Any], field: str
) -> None:
    response = small_client.post("/api/reviews", json=payload)
    error = assert_error(response, 422, code="invalid", field=field)
    assert "at most" in error["fields"][field]
    assert set(row_counts(engine).values()) == {0}


def test_post_review_exactly_at_the_limits_is_accepted(small_client: TestClient) -> None:
    payload = review_payload(
        project={"name": "n" * 60},
        answers={"planned": "p" * 200},
        lessons=[lesson_in(title="t" * 60, observation="o" * 200, tags=["a", "b", "c"])] * 3,
        actions=[{"what": "w" * 200}] * 3,
    )
    response = small_client.post("/api/reviews", json=payload)
    assert response.status_code == 201, response.text
    assert len(response.json()["lessons"]) == 3


def test_post_review_author_longer_than_its_column_is_rejected(
    client: TestClient, engine: Engine
) -> None:
    response = client.post("/api/reviews", json=review_payload(author="A" * 300))
    assert_error(response, 422, field="author")
    assert set(row_counts(engine).values()) == {0}
