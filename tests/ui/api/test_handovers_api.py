"""Handovers over the API: a successor named, follow-up questions answered, acknowledged, the
leaver's actions reassigned, and a role's history (issue 14 item 3)."""

from __future__ import annotations

from typing import Any

import pytest

from lessons.storage.settings import Settings
from tests.conftest import Client, review_payload
from tests.ui.handover_support import add_user, handover_payload


@pytest.fixture
def sam(settings: Settings) -> dict[str, str]:
    return add_user(settings.database_url, "sam")


def _hand_over(client: Client, **overrides: Any) -> dict[str, Any]:
    made = client.post("/api/reviews", json=handover_payload(**overrides))
    assert made.status_code == 201, made.text
    return dict(made.json())


def test_handover_names_its_successor_and_is_not_yet_acknowledged(
    client: Client, sam: dict[str, str]
) -> None:
    body = _hand_over(client)
    assert body["kind"] == "handover"
    assert body["successor"]["username"] == "sam"
    assert body["acknowledged_at"] is None
    handover = body["handover"]
    assert handover["role"]["name"] == "Cold chain logistics lead"
    assert handover["work_in_flight"] == [
        {"what": "Replace Kamuli fridges", "status": "quotes in", "next_step": "order"}
    ]
    assert [c["person"]["name"] for c in handover["contacts"]] == ["Tom Reyes"]
    assert [a["what"] for a in handover["leaver_open_actions"]] == ["Service the Kamuli fridges"]


def test_successor_acknowledges_and_the_review_shows_when(
    client: Client, sam: dict[str, str]
) -> None:
    review_id = _hand_over(client)["id"]
    acked = client.post(f"/api/reviews/{review_id}/acknowledge", headers=sam)
    assert acked.status_code == 200, acked.text
    first = acked.json()["acknowledged_at"]
    assert first is not None
    again = client.post(f"/api/reviews/{review_id}/acknowledge", headers=sam)
    assert again.json()["acknowledged_at"] == first  # the first acknowledgement is kept
    read = client.get(f"/api/reviews/{review_id}", headers=sam)
    assert read.json()["acknowledged_at"] == first


@pytest.mark.parametrize("who", ["casey", "kim"])
def test_only_the_successor_may_acknowledge(client: Client, sam: dict[str, str], who: str) -> None:
    review_id = _hand_over(client)["id"]
    headers = client.curator if who == "kim" else {}
    refused = client.post(f"/api/reviews/{review_id}/acknowledge", headers=headers)
    assert refused.status_code == 403
    assert "successor" in refused.json()["error"]["message"]
    assert client.get(f"/api/reviews/{review_id}").json()["acknowledged_at"] is None


def test_acknowledging_a_handover_one_may_not_read_answers_as_missing(
    client: Client, settings: Settings
) -> None:
    """A restricted handover on a project casey is not a member of: to casey it does not
    exist, as a review id that was never used."""
    add_user(settings.database_url, "sam")
    restricted = handover_payload(
        project={"name": "Closed ward"},
        lessons=[{"title": "Lock the ward fridge", "sensitivity": "restricted"}],
        actions=[],
    )
    made = client.post("/api/reviews", json=restricted, headers=client.curator)
    assert made.status_code == 201, made.text
    review_id = made.json()["id"]
    hidden = client.post(f"/api/reviews/{review_id}/acknowledge")
    missing = client.post(f"/api/reviews/{review_id + 1000}/acknowledge")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["error"]["message"].replace(str(review_id), "N") == missing.json()[
        "error"
    ]["message"].replace(str(review_id + 1000), "N")


def test_successor_reads_a_restricted_handover_written_for_them(
    client: Client, sam: dict[str, str]
) -> None:
    restricted = handover_payload(
        project={"name": "Closed ward"},
        lessons=[{"title": "Lock the ward fridge", "sensitivity": "restricted"}],
        actions=[],
    )
    review_id = client.post("/api/reviews", json=restricted, headers=client.curator).json()["id"]
    read = client.get(f"/api/reviews/{review_id}", headers=sam)
    assert read.status_code == 200, read.text
    body = read.json()
    assert body["answers"]["risks"].startswith("Two fridges")
    assert body["lessons"] == []  # the restricted lesson keeps its own rule
    assert client.get(f"/api/reviews/{review_id}").status_code == 404  # casey: not for her


def test_follow_up_question_asked_by_successor_and_answered_by_leaver(
    client: Client, sam: dict[str, str]
) -> None:
    review_id = _hand_over(client)["id"]
    asked = client.post(
        f"/api/reviews/{review_id}/questions",
        json={"question": "Who has the spare fridge keys?"},
        headers=sam,
    )
    assert asked.status_code == 201, asked.text
    (question,) = asked.json()["handover"]["questions"]
    assert question["asked_by"] == "sam" and question["answer"] == ""
    answered = client.post(
        f"/api/follow-ups/{question['id']}/answer", json={"answer": "Grace keeps them."}
    )
    assert answered.status_code == 200, answered.text
    (question,) = answered.json()["handover"]["questions"]
    assert question["answer"] == "Grace keeps them."
    assert question["answered_by"] == "casey"
    assert question["answered_at"] is not None


def test_only_the_leaver_answers_and_only_the_successor_asks(
    client: Client, sam: dict[str, str]
) -> None:
    review_id = _hand_over(client)["id"]
    by_leaver = client.post(f"/api/reviews/{review_id}/questions", json={"question": "Why?"})
    assert by_leaver.status_code == 403
    asked = client.post(
        f"/api/reviews/{review_id}/questions", json={"question": "Why?"}, headers=sam
    ).json()
    question_id = asked["handover"]["questions"][0]["id"]
    by_successor = client.post(
        f"/api/follow-ups/{question_id}/answer", json={"answer": "Because."}, headers=sam
    )
    assert by_successor.status_code == 403


def test_empty_question_is_refused_in_words(client: Client, sam: dict[str, str]) -> None:
    review_id = _hand_over(client)["id"]
    refused = client.post(
        f"/api/reviews/{review_id}/questions", json={"question": " "}, headers=sam
    )
    assert refused.status_code == 422
    assert "question" in refused.json()["error"]["fields"]


def test_leaver_reassigns_open_actions_to_the_successor_or_someone_named(
    client: Client, sam: dict[str, str]
) -> None:
    body = _hand_over(
        client,
        actions=[
            {"what": "Service the Kamuli fridges", "owner": "casey"},
            {"what": "Renew the courier contract", "owner": "casey"},
        ],
    )
    first, second = (a["id"] for a in body["handover"]["leaver_open_actions"])
    moved = client.post(
        f"/api/reviews/{body['id']}/reassign",
        json={"actions": [{"action_id": first}, {"action_id": second, "owner": "Ana Lima"}]},
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["handover"]["leaver_open_actions"] == []
    owners = {a["id"]: a["owner"]["name"] for a in client.get("/api/actions").json()["results"]}
    assert owners[first] == "sam"
    assert owners[second] == "Ana Lima"


def test_reassigning_an_action_not_listed_on_the_handover_is_refused(
    client: Client, sam: dict[str, str]
) -> None:
    other = client.post("/api/reviews", json=review_payload()).json()["actions"][0]["id"]
    review_id = _hand_over(client)["id"]
    refused = client.post(
        f"/api/reviews/{review_id}/reassign", json={"actions": [{"action_id": other}]}
    )
    assert refused.status_code == 404


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"successor": {"username": "nobody"}}, "successor.username"),
        ({"successor": {"username": "casey"}}, "successor.username"),
        ({"contacts": [{"name": "Not In The Directory"}]}, "contacts.0.name"),
    ],
)
def test_bad_successor_or_contact_is_refused_beside_the_field(
    client: Client, sam: dict[str, str], overrides: dict[str, Any], field: str
) -> None:
    refused = client.post("/api/reviews", json=handover_payload(**overrides))
    assert refused.status_code == 422
    assert field in refused.json()["error"]["fields"]


def test_handover_parts_on_another_kind_of_review_are_refused(client: Client) -> None:
    refused = client.post("/api/reviews", json=review_payload(successor={"username": "kim"}))
    assert refused.status_code == 422
    assert "handover" in str(refused.json()["error"]["fields"])


def test_role_keeps_its_handover_history_newest_first(client: Client, sam: dict[str, str]) -> None:
    first = _hand_over(client, held_on="2024-01-10")["id"]
    second = _hand_over(client, held_on="2025-02-01")["id"]
    roles = client.get("/api/roles").json()["results"]
    (role,) = [r for r in roles if r["name"] == "Cold chain logistics lead"]
    assert [h["id"] for h in role["handovers"]] == [second, first]
    one = client.get(f"/api/roles/{role['id']}").json()
    assert one["handovers"][0]["successor"] == "sam"
    assert client.get("/api/roles/999999").status_code == 404
