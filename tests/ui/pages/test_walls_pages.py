"""Issue 15 item 7 over HTTP: the curation queue is a compact list with one lesson's form open
at a time, the taxonomy opens one term's Rename / Merge / Move at a time, and the audit log
shows a readable before/after difference instead of raw JSON."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from bs4 import BeautifulSoup

from lessons.storage.settings import Settings
from tests.conftest import Client, app_client, review_payload
from tests.ui.pages.helpers import rendered


@pytest.fixture
def kim(demo_settings: Settings) -> Iterator[Client]:
    """A curator on the demo bank (it has lessons awaiting validation and taxonomy terms)."""
    yield from app_client(demo_settings, as_user="kim")


@pytest.fixture
def curator(settings: Settings) -> Iterator[Client]:
    """A curator on an empty bank, so the lessons a test adds are the whole queue."""
    yield from app_client(settings, as_user="kim")


def _waiting(client: Client, count: int) -> list[int]:
    lesson = review_payload()["lessons"][0]
    lessons = [{**lesson, "title": f"Waiting lesson {n}"} for n in range(count)]
    response = client.post("/api/reviews", json=review_payload(lessons=lessons, actions=[]))
    assert response.status_code == 201, response.text
    return [le["id"] for le in response.json()["lessons"]]


def test_curation_queue_is_a_compact_list_with_one_form_open(curator: Client) -> None:
    kim = curator
    ids = _waiting(kim, 3)
    page = rendered(kim.get("/curate"), "curate.html")
    assert len(page.select("article.queue-item")) >= 3
    assert page.select("form[action^='/curate/lessons/']") == []  # no form until one is opened
    opener = page.select_one(f"#lesson-{ids[0]} a[href*='open={ids[0]}']")
    assert opener is not None
    opened = rendered(kim.get(str(opener["href"]).split("#")[0]), "curate.html")
    forms = opened.select("form[action^='/curate/lessons/']")
    assert [f["action"] for f in forms] == [f"/curate/lessons/{ids[0]}/validate"]


def test_a_curation_form_sent_back_stays_the_open_one(curator: Client) -> None:
    kim = curator
    ids = _waiting(kim, 2)
    response = kim.post(
        f"/curate/lessons/{ids[1]}/validate", data={"title": "", "decision": "accept"}
    )
    page = rendered(response, "curate.html", status=422)
    forms = page.select("form[action^='/curate/lessons/']")
    assert [f["action"] for f in forms] == [f"/curate/lessons/{ids[1]}/validate"]


def test_taxonomy_opens_one_terms_changes_at_a_time(kim: Client) -> None:
    page = rendered(kim.get("/taxonomy"), "taxonomy.html")
    terms = page.select("tr[id^='term-']")
    assert len(terms) > 3
    assert page.select("form[action^='/taxonomy/terms/']") == []
    assert page.select("details summary") == [] or all(
        "Rename" not in s.get_text() for s in page.select("details summary")
    )
    links = page.select("a[href*='change=']")
    assert len(links) == len(terms)  # one link per term, not three forms
    term_id = str(terms[1]["id"]).removeprefix("term-")
    opened = rendered(kim.get(f"/taxonomy?change={term_id}"), "taxonomy.html")
    actions = sorted(str(f["action"]) for f in opened.select("form[action^='/taxonomy/terms/']"))
    assert actions == [f"/taxonomy/terms/{term_id}/{kind}" for kind in ("merge", "move", "rename")]


def test_a_taxonomy_form_sent_back_stays_open(kim: Client) -> None:
    page = rendered(kim.get("/taxonomy"), "taxonomy.html")
    term_id = str(page.select("tr[id^='term-']")[0]["id"]).removeprefix("term-")
    response = kim.post(
        f"/taxonomy/terms/{term_id}/rename", data={"form": f"rename-{term_id}", "name": ""}
    )
    again = rendered(response, "taxonomy.html", status=422)
    assert again.select_one(f"form[action='/taxonomy/terms/{term_id}/rename']") is not None


def _readable_change(page: BeautifulSoup) -> str:
    assert '{"' not in page.get_text(), "raw JSON shown"
    return " ".join(li.get_text(" ", strip=True) for li in page.select("ul.diff li"))


def test_audit_log_shows_what_changed_in_words(kim: Client, demo_settings: Settings) -> None:
    (lesson_id,) = _waiting(kim, 1)
    patched = kim.patch(
        f"/api/lessons/{lesson_id}",
        json={"title": "Waiting lesson, renamed"},
        headers=kim.curator,
    )
    assert patched.status_code == 200, patched.text
    on_lesson = _readable_change(rendered(kim.get(f"/lessons/{lesson_id}"), "lesson.html"))
    assert "Title : was Waiting lesson 0 → now Waiting lesson, renamed" in on_lesson
    for ada in app_client(demo_settings, as_user="ada"):
        logged = _readable_change(rendered(ada.get("/admin/audit"), "admin_audit.html"))
        assert "Title : was Waiting lesson 0 → now Waiting lesson, renamed" in logged
