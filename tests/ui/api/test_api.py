"""The JSON API under /api (and /healthz), over real HTTP against a real SQLite file.

Every rejected request is checked for the error shape DESIGN.md promises and for leaving the
database exactly as it was: no half-written review, BAR or decision.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pydantic import BaseModel
from sqlalchemy import Engine, func
from sqlmodel import Session, SQLModel, col, select
from starlette.routing import Route
from starlette.testclient import TestClient

from lessons.actions.service import ActionChange
from lessons.bar.service import OutcomesIn
from lessons.curation import lifecycle
from lessons.curation.merging import MergeIn, UndoIn
from lessons.responses import LessonBrief
from lessons.schemas import (
    ActionIn,
    BarIn,
    DecisionIn,
    DecisionsIn,
    LessonIn,
    LessonPatch,
    ProjectRef,
    ReviewDueIn,
    ReviewIn,
    SearchFilters,
    TransitionIn,
    ValidateIn,
)
from lessons.storage.db import transaction
from lessons.storage.models import (
    Action,
    BarItem,
    BeforeActionReview,
    Lesson,
    LessonEmbedding,
    LessonEvent,
    LessonStatus,
    LessonTag,
    Person,
    Project,
    Review,
    User,
)
from lessons.storage.settings import Settings
from retrieval.embedder import HashingEmbedder
from tests.conftest import app_client, review_payload
from ui.api.actions import CarryIn, CloseIn, DropIn
from ui.api.taxonomy import AdoptIn, SchemeIn, TermIn, TermMergeIn, TermPatch
from ui.app import create_app

# What DESIGN.md promises a lesson carries in the API.
LESSON_FIELDS = {
    "id",
    "external_id",
    "title",
    "observation",
    "insight",
    "recommendation",
    "status",
    "sensitivity",
    "tags",
    "project",
    "source_url",
}
BAR_RESULT_FIELDS = {"id", "title", "score", "match", "why", "people", "open_actions"}
BIG_IDS = [2**63, 2**64, 10**40]

TABLES: dict[str, type[SQLModel]] = {
    "project": Project,
    "review": Review,
    "lesson": Lesson,
    "lesson_tag": LessonTag,
    "lesson_event": LessonEvent,
    "lesson_embedding": LessonEmbedding,
    "action": Action,
    "person": Person,
    "bar": BeforeActionReview,
    "bar_item": BarItem,
}


# --- helpers -------------------------------------------------------------------------------


def assert_error(
    response: httpx.Response, status: int, *, code: str | None = None, field: str | None = None
) -> dict[str, Any]:
    """A 4xx JSON body shaped {"error": {"code", "message", "fields"}}; returns the error."""
    assert 400 <= response.status_code < 500, response.text
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert set(error) == {"code", "message", "fields"}, error
    assert isinstance(error["code"], str)
    assert error["code"]
    assert isinstance(error["message"], str)
    assert error["message"].strip()
    assert isinstance(error["fields"], dict)
    for name, problem in error["fields"].items():
        assert isinstance(name, str)
        assert isinstance(problem, str)
        assert problem
    if code is not None:
        assert error["code"] == code, error
    if field is not None:
        assert any(name == field or name.startswith(f"{field}.") for name in error["fields"]), (
            field,
            error["fields"],
        )
    return error


def row_counts(engine: Engine) -> dict[str, int]:
    """Rows per table, read through a session of our own (not the app's)."""
    with Session(engine) as session:
        counts = {
            name: int(session.exec(select(func.count()).select_from(model)).one())
            for name, model in TABLES.items()
        }
        if "person" in counts:  # the test accounts' own people are not the app's writing
            counts["person"] -= int(
                session.exec(select(func.count()).where(col(User.person_id).is_not(None))).one()
            )
        return counts


def lesson_in(**changes: Any) -> dict[str, Any]:
    """A valid lesson body (the one in `review_payload`), with some fields changed."""
    lesson: dict[str, Any] = dict(review_payload()["lessons"][0])
    lesson.update(changes)
    return lesson


def without(payload: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k != key}


def post_review(client: TestClient, **overrides: Any) -> dict[str, Any]:
    response = client.post("/api/reviews", json=review_payload(**overrides))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def move(client: TestClient, lesson_id: int, to: str, reason: str = "") -> dict[str, Any]:
    response = client.post(
        f"/api/lessons/{lesson_id}/transition",
        headers=client.curator,
        json={"to": to, "reason": reason},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def get_json(client: TestClient, url: str) -> dict[str, Any]:
    response = client.get(url)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def result_ids(body: dict[str, Any]) -> list[int]:
    """The lessons' ids in a list's results (every lesson object, whole or short, has `id`)."""
    return [int(row["id"]) for row in body["results"]]


COLD_ROOMS = lesson_in(
    title="Book cold rooms for vaccine storage early",
    observation="Vaccine storage in cold rooms ran short during the measles campaign.",
    insight="Cold rooms were booked by other programmes first.",
    recommendation="Reserve cold chain storage when the campaign is drafted.",
    tags=["Cold Chain", "storage"],
)
VOLUNTEERS = lesson_in(
    title="Recruit volunteers for library digitisation weekends",
    observation="Library volunteers scanned parish records at weekends.",
    insight="Volunteers came back when the work was social.",
    recommendation="Run digitisation sessions as social events.",
    polarity="sustain",
    perspective="partnership",
    tags=["volunteers"],
    sensitivity="public",
)


@dataclass(frozen=True)
class Bank:
    """A small bank: two validated cold-chain lessons, one identified lesson, one BAR."""

    review: dict[str, Any]
    fridges: int  # validated, has an open action owned by Tom Reyes
    cold_rooms: int  # validated
    volunteers: int  # identified: not surfaced by a default BAR
    bar: dict[str, Any]


@pytest.fixture
def bank(client: TestClient) -> Bank:
    review = post_review(client, lessons=[lesson_in(), COLD_ROOMS, VOLUNTEERS])
    fridges, cold_rooms, volunteers = (le["id"] for le in review["lessons"])
    move(client, fridges, "validated")
    move(client, cold_rooms, "validated")
    response = client.post("/api/bar", json={"brief": "cold chain fridges for a vaccine campaign"})
    assert response.status_code == 201, response.text
    return Bank(review, fridges, cold_rooms, volunteers, response.json())


@pytest.fixture
def small_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "max_text_chars": 200,
            "max_title_chars": 60,
            "max_brief_chars": 150,
            "max_items": 3,
            "max_request_bytes": 5000,
            "bar_max_limit": 5,
        }
    )


@pytest.fixture
def small_client(small_settings: Settings) -> Iterator[TestClient]:
    """The app with tight limits, on the same database file as `settings`."""
    yield from app_client(small_settings)


# --- /healthz ------------------------------------------------------------------------------


def test_healthz_ready_reports_ok_without_counts(client: TestClient) -> None:
    restricted = {"title": "A restricted lesson", "sensitivity": "restricted"}
    post_review(client, lessons=[restricted], actions=[])
    # Open to anyone, so it must not reveal how many lessons (of any sensitivity) exist.
    assert get_json(client, "/healthz") == {"status": "ok", "model": "hashing"}


def test_healthz_before_startup_is_503(settings: Settings) -> None:
    # Without the lifespan the app cannot answer searches yet.
    client = TestClient(create_app(settings, embedder=HashingEmbedder()))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "starting"}


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


# --- request bodies for every write endpoint ----------------------------------------------


def write_endpoints(bank: Bank) -> list[tuple[str, str]]:
    return [
        ("POST", "/api/reviews"),
        ("PATCH", f"/api/lessons/{bank.fridges}"),
        ("POST", f"/api/lessons/{bank.fridges}/transition"),
        ("POST", "/api/bar"),
        ("POST", f"/api/bar/{bank.bar['id']}/decisions"),
    ]


@pytest.mark.parametrize("endpoint", range(5))
@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        pytest.param(b"", "application/json", id="empty"),
        pytest.param(b"   \n", "application/json", id="whitespace"),
        pytest.param(b"{", "application/json", id="truncated-json"),
        pytest.param(b"{'kind': 'aar'}", "application/json", id="single-quotes"),
        pytest.param(b"\xff\xfe\x00", "application/json", id="not-utf8"),
        pytest.param(b"[]", "application/json", id="array"),
        pytest.param(b'[{"kind": "aar"}]', "application/json", id="array-of-object"),
        pytest.param(b'"text"', "application/json", id="string"),
        pytest.param(b"null", "application/json", id="null"),
        pytest.param(b"42", "application/json", id="number"),
        pytest.param(b"kind=aar", "application/x-www-form-urlencoded", id="form-encoded"),
    ],
)
def test_write_endpoint_bad_json_is_400_and_changes_nothing(
    client: TestClient, engine: Engine, bank: Bank, endpoint: int, body: bytes, content_type: str
) -> None:
    method, url = write_endpoints(bank)[endpoint]
    before = row_counts(engine)
    lesson_before = get_json(client, f"/api/lessons/{bank.fridges}")
    # As a curator, who may call every write endpoint: the body is what is under test.
    headers = {**client.curator, "content-type": content_type}
    response = client.request(method, url, content=body, headers=headers)
    assert_error(response, 400, code="invalid_json")
    assert row_counts(engine) == before
    assert get_json(client, f"/api/lessons/{bank.fridges}") == lesson_before


@pytest.mark.parametrize("endpoint", range(5))
def test_write_endpoint_body_over_max_request_bytes_is_413(
    small_client: TestClient, engine: Engine, endpoint: int
) -> None:
    review = small_client.post("/api/reviews", json=review_payload()).json()
    lesson_id = review["lessons"][0]["id"]
    bar = small_client.post("/api/bar", json={"brief": "fridges"}).json()
    urls = [
        ("POST", "/api/reviews"),
        ("PATCH", f"/api/lessons/{lesson_id}"),
        ("POST", f"/api/lessons/{lesson_id}/transition"),
        ("POST", "/api/bar"),
        ("POST", f"/api/bar/{bar['id']}/decisions"),
    ]
    method, url = urls[endpoint]
    before = row_counts(engine)
    # Valid JSON, so only its size can be the problem.
    body = b'{"padding": "' + b"x" * 5000 + b'"}'
    # As a curator, who may call every write endpoint: the body is what is under test.
    headers = {**small_client.curator, "content-type": "application/json"}
    response = small_client.request(method, url, content=body, headers=headers)
    error = assert_error(response, 413, code="too_large")
    assert "5000" in error["message"]
    assert row_counts(engine) == before


def test_write_endpoint_streamed_body_over_limit_is_413_without_content_length(
    small_client: TestClient, engine: Engine
) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"brief": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}'

    response = small_client.post(
        "/api/bar", content=chunks(), headers={"content-type": "application/json"}
    )
    assert_error(response, 413, code="too_large")
    assert row_counts(engine)["bar"] == 0


def test_write_endpoint_body_just_under_max_request_bytes_is_read(
    small_client: TestClient,
) -> None:
    body = b'{"brief": "fridges ' + b"x" * 100 + b'"}'
    body += b" " * (5000 - len(body))
    assert len(body) == 5000
    response = small_client.post(
        "/api/bar", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("PUT", "/api/reviews"),
        ("DELETE", "/api/lessons/1"),
        ("GET", "/api/bar"),
        ("POST", "/api/lessons"),
    ],
)
def test_api_wrong_method_is_405_json(client: TestClient, method: str, url: str) -> None:
    assert_error(client.request(method, url), 405, code="method_not_allowed")


@pytest.mark.parametrize(
    "url", ["/api/nothing", "/api/lessons/abc", "/api/lessons/-1", "/api/bar/1.5", "/api/"]
)
def test_api_unknown_path_is_404_json(client: TestClient, url: str) -> None:
    assert_error(client.get(url), 404, code="not_found")


# --- unknown ids ---------------------------------------------------------------------------

VALID_BODIES: dict[str, dict[str, Any]] = {
    "patch": {"title": "A new title"},
    "transition": {"to": "validated"},
    "decisions": {"decisions": [{"lesson_id": 1, "decision": "apply"}]},
}


@pytest.mark.parametrize("missing", [0, 999, 2**63 - 1, *BIG_IDS])
@pytest.mark.parametrize(
    ("method", "template", "body"),
    [
        ("GET", "/api/lessons/{id}", None),
        ("PATCH", "/api/lessons/{id}", "patch"),
        ("POST", "/api/lessons/{id}/transition", "transition"),
        ("GET", "/api/lessons/{id}/similar", None),
        ("GET", "/api/bar/{id}", None),
        ("POST", "/api/bar/{id}/decisions", "decisions"),
    ],
)
def test_api_unknown_id_is_404_and_changes_nothing(
    client: TestClient,
    engine: Engine,
    bank: Bank,
    missing: int,
    method: str,
    template: str,
    body: str | None,
) -> None:
    before = row_counts(engine)
    url = template.format(id=missing)
    response = client.request(
        method, url, json=VALID_BODIES[body] if body else None, headers=client.curator
    )
    assert_error(response, 404, code="not_found")
    assert row_counts(engine) == before


# --- GET /api/lessons/{id} -----------------------------------------------------------------


def test_get_lesson_returns_sections_actions_history_and_next_steps(
    client: TestClient, bank: Bank
) -> None:
    body = get_json(client, f"/api/lessons/{bank.volunteers}")
    assert set(body) >= LESSON_FIELDS | {"actions", "history", "allowed_transitions"}
    assert body["id"] == bank.volunteers
    assert body["title"] == VOLUNTEERS["title"]
    assert body["observation"] == VOLUNTEERS["observation"]
    assert body["insight"] == VOLUNTEERS["insight"]
    assert body["recommendation"] == VOLUNTEERS["recommendation"]
    assert body["status"] == "identified"
    assert body["sensitivity"] == "public"
    assert body["tags"] == ["volunteers"]
    assert body["project"] == {"id": bank.review["project"]["id"], "name": "Measles catch-up 2025"}
    assert body["external_id"] is None
    assert body["source_url"] is None
    assert body["actions"] == []
    [created] = body["history"]
    assert created["from_status"] is None
    assert created["to_status"] == "identified"
    # Who sent it (the signed-in user), and whose words it is (the review's author).
    assert created["actor"] == "casey"
    assert f"review #{bank.review['id']}" in created["reason"]
    assert "for Amina Diallo" in created["reason"]
    # Merged is reached by merging, not offered as a plain step.
    assert body["allowed_transitions"] == ["validated", "rejected"]


def test_get_lesson_lists_its_actions(client: TestClient, bank: Bank) -> None:
    body = get_json(client, f"/api/lessons/{bank.fridges}")
    [action] = body["actions"]
    assert action["what"] == "Add a lead-time check to the plan template"
    assert action["owner"]["name"] == "Tom Reyes"
    assert action["lesson_id"] == bank.fridges


# --- GET /api/lessons ----------------------------------------------------------------------


def test_list_lessons_default_shows_only_trusted_statuses(client: TestClient, bank: Bank) -> None:
    body = get_json(client, "/api/lessons")
    assert sorted(result_ids(body)) == sorted([bank.fridges, bank.cold_rooms])
    assert body["total"] == 2
    for lesson in body["results"]:
        assert set(lesson) >= LESSON_FIELDS


def test_list_lessons_new_review_lessons_are_identified_not_listed(client: TestClient) -> None:
    review = post_review(client)
    assert get_json(client, "/api/lessons") == {"results": [], "total": 0}
    listed = get_json(client, "/api/lessons?status=identified")
    assert result_ids(listed) == [review["lessons"][0]["id"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("tag=cold-chain", ["fridges", "cold_rooms"]),
        ("tag=procurement", ["fridges"]),
        ("tag=cold-chain&tag=storage", ["cold_rooms"]),
        ("tag=volunteers", []),
        ("tag=volunteers&status=identified", ["volunteers"]),
        ("tag=no-such-tag", []),
        ("status=identified", ["volunteers"]),
        ("status=validated", ["fridges", "cold_rooms"]),
        ("status=validated&status=identified", ["fridges", "cold_rooms", "volunteers"]),
        ("status=learned", []),
    ],
)
def test_list_lessons_filters_by_tag_and_status(
    client: TestClient, bank: Bank, query: str, expected: list[str]
) -> None:
    body = get_json(client, f"/api/lessons?{query}")
    assert sorted(result_ids(body)) == sorted(getattr(bank, name) for name in expected)
    assert body["total"] == len(expected)


def test_list_lessons_filters_by_project(client: TestClient, bank: Bank) -> None:
    other = post_review(client, project={"name": "Library digitisation"}, actions=[])
    other_id = other["lessons"][0]["id"]
    move(client, other_id, "validated")
    body = get_json(client, f"/api/lessons?project_id={other['project']['id']}")
    assert result_ids(body) == [other_id]
    body = get_json(client, f"/api/lessons?project_id={bank.review['project']['id']}")
    assert sorted(result_ids(body)) == sorted([bank.fridges, bank.cold_rooms])


def test_list_lessons_limit_and_offset_page_through_newest_first(
    client: TestClient, bank: Bank
) -> None:
    first = get_json(client, "/api/lessons?status=validated&status=identified&limit=2")
    second = get_json(client, "/api/lessons?status=validated&status=identified&limit=2&offset=2")
    assert first["total"] == second["total"] == 3
    assert len(first["results"]) == 2
    assert len(second["results"]) == 1
    assert result_ids(first) + result_ids(second) == [
        bank.volunteers,
        bank.cold_rooms,
        bank.fridges,
    ]


def test_list_lessons_q_searches_by_meaning_with_why(client: TestClient, bank: Bank) -> None:
    body = get_json(client, "/api/lessons?q=cold+rooms+for+vaccine+storage")
    ids = result_ids(body)
    assert ids[0] == bank.cold_rooms
    assert bank.volunteers not in ids  # identified: not shown by default
    top = body["results"][0]
    assert set(top) >= LESSON_FIELDS | {"score", "why"}
    assert isinstance(top["score"], float)
    assert top["score"] >= body["results"][-1]["score"]
    assert {"cold", "rooms", "storage"} <= set(top["why"]["matched_terms"])
    assert "cold rooms" in top["why"]["best_sentence"].lower()
    # total counts every lesson the search ranked (all the filters admit), not the page
    assert body["total"] == get_json(client, "/api/lessons")["total"] >= len(body["results"])
    paged = get_json(client, "/api/lessons?q=cold+rooms+for+vaccine+storage&limit=1")
    assert len(paged["results"]) == 1 and paged["total"] == body["total"] > 1


def test_list_lessons_q_honours_status_and_tag_filters(client: TestClient, bank: Bank) -> None:
    body = get_json(client, "/api/lessons?q=library+volunteers&status=identified")
    assert result_ids(body) == [bank.volunteers]
    body = get_json(client, "/api/lessons?q=cold+chain&tag=procurement")
    assert result_ids(body) == [bank.fridges]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=abc", "limit"),
        ("limit=0", "limit"),
        ("limit=-3", "limit"),
        ("limit=201", "limit"),
        (f"limit={2**70}", "limit"),
        ("offset=-1", "offset"),
        ("offset=x", "offset"),
        (f"offset={2**70}", "offset"),
        ("status=bogus", "status"),
        ("status=validated&status=nope", "status"),
        ("project_id=abc", "project_id"),
    ],
)
def test_list_lessons_bad_parameters_are_422(
    client: TestClient, bank: Bank, query: str, field: str
) -> None:
    assert_error(client.get(f"/api/lessons?{query}"), 422, code="invalid", field=field)


def test_list_lessons_q_longer_than_max_brief_is_422(small_client: TestClient) -> None:
    assert_error(small_client.get("/api/lessons?q=" + "a" * 151), 422, field="q")
    assert small_client.get("/api/lessons?q=" + "a" * 150).status_code == 200


@pytest.mark.parametrize("query", [f"project_id={2**70}", f"q=fridges&project_id={2**70}"])
def test_list_lessons_project_id_beyond_64_bits_is_a_4xx(client: TestClient, query: str) -> None:
    response = client.get(f"/api/lessons?{query}")
    assert 400 <= response.status_code < 500


def test_list_lessons_tag_filter_is_normalised_like_stored_tags(
    client: TestClient, bank: Bank
) -> None:
    body = get_json(client, "/api/lessons?tag=Cold+Chain")
    assert sorted(result_ids(body)) == sorted([bank.fridges, bank.cold_rooms])


# --- PATCH /api/lessons/{id} ---------------------------------------------------------------


def stored_embedding(engine: Engine, lesson_id: int) -> tuple[str, bytes]:
    with Session(engine) as session:
        row = session.get(LessonEmbedding, lesson_id)
        assert row is not None
        return row.content_hash, row.vector


def test_patch_lesson_changes_text_and_normalises_tags(client: TestClient, bank: Bank) -> None:
    response = client.patch(
        f"/api/lessons/{bank.volunteers}",
        json={
            "title": "  Pay volunteers travel costs  ",
            "observation": "Volunteers stopped coming when travel was unpaid.",
            "tags": ["Cold Chain", "COLD chain", "Travel Costs!", "  "],
            "sensitivity": "internal",
            "review_due": "2026-01-31",
        },
        headers=client.curator,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["title"] == "Pay volunteers travel costs"
    assert body["observation"] == "Volunteers stopped coming when travel was unpaid."
    assert body["insight"] == VOLUNTEERS["insight"]  # untouched
    assert body["tags"] == ["cold-chain", "travel-costs"]
    assert body["sensitivity"] == "internal"
    assert body["review_due"] == "2026-01-31"
    assert body["status"] == "identified"  # PATCH never moves the lifecycle
    assert get_json(client, f"/api/lessons/{bank.volunteers}") == body


def test_patch_lesson_reembeds_so_search_and_similar_follow(
    client: TestClient, engine: Engine, bank: Bank
) -> None:
    move(client, bank.volunteers, "validated")
    query = "/api/lessons?q=quokka+wombat+platypus"
    assert result_ids(get_json(client, query))[0] != bank.volunteers
    similar_before = get_json(client, f"/api/lessons/{bank.cold_rooms}/similar")
    assert result_ids(similar_before)[0] == bank.fridges
    before = stored_embedding(engine, bank.volunteers)

    response = client.patch(
        f"/api/lessons/{bank.volunteers}",
        json={
            "title": "Quokka wombat platypus cold rooms vaccine storage",
            "observation": "Quokka wombat platypus: cold rooms for vaccine storage ran short.",
            "insight": "",
            "recommendation": "Reserve cold rooms for vaccine storage early.",
        },
        headers=client.curator,
    )
    assert response.status_code == 200, response.text

    after = stored_embedding(engine, bank.volunteers)
    assert after[0] != before[0]
    assert after[1] != before[1]
    assert result_ids(get_json(client, query))[0] == bank.volunteers
    similar_after = get_json(client, f"/api/lessons/{bank.cold_rooms}/similar")
    assert result_ids(similar_after)[0] == bank.volunteers


def test_patch_lesson_tags_only_reembeds(client: TestClient, engine: Engine, bank: Bank) -> None:
    before = stored_embedding(engine, bank.fridges)
    response = client.patch(
        f"/api/lessons/{bank.fridges}", json={"tags": ["Logistics"]}, headers=client.curator
    )
    assert response.status_code == 200, response.text
    assert response.json()["tags"] == ["logistics"]
    assert stored_embedding(engine, bank.fridges)[0] != before[0]


def test_patch_lesson_same_text_keeps_its_vector(
    client: TestClient, engine: Engine, bank: Bank
) -> None:
    before = stored_embedding(engine, bank.fridges)
    response = client.patch(
        f"/api/lessons/{bank.fridges}", json={"title": lesson_in()["title"]}, headers=client.curator
    )
    assert response.status_code == 200, response.text
    assert stored_embedding(engine, bank.fridges) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": 5}, "title"),
        ({"polarity": "meh"}, "polarity"),
        ({"perspective": "strategic"}, "perspective"),
        ({"sensitivity": "secret"}, "sensitivity"),
        ({"tags": "cold chain"}, "tags"),
        ({"tags": [1]}, "tags"),
        ({"review_due": "soon"}, "review_due"),
        ({"status": "validated"}, "status"),
        ({"external_id": "X-1"}, "external_id"),
        ({"source_url": "https://example.org"}, "source_url"),
        ({"title": "Fine", "colour": "red"}, "colour"),
    ],
)
def test_patch_lesson_bad_input_is_422_and_leaves_the_lesson(
    client: TestClient, engine: Engine, bank: Bank, body: dict[str, Any], field: str
) -> None:
    before = get_json(client, f"/api/lessons/{bank.fridges}")
    counts = row_counts(engine)
    response = client.patch(f"/api/lessons/{bank.fridges}", json=body, headers=client.curator)
    assert_error(response, 422, code="invalid", field=field)
    assert get_json(client, f"/api/lessons/{bank.fridges}") == before
    assert row_counts(engine) == counts


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "t" * 61}, "title"),
        ({"observation": "o" * 201}, "observation"),
        ({"insight": "i" * 201}, "insight"),
        ({"recommendation": "r" * 201}, "recommendation"),
        ({"tags": ["a", "b", "c", "d"]}, "tags"),
    ],
)
def test_patch_lesson_over_limits_is_422_and_leaves_the_lesson(
    small_client: TestClient, body: dict[str, Any], field: str
) -> None:
    lesson_id = small_client.post("/api/reviews", json=review_payload()).json()["lessons"][0]["id"]
    before = get_json(small_client, f"/api/lessons/{lesson_id}")
    assert_error(
        small_client.patch(f"/api/lessons/{lesson_id}", json=body, headers=small_client.curator),
        422,
        field=field,
    )
    assert get_json(small_client, f"/api/lessons/{lesson_id}") == before


# --- POST /api/lessons/{id}/transition -----------------------------------------------------


def test_transition_records_who_when_and_why(client: TestClient, bank: Bank) -> None:
    body = move(client, bank.volunteers, "validated", reason="Checked with the library team")
    assert body["status"] == "validated"
    event = body["history"][-1]
    assert event["from_status"] == "identified"
    assert event["to_status"] == "validated"
    assert event["actor"] == "kim"  # the curator whose token moved it
    assert event["reason"] == "Checked with the library team"
    assert event["at"]
    assert body["allowed_transitions"] == ["actioned", "learned", "retired"]


def test_transition_records_the_signed_in_curator(client: TestClient, bank: Bank) -> None:
    response = client.post(
        f"/api/lessons/{bank.volunteers}/transition",
        headers=client.curator,
        json={"to": "rejected", "reason": "A duplicate"},
    )
    assert response.status_code == 200, response.text
    event = response.json()["history"][-1]
    # The actor is whoever is signed in (the token's user), never a name the caller types.
    assert (event["to_status"], event["actor"], event["reason"]) == (
        "rejected",
        "kim",
        "A duplicate",
    )


def test_transition_full_path_to_learned(client: TestClient, bank: Bank) -> None:
    move(client, bank.fridges, "actioned")
    response = client.post(
        f"/api/lessons/{bank.fridges}/transition",
        headers=client.curator,
        json={
            "to": "learned",
            "reason": "Lead-time check is in the template",
            "learned_evidence": "The plan template has a lead-time check.",
            "learned_link": "https://intranet.example.org/plan-template",
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "learned"
    assert [e["to_status"] for e in body["history"]] == [
        "identified",
        "validated",
        "actioned",
        "learned",
    ]


@pytest.mark.parametrize(
    ("lesson", "body", "status", "field"),
    [
        ("volunteers", {"to": "learned"}, 409, "to"),
        ("volunteers", {"to": "actioned"}, 409, "to"),
        ("volunteers", {"to": "identified"}, 409, "to"),
        ("volunteers", {"to": "retired", "reason": "old"}, 409, "to"),
        ("volunteers", {"to": "rejected"}, 422, "reason"),
        ("volunteers", {"to": "rejected", "reason": "   "}, 422, "reason"),
        ("fridges", {"to": "retired"}, 422, "reason"),
        ("fridges", {"to": "learned"}, 422, "learned_evidence"),
        ("fridges", {"to": "learned", "learned_evidence": "Checklist"}, 422, "learned_link"),
        ("fridges", {"to": "learned", "learned_link": "ftp://x.org/a"}, 422, "learned_link"),
        ("fridges", {"to": "merged"}, 409, "to"),
        ("fridges", {"to": "draft"}, 409, "to"),
        ("fridges", {"to": "bogus"}, 422, "to"),
        ("fridges", {}, 422, "to"),
        ("fridges", {"to": None}, 422, "to"),
        ("fridges", {"to": "actioned", "reason": 5}, 422, "reason"),
        ("fridges", {"to": "actioned", "when": "now"}, 422, "when"),
    ],
)
def test_transition_refused_leaves_status_and_history(
    client: TestClient,
    bank: Bank,
    lesson: str,
    body: dict[str, Any],
    status: int,
    field: str,
) -> None:
    lesson_id = getattr(bank, lesson)
    before = get_json(client, f"/api/lessons/{lesson_id}")
    response = client.post(
        f"/api/lessons/{lesson_id}/transition", headers=client.curator, json=body
    )
    error = assert_error(response, status, field=field)
    # A step the lifecycle forbids conflicts with the lesson's state; a missing reason or
    # evidence is input the caller can fix.
    assert error["code"] == ("invalid_transition" if status == 409 else "invalid")
    assert get_json(client, f"/api/lessons/{lesson_id}") == before


def test_transition_from_merged_is_refused(client: TestClient, engine: Engine, bank: Bank) -> None:
    with transaction(engine) as session:  # merged is reached only through the merge service
        lesson = session.get(Lesson, bank.volunteers)
        assert lesson is not None
        lifecycle.transition(
            session, lesson=lesson, to=LessonStatus.MERGED, actor="kim", via_merge=True
        )
    response = client.post(
        f"/api/lessons/{bank.volunteers}/transition",
        headers=client.curator,
        json={"to": "identified"},
    )
    error = assert_error(response, 409, code="invalid_transition", field="to")
    assert "none" in error["message"]


def test_transition_reason_over_limit_is_422(small_client: TestClient) -> None:
    lesson_id = small_client.post("/api/reviews", json=review_payload()).json()["lessons"][0]["id"]
    response = small_client.post(
        f"/api/lessons/{lesson_id}/transition",
        headers=small_client.curator,
        json={"to": "rejected", "reason": "r" * 201},
    )
    assert_error(response, 422, field="reason")
    assert get_json(small_client, f"/api/lessons/{lesson_id}")["status"] == "identified"


# --- GET /api/lessons/{id}/similar ---------------------------------------------------------


def test_similar_returns_closest_trusted_lessons_without_itself(
    client: TestClient, bank: Bank
) -> None:
    body = get_json(client, f"/api/lessons/{bank.fridges}/similar")
    assert set(body) == {"results"}
    ids = result_ids(body)
    assert ids == [bank.cold_rooms]  # not itself, not the identified volunteers lesson
    [hit] = body["results"]
    # the short form, scored, pointing at the lesson by the API contract's lesson_id too
    assert set(hit) == set(LessonBrief.model_fields) | {"lesson_id", "score"}
    assert hit["lesson_id"] == hit["id"]
    assert hit["title"] == COLD_ROOMS["title"]
    assert 0 < hit["score"] <= 1


def test_similar_ranks_by_closeness_and_honours_limit(client: TestClient, bank: Bank) -> None:
    move(client, bank.volunteers, "validated")
    body = get_json(client, f"/api/lessons/{bank.fridges}/similar")
    assert result_ids(body) == [bank.cold_rooms, bank.volunteers]
    scores = [hit["score"] for hit in body["results"]]
    assert scores == sorted(scores, reverse=True)
    limited = get_json(client, f"/api/lessons/{bank.fridges}/similar?limit=1")
    assert result_ids(limited) == [bank.cold_rooms]


@pytest.mark.parametrize("limit", ["0", "51", "-1", "abc", str(2**70)])
def test_similar_bad_limit_is_422(client: TestClient, bank: Bank, limit: str) -> None:
    response = client.get(f"/api/lessons/{bank.fridges}/similar?limit={limit}")
    assert_error(response, 422, code="invalid", field="limit")


# --- POST /api/bar and GET /api/bar/{id} ---------------------------------------------------


def test_post_bar_returns_ranked_lessons_with_why_people_and_actions(
    client: TestClient, bank: Bank
) -> None:
    body = bank.bar
    assert isinstance(body["id"], int)
    assert body["brief"] == "cold chain fridges for a vaccine campaign"
    assert [r["id"] for r in body["results"]] == [bank.fridges, bank.cold_rooms]
    for rank, result in enumerate(body["results"], start=1):
        assert set(result) >= BAR_RESULT_FIELDS
        assert result["rank"] == rank
        assert isinstance(result["score"], float)
        assert set(result["why"]) >= {"matched_terms", "best_sentence"}
        assert result["decision"] is None
    top = body["results"][0]
    assert top["title"] == lesson_in()["title"]
    assert {"fridges", "campaign"} <= set(top["why"]["matched_terms"])
    assert "fridges" in top["why"]["best_sentence"].lower()
    [action] = top["open_actions"]
    assert action["what"] == "Add a lead-time check to the plan template"
    assert action["status"] == "open"
    assert {p["name"]: p["why"] for p in top["people"]} == {
        "Amina Diallo": "wrote it",
        "Tom Reyes": "owns an action",
    }
    assert body["results"][1]["open_actions"] == []
    people = {p["name"]: [le["id"] for le in p["lessons"]] for p in body["people"]}
    assert people == {"Amina Diallo": [bank.fridges, bank.cold_rooms], "Tom Reyes": [bank.fridges]}
    # Most relevant first: the summed scores of the lessons that put each person there.
    assert [p["name"] for p in body["people"]] == ["Amina Diallo", "Tom Reyes"]
    amina, tom = body["people"]
    assert amina["relevance"] > tom["relevance"] > 0
    assert amina["why"] == ["wrote it"] and tom["why"] == ["owns an action"]
    assert amina["profile"] == f"/people#person-{amina['id']}"
    assert client.get("/people").text.count(f'id="person-{amina["id"]}"') == 1


def test_get_bar_returns_what_was_recorded(client: TestClient, bank: Bank) -> None:
    assert get_json(client, f"/api/bar/{bank.bar['id']}") == bank.bar


def test_post_bar_identified_lessons_only_when_validated_or_asked_for(
    client: TestClient,
) -> None:
    review = post_review(client)
    lesson_id = review["lessons"][0]["id"]
    brief = {"brief": "cold chain fridges arrived late"}

    default = client.post("/api/bar", json=brief).json()
    assert default["results"] == []
    assert default["people"] == []

    asked = client.post("/api/bar", json={**brief, "filters": {"status": ["identified"]}}).json()
    assert [r["id"] for r in asked["results"]] == [lesson_id]
    assert asked["filters"] == {"status": ["identified"]}

    move(client, lesson_id, "validated")
    after = client.post("/api/bar", json=brief).json()
    assert [r["id"] for r in after["results"]] == [lesson_id]
    assert after["results"][0]["status"] == "validated"


def test_post_bar_for_a_project_by_id_or_new_name(
    client: TestClient, engine: Engine, bank: Bank
) -> None:
    project_id = bank.review["project"]["id"]
    by_id = client.post("/api/bar", json={"brief": "fridges", "project": {"id": project_id}})
    assert by_id.status_code == 201, by_id.text
    assert by_id.json()["project"] == {"id": project_id, "name": "Measles catch-up 2025"}
    projects_before = row_counts(engine)["project"]
    new = client.post(
        "/api/bar",
        json={"brief": "fridges", "project": {"name": "Polio round 2026"}, "run_by": "Jo"},
    )
    assert new.status_code == 201, new.text
    assert new.json()["project"]["name"] == "Polio round 2026"
    assert new.json()["run_by"] == "Jo"
    assert row_counts(engine)["project"] == projects_before + 1


def test_post_bar_limit_caps_results(demo_client: TestClient, settings: Settings) -> None:
    default = demo_client.post("/api/bar", json={"brief": "cold chain vaccine fridges"}).json()
    assert len(default["results"]) == settings.bar_default_limit
    one = demo_client.post("/api/bar", json={"brief": "cold chain vaccine fridges", "limit": 1})
    assert len(one.json()["results"]) == 1
    most = demo_client.post(
        "/api/bar", json={"brief": "cold chain", "limit": settings.bar_max_limit}
    )
    assert most.status_code == 201, most.text
    assert settings.bar_default_limit < len(most.json()["results"]) <= settings.bar_max_limit


def test_post_bar_limit_above_max_is_422(
    client: TestClient, engine: Engine, settings: Settings
) -> None:
    response = client.post(
        "/api/bar", json={"brief": "fridges", "limit": settings.bar_max_limit + 1}
    )
    error = assert_error(response, 422, code="invalid", field="limit")
    assert str(settings.bar_max_limit) in error["message"]
    assert row_counts(engine)["bar"] == 0


def test_post_bar_limit_above_a_configured_max_is_422(small_client: TestClient) -> None:
    assert_error(small_client.post("/api/bar", json={"brief": "x", "limit": 6}), 422, field="limit")
    assert small_client.post("/api/bar", json={"brief": "x", "limit": 5}).status_code == 201


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({}, 422, "brief"),
        ({"brief": ""}, 422, "brief"),
        ({"brief": "   "}, 422, "brief"),
        ({"brief": 5}, 422, "brief"),
        ({"brief": ["cold", "chain"]}, 422, "brief"),
        ({"brief": "x", "limit": 0}, 422, "limit"),
        ({"brief": "x", "limit": -1}, 422, "limit"),
        ({"brief": "x", "limit": "ten"}, 422, "limit"),
        ({"brief": "x", "filters": "all"}, 422, "filters"),
        ({"brief": "x", "filters": {"status": ["bogus"]}}, 422, "filters.status"),
        ({"brief": "x", "filters": {"polarity": "meh"}}, 422, "filters.polarity"),
        ({"brief": "x", "filters": {"colour": "red"}}, 422, "filters.colour"),
        ({"brief": "x", "project": {}}, 422, "project"),
        ({"brief": "x", "project": {"id": 999}}, 404, "project.id"),
        ({"brief": "", "project": {"name": "Brand new"}}, 422, "brief"),
        ({"brief": "x", "colour": "red"}, 422, "colour"),
    ],
)
def test_post_bar_bad_input_is_rejected_and_records_nothing(
    client: TestClient,
    engine: Engine,
    bank: Bank,
    body: dict[str, Any],
    status: int,
    field: str,
) -> None:
    before = row_counts(engine)
    assert_error(client.post("/api/bar", json=body), status, field=field)
    assert row_counts(engine) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"brief": "b" * 151}, "brief"),
        ({"brief": "x", "project": {"name": "n" * 61}}, "project.name"),
        ({"brief": "x", "filters": {"tags": ["a", "b", "c", "d"]}}, "filters.tags"),
    ],
)
def test_post_bar_over_limits_is_422(
    small_client: TestClient, engine: Engine, body: dict[str, Any], field: str
) -> None:
    assert_error(small_client.post("/api/bar", json=body), 422, field=field)
    assert row_counts(engine)["bar"] == 0
    assert row_counts(engine)["project"] == 0


@pytest.mark.parametrize(
    "body",
    [
        {"brief": "fridges", "project": {"id": 2**70}},
        {"brief": "fridges", "filters": {"project_id": 2**70}},
    ],
)
def test_post_bar_id_beyond_64_bits_is_a_4xx(
    client: TestClient, engine: Engine, body: dict[str, Any]
) -> None:
    response = client.post("/api/bar", json=body)
    assert 400 <= response.status_code < 500
    assert row_counts(engine)["bar"] == 0


# --- POST /api/bar/{id}/decisions ----------------------------------------------------------


def test_decisions_are_saved_and_shown(client: TestClient, bank: Bank) -> None:
    bar_id = bank.bar["id"]
    response = client.post(
        f"/api/bar/{bar_id}/decisions",
        json={
            "decisions": [
                {"lesson_id": bank.fridges, "decision": "apply", "note": "Order in March"},
                {"lesson_id": bank.cold_rooms, "decision": "not_relevant"},
            ]
        },
    )
    assert response.status_code == 200, response.text
    body = get_json(client, f"/api/bar/{bar_id}")
    assert response.json() == body
    decided = {r["id"]: (r["decision"], r["note"]) for r in body["results"]}
    assert decided == {
        bank.fridges: ("apply", "Order in March"),
        bank.cold_rooms: ("not_relevant", ""),
    }

    again = client.post(
        f"/api/bar/{bar_id}/decisions",
        json={"decisions": [{"lesson_id": bank.cold_rooms, "decision": "note", "note": "Ask Ana"}]},
    )
    assert again.status_code == 200, again.text
    decided = {r["id"]: (r["decision"], r["note"]) for r in again.json()["results"]}
    assert decided == {
        bank.fridges: ("apply", "Order in March"),
        bank.cold_rooms: ("note", "Ask Ana"),
    }


def _decisions(*items: dict[str, Any]) -> dict[str, Any]:
    return {"decisions": list(items)}


BAD_DECISIONS: list[Any] = [
    pytest.param(lambda s, u: {}, "decisions", id="missing"),
    pytest.param(lambda s, u: _decisions(), "decisions", id="empty-list"),
    pytest.param(lambda s, u: {"decisions": "apply"}, "decisions", id="not-a-list"),
    pytest.param(
        lambda s, u: _decisions({"lesson_id": s, "decision": "maybe"}),
        "decisions.0.decision",
        id="unknown-decision",
    ),
    pytest.param(
        lambda s, u: _decisions({"decision": "apply"}), "decisions.0.lesson_id", id="no-lesson"
    ),
    pytest.param(
        lambda s, u: _decisions({"lesson_id": "first", "decision": "apply"}),
        "decisions.0.lesson_id",
        id="lesson-id-text",
    ),
    pytest.param(
        lambda s, u: _decisions({"lesson_id": s}), "decisions.0.decision", id="no-decision"
    ),
    pytest.param(
        lambda s, u: _decisions({"lesson_id": s, "decision": "apply", "score": 3}),
        "decisions.0.score",
        id="unknown-field",
    ),
    pytest.param(
        lambda s, u: _decisions({"lesson_id": u, "decision": "apply"}),
        "decisions.0.lesson_id",
        id="lesson-not-surfaced",
    ),
    pytest.param(
        lambda s, u: _decisions({"lesson_id": 999_999, "decision": "apply"}),
        "decisions.0.lesson_id",
        id="no-such-lesson",
    ),
    pytest.param(
        lambda s, u: _decisions({"lesson_id": 2**70, "decision": "apply"}),
        "decisions.0.lesson_id",
        id="lesson-id-beyond-64-bits",
    ),
    pytest.param(
        lambda s, u: _decisions(
            {"lesson_id": s, "decision": "apply", "note": "keep"},
            {"lesson_id": u, "decision": "note"},
        ),
        "decisions.1.lesson_id",
        id="second-not-surfaced-first-not-saved",
    ),
]


@pytest.mark.parametrize(("build", "field"), BAD_DECISIONS)
def test_decisions_bad_input_is_422_and_saves_nothing(
    client: TestClient,
    engine: Engine,
    bank: Bank,
    build: Callable[[int, int], dict[str, Any]],
    field: str,
) -> None:
    bar_id = bank.bar["id"]
    before = get_json(client, f"/api/bar/{bar_id}")
    counts = row_counts(engine)
    response = client.post(
        f"/api/bar/{bar_id}/decisions", json=build(bank.fridges, bank.volunteers)
    )
    assert_error(response, 422, code="invalid", field=field)
    assert get_json(client, f"/api/bar/{bar_id}") == before
    assert all(r["decision"] is None for r in before["results"])
    assert row_counts(engine) == counts


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda s: _decisions(*[{"lesson_id": s, "decision": "apply"}] * 4), "decisions"),
        (
            lambda s: _decisions({"lesson_id": s, "decision": "note", "note": "n" * 201}),
            "decisions.0.note",
        ),
    ],
)
def test_decisions_over_limits_are_422(
    small_client: TestClient, build: Callable[[int], dict[str, Any]], field: str
) -> None:
    review = small_client.post(
        "/api/reviews", json=review_payload(lessons=[lesson_in(tags=[])], actions=[])
    ).json()
    lesson_id = review["lessons"][0]["id"]
    move(small_client, lesson_id, "validated")
    bar = small_client.post("/api/bar", json={"brief": "fridges"}).json()
    assert [r["id"] for r in bar["results"]] == [lesson_id]
    response = small_client.post(f"/api/bar/{bar['id']}/decisions", json=build(lesson_id))
    assert_error(response, 422, field=field)
    assert get_json(small_client, f"/api/bar/{bar['id']}") == bar


# --- access: restricted lessons never leave the API ---------------------------------------


@dataclass(frozen=True)
class Secret:
    control: int  # internal, validated: shows up wherever the secret must not
    secret: int  # restricted, validated (by a curator, straight in the database)
    bar: dict[str, Any]


@pytest.fixture
def secret(client: TestClient, engine: Engine) -> Secret:
    text = {
        "title": "Quarantine the zebrafish tanks before the audit",
        "observation": "Zebrafish tanks were quarantined too late before the audit.",
        "insight": "Nobody owned the zebrafish quarantine step.",
        "recommendation": "Name an owner for zebrafish quarantine.",
    }
    control = post_review(
        client,
        project={"name": "Open aquarium"},
        lessons=[lesson_in(**text, tags=["zebrafish"])],
        actions=[],
    )["lessons"][0]["id"]
    move(client, control, "validated")
    hidden = post_review(
        client,
        project={"name": "Closed aquarium"},
        author="Rhea Secret",
        lessons=[
            lesson_in(
                **{k: f"{v} Classified." for k, v in text.items()},
                tags=["zebrafish", "classified"],
                sensitivity="restricted",
            )
        ],
        actions=[{"what": "Hidden action", "owner": "Otto Hidden", "lesson_index": 0}],
    )
    secret_id = hidden["lessons"][0]["id"]
    with transaction(engine) as session:
        lesson = session.get(Lesson, secret_id)
        assert lesson is not None
        lifecycle.transition(session, lesson=lesson, to=LessonStatus.VALIDATED, actor="curator")
    bar = client.post(
        "/api/bar",
        json={
            "brief": "quarantine zebrafish tanks before the audit classified",
            "filters": {"status": list(LessonStatus)},
            "limit": 50,
        },
    )
    assert bar.status_code == 201, bar.text
    return Secret(control, secret_id, bar.json())


@pytest.mark.parametrize(
    ("method", "template", "body"),
    [
        ("GET", "/api/lessons/{id}", None),
        ("GET", "/api/lessons/{id}/similar", None),
        ("PATCH", "/api/lessons/{id}", {"sensitivity": "public"}),
        ("POST", "/api/lessons/{id}/transition", {"to": "actioned"}),
    ],
)
def test_restricted_lesson_by_id_is_404_like_a_missing_one(
    client: TestClient,
    engine: Engine,
    secret: Secret,
    method: str,
    template: str,
    body: dict[str, Any] | None,
) -> None:
    counts = row_counts(engine)
    hidden = client.request(method, template.format(id=secret.secret), json=body)
    missing = client.request(method, template.format(id=999_999), json=body)
    # A contributor may not move lessons at all: refused alike, before anything is looked up.
    status, code = (403, "forbidden") if "transition" in template else (404, "not_found")
    error = assert_error(hidden, status, code=code)
    other = assert_error(missing, status, code=code)
    assert error["fields"] == other["fields"]
    assert error["message"].replace(str(secret.secret), "N") == other["message"].replace(
        "999999", "N"
    )
    assert row_counts(engine) == counts
    with Session(engine) as session:
        lesson = session.get(Lesson, secret.secret)
        assert lesson is not None
        assert (lesson.sensitivity, lesson.status) == ("restricted", "validated")


@pytest.mark.parametrize(
    ("query", "shows_control"),
    [
        ("", True),
        ("?status=validated", True),
        ("?tag=zebrafish", True),
        ("?tag=classified", False),  # only the restricted lesson carries this tag
        ("?q=quarantine+zebrafish+tanks+classified", True),
        ("?q=classified&status=validated&status=identified", True),
        ("?limit=200", True),
    ],
)
def test_restricted_lesson_never_listed_or_counted(
    client: TestClient, secret: Secret, query: str, shows_control: bool
) -> None:
    body = get_json(client, f"/api/lessons{query}")
    ids = result_ids(body)
    assert secret.secret not in ids
    assert body["total"] == len(ids)
    assert "Classified" not in str(body)
    assert (secret.control in ids) is shows_control


def test_restricted_lesson_never_similar(client: TestClient, secret: Secret) -> None:
    body = get_json(client, f"/api/lessons/{secret.control}/similar?limit=50")
    assert secret.secret not in result_ids(body)


def test_restricted_lesson_never_in_a_bar(client: TestClient, secret: Secret) -> None:
    ids = [r["id"] for r in secret.bar["results"]]
    assert ids == [secret.control]
    names = {p["name"] for p in secret.bar["people"]}
    assert "Rhea Secret" not in names
    assert "Otto Hidden" not in names
    assert "Classified" not in str(secret.bar)
    assert get_json(client, f"/api/bar/{secret.bar['id']}") == secret.bar


def test_restricted_lesson_decision_is_refused(
    client: TestClient, engine: Engine, secret: Secret
) -> None:
    counts = row_counts(engine)
    response = client.post(
        f"/api/bar/{secret.bar['id']}/decisions",
        json={"decisions": [{"lesson_id": secret.secret, "decision": "apply"}]},
    )
    assert_error(response, 422, field="decisions.0.lesson_id")
    assert row_counts(engine) == counts


def test_lesson_made_restricted_later_drops_out_of_recorded_bar(
    client: TestClient, bank: Bank
) -> None:
    response = client.patch(
        f"/api/lessons/{bank.cold_rooms}",
        json={"sensitivity": "restricted"},
        headers=client.curator,
    )
    assert response.status_code == 200, response.text
    assert_error(client.get(f"/api/lessons/{bank.cold_rooms}"), 404)
    bar = get_json(client, f"/api/bar/{bank.bar['id']}")
    assert [r["id"] for r in bar["results"]] == [bank.fridges]
    assert bank.cold_rooms not in result_ids(get_json(client, "/api/lessons"))


# --- GET /api/openapi.json -----------------------------------------------------------------

# The document does not describe itself.
UNDOCUMENTED = {"/api/openapi.json"}
REQUEST_MODELS: dict[tuple[str, str], type[BaseModel]] = {
    ("post", "/api/reviews"): ReviewIn,
    ("patch", "/api/lessons/{id}"): LessonPatch,
    ("post", "/api/lessons/{id}/transition"): TransitionIn,
    ("post", "/api/bar"): BarIn,
    ("post", "/api/bar/{id}/decisions"): DecisionsIn,
    ("post", "/api/bar/{id}/outcomes"): OutcomesIn,
    ("post", "/api/lessons/{id}/merge"): MergeIn,
    ("post", "/api/merges/{id}/undo"): UndoIn,
    ("patch", "/api/actions/{id}"): ActionChange,
    ("post", "/api/actions/{id}/close"): CloseIn,
    ("post", "/api/actions/{id}/drop"): DropIn,
    ("post", "/api/actions/{id}/carry-forward"): CarryIn,
    ("post", "/api/taxonomy/schemes"): SchemeIn,
    ("post", "/api/taxonomy/schemes/{id}/terms"): TermIn,
    ("patch", "/api/taxonomy/terms/{id}"): TermPatch,
    ("post", "/api/taxonomy/terms/{id}/merge"): TermMergeIn,
    ("post", "/api/taxonomy/adopt"): AdoptIn,
    ("post", "/api/curation/lessons/{id}/validate"): ValidateIn,
    ("post", "/api/curation/lessons/{id}/review"): ReviewDueIn,
}
NESTED_MODELS: list[type[BaseModel]] = [ProjectRef, LessonIn, ActionIn, SearchFilters, DecisionIn]


def api_operations(client: TestClient) -> set[tuple[str, str]]:
    """(method, path) for every /api route the running app serves, in OpenAPI spelling."""
    operations: set[tuple[str, str]] = set()
    for route in client.app.routes:  # type: ignore[attr-defined]
        if not isinstance(route, Route) or not route.path.startswith("/api"):
            continue
        if route.path in UNDOCUMENTED:
            continue
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
        for method in route.methods or set():
            if method != "HEAD":
                operations.add((method.lower(), path))
    return operations


def test_openapi_documents_every_api_route_and_nothing_else(client: TestClient) -> None:
    doc = get_json(client, "/api/openapi.json")
    assert doc["openapi"].startswith("3.")
    documented = {(method, path) for path, item in doc["paths"].items() for method in item}
    served = api_operations(client)
    assert len(served) >= 9  # each area adds its own routes
    assert documented == served


def test_openapi_operations_describe_responses_and_id_parameters(client: TestClient) -> None:
    doc = get_json(client, "/api/openapi.json")
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            assert operation["summary"], (method, path)
            assert any(code.startswith("2") for code in operation["responses"]), (method, path)
            errors = [code for code in operation["responses"] if code.startswith("4")]
            assert errors, (method, path)
            for code in errors:
                schema = operation["responses"][code]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}
            names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert names == set(re.findall(r"\{(\w+)\}", path)), (method, path)


def test_openapi_error_schema_matches_error_bodies(client: TestClient) -> None:
    schemas = get_json(client, "/api/openapi.json")["components"]["schemas"]
    error = schemas["Error"]
    assert error["required"] == ["error"]
    detail = schemas[error["properties"]["error"]["$ref"].rsplit("/", 1)[-1]]
    assert set(detail["required"]) == {"code", "message", "fields"}
    body = client.get("/api/lessons/999").json()
    assert set(body) == set(error["required"])
    assert set(body["error"]) == set(detail["required"])


def test_openapi_request_bodies_point_at_the_validating_models(client: TestClient) -> None:
    doc = get_json(client, "/api/openapi.json")
    with_body = {
        (method, path)
        for path, item in doc["paths"].items()
        for method, operation in item.items()
        if "requestBody" in operation
    }
    assert with_body == set(REQUEST_MODELS)
    assert with_body == {(m, p) for m, p in api_operations(client) if m in {"post", "patch"}}
    for (method, path), model in REQUEST_MODELS.items():
        body = doc["paths"][path][method]["requestBody"]
        assert body["required"] is True
        ref = body["content"]["application/json"]["schema"]["$ref"]
        assert ref == f"#/components/schemas/{model.__name__}"


@pytest.mark.parametrize(
    "model", [*REQUEST_MODELS.values(), *NESTED_MODELS], ids=lambda m: m.__name__
)
def test_openapi_schema_required_fields_match_the_model(
    client: TestClient, model: type[BaseModel]
) -> None:
    schema = get_json(client, "/api/openapi.json")["components"]["schemas"][model.__name__]
    required = {name for name, info in model.model_fields.items() if info.is_required()}
    assert set(schema.get("required", [])) == required
    assert set(schema["properties"]) == set(model.model_fields)
    assert schema.get("additionalProperties") is False  # extra fields are refused


def test_openapi_limit_parameters_follow_settings(small_client: TestClient) -> None:
    doc = get_json(small_client, "/api/openapi.json")
    [limit] = [p for p in doc["paths"]["/api/lessons"]["get"]["parameters"] if p["name"] == "limit"]
    assert limit["schema"]["maximum"] == 5 * 4
