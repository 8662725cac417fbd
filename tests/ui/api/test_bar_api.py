"""POST /api/bar, GET /api/bar/{id} and POST /api/bar/{id}/decisions: a before action review
ranked, recorded and decided; refusals record nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from lessons.storage.settings import Settings
from tests.conftest import review_payload
from tests.ui.api.helpers import (
    BAR_RESULT_FIELDS,
    Bank,
    assert_error,
    get_json,
    lesson_in,
    move,
    post_review,
    row_counts,
)

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
    # Most relevant first (lessons.people.ranking), each lesson that put them there named.
    assert [p["name"] for p in body["people"]] == ["Amina Diallo", "Tom Reyes"]
    amina, tom = body["people"]
    assert amina["relevance"] > tom["relevance"] > 0
    titles = {r["id"]: r["title"] for r in body["results"]}
    fridges = titles[bank.fridges]
    assert amina["why"][0] == f"wrote “{fridges}” ({top['match']} match)"
    assert len(amina["why"]) == 2 and titles[bank.cold_rooms] in amina["why"][1]
    assert tom["why"] == [f"owns an action on “{fridges}” ({top['match']} match)"]
    assert amina["profile"] == f"/people/{amina['id']}"
    assert client.get(amina["profile"]).status_code == 200


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
