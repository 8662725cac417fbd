"""GET /api/lessons (list and search), GET and PATCH /api/lessons/{id}, and
GET /api/lessons/{id}/similar."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.testclient import TestClient

from lessons.responses import LessonBrief
from lessons.storage.models import LessonEmbedding
from tests.conftest import review_payload
from tests.ui.api.helpers import (
    COLD_ROOMS,
    LESSON_FIELDS,
    VOLUNTEERS,
    Bank,
    assert_error,
    get_json,
    lesson_in,
    move,
    post_review,
    result_ids,
    row_counts,
)

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
