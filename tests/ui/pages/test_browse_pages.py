"""Browsing pages (ui/pages/browse.py): home, projects, people, the lessons list and search, a
lesson and its transition form."""

from __future__ import annotations

import math
from typing import Any

import pytest
from bs4 import Tag
from starlette.testclient import TestClient

from lessons.accounts.access import TRUSTED_STATUSES
from lessons.storage.models import ReviewKind
from tests.conftest import review_payload
from tests.ui.pages.helpers import (
    assert_error_beside,
    context,
    demo_action_statuses,
    element,
    field_value,
    lesson_links,
    post_review,
    rendered,
    visible,
)
from ui.pages.browse import PAGE_SIZE

TRUSTED = {str(s) for s in TRUSTED_STATUSES}


def demo_lessons(bank: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {**lesson, "project": project["name"], "status": lesson.get("status", "identified")}
        for project in bank["projects"]
        for review in project["reviews"]
        for lesson in review["lessons"]
    ]


# --- home, projects, people, actions -------------------------------------------------------


def test_home_page_shows_counts_newest_lessons_and_review_links(
    demo_client: TestClient, demo_bank: dict[str, Any]
) -> None:
    response = demo_client.get("/")
    page = rendered(response, "home.html")
    ctx = context(response)
    lessons = demo_lessons(demo_bank)
    trusted = [le for le in lessons if visible(le) and le["status"] in TRUSTED]
    assert ctx["lesson_count"] == len(trusted)
    assert ctx["project_count"] == len(demo_bank["projects"])
    assert ctx["open_action_count"] == demo_action_statuses(demo_bank).count("open")
    assert len(ctx["recent"]) == 6
    assert lesson_links(page) == [le.id for le in ctx["recent"]]
    assert f"{len(trusted)} lessons from {len(demo_bank['projects'])} projects" in page.get_text()
    hrefs = {a["href"] for a in page.find_all("a")}
    for kind in ReviewKind:
        assert f"/reviews/new?kind={kind}" in hrefs
    assert "/bar/new" in hrefs


def test_home_page_empty_bank_says_so(client: TestClient) -> None:
    response = client.get("/")
    page = rendered(response, "home.html")
    assert context(response)["lesson_count"] == 0
    assert context(response)["recent"] == []
    assert "No lessons yet." in page.get_text()


def test_projects_page_lists_every_project(
    demo_client: TestClient, demo_bank: dict[str, Any]
) -> None:
    response = demo_client.get("/projects")
    page = rendered(response, "projects.html")
    names = {p.name for p in context(response)["projects"]}
    assert names == {p["name"] for p in demo_bank["projects"]}
    links = page.select("tbody a[href^='/projects/']")
    assert {a.get_text() for a in links} == names
    caption = page.find("caption")
    assert isinstance(caption, Tag)
    assert caption.get_text() == f"{len(names)} projects"


def test_project_pages_show_every_visible_lesson_of_the_project(
    demo_client: TestClient, demo_bank: dict[str, Any]
) -> None:
    projects = context(demo_client.get("/projects"))["projects"]
    lessons = demo_lessons(demo_bank)
    assert any(not visible(le) for le in lessons)  # the demo has restricted lessons to hide
    for project in projects:
        response = demo_client.get(f"/projects/{project.id}")
        page = rendered(response, "project.html")
        ctx = context(response)
        assert ctx["project"].id == project.id
        expected = {le["title"] for le in lessons if le["project"] == project.name and visible(le)}
        assert {le.title for le in ctx["lessons"]} == expected
        assert set(lesson_links(page)) == {le.id for le in ctx["lessons"]}
        h1 = page.find("h1")
        assert isinstance(h1, Tag)
        assert h1.get_text() == project.name
        review_links = {a["href"] for a in page.select("a[href^='/reviews/']")}
        assert {f"/reviews/{r.id}" for r in ctx["reviews"]} <= review_links
        assert f"/reviews/new?project_id={project.id}" in review_links
        assert page.find("a", href=f"/bar/new?project_id={project.id}") is not None


def test_project_page_lists_its_actions_and_bars(client: TestClient) -> None:
    review = post_review(client)
    project_id = review["project"]["id"]
    bar = client.post("/api/bar", json={"brief": "Fridges again", "project": {"id": project_id}})
    assert bar.status_code == 201
    response = client.get(f"/projects/{project_id}")
    page = rendered(response, "project.html")
    assert [a.what for a in context(response)["actions"]] == [
        "Add a lead-time check to the plan template"
    ]
    assert "Add a lead-time check to the plan template" in page.get_text()
    assert page.find("a", href=f"/bar/{bar.json()['id']}") is not None
    # Identified lessons show on their project page even though browsing hides them.
    assert lesson_links(page) == [review["lessons"][0]["id"]]


@pytest.mark.parametrize("url", ["/projects/999", f"/projects/{2**63}", f"/projects/{2**64}"])
def test_project_page_unknown_id_is_404(client: TestClient, url: str) -> None:
    page = rendered(client.get(url), "error.html", 404)
    assert "Not found" in page.get_text()


def test_people_page_lists_everyone(demo_client: TestClient, demo_bank: dict[str, Any]) -> None:
    response = demo_client.get("/people")
    page = rendered(response, "people.html")
    names = [p["name"] for p in context(response)["found"]]
    assert names == sorted(names)
    assert {p["name"] for p in demo_bank["people"]} <= set(names)
    shown = [strong.get_text() for strong in page.select("ul.people strong")]
    assert shown == names
    first = demo_bank["people"][0]
    assert first["role"] in page.get_text()
    links = [a["href"] for a in page.select("ul.people a")]
    assert links == [f"/people/{p['id']}" for p in context(response)["found"]]


# --- lessons -------------------------------------------------------------------------------


def test_lessons_page_first_page_of_trusted_lessons(
    demo_client: TestClient, demo_bank: dict[str, Any]
) -> None:
    response = demo_client.get("/lessons")
    page = rendered(response, "lessons.html")
    ctx = context(response)
    trusted = [le for le in demo_lessons(demo_bank) if visible(le) and le["status"] in TRUSTED]
    assert ctx["total"] == len(trusted)
    assert len(ctx["lessons"]) == PAGE_SIZE
    assert ctx["pages"] == math.ceil(len(trusted) / PAGE_SIZE)
    assert all(le.status in TRUSTED and le.sensitivity != "restricted" for le in ctx["lessons"])
    assert lesson_links(page) == [le.id for le in ctx["lessons"]]
    pager = page.find("nav", attrs={"aria-label": "Pages"})
    assert isinstance(pager, Tag)
    assert f"Page 1 of {ctx['pages']}" in pager.get_text()
    assert [a.get_text() for a in pager.find_all("a")] == ["Next"]


def test_lessons_page_two_follows_page_one(demo_client: TestClient) -> None:
    first = context(demo_client.get("/lessons"))
    response = demo_client.get("/lessons?page=2")
    page = rendered(response, "lessons.html")
    second = context(response)
    assert second["page"] == 2
    assert second["lessons"]
    assert not {le.id for le in first["lessons"]} & {le.id for le in second["lessons"]}
    pager = page.find("nav", attrs={"aria-label": "Pages"})
    assert isinstance(pager, Tag)
    assert "Previous" in pager.get_text()
    assert f"Page 2 of {second['pages']}" in pager.get_text()


def test_lessons_page_last_page_holds_the_rest(demo_client: TestClient) -> None:
    first = context(demo_client.get("/lessons"))
    last = context(demo_client.get(f"/lessons?page={first['pages']}"))
    assert len(last["lessons"]) == first["total"] - PAGE_SIZE * (first["pages"] - 1)


def test_lessons_page_search_ranks_and_explains(demo_client: TestClient) -> None:
    response = demo_client.get("/lessons?q=cold+chain+vaccine+fridges")
    page = rendered(response, "lessons.html")
    ctx = context(response)
    assert ctx["q"] == "cold chain vaccine fridges"
    assert ctx["lessons"]
    assert set(ctx["scores"]) == {le.id for le in ctx["lessons"]}
    scores = [ctx["scores"][le.id] for le in ctx["lessons"]]
    assert scores == sorted(scores, reverse=True)
    assert len(page.select("ul.lessons .score")) == len(ctx["lessons"])
    assert len(page.select("ul.lessons .snippet")) == len(ctx["lessons"])
    assert field_value(page, "q") == "cold chain vaccine fridges"
    assert page.find("nav", attrs={"aria-label": "Pages"}) is None
    top = ctx["lessons"][0]
    assert "cold-chain" in top.tags or "vaccine" in (top.title + top.observation).lower()


def test_lessons_page_tag_filter(demo_client: TestClient, demo_bank: dict[str, Any]) -> None:
    response = demo_client.get("/lessons?tag=cold-chain")
    page = rendered(response, "lessons.html")
    ctx = context(response)
    expected = [
        le
        for le in demo_lessons(demo_bank)
        if visible(le) and le["status"] in TRUSTED and "cold-chain" in le.get("tags", [])
    ]
    assert expected
    assert ctx["total"] == len(expected)
    assert all("cold-chain" in le.tags for le in ctx["lessons"])
    assert field_value(page, "tag") == "cold-chain"
    assert "tagged cold-chain" in page.get_text()


@pytest.mark.parametrize(
    ("status", "statuses"),
    [
        ("all", None),
        ("identified", {"identified"}),
        ("validated", {"validated"}),
        ("learned", {"learned"}),
    ],
)
def test_lessons_page_status_filter(
    demo_client: TestClient, demo_bank: dict[str, Any], status: str, statuses: set[str] | None
) -> None:
    response = demo_client.get(f"/lessons?status={status}")
    page = rendered(response, "lessons.html")
    ctx = context(response)
    expected = [
        le
        for le in demo_lessons(demo_bank)
        if visible(le) and (statuses is None or le["status"] in statuses)
    ]
    assert expected
    assert ctx["total"] == len(expected)
    assert ctx["status"] == status
    if statuses is not None:
        assert {le.status for le in ctx["lessons"]} == statuses
    assert field_value(page, "status") == status


@pytest.mark.parametrize("query", ["page=abc", "page=0", "page=-1", "page=%C2%B2"])
def test_lessons_page_number_that_is_not_one_is_refused_in_words(
    demo_client: TestClient, query: str
) -> None:
    page = rendered(demo_client.get(f"/lessons?{query}"), "error.html", status=422)
    assert "The page number must be a whole number from 1" in page.text


@pytest.mark.parametrize("query", ["status=bogus", "tag=", "q=+++"])
def test_lessons_page_odd_parameters_fall_back_to_defaults(
    demo_client: TestClient, query: str
) -> None:
    default = context(demo_client.get("/lessons"))
    response = demo_client.get(f"/lessons?{query}")
    rendered(response, "lessons.html")
    assert context(response)["total"] == default["total"]
    assert [le.id for le in context(response)["lessons"]] == [le.id for le in default["lessons"]]


def test_lessons_page_huge_page_number_is_not_a_server_error(demo_client: TestClient) -> None:
    response = demo_client.get("/lessons?page=999999999999999999")
    assert response.status_code < 500


def test_lesson_page_shows_sections_history_similar_and_next_steps(
    demo_client: TestClient,
) -> None:
    lesson_id = context(demo_client.get("/lessons"))["lessons"][0].id
    # As a curator: only curators are offered the next steps.
    kim: dict[str, str] = demo_client.curator  # type: ignore[attr-defined]
    response = demo_client.get(f"/lessons/{lesson_id}", headers=kim)
    page = rendered(response, "lesson.html")
    ctx = context(response)
    lesson = ctx["lesson"]
    assert lesson.id == lesson_id
    h1 = page.find("h1")
    assert isinstance(h1, Tag)
    assert h1.get_text() == lesson.title
    text = page.get_text()
    for section in (lesson.observation, lesson.insight, lesson.recommendation):
        assert section in text
    assert ctx["history"][0].to_status == "identified"
    assert len(page.select("ol.history li")) == len(ctx["history"])
    options = [o["value"] for o in element(page, name="to").find_all("option")]
    assert options == [str(s) for s in ctx["allowed"]]
    assert ctx["similar"]
    assert lesson_id not in lesson_links(page)
    assert lesson_links(page) == [h.lesson.id for h in ctx["similar"]]


def test_lesson_page_shows_its_actions(client: TestClient) -> None:
    review = post_review(client)
    response = client.get(f"/lessons/{review['lessons'][0]['id']}")
    page = rendered(response, "lesson.html")
    assert [a.what for a in context(response)["actions"]] == [review["actions"][0]["what"]]
    assert "Tom Reyes" in page.get_text()
    assert page.find("a", href=f"/reviews/{review['id']}") is not None


@pytest.mark.parametrize("lesson_id", [999, 2**63, 2**64])
def test_lesson_page_unknown_id_is_404(client: TestClient, lesson_id: int) -> None:
    rendered(client.get(f"/lessons/{lesson_id}"), "error.html", 404)


def test_lesson_page_restricted_lesson_is_404(client: TestClient) -> None:
    review = post_review(
        client, lessons=[{**review_payload()["lessons"][0], "sensitivity": "restricted"}]
    )
    rendered(client.get(f"/lessons/{review['lessons'][0]['id']}"), "error.html", 404)


# --- lesson transition form ----------------------------------------------------------------


def test_lesson_transition_form_moves_the_lesson(client: TestClient) -> None:
    lesson_id = post_review(client)["lessons"][0]["id"]
    response = client.post(
        f"/lessons/{lesson_id}/transition",
        headers=client.curator,
        data={"to": "validated", "reason": "Checked"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/lessons/{lesson_id}"
    lesson = client.get(f"/api/lessons/{lesson_id}").json()
    assert lesson["status"] == "validated"
    # Recorded as the signed-in curator (the bearer token's user), not a typed name.
    assert (lesson["history"][-1]["actor"], lesson["history"][-1]["reason"]) == ("kim", "Checked")
    page = rendered(client.get(f"/lessons/{lesson_id}"), "lesson.html")
    assert "validated by kim" in page.get_text()


@pytest.mark.parametrize(
    ("form", "status", "field"),
    [
        ({"to": "learned", "reason": "Done"}, 409, "to"),
        ({"to": "rejected", "reason": ""}, 422, "reason"),
        ({"to": "bogus", "reason": "Why not"}, 422, "to"),
        ({"reason": "No step chosen"}, 422, "to"),
    ],
)
def test_lesson_transition_form_invalid_step_rerenders_with_message(
    client: TestClient, form: dict[str, str], status: int, field: str
) -> None:
    lesson_id = post_review(client)["lessons"][0]["id"]
    before = client.get(f"/api/lessons/{lesson_id}").json()
    response = client.post(
        f"/lessons/{lesson_id}/transition",
        headers=client.curator,
        data=form,
        follow_redirects=False,
    )
    page = rendered(response, "lesson.html", status)
    alert = page.find(attrs={"role": "alert"})
    assert isinstance(alert, Tag)
    assert alert.get_text(strip=True) == context(response)["message"]
    assert_error_beside(page, field)
    assert field_value(page, "reason") == form["reason"]
    assert client.get(f"/api/lessons/{lesson_id}").json() == before


def test_lesson_transition_form_unknown_lesson_is_404(client: TestClient) -> None:
    response = client.post(
        "/lessons/999/transition", headers=client.curator, data={"to": "validated"}
    )
    rendered(response, "error.html", 404)
