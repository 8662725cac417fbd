"""POST /api/lessons/{id}/transition: who moved a lesson, when and why; refused steps change
nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from lessons.curation import lifecycle
from lessons.storage.db import transaction
from lessons.storage.models import Lesson, LessonStatus
from tests.conftest import review_payload
from tests.ui.api.helpers import Bank, assert_error, get_json, move

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
