"""The demo bank's connections (lessons/imports/seed_connections.py): a completed handover with
its successor and follow-up questions answered, and two communities with questions and
answers (issue 14, "Done means")."""

from __future__ import annotations

from tests.conftest import Client


def test_demo_bank_holds_a_completed_handover_with_answered_follow_ups(
    demo_client: Client,
) -> None:
    roles = demo_client.get("/api/roles", headers=demo_client.curator).json()["results"]
    by_name = {r["name"]: r for r in roles}
    (done,) = by_name["Case-management platform delivery manager"]["handovers"]
    assert done["successor"] == "olusegun" and done["acknowledged_at"] is not None
    review = demo_client.get(f"/api/reviews/{done['id']}", headers=demo_client.curator).json()
    questions = review["handover"]["questions"]
    assert len(questions) == 2
    assert all(q["answer"] and q["answered_by"] == "dev" for q in questions)
    assert [c["person"]["name"] for c in review["handover"]["contacts"]] == [
        "Marta Kowalczyk",
        "Chloé Dubois",
    ]
    owners = {
        a["what"]: (a["owner"] or {}).get("name")
        for a in demo_client.get("/api/actions", headers=demo_client.curator).json()["results"]
    }
    handed_on = "Log the finance export bank-holiday defect as a known error and press for a fix"
    assert [o for w, o in owners.items() if w.startswith(handed_on)] == ["Olusegun Adebayo"]
    (waiting,) = by_name["Local studies digitisation coordinator"]["handovers"]
    assert waiting["acknowledged_at"] is None  # awaiting hamish


def test_demo_bank_holds_two_communities_with_questions_and_answers(demo_client: Client) -> None:
    found = demo_client.get("/api/communities").json()["results"]
    assert len(found) == 2
    for community in found:
        assert any(m["role"] == "facilitator" for m in community["members"])
        detail = demo_client.get(f"/api/communities/{community['id']}").json()
        answered = [q for q in detail["questions"] if q["answers"]]
        assert answered and len(answered[0]["answers"]) == 2
        assert any(q["open"] for q in detail["questions"])
        assert detail["shared"] and detail["lessons"]


def test_demo_connections_render_as_pages(demo_client: Client) -> None:
    """Casey, signed in, browses the demo's roles, a handover and both communities."""
    roles = demo_client.get("/api/roles").json()["results"]
    assert [r["name"] for r in roles] == ["Local studies digitisation coordinator"]  # internal
    assert demo_client.get("/roles").status_code == 200
    for role in roles:
        page = demo_client.get(f"/roles/{role['id']}")
        assert page.status_code == 200, page.text[:500]
        for handover in role["handovers"]:
            review = demo_client.get(f"/reviews/{handover['id']}")
            assert review.status_code == 200 and 'id="handover"' in review.text
    for community in demo_client.get("/api/communities").json()["results"]:
        page = demo_client.get(f"/communities/{community['id']}")
        assert page.status_code == 200 and community["name"] in page.text
