"""A lesson's edit page (issue 15 item 2): its author edits it, a curator edits anyone's, a
third contributor is refused, a refused form keeps what was typed, and a hidden lesson answers
as a missing one. Each edit goes through the API's service and shows in the Changes table."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from bs4 import BeautifulSoup

from lessons.storage.settings import Settings
from tests.conftest import Client, app_client, review_payload
from tests.ui.handover_support import add_user
from tests.ui.leaks.detect import _same_answer
from tests.ui.pages.helpers import assert_error_beside, assert_kept, field_value, rendered

FORM = {
    "title": "Order cold-chain fridges twelve weeks ahead",
    "observation": "Cold-chain fridges arrived three weeks late.",
    "insight": "Procurement began only after budget approval.",
    "recommendation": "Start procurement at the draft plan.",
    "tags": "procurement, cold chain, lead time",
    "sensitivity": "internal",
}


def _lesson_by(client: Client, **lesson: str) -> int:
    """A lesson written by the signed-in person (the review's author is the signed-in user)."""
    body = review_payload(author="")
    body["lessons"] = [{**body["lessons"][0], **lesson}]
    made = client.post("/api/reviews", json=body)
    assert made.status_code == 201, made.text
    lesson_id: int = made.json()["lessons"][0]["id"]
    return lesson_id


@pytest.fixture
def kim(settings: Settings) -> Iterator[Client]:
    """The curator, signed in to the pages."""
    yield from app_client(settings, as_user="kim")


@pytest.fixture
def dana(settings: Settings) -> Iterator[Client]:
    """A second contributor, who wrote none of casey's lessons."""
    add_user(settings.database_url, "dana")
    yield from app_client(settings, as_user="dana")


def test_author_edits_own_lesson_and_the_change_shows_in_its_history(
    client: Client, kim: Client
) -> None:
    lesson_id = _lesson_by(client)
    page = BeautifulSoup(client.get(f"/lessons/{lesson_id}").text, "html.parser")
    assert page.find("a", href=f"/lessons/{lesson_id}/edit") is not None
    form = rendered(client.get(f"/lessons/{lesson_id}/edit"), "lesson_edit.html")
    assert field_value(form, "title") == review_payload()["lessons"][0]["title"]
    assert field_value(form, "tags") == "cold-chain, procurement"
    saved = client.post(f"/lessons/{lesson_id}/edit", data=FORM, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == f"/lessons/{lesson_id}"
    lesson = client.get(f"/api/lessons/{lesson_id}").json()
    assert lesson["title"] == FORM["title"]
    assert lesson["observation"] == FORM["observation"]
    assert sorted(lesson["tags"]) == ["cold-chain", "lead-time", "procurement"]
    assert FORM["title"] in client.get(f"/lessons/{lesson_id}").text
    # The Changes table (shown to curators) records who, when, before and after.
    changes = BeautifulSoup(kim.get(f"/lessons/{lesson_id}").text, "html.parser")
    table = changes.find("caption", string="Audit log of this lesson")
    assert table is not None and table.parent is not None
    rows = [r.get_text(" ", strip=True) for r in table.parent.select("tbody tr")]
    edits = [r for r in rows if " edit " in f" {r} "]
    assert len(edits) == 1, rows
    assert "casey" in edits[0]
    assert "Order cold-chain fridges before the campaign is approved" in edits[0]
    assert FORM["title"] in edits[0]


def test_saving_an_unchanged_form_records_no_edit(client: Client, kim: Client) -> None:
    lesson_id = _lesson_by(client)
    form = rendered(client.get(f"/lessons/{lesson_id}/edit"), "lesson_edit.html")
    typed = {name: field_value(form, name) for name in FORM}
    saved = client.post(f"/lessons/{lesson_id}/edit", data=typed, follow_redirects=False)
    assert saved.status_code == 303
    page = BeautifulSoup(kim.get(f"/lessons/{lesson_id}").text, "html.parser")
    table = page.find("caption", string="Audit log of this lesson")
    assert table is not None and table.parent is not None
    rows = [r.get_text(" ", strip=True) for r in table.parent.select("tbody tr")]
    assert not [r for r in rows if " edit " in f" {r} "], rows


def test_curator_edits_another_persons_lesson(client: Client, kim: Client) -> None:
    lesson_id = _lesson_by(client)
    page = BeautifulSoup(kim.get(f"/lessons/{lesson_id}").text, "html.parser")
    assert page.find("a", href=f"/lessons/{lesson_id}/edit") is not None
    rendered(kim.get(f"/lessons/{lesson_id}/edit"), "lesson_edit.html")
    saved = kim.post(
        f"/lessons/{lesson_id}/edit",
        data={**FORM, "sensitivity": "restricted"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    lesson = kim.get(f"/api/lessons/{lesson_id}").json()
    assert lesson["title"] == FORM["title"] and lesson["sensitivity"] == "restricted"


def test_another_contributor_is_refused_and_changes_nothing(client: Client, dana: Client) -> None:
    lesson_id = _lesson_by(client, sensitivity="public")
    page = BeautifulSoup(dana.get(f"/lessons/{lesson_id}").text, "html.parser")
    assert page.find("a", href=f"/lessons/{lesson_id}/edit") is None
    assert dana.get(f"/lessons/{lesson_id}/edit").status_code == 403
    refused = dana.post(f"/lessons/{lesson_id}/edit", data=FORM)
    assert refused.status_code == 403
    assert "author or a curator" in refused.text
    lesson = client.get(f"/api/lessons/{lesson_id}").json()
    assert lesson["title"] == review_payload()["lessons"][0]["title"]


def test_a_too_long_title_comes_back_with_everything_typed(client: Client) -> None:
    lesson_id = _lesson_by(client)
    typed = {**FORM, "title": "Fridges " * 40}
    refused = client.post(f"/lessons/{lesson_id}/edit", data=typed)
    page = rendered(refused, "lesson_edit.html", 422)
    assert "200" in assert_error_beside(page, "title")
    assert_kept(page, typed)
    lesson = client.get(f"/api/lessons/{lesson_id}").json()
    assert lesson["title"] == review_payload()["lessons"][0]["title"]


def test_a_hidden_lesson_answers_as_a_missing_one(client: Client, kim: Client) -> None:
    lesson_id = _lesson_by(kim, sensitivity="restricted")
    missing = 10**9
    for method in ("GET", "POST"):
        body = {"data": FORM} if method == "POST" else {}
        hidden, absent = (
            client.request(method, f"/lessons/{n}/edit", **body) for n in (lesson_id, missing)
        )
        assert hidden.status_code == absent.status_code == 404, method
        assert _same_answer(hidden.text, absent.text, lesson_id, missing), method
    lesson = kim.get(f"/api/lessons/{lesson_id}").json()
    assert lesson["title"] == review_payload()["lessons"][0]["title"]
