"""Handover pages: the review form's handover parts, and on the review page the successor's
acknowledgement and follow-up questions, the leaver's answers and reassigning their open
actions; a role's page with its history (ui/pages/handovers.py, issue 14 item 3)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from lessons.storage.settings import Settings
from tests.conftest import Client, app_client
from tests.ui.handover_support import add_user, handover_payload
from tests.ui.pages.helpers import assert_error_beside, assert_kept, context, element, rendered


@pytest.fixture
def sam(settings: Settings, client: Client) -> Iterator[Client]:
    """The successor, signed in in a browser of their own."""
    add_user(settings.database_url, "sam")
    yield from app_client(settings, as_user="sam")


def _handover(client: TestClient, **overrides: Any) -> dict[str, Any]:
    made = client.post("/api/reviews", json=handover_payload(**overrides))
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


HANDOVER_FORM = {
    "kind": "handover",
    "project.name": "District cold chain",
    "role": "Cold chain logistics lead",
    "successor.username": "sam",
    "answers.role": "Keeps the fridges running.",
    "work_in_flight.0.what": "Replace Kamuli fridges",
    "work_in_flight.0.status": "quotes in",
    "work_in_flight.0.next_step": "order",
    "contacts.0.name": "Tom Reyes",
    "contacts.0.why": "Runs the Kamuli store",
}


def test_handover_form_offers_role_successor_work_and_contacts(client: Client) -> None:
    page = rendered(client.get("/reviews/new?kind=handover"), "review_form.html")
    for name in ("role", "successor.username", "work_in_flight.1.what", "contacts.1.name"):
        element(page, name=name)
    aar = rendered(client.get("/reviews/new?kind=aar"), "review_form.html")
    assert aar.find(attrs={"name": "successor.username"}) is None


def test_handover_form_saves_and_the_successor_sees_it(client: Client, sam: Client) -> None:
    saved = client.post("/reviews", data=HANDOVER_FORM, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    url = saved.headers["location"]
    page = rendered(sam.get(url), "review.html")
    handover = element(page, id="handover").get_text(" ", strip=True)
    assert "Cold chain logistics lead" in handover and "sam" in handover
    assert "Replace Kamuli fridges" in handover and "Tom Reyes" in handover
    assert page.find("form", action=f"{url}/acknowledge") is not None
    assert context(sam.get(url))["is_successor"] is True


def test_handover_form_with_an_unknown_successor_keeps_everything_typed(client: Client) -> None:
    form = {**HANDOVER_FORM, "successor.username": "nobody-here"}
    page = rendered(client.post("/reviews", data=form), "review_form.html", status=422)
    assert_kept(page, form | {"kind": "handover"})
    assert "nobody-here" in assert_error_beside(page, "successor.username")


def test_handover_form_grows_work_rows_without_saving(client: Client) -> None:
    page = rendered(
        # As a browser sends it: the blank second row too.
        client.post(
            "/reviews", data={**HANDOVER_FORM, "work_in_flight.1.what": "", "add_work": "1"}
        ),
        "review_form.html",
    )
    assert_kept(page, {"work_in_flight.0.what": "Replace Kamuli fridges"})
    element(page, name="work_in_flight.2.what")  # the two rows it had, and one more


def test_successor_acknowledges_from_the_page(client: Client, sam: Client) -> None:
    review_id = _handover(client)["id"]
    done = sam.post(f"/reviews/{review_id}/acknowledge", data={}, follow_redirects=False)
    assert done.status_code == 303
    page = rendered(sam.get(f"/reviews/{review_id}"), "review.html")
    assert "Acknowledged" in element(page, id="handover").get_text()
    assert page.find("form", action=f"/reviews/{review_id}/acknowledge") is None
    refused = client.post(f"/reviews/{review_id}/acknowledge", data={})
    assert refused.status_code == 403


def test_question_and_answer_on_the_page(client: Client, sam: Client) -> None:
    review_id = _handover(client)["id"]
    asked = sam.post(
        f"/reviews/{review_id}/questions",
        data={"question": "Who holds the spare keys?"},
        follow_redirects=False,
    )
    assert asked.status_code == 303
    leaver_view = client.get(f"/reviews/{review_id}")
    (question,) = context(leaver_view)["handover"].questions
    answered = client.post(
        f"/reviews/{review_id}/questions/{question.id}/answer",
        data={f"answer-{question.id}": "Grace does."},
        follow_redirects=False,
    )
    assert answered.status_code == 303
    text = element(rendered(sam.get(f"/reviews/{review_id}"), "review.html"), id="handover")
    assert "Who holds the spare keys?" in text.get_text() and "Grace does." in text.get_text()


def test_empty_question_comes_back_with_the_problem_beside_it(client: Client, sam: Client) -> None:
    review_id = _handover(client)["id"]
    page = rendered(
        sam.post(f"/reviews/{review_id}/questions", data={"question": "  "}),
        "review.html",
        status=422,
    )
    assert_error_beside(page, "question")


def test_leaver_reassigns_actions_from_the_page(client: Client, sam: Client) -> None:
    body = _handover(client)
    (action,) = body["handover"]["leaver_open_actions"]
    moved = client.post(
        f"/reviews/{body['id']}/reassign",
        data={"actions.0.action_id": str(action["id"]), "actions.0.owner": ""},
        follow_redirects=False,
    )
    assert moved.status_code == 303, moved.text
    owners = {a["id"]: a["owner"]["name"] for a in client.get("/api/actions").json()["results"]}
    assert owners[action["id"]] == "sam"


def test_role_page_lists_its_handovers(client: Client, sam: Client) -> None:
    body = _handover(client)
    role_id = body["handover"]["role"]["id"]
    page = rendered(client.get(f"/roles/{role_id}"), "role.html")
    assert page.find("a", href=f"/reviews/{body['id']}#handover") is not None
    awaiting = rendered(sam.get("/roles"), "roles.html")
    assert awaiting.find("a", href=f"/reviews/{body['id']}#handover") is not None
