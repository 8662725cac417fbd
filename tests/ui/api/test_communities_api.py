"""Communities of practice over the API: started by a curator with tags and facilitators,
joined and followed, lessons shared, questions asked and answered, a good answer drawn into a
lesson that curators then validate (issue 14 item 4)."""

from __future__ import annotations

from typing import Any

import pytest

from lessons.storage.settings import Settings
from tests.conftest import Client, review_payload
from tests.ui.handover_support import add_user


def _community(client: Client, **overrides: Any) -> dict[str, Any]:
    body = {
        "name": "Cold chain practitioners",
        "summary": "People who keep vaccines cold.",
        "tags": ["Cold chain"],
        "facilitators": ["kim"],
        **overrides,
    }
    made = client.post("/api/communities", json=body, headers=client.curator)
    assert made.status_code == 201, made.text
    return dict(made.json())


def _lessons(client: Client, *specs: tuple[str, str, bool]) -> list[int]:
    """Lessons (title, sensitivity, validated?) with the cold-chain tag, logged by casey."""
    lessons = [
        {"title": title, "tags": ["cold chain"], "sensitivity": sensitivity}
        for title, sensitivity, _ in specs
    ]
    made = client.post("/api/reviews", json=review_payload(lessons=lessons, actions=[]))
    assert made.status_code == 201, made.text
    ids = [le["id"] for le in made.json()["lessons"]]
    for lesson_id, (_, _, validated) in zip(ids, specs, strict=True):
        if validated:
            moved = client.post(
                f"/api/lessons/{lesson_id}/transition",
                json={"to": "validated"},
                headers=client.curator,
            )
            assert moved.status_code == 200, moved.text
    return ids


def test_list_communities_names_members_and_facilitators(client: Client) -> None:
    made = _community(client)
    joined = client.post(f"/api/communities/{made['id']}/membership", json={"member": True})
    assert joined.status_code == 200, joined.text
    assert joined.json()["you"] == {"role": "member", "follows": True}
    (found,) = client.get("/api/communities").json()["results"]
    assert found["name"] == "Cold chain practitioners"
    assert found["tags"] == ["cold-chain"]
    assert [(m["username"], m["role"]) for m in found["members"]] == [
        ("kim", "facilitator"),
        ("casey", "member"),
    ]
    assert found["followers"] == 2  # facilitators follow, and so does casey on joining


def test_only_curators_start_communities(client: Client) -> None:
    refused = client.post("/api/communities", json={"name": "Mine"})
    assert refused.status_code == 403


def test_unknown_facilitator_is_refused_beside_the_field(client: Client) -> None:
    refused = client.post(
        "/api/communities", json={"name": "X", "facilitators": ["nobody"]}, headers=client.curator
    )
    assert refused.status_code == 422
    assert "facilitators.0" in refused.json()["error"]["fields"]


def test_leaving_keeps_following_until_unfollowed(client: Client) -> None:
    community_id = _community(client)["id"]
    url = f"/api/communities/{community_id}/membership"
    client.post(url, json={"member": True})
    left = client.post(url, json={"member": False}).json()
    assert left["you"] == {"role": "follower", "follows": True}
    assert [m["username"] for m in left["members"]] == ["kim"]
    gone = client.post(url, json={"follows": False}).json()
    assert gone["you"] == {"role": None, "follows": False}


def test_community_page_shows_its_recent_validated_lessons_the_reader_may_see(
    client: Client, anon_client: Client
) -> None:
    community_id = _community(client)["id"]
    shown, pending, restricted = _lessons(
        client,
        ("Label every fridge with its service date", "internal", True),
        ("Count fridges weekly", "internal", False),
        ("Quarantine ward fridge codes", "restricted", True),
    )
    detail = client.get(f"/api/communities/{community_id}").json()
    ids = [le["id"] for le in detail["lessons"]]
    assert ids == [shown]  # not the unvalidated one, not the restricted one
    as_curator = client.get(f"/api/communities/{community_id}", headers=client.curator).json()
    assert restricted in [le["id"] for le in as_curator["lessons"]]
    assert anon_client.get(f"/api/communities/{community_id}").status_code == 401
    assert pending not in ids


def test_member_shares_a_lesson_and_a_hidden_one_answers_as_missing(client: Client) -> None:
    community_id = _community(client)["id"]
    (lesson_id,) = _lessons(client, ("Keep spare thermometers", "internal", True))
    url = f"/api/communities/{community_id}/shares"
    refused = client.post(url, json={"lesson_id": lesson_id})
    assert refused.status_code == 403  # join first
    client.post(f"/api/communities/{community_id}/membership", json={"member": True})
    shared = client.post(url, json={"lesson_id": lesson_id, "note": "Worked for us"})
    assert shared.status_code == 200, shared.text
    (item,) = shared.json()["shared"]
    assert item["lesson"]["id"] == lesson_id and item["shared_by"] == "casey"
    restricted = client.post(
        "/api/reviews",
        json=review_payload(
            project={"name": "Closed ward"},
            lessons=[{"title": "Closed ward codes", "sensitivity": "restricted"}],
            actions=[],
        ),
        headers=client.curator,
    ).json()["lessons"][0]["id"]
    hidden = client.post(url, json={"lesson_id": restricted})
    missing = client.post(url, json={"lesson_id": 10**9})
    assert hidden.status_code == missing.status_code == 404


def test_question_answered_by_a_member_becomes_a_lesson_for_curation(
    client: Client, settings: Settings
) -> None:
    community_id = _community(client)["id"]
    sam = add_user(settings.database_url, "sam")
    for headers in ({}, sam):
        client.post(
            f"/api/communities/{community_id}/membership", json={"member": True}, headers=headers
        )
    asked = client.post(
        f"/api/communities/{community_id}/questions",
        json={
            "question": "How do you keep fridges cold in a power cut?",
            "details": "Ours failed.",
        },
    )
    assert asked.status_code == 201, asked.text
    assert asked.json()["open"] is True
    answered = client.post(
        f"/api/community-questions/{asked.json()['id']}/answers",
        json={"body": "Keep frozen ice packs and a cool box ready for each fridge."},
        headers=sam,
    )
    assert answered.status_code == 201, answered.text
    thread = answered.json()
    assert thread["open"] is False and thread["answers"][0]["answered_by"] == "sam"
    answer_id = thread["answers"][0]["id"]
    by_casey = client.post(f"/api/community-answers/{answer_id}/lesson", json={})
    assert by_casey.status_code == 403  # not the answer's author, a facilitator or a curator
    drawn = client.post(f"/api/community-answers/{answer_id}/lesson", json={}, headers=sam)
    assert drawn.status_code == 201, drawn.text
    lesson = drawn.json()
    assert lesson["status"] == "identified"
    assert lesson["title"] == "How do you keep fridges cold in a power cut?"
    assert lesson["recommendation"].startswith("Keep frozen ice packs")
    assert lesson["author"]["name"] == "sam"
    assert "cold-chain" in lesson["tags"]
    again = client.post(f"/api/community-answers/{answer_id}/lesson", json={}, headers=sam)
    assert again.status_code == 409
    queue = client.get("/api/curation/queue", headers=client.curator).json()
    queued = [le["id"] for section in queue["sections"].values() for le in section["results"]]
    assert lesson["id"] in queued  # curated like any identified lesson


def test_only_members_ask_and_answer(client: Client) -> None:
    community_id = _community(client)["id"]
    refused = client.post(f"/api/communities/{community_id}/questions", json={"question": "Q?"})
    assert refused.status_code == 403
    assert "Join" in refused.json()["error"]["message"]


@pytest.mark.parametrize(
    "path", ["/api/communities/999999", "/api/community-questions/999999/answers"]
)
def test_missing_community_or_question_is_404(client: Client, path: str) -> None:
    response = client.get(path) if "answers" not in path else client.post(path, json={"body": "x"})
    assert response.status_code == 404
