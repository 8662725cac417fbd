"""The curation queue over real HTTP: the /curate page and its forms, GET /api/curation/queue
and the curation API's decisions; curators only, and the demo bank fills every section."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from bs4 import BeautifulSoup, Tag
from sqlalchemy import Engine
from sqlmodel import col, select

from lessons.curation import lifecycle
from lessons.curation.queue import WEAK_RECOMMENDATION_CHARS, Section
from lessons.storage.db import transaction
from lessons.storage.models import AuditEvent, Lesson, LessonStatus, utcnow
from lessons.storage.settings import Settings
from tests.conftest import TOKENS, Client, app_client, review_payload
from ui.pages.curate import PAGE_SIZE

TODAY = utcnow().date()


@pytest.fixture
def kim(settings: Settings) -> Iterator[Client]:
    """Curator kim, signed in."""
    yield from app_client(settings, as_user="kim")


@pytest.fixture
def demo_kim(demo_settings: Settings) -> Iterator[Client]:
    yield from app_client(demo_settings, as_user="kim")


def _lessons(client: Client, *bodies: dict[str, Any]) -> list[int]:
    """Lessons logged in one review (status identified), in order."""
    base = review_payload()["lessons"][0]
    made = client.post(
        "/api/reviews",
        json=review_payload(lessons=[{**base, **body} for body in bodies], actions=[]),
    )
    assert made.status_code == 201, made.text
    return [lesson["id"] for lesson in made.json()["lessons"]]


def _set(engine: Engine, lesson_id: int, **fields: Any) -> None:
    with transaction(engine) as session:
        lesson = session.get(Lesson, lesson_id)
        assert lesson is not None
        for name, value in fields.items():
            setattr(lesson, name, value)
        session.add(lesson)


def _validated(engine: Engine, lesson_id: int, **fields: Any) -> None:
    with transaction(engine) as session:
        lesson = session.get(Lesson, lesson_id)
        assert lesson is not None
        lifecycle.transition(session, lesson=lesson, to=LessonStatus.VALIDATED, actor="kim")
    _set(engine, lesson_id, **fields)


def _page(response: httpx.Response, status: int = 200) -> BeautifulSoup:
    assert response.status_code == status, response.text[:2000]
    assert response.template.name == "curate.html"  # type: ignore[attr-defined]
    return BeautifulSoup(response.text, "html.parser")


def _context(response: httpx.Response) -> dict[str, Any]:
    ctx: dict[str, Any] = response.context  # type: ignore[attr-defined]
    return ctx


def _form(page: BeautifulSoup, lesson_id: int) -> Tag:
    article = page.find(id=f"lesson-{lesson_id}")
    assert isinstance(article, Tag), f"lesson {lesson_id} is not on the page"
    form = article.find("form")
    assert isinstance(form, Tag)
    return form


def _value(form: Tag, name: str) -> str:
    field = form.find(attrs={"name": name})
    assert isinstance(field, Tag), name
    if field.name == "textarea":
        return field.get_text()
    if field.name == "select":
        chosen = field.find("option", selected=True)
        return str(chosen["value"]) if isinstance(chosen, Tag) else ""
    return str(field.get("value", ""))


def _form_data(form: Tag, **changes: str) -> dict[str, str]:
    """What a browser sends for the form as shown, with `changes` typed in."""
    data = {}
    for field in form.find_all(["input", "textarea", "select"]):
        name = field.get("name")
        if name and name != "csrftoken":
            data[str(name)] = _value(form, str(name))
    return {**data, **changes}


def _api(client: Client, lesson_id: int) -> dict[str, Any]:
    body: dict[str, Any] = client.get(f"/api/lessons/{lesson_id}", headers=client.curator).json()
    return body


# --- who may see the queue ---------------------------------------------------------------------


def test_queue_page_sends_a_visitor_to_sign_in(anon_client: Client) -> None:
    response = anon_client.get("/curate", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fcurate"


def test_queue_page_is_refused_to_a_contributor(client: Client) -> None:
    _lessons(client, {"title": "Visible to casey but not the queue"})
    response = client.get("/curate")
    assert response.status_code == 403
    assert "Visible to casey" not in response.text


@pytest.mark.parametrize(("who", "status"), [("anonymous", 401), ("casey", 403)])
def test_queue_api_is_curators_only(anon_client: Client, who: str, status: int) -> None:
    headers = {} if who == "anonymous" else {"Authorization": f"Bearer {TOKENS[who]}"}
    response = anon_client.get("/api/curation/queue", headers=headers)
    assert response.status_code == status
    assert set(response.json()) == {"error"}


@pytest.mark.parametrize(
    "url", ["/curate/lessons/{id}/validate", "/api/curation/lessons/{id}/validate"]
)
def test_a_contributor_cannot_validate_from_the_queue(client: Client, url: str) -> None:
    [lesson_id] = _lessons(client, {"title": "Casey's own lesson"})
    body = {"decision": "accept"}
    kwargs: dict[str, Any] = {"json": body} if url.startswith("/api") else {"data": body}
    response = client.post(url.format(id=lesson_id), follow_redirects=False, **kwargs)
    assert response.status_code == 403
    assert client.get(f"/api/lessons/{lesson_id}").json()["status"] == "identified"


def test_nav_links_the_queue_for_curators_only(
    client: Client, kim: Client, anon_client: Client
) -> None:
    def links(who: Client) -> list[str]:
        page = BeautifulSoup(who.get("/lessons").text, "html.parser")
        nav = page.find("nav", attrs={"aria-label": "Main"})
        assert isinstance(nav, Tag)
        return [str(a["href"]) for a in nav.find_all("a")]

    assert "/curate" in links(kim)
    assert "/curate" not in links(client)
    assert "/curate" not in links(anon_client)


# --- the page ----------------------------------------------------------------------------------


def test_queue_page_shows_counts_tabs_and_the_duplicates_link(kim: Client, engine: Engine) -> None:
    first, second, weak = _lessons(
        kim, {"title": "First waiting"}, {"title": "Second waiting"}, {"title": "Weak"}
    )
    _validated(engine, weak, insight="")
    response = kim.get("/curate")
    page = _page(response)
    assert _context(response)["counts"] == {
        Section.VALIDATE: 2,
        Section.REVIEW_DUE: 0,
        Section.FLAGGED: 1,
    }
    tabs = page.find("nav", attrs={"aria-label": "Queue sections"})
    assert isinstance(tabs, Tag)
    texts = {str(a["href"]): a.get_text(strip=True) for a in tabs.find_all("a")}
    assert texts == {
        "/curate?section=validate": "To validate (2)",
        "/curate?section=review_due": "Review due (0)",
        "/curate?section=flagged": "Weak text or no tags (1)",
        "/curate/duplicates": "Possible duplicates",
    }
    current = tabs.find("a", attrs={"aria-current": "page"})
    assert isinstance(current, Tag) and current["href"] == "/curate?section=validate"
    order = [str(a["id"]) for a in page.find_all("article")]
    assert order == [f"lesson-{first}", f"lesson-{second}"]  # oldest first


def test_queue_page_form_shows_the_lesson_with_unique_field_ids(kim: Client) -> None:
    first, _ = _lessons(kim, {"title": "One", "tags": ["a", "b"]}, {"title": "Two"})
    page = _page(kim.get(f"/curate?open={first}"))
    form = _form(page, first)
    assert form["action"] == f"/curate/lessons/{first}/validate"
    assert (_value(form, "title"), _value(form, "tags")) == ("One", "a, b")
    assert _value(form, "perspective") == "operational"
    buttons = {str(b["value"]): b.get_text(strip=True) for b in form.find_all("button")}
    assert buttons == {"accept": "Validate", "reject": "Reject"}
    ids = [str(tag["id"]) for tag in page.find_all(attrs={"id": True})]
    assert len(ids) == len(set(ids))
    for field in page.find_all(["input", "textarea", "select"]):
        if field.get("type") != "hidden":
            assert page.find("label", attrs={"for": field["id"]}), field


def test_queue_page_unknown_section_and_page_fall_back(kim: Client) -> None:
    _lessons(kim, {"title": "Waiting"})
    response = kim.get("/curate?section=bogus&page=999")
    page = _page(response)
    assert (_context(response)["section"], _context(response)["page"]) == (Section.VALIDATE, 1)
    assert "Waiting" in page.get_text()


def test_queue_page_pages_through_a_section_oldest_first(kim: Client) -> None:
    ids = _lessons(kim, *({"title": f"Lesson {i:02d}"} for i in range(PAGE_SIZE + 2)))
    first = _page(kim.get("/curate?section=validate"))
    second_response = kim.get("/curate?section=validate&page=2")
    second = _page(second_response)
    shown = [str(a["id"]) for a in first.find_all("article")]
    assert shown == [f"lesson-{i}" for i in ids[:PAGE_SIZE]]
    assert [str(a["id"]) for a in second.find_all("article")] == [
        f"lesson-{i}" for i in ids[PAGE_SIZE:]
    ]
    pager = first.find("nav", attrs={"aria-label": "Pages"})
    assert isinstance(pager, Tag) and "Page 1 of 2" in pager.get_text()
    assert _context(second_response)["total"] == PAGE_SIZE + 2


def test_queue_page_escapes_lesson_text(kim: Client) -> None:
    [lesson_id] = _lessons(kim, {"title": "<script>alert(1)</script> fridges"})
    response = kim.get(f"/curate?open={lesson_id}")
    assert "<script>alert(1)</script>" not in response.text
    assert _value(_form(_page(response), lesson_id), "title") == "<script>alert(1)</script> fridges"


# --- validate or reject through the page -------------------------------------------------------


def test_validate_form_saves_edits_and_validates_in_one_submit(kim: Client, engine: Engine) -> None:
    [lesson_id] = _lessons(kim, {"title": "order fridges", "tags": []})
    form = _form(_page(kim.get(f"/curate?open={lesson_id}")), lesson_id)
    sent = _form_data(
        form,
        title="Order cold-chain fridges on the draft plan",
        perspective="programme_management",
        sensitivity="public",
        tags="Cold Chain, procurement",
        decision="accept",
    )
    response = kim.post(form["action"], data=sent, follow_redirects=False)
    assert response.status_code == 303, response.text[:2000]
    where = urlsplit(response.headers["location"])
    assert (where.path, parse_qs(where.query)) == (
        "/curate",
        {"section": ["validate"], "page": ["1"], "done": [str(lesson_id)], "did": ["validated"]},
    )
    lesson = _api(kim, lesson_id)
    assert (lesson["status"], lesson["title"], lesson["perspective"], lesson["sensitivity"]) == (
        "validated",
        "Order cold-chain fridges on the draft plan",
        "programme_management",
        "public",
    )
    assert lesson["tags"] == ["cold-chain", "procurement"]
    assert lesson["review_due"] == lifecycle.next_review(today=TODAY).isoformat()
    with transaction(engine) as session:
        rows = session.exec(
            select(AuditEvent)
            .where(AuditEvent.entity_id == lesson_id, AuditEvent.entity == "lesson")
            .order_by(col(AuditEvent.id))
        ).all()
        assert [(r.action, r.actor) for r in rows] == [("edit", "kim"), ("transition", "kim")]
        assert rows[0].before is not None and rows[0].before["title"] == "order fridges"
    after = _page(kim.get(response.headers["location"]))
    notice = after.find(attrs={"role": "status"})
    assert isinstance(notice, Tag)
    assert notice.get_text(" ", strip=True) == (
        "Order cold-chain fridges on the draft plan : validated."
    )
    assert after.find(id=f"lesson-{lesson_id}") is None  # it has left the section


def test_reject_form_without_reason_comes_back_with_what_was_typed(kim: Client) -> None:
    [lesson_id] = _lessons(kim, {"title": "A duplicate"})
    form = _form(_page(kim.get(f"/curate?open={lesson_id}")), lesson_id)
    sent = _form_data(form, title="Edited title", decision="reject", reason="")
    response = kim.post(form["action"], data=sent, follow_redirects=False)
    page = _page(response, 422)
    alert = page.find(attrs={"role": "alert"})
    assert isinstance(alert, Tag) and "Say why the lesson is rejected." in alert.get_text()
    again = _form(page, lesson_id)
    assert _value(again, "title") == "Edited title"
    reason = again.find(attrs={"name": "reason"})
    assert isinstance(reason, Tag) and reason.get("aria-invalid") == "true"
    error = page.find(id=reason["aria-describedby"])
    assert isinstance(error, Tag) and error.get_text(strip=True) == "required"
    lesson = _api(kim, lesson_id)
    assert (lesson["status"], lesson["title"]) == ("identified", "A duplicate")


def test_reject_form_with_reason_rejects(kim: Client) -> None:
    [lesson_id] = _lessons(kim, {"title": "A duplicate"})
    form = _form(_page(kim.get(f"/curate?open={lesson_id}")), lesson_id)
    sent = _form_data(form, decision="reject", reason="Same as the fridge lesson")
    response = kim.post(form["action"], data=sent, follow_redirects=False)
    assert response.status_code == 303
    lesson = _api(kim, lesson_id)
    assert lesson["status"] == "rejected"
    assert lesson["history"][-1]["reason"] == "Same as the fridge lesson"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"perspective": "astrology"}, "perspective"),
        ({"title": ""}, "title"),
        ({"decision": "maybe"}, "decision"),
        ({"review_due": "soon"}, "review_due"),
        ({"review_due": (TODAY - timedelta(days=1)).isoformat()}, "review_due"),
    ],
)
def test_validate_form_bad_input_is_422_beside_the_field(
    kim: Client, changes: dict[str, str], field: str
) -> None:
    [lesson_id] = _lessons(kim, {"title": "Waiting"})
    form = _form(_page(kim.get(f"/curate?open={lesson_id}")), lesson_id)
    sent = _form_data(form, **{"decision": "accept", **changes})
    response = kim.post(form["action"], data=sent, follow_redirects=False)
    page = _page(response, 422)
    error = page.find(id=f"l{lesson_id}-{field}-error")
    assert isinstance(error, Tag), response.text[:3000]
    assert _api(kim, lesson_id)["status"] == "identified"


def test_validate_form_tampered_fields_are_refused_not_a_server_error(kim: Client) -> None:
    [lesson_id] = _lessons(kim, {"title": "Waiting"})
    for data in (
        {"decision": "accept", "owner": "x"},
        {"decision": "accept", "title.a": "x"},
        {"decision.0": "accept"},
    ):
        response = kim.post(
            f"/curate/lessons/{lesson_id}/validate", data=data, follow_redirects=False
        )
        assert response.status_code == 422, data
    assert _api(kim, lesson_id)["status"] == "identified"


def test_validate_form_on_a_lesson_already_decided_says_so(kim: Client, engine: Engine) -> None:
    [lesson_id] = _lessons(kim, {"title": "Decided elsewhere"})
    form = _form(_page(kim.get(f"/curate?open={lesson_id}")), lesson_id)
    _validated(engine, lesson_id)  # another curator got there first
    response = kim.post(
        form["action"],
        data=_form_data(form, decision="reject", reason="Dupe"),
        follow_redirects=False,
    )
    page = _page(response, 409)
    alert = page.find(attrs={"role": "alert"})
    assert isinstance(alert, Tag) and "no longer waiting for validation" in alert.get_text()
    assert _api(kim, lesson_id)["status"] == "validated"


def test_validate_form_unknown_lesson_is_404(kim: Client) -> None:
    response = kim.post("/curate/lessons/999999/validate", data={"decision": "accept"})
    assert response.status_code == 404


# --- review due --------------------------------------------------------------------------------


def test_review_form_confirms_until_the_next_review(kim: Client, engine: Engine) -> None:
    [lesson_id] = _lessons(kim, {"title": "Due for review"})
    _validated(engine, lesson_id, review_due=TODAY - timedelta(days=30))
    page = _page(kim.get(f"/curate?section=review_due&open={lesson_id}"))
    form = _form(page, lesson_id)
    assert form["action"] == f"/curate/lessons/{lesson_id}/review"
    response = kim.post(
        form["action"],
        data=_form_data(form, decision="confirm", reason="Still our practice"),
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert _api(kim, lesson_id)["review_due"] == lifecycle.next_review(today=TODAY).isoformat()
    assert _context(kim.get("/curate?section=review_due"))["total"] == 0


def test_review_form_confirms_with_the_date_chosen(kim: Client, engine: Engine) -> None:
    [lesson_id] = _lessons(kim, {"title": "Due for review"})
    _validated(engine, lesson_id, review_due=TODAY)
    chosen = (TODAY + timedelta(days=45)).isoformat()
    form = _form(_page(kim.get(f"/curate?section=review_due&open={lesson_id}")), lesson_id)
    sent = _form_data(form, decision="confirm", review_due=chosen, insight="Updated insight.")
    assert kim.post(form["action"], data=sent, follow_redirects=False).status_code == 303
    lesson = _api(kim, lesson_id)
    assert (lesson["review_due"], lesson["insight"]) == (chosen, "Updated insight.")


def test_review_form_retire_needs_a_reason_then_retires(kim: Client, engine: Engine) -> None:
    [lesson_id] = _lessons(kim, {"title": "Out of date"})
    _validated(engine, lesson_id, review_due=TODAY - timedelta(days=1))
    form = _form(_page(kim.get(f"/curate?section=review_due&open={lesson_id}")), lesson_id)
    refused = kim.post(
        form["action"], data=_form_data(form, decision="retire"), follow_redirects=False
    )
    page = _page(refused, 422)
    assert isinstance(page.find(id=f"l{lesson_id}-reason-error"), Tag)
    assert _api(kim, lesson_id)["status"] == "validated"
    done = kim.post(
        form["action"],
        data=_form_data(form, decision="retire", reason="The supplier framework has ended"),
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert parse_qs(urlsplit(done.headers["location"]).query)["did"] == ["retired"]
    assert _api(kim, lesson_id)["status"] == "retired"


# --- flagged -----------------------------------------------------------------------------------


def test_flagged_section_lists_weak_lessons_with_what_is_weak(kim: Client, engine: Engine) -> None:
    weak, fine = _lessons(kim, {"title": "Weak one", "tags": []}, {"title": "Fine one"})
    _validated(engine, weak, insight="", recommendation="Plan better.")
    _validated(engine, fine)
    response = kim.get("/curate?section=flagged")
    page = _page(response)
    assert page.find(id=f"lesson-{fine}") is None
    article = page.find(id=f"lesson-{weak}")
    assert isinstance(article, Tag)
    flags = article.find("ul", attrs={"class": "flags"})
    assert isinstance(flags, Tag)
    text = flags.get_text(" ", strip=True)
    assert "No tags" in text and "No insight" in text
    assert f"under {WEAK_RECOMMENDATION_CHARS} characters" in text


def test_flagged_form_fixes_the_lesson_and_it_leaves_the_list(kim: Client, engine: Engine) -> None:
    [weak] = _lessons(kim, {"title": "Weak one", "tags": []})
    _validated(engine, weak, insight="")
    form = _form(_page(kim.get(f"/curate?section=flagged&open={weak}")), weak)
    assert form["action"] == f"/curate/lessons/{weak}/edit"
    sent = _form_data(form, tags="cold-chain", insight="Procurement started after approval.")
    response = kim.post(form["action"], data=sent, follow_redirects=False)
    assert response.status_code == 303
    assert parse_qs(urlsplit(response.headers["location"]).query)["did"] == ["saved"]
    assert _context(kim.get("/curate?section=flagged"))["total"] == 0
    lesson = _api(kim, weak)
    assert (lesson["tags"], lesson["status"]) == (["cold-chain"], "validated")


# --- the API -----------------------------------------------------------------------------------


def test_queue_api_gives_counts_and_a_page_of_each_section(kim: Client, engine: Engine) -> None:
    first, second, due = _lessons(kim, {"title": "A"}, {"title": "B"}, {"title": "C", "tags": []})
    _validated(engine, due, review_due=TODAY - timedelta(days=2))
    body = kim.get("/api/curation/queue", headers=kim.curator).json()
    assert body["counts"] == {"validate": 2, "review_due": 1, "flagged": 1}
    assert body["today"] == TODAY.isoformat()
    validate = body["sections"]["validate"]
    assert (validate["total"], validate["limit"], validate["offset"]) == (2, 20, 0)
    assert [r["id"] for r in validate["results"]] == [first, second]
    assert body["sections"]["flagged"]["results"][0]["flags"] == ["no_tags"]
    assert body["sections"]["review_due"]["results"][0]["id"] == due
    paged = kim.get(
        "/api/curation/queue?section=validate&limit=1&offset=1", headers=kim.curator
    ).json()
    assert list(paged["sections"]) == ["validate"]
    assert [r["id"] for r in paged["sections"]["validate"]["results"]] == [second]
    assert paged["sections"]["validate"]["total"] == 2


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("section=bogus", "section"),
        ("limit=0x1", "limit"),
        ("limit=101", "limit"),
        ("offset=-1", "offset"),
    ],
)
def test_queue_api_bad_parameters_are_422(kim: Client, query: str, field: str) -> None:
    response = kim.get(f"/api/curation/queue?{query}", headers=kim.curator)
    assert response.status_code == 422
    assert field in response.json()["error"]["fields"]


def test_api_validate_with_edits(kim: Client) -> None:
    [lesson_id] = _lessons(kim, {"title": "Waiting"})
    response = kim.post(
        f"/api/curation/lessons/{lesson_id}/validate",
        headers=kim.curator,
        json={"decision": "accept", "title": "Accepted", "tags": ["Planning"]},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["title"], body["tags"]) == ("validated", "Accepted", ["planning"])
    assert body["review_due"] == lifecycle.next_review(today=TODAY).isoformat()


@pytest.mark.parametrize(
    ("url", "body", "status", "field"),
    [
        ("validate", {"decision": "reject"}, 422, "reason"),
        ("validate", {}, 422, "decision"),
        ("validate", {"decision": "accept", "colour": "red"}, 422, "colour"),
        ("review", {"decision": "confirm"}, 409, "decision"),  # identified: not up for review
    ],
)
def test_api_decisions_refused_change_nothing(
    kim: Client, url: str, body: dict[str, Any], status: int, field: str
) -> None:
    [lesson_id] = _lessons(kim, {"title": "Waiting"})
    before = _api(kim, lesson_id)
    response = kim.post(f"/api/curation/lessons/{lesson_id}/{url}", headers=kim.curator, json=body)
    assert response.status_code == status, response.text
    assert field in response.json()["error"]["fields"]
    assert _api(kim, lesson_id) == before


def test_api_review_confirm_and_retire(kim: Client, engine: Engine) -> None:
    confirm, retire = _lessons(kim, {"title": "Keep"}, {"title": "Drop"})
    for lesson_id in (confirm, retire):
        _validated(engine, lesson_id, review_due=TODAY - timedelta(days=1))
    kept = kim.post(
        f"/api/curation/lessons/{confirm}/review", headers=kim.curator, json={"decision": "confirm"}
    )
    assert kept.json()["review_due"] == lifecycle.next_review(today=TODAY).isoformat()
    dropped = kim.post(
        f"/api/curation/lessons/{retire}/review",
        headers=kim.curator,
        json={"decision": "retire", "reason": "Superseded by the new policy"},
    )
    assert dropped.json()["status"] == "retired"


def test_openapi_documents_the_curation_routes(kim: Client) -> None:
    document = kim.get("/api/openapi.json").json()
    assert {
        "/api/curation/queue",
        "/api/curation/lessons/{id}/validate",
        "/api/curation/lessons/{id}/review",
    } <= set(document["paths"])
    assert {"ValidateIn", "ReviewDueIn"} <= set(document["components"]["schemas"])


# --- the demo bank -----------------------------------------------------------------------------


def test_demo_bank_fills_every_section_of_the_queue(demo_kim: Client) -> None:
    counts = demo_kim.get("/api/curation/queue", headers=demo_kim.curator).json()["counts"]
    assert counts["validate"] >= 10
    assert counts["review_due"] >= 3
    assert counts["flagged"] >= 3
    for section in Section:
        page = _page(demo_kim.get(f"/curate?section={section}"))
        assert page.find("article"), section


def test_demo_bank_learned_lessons_carry_evidence_and_a_link(demo_kim: Client) -> None:
    learned = demo_kim.get("/api/lessons?status=learned&limit=50", headers=demo_kim.curator)
    results = learned.json()["results"]
    assert len(results) >= 4
    for row in results:
        lesson = _api(demo_kim, row["id"])
        assert lesson["learned_evidence"].strip(), lesson["title"]
        assert lifecycle.link_problem(lesson["learned_link"] or "") is None, lesson["title"]
