"""Restricted lessons never leave the API: not by id, in a list, a count, similar lessons or
a BAR."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.testclient import TestClient

from lessons.curation import lifecycle
from lessons.storage.db import transaction
from lessons.storage.models import Lesson, LessonStatus
from tests.conftest import add_people
from tests.ui.api.helpers import (
    Bank,
    assert_error,
    get_json,
    lesson_in,
    move,
    post_review,
    result_ids,
    row_counts,
)

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
    add_people(client, "Otto Hidden")
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
