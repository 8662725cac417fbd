"""What the JSON API tests share: the error shape DESIGN.md promises, row counts to prove a refused
request wrote nothing, valid bodies to change one thing at a time, and the small bank."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import Engine, func
from sqlmodel import Session, SQLModel, col, select
from starlette.testclient import TestClient

from lessons.storage.models import (
    Action,
    BarItem,
    BeforeActionReview,
    Lesson,
    LessonEmbedding,
    LessonEvent,
    LessonTag,
    Person,
    Project,
    Review,
    User,
)
from tests.conftest import DIRECTORY, review_payload

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
        if "person" in counts:  # the template's people (accounts, directory) are not the app's
            counts["person"] -= int(
                session.exec(select(func.count()).where(col(User.person_id).is_not(None))).one()
            ) + len(DIRECTORY)
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
