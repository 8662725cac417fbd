"""Community pages: the list with a curator's form to start one, a community's page with its
members, lessons, shared lessons, questions, answers and feed, and its forms (join, follow,
share, ask, answer, draw a lesson) (ui/pages/communities.py, issue 14 item 4)."""

from __future__ import annotations

from typing import Any

from tests.conftest import Client, review_payload
from tests.ui.pages.helpers import assert_error_beside, assert_kept, context, element, rendered


def _community(client: Client) -> int:
    made = client.post(
        "/api/communities",
        json={"name": "Cold chain practitioners", "tags": ["cold-chain"], "facilitators": ["kim"]},
        headers=client.curator,
    )
    assert made.status_code == 201, made.text
    community_id: int = made.json()["id"]
    return community_id


def _validated_lesson(client: Client, **fields: Any) -> int:
    lesson = {"title": "Label fridges with their service date", "tags": ["cold-chain"], **fields}
    made = client.post("/api/reviews", json=review_payload(lessons=[lesson], actions=[]))
    lesson_id: int = made.json()["lessons"][0]["id"]
    moved = client.post(
        f"/api/lessons/{lesson_id}/transition", json={"to": "validated"}, headers=client.curator
    )
    assert moved.status_code == 200, moved.text
    return lesson_id


def test_community_list_links_each_community(client: Client) -> None:
    community_id = _community(client)
    page = rendered(client.get("/communities"), "communities.html")
    assert page.find("a", href=f"/communities/{community_id}") is not None
    assert page.find("form", action="/communities") is None  # casey is not a curator


def test_curator_starts_a_community_from_the_page(client: Client) -> None:
    client.cookies.clear()
    from tests.conftest import sign_in

    sign_in(client, "kim")
    bad = client.post("/communities", data={"name": "", "summary": "Kept", "tags": "cold chain"})
    page = rendered(bad, "communities.html", status=422)
    assert_kept(page, {"summary": "Kept", "tags": "cold chain"})
    assert_error_beside(page, "name")
    made = client.post(
        "/communities", data={"name": "Logisticians", "tags": "cold chain"}, follow_redirects=False
    )
    assert made.status_code == 303, made.text
    detail = rendered(client.get(made.headers["location"]), "community.html")
    assert "kim" in element(detail, id="members-title").find_parent("section").get_text()  # type: ignore[union-attr]


def test_join_share_ask_answer_and_draw_a_lesson_from_the_page(client: Client) -> None:
    community_id = _community(client)
    lesson_id = _validated_lesson(client)
    url = f"/communities/{community_id}"
    page = rendered(client.get(url), "community.html")
    assert page.find("a", href=f"/lessons/{lesson_id}") is not None  # by its tag
    assert page.find("form", action=f"{url}/questions") is None  # not a member yet
    joined = client.post(f"{url}/membership", data={"member": "1"}, follow_redirects=False)
    assert joined.status_code == 303
    shared = client.post(
        f"{url}/shares", data={"lesson_id": f"/lessons/{lesson_id}", "note": "Saved us"}
    )
    assert shared.status_code == 200  # followed the redirect back to the page
    assert "Saved us" in element(rendered(shared, "community.html"), id="shared").get_text()
    asked = client.post(
        f"{url}/questions", data={"question": "Who services fridges?", "details": ""}
    )
    (question,) = context(asked)["community"]["questions"]
    answered = client.post(
        f"{url}/questions/{question['id']}/answers",
        data={f"answer-{question['id']}": "The district technician, every quarter."},
    )
    (question,) = context(answered)["community"]["questions"]
    (reply,) = question["answers"]
    drawn = client.post(f"{url}/answers/{reply['id']}/lesson", data={}, follow_redirects=False)
    assert drawn.status_code == 303, drawn.text
    assert drawn.headers["location"].startswith("/lessons/")


def test_empty_answer_comes_back_with_the_problem_beside_it(client: Client) -> None:
    community_id = _community(client)
    url = f"/communities/{community_id}"
    client.post(f"{url}/membership", data={"member": "1"})
    asked = client.post(f"{url}/questions", data={"question": "Who services fridges?"})
    (question,) = context(asked)["community"]["questions"]
    page = rendered(
        client.post(f"{url}/questions/{question['id']}/answers", data={}),
        "community.html",
        status=422,
    )
    assert_error_beside(page, f"answer-{question['id']}")


def test_community_feed_holds_its_new_lessons(client: Client, anon_client: Client) -> None:
    community_id = _community(client)
    _validated_lesson(client)
    feed = client.get(f"/feeds/communities/{community_id}.atom")
    assert feed.status_code == 200
    assert "Label fridges with their service date" in feed.text
    anonymous = anon_client.get(f"/feeds/communities/{community_id}.atom", follow_redirects=False)
    assert anonymous.status_code == 303 and "/login" in anonymous.headers["location"]
