"""Server-rendered pages: the template and context each page renders, the HTML it produces,
and the form flows over real HTTP posts (redirect on success; re-render with what was typed
and the problem beside the field on failure)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from bs4 import BeautifulSoup, Tag
from sqlalchemy import Engine, func
from sqlmodel import Session, SQLModel, col, select
from starlette.testclient import TestClient

from lessons.accounts.access import TRUSTED_STATUSES
from lessons.capture import questions
from lessons.storage.models import (
    Action,
    BarItem,
    BeforeActionReview,
    Lesson,
    LessonEvent,
    Person,
    Project,
    Review,
    ReviewKind,
    User,
)
from lessons.storage.settings import Settings
from tests.conftest import app_client, review_payload
from ui.pages.browse import PAGE_SIZE

TABLES: dict[str, type[SQLModel]] = {
    "project": Project,
    "review": Review,
    "lesson": Lesson,
    "lesson_event": LessonEvent,
    "action": Action,
    "person": Person,
    "bar": BeforeActionReview,
    "bar_item": BarItem,
}
TRUSTED = {str(s) for s in TRUSTED_STATUSES}


# --- helpers -------------------------------------------------------------------------------


def rendered(response: httpx.Response, template: str, status: int = 200) -> BeautifulSoup:
    """Assert the status and the template, and return the parsed HTML."""
    assert response.status_code == status, response.text[:2000]
    assert response.template.name == template  # type: ignore[attr-defined]
    assert response.headers["content-type"].startswith("text/html")
    return BeautifulSoup(response.text, "html.parser")


def context(response: httpx.Response) -> dict[str, Any]:
    ctx: dict[str, Any] = response.context  # type: ignore[attr-defined]
    return ctx


def element(page: BeautifulSoup, **attrs: str) -> Tag:
    found = page.find(attrs=attrs)
    assert isinstance(found, Tag), attrs
    return found


def field_value(page: BeautifulSoup, name: str) -> str:
    """What a form field shows: an input's value, a textarea's text, a select's choice."""
    field = element(page, name=name)
    if field.name == "textarea":
        return field.get_text()
    if field.name == "select":
        chosen = field.find("option", selected=True)
        return str(chosen["value"]) if isinstance(chosen, Tag) else ""
    return str(field.get("value", ""))


def assert_kept(page: BeautifulSoup, typed: dict[str, str]) -> None:
    """Every typed value is back in its field. A select can only show one of its options, so
    a value it does not offer (an unknown project id) is checked in the context instead."""
    for name, value in typed.items():
        field = element(page, name=name)
        if field.name == "select" and field.find("option", value=value) is None:
            continue
        assert field_value(page, name) == value, name


def assert_error_beside(page: BeautifulSoup, name: str) -> str:
    """The field's error message exists and the field points at it; returns the message."""
    error_id = f"{name.replace('.', '-')}-error"
    message = element(page, id=error_id)
    assert message.get_text(strip=True)
    field = element(page, name=name)
    assert error_id in str(field.get("aria-describedby", "")).split()
    assert field.get("aria-invalid") == "true"
    return message.get_text(strip=True)


def labelled(page: BeautifulSoup, name: str) -> str:
    """The text of the <label> tied to the field called `name`."""
    field = element(page, name=name)
    field_id = field.get("id")
    assert field_id
    label = page.find("label", attrs={"for": field_id})
    assert isinstance(label, Tag), name
    return label.get_text(" ", strip=True)


def row_counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        counts = {
            name: int(session.exec(select(func.count()).select_from(model)).one())
            for name, model in TABLES.items()
        }
        if "person" in counts:  # the test accounts' own people are not the app's writing
            counts["person"] -= int(
                session.exec(select(func.count()).where(col(User.person_id).is_not(None))).one()
            )
        return counts


def lesson_links(page: BeautifulSoup) -> list[int]:
    """Ids of lessons linked from the page's lesson lists."""
    ids = []
    for link in page.select("ul.lessons a[href^='/lessons/']"):
        ids.append(int(str(link["href"]).rsplit("/", 1)[-1]))
    return ids


def demo_lessons(bank: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {**lesson, "project": project["name"], "status": lesson.get("status", "identified")}
        for project in bank["projects"]
        for review in project["reviews"]
        for lesson in review["lessons"]
    ]


def visible(lesson: dict[str, Any]) -> bool:
    return lesson.get("sensitivity", "internal") != "restricted"


def demo_action_statuses(bank: dict[str, Any]) -> list[str]:
    """Statuses of the demo actions a staff viewer may see: an action on a restricted lesson
    would reveal the lesson, so it is hidden with it; one on no lesson goes with its review's
    story, hidden when any of the review's lessons is."""
    statuses = []
    for project in bank["projects"]:
        for review in project["reviews"]:
            story_visible = all(visible(le) for le in review["lessons"])
            for action in review.get("actions", []):
                index = action.get("lesson_index")
                if story_visible if index is None else visible(review["lessons"][index]):
                    statuses.append(action.get("status", "open"))
    return statuses


def post_review(client: TestClient, **overrides: Any) -> dict[str, Any]:
    response = client.post("/api/reviews", json=review_payload(**overrides))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def validate(client: TestClient, lesson_id: int) -> None:
    response = client.post(
        f"/api/lessons/{lesson_id}/transition", headers=client.curator, json={"to": "validated"}
    )
    assert response.status_code == 200, response.text


def review_form(**changes: str) -> dict[str, str]:
    """A filled review form with dotted field names, as a browser posts it."""
    form = {
        "kind": "aar",
        "project.id": "",
        "project.name": "Measles 2025",
        "project.unit": "Public Health",
        "project.summary": "Catch-up campaign after the outbreak.",
        "held_on": "2025-06-30",
        "author": "Amina Diallo",
        "answers.planned": "Vaccinate 40,000 children in six weeks.",
        "answers.actual": "Started three weeks late.",
        "answers.differences": "",
        "answers.sustain": "",
        "answers.improve": "",
        "lessons.0.title": "Order fridges early",
        "lessons.0.observation": "Fridges arrived three weeks late.",
        "lessons.0.insight": "Lead time is 12 weeks.",
        "lessons.0.recommendation": "Order at the draft plan.",
        "lessons.0.polarity": "improve",
        "lessons.0.perspective": "operational",
        "lessons.0.sensitivity": "internal",
        "lessons.0.tags": "Cold Chain, procurement",
        "actions.0.what": "Add a lead-time check",
        "actions.0.owner": "Tom Reyes",
        "actions.0.due": "2025-09-30",
        "actions.0.lesson_index": "0",
    }
    form.update(changes)
    return form


@pytest.fixture
def small_client(settings: Settings) -> Iterator[TestClient]:
    """The app with tight limits on the same database file as `settings`."""
    small = settings.model_copy(
        update={
            "max_title_chars": 20,
            "max_text_chars": 200,
            "max_brief_chars": 100,
            "max_request_bytes": 5000,
        }
    )
    yield from app_client(small)


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


@pytest.mark.parametrize("tab", ["open", "done", "dropped", "all"])
def test_actions_page_each_tab_lists_its_actions(
    demo_client: TestClient, demo_bank: dict[str, Any], tab: str
) -> None:
    response = demo_client.get(f"/actions?status={tab}")
    page = rendered(response, "actions.html")
    ctx = context(response)
    assert ctx["filters"]["status"] == tab
    statuses = demo_action_statuses(demo_bank)
    expected = len(statuses) if tab == "all" else statuses.count(tab)
    assert expected > 0
    assert len(ctx["actions"]) == expected
    if tab != "all":
        assert {a.status for a in ctx["actions"]} == {tab}
    assert len(page.select("tbody tr")) == expected
    current = page.select("#f-status option[selected]")
    assert [o["value"] for o in current] == [tab]


def test_actions_page_defaults_to_open(demo_client: TestClient) -> None:
    response = demo_client.get("/actions")
    rendered(response, "actions.html")
    assert context(response)["filters"]["status"] == "open"
    assert {a.status for a in context(response)["actions"]} == {"open"}


def test_actions_page_empty_tab_says_so(client: TestClient) -> None:
    page = rendered(client.get("/actions?status=done"), "actions.html")
    assert "No actions match." in page.get_text()


def test_people_page_lists_everyone(demo_client: TestClient, demo_bank: dict[str, Any]) -> None:
    response = demo_client.get("/people")
    page = rendered(response, "people.html")
    names = [p.name for p in context(response)["people"]]
    assert names == sorted(names)
    assert {p["name"] for p in demo_bank["people"]} <= set(names)
    shown = [strong.get_text() for strong in page.select("ul.people strong")]
    assert shown == names
    first = demo_bank["people"][0]
    assert first["role"] in page.get_text()


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


# --- reviews -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(ReviewKind))
def test_review_form_each_kind_labels_every_question(client: TestClient, kind: str) -> None:
    response = client.get(f"/reviews/new?kind={kind}")
    page = rendered(response, "review_form.html")
    question_set = questions.current(kind)
    assert context(response)["kind"] == kind
    assert context(response)["question_set"] == question_set
    assert field_value(page, "kind") == kind
    for question in question_set.questions:
        name = f"answers.{question.id}"
        assert question.text in labelled(page, name)
        field = element(page, name=name)
        if question.is_score:
            assert (field.name, field.get("type")) == ("input", "number")
        else:
            assert field.name == "textarea"
    answer_fields = {str(f["name"]) for f in page.find_all(attrs={"name": True})}
    answer_fields = {n for n in answer_fields if n.startswith("answers.")}
    assert answer_fields == {f"answers.{q.id}" for q in question_set.questions}
    current = page.select("nav.tabs a[aria-current='page']")
    assert [a.get_text() for a in current] == [question_set.title]
    for name in ("lessons.0.title", "lessons.0.observation", "actions.0.what", "project.name"):
        assert labelled(page, name)


def test_review_form_unknown_kind_falls_back_to_aar(client: TestClient) -> None:
    response = client.get("/reviews/new?kind=debrief")
    page = rendered(response, "review_form.html")
    assert context(response)["kind"] == "aar"
    assert field_value(page, "kind") == "aar"


def test_review_form_preselects_the_project(client: TestClient) -> None:
    project_id = post_review(client)["project"]["id"]
    page = rendered(client.get(f"/reviews/new?project_id={project_id}"), "review_form.html")
    assert field_value(page, "project.id") == str(project_id)


def test_review_page_shows_answers_lessons_and_actions(client: TestClient) -> None:
    review = post_review(client)
    response = client.get(f"/reviews/{review['id']}")
    page = rendered(response, "review.html")
    assert context(response)["review"].id == review["id"]
    answers = dict(
        zip(
            [dt.get_text() for dt in page.select("dl.answers dt")],
            [dd.get_text() for dd in page.select("dl.answers dd")],
            strict=True,
        )
    )
    assert answers == {
        "What was supposed to happen?": review["answers"]["planned"],
        "What actually happened?": review["answers"]["actual"],
    }
    assert lesson_links(page) == [review["lessons"][0]["id"]]
    assert review["actions"][0]["what"] in page.get_text()
    assert page.find("a", href=f"/projects/{review['project']['id']}") is not None


@pytest.mark.parametrize("review_id", [999, 2**63, 2**64])
def test_review_page_unknown_id_is_404(client: TestClient, review_id: int) -> None:
    rendered(client.get(f"/reviews/{review_id}"), "error.html", 404)


def test_review_form_valid_post_redirects_and_saves(client: TestClient) -> None:
    response = client.post("/reviews", data=review_form(), follow_redirects=False)
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/reviews/")
    review_id = int(location.rsplit("/", 1)[-1])

    page = rendered(client.get(location), "review.html")
    [lesson_id] = lesson_links(page)
    assert "Order fridges early" in page.get_text()
    assert "Add a lead-time check" in page.get_text()

    lesson = client.get(f"/api/lessons/{lesson_id}").json()
    assert lesson["title"] == "Order fridges early"
    assert lesson["review_id"] == review_id
    assert lesson["status"] == "identified"
    assert lesson["tags"] == ["cold-chain", "procurement"]
    assert lesson["project"]["name"] == "Measles 2025"
    [action] = lesson["actions"]
    assert (action["what"], action["owner"]["name"], action["due"]) == (
        "Add a lead-time check",
        "Tom Reyes",
        "2025-09-30",
    )
    listed = client.get("/lessons?status=identified")
    assert lesson_id in lesson_links(BeautifulSoup(listed.text, "html.parser"))


def test_review_form_existing_project_ignores_new_project_fields(
    client: TestClient, engine: Engine
) -> None:
    project_id = post_review(client)["project"]["id"]
    before = row_counts(engine)
    form = review_form(**{"project.id": str(project_id), "project.name": "Should be ignored"})
    response = client.post("/reviews", data=form, follow_redirects=False)
    assert response.status_code == 303
    review = context(client.get(response.headers["location"]))["review"]
    assert review.project_id == project_id
    assert row_counts(engine)["project"] == before["project"]


def test_review_form_blank_lesson_and_action_blocks_are_not_saved(
    client: TestClient, engine: Engine
) -> None:
    form = review_form(
        **{
            "lessons.0.title": "",
            "lessons.0.observation": "",
            "lessons.0.insight": "",
            "lessons.0.recommendation": "",
            "lessons.0.tags": "",
            "actions.0.what": "",
            "actions.0.owner": "",
            "actions.0.due": "",
            "actions.0.lesson_index": "",
        }
    )
    response = client.post("/reviews", data=form, follow_redirects=False)
    assert response.status_code == 303
    counts = row_counts(engine)
    assert (counts["review"], counts["lesson"], counts["action"]) == (1, 0, 0)


INVALID_REVIEWS = [
    pytest.param({"answers.planned": "", "answers.actual": ""}, "answers.planned", id="no-answers"),
    pytest.param({"project.id": "999"}, "project.id", id="unknown-project"),
    pytest.param(
        {"lessons.0.title": "An over-long lesson title"}, "lessons.0.title", id="title-too-long"
    ),
    pytest.param(
        {"lessons.0.observation": "o" * 201}, "lessons.0.observation", id="observation-too-long"
    ),
    pytest.param({"held_on": "31/02/2025"}, "held_on", id="held-on-not-a-date"),
    pytest.param({"actions.0.due": "soon"}, "actions.0.due", id="action-due-not-a-date"),
    pytest.param(
        {
            "kind": "retrospect",
            "answers.objectives": "Reach everyone",
            "answers.score": "11",
        },
        "answers.score",
        id="retrospect-score-11",
    ),
]


@pytest.mark.parametrize(("changes", "field"), INVALID_REVIEWS)
def test_review_form_invalid_rerenders_with_values_and_error_beside_field(
    small_client: TestClient, engine: Engine, changes: dict[str, str], field: str
) -> None:
    form = review_form(**changes)
    if form["kind"] != "aar":
        # Only the chosen kind's questions are on its form.
        form = {k: v for k, v in form.items() if not k.startswith("answers.") or k in changes}
    response = small_client.post("/reviews", data=form, follow_redirects=False)
    page = rendered(response, "review_form.html", 422)
    ctx = context(response)
    assert field in ctx["errors"]
    message = assert_error_beside(page, field)
    assert message == ctx["errors"][field]
    alert = page.find(attrs={"role": "alert"})
    assert isinstance(alert, Tag)
    assert alert.find("a", href=f"#{field.replace('.', '-')}") is not None
    assert_kept(page, {k: v for k, v in form.items() if k != "kind"})
    assert set(row_counts(engine).values()) == {0}


def test_review_form_missing_project_error_is_tied_to_a_field(
    client: TestClient, engine: Engine
) -> None:
    form = review_form(**{"project.name": "", "project.unit": "", "project.summary": ""})
    response = client.post("/reviews", data=form)
    page = rendered(response, "review_form.html", 422)
    # A problem with the project as a whole is shown beside the box a person would fill in.
    assert "project.name" in context(response)["errors"]
    assert element(page, id="project-name-error").get_text(strip=True)
    assert page.find(attrs={"aria-describedby": "project-name-error"}) is not None


def test_review_form_error_on_second_lesson_shows_beside_it_when_first_is_blank(
    small_client: TestClient,
) -> None:
    form = review_form(
        **{
            "lessons.0.title": "",
            "lessons.0.observation": "",
            "lessons.0.insight": "",
            "lessons.0.recommendation": "",
            "lessons.0.tags": "",
            "lessons.1.title": "An over-long lesson title",
            "actions.0.lesson_index": "",
        }
    )
    response = small_client.post("/reviews", data=form)
    page = rendered(response, "review_form.html", 422)
    assert_error_beside(page, "lessons.1.title")


def test_review_form_add_lesson_grows_the_form_and_keeps_everything(
    client: TestClient, engine: Engine
) -> None:
    form = review_form(add_lesson="1")
    response = client.post("/reviews", data=form, follow_redirects=False)
    page = rendered(response, "review_form.html")
    assert context(response)["lesson_slots"] == 2
    assert len(page.select("fieldset.lesson")) == 2
    assert_kept(page, {k: v for k, v in form.items() if k not in {"kind", "add_lesson"}})
    assert field_value(page, "lessons.1.title") == ""
    assert field_value(page, "lessons.1.observation") == ""
    assert labelled(page, "lessons.1.title")
    assert page.find("p", class_="error") is None
    assert set(row_counts(engine).values()) == {0}

    grown = {**form, "lessons.1.title": "Second lesson"}
    response = client.post("/reviews", data=grown)
    page = rendered(response, "review_form.html")
    assert len(page.select("fieldset.lesson")) == 3
    assert field_value(page, "lessons.1.title") == "Second lesson"
    # The action can now point at any of the three lessons.
    options = element(page, name="actions.0.lesson_index").find_all("option")
    assert [o["value"] for o in options] == ["", "0", "1", "2"]
    assert set(row_counts(engine).values()) == {0}


def test_review_form_add_action_grows_the_form_and_keeps_everything(
    client: TestClient, engine: Engine
) -> None:
    form = review_form(add_action="1")
    response = client.post("/reviews", data=form)
    page = rendered(response, "review_form.html")
    assert len(page.select("fieldset.action")) == 2
    assert len(page.select("fieldset.lesson")) == 1
    assert field_value(page, "actions.0.what") == "Add a lead-time check"
    assert field_value(page, "actions.1.what") == ""
    assert set(row_counts(engine).values()) == {0}


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        pytest.param(
            [("kind", "aar"), ("lessons", "x"), ("answers", "y"), ("project", "z")],
            {"project.name", "answers"},
            id="groups-sent-as-plain-fields",
        ),
        pytest.param(
            [("kind", "debrief"), ("answers.planned", "p"), ("project.name", "P")],
            {"kind"},
            id="unknown-kind",
        ),
        pytest.param(
            [("kind", "aar"), ("answers.bogus", "p"), ("project.name", "P")],
            {"answers.bogus"},
            id="unknown-question",
        ),
        pytest.param(
            [("kind", "aar"), ("answers", "y"), ("answers.planned", "p"), ("project.name", "P")],
            {"answers"},
            id="group-and-field-with-one-name",
        ),
    ],
)
def test_review_form_tampered_fields_rerender_not_crash(
    client: TestClient, engine: Engine, fields: list[tuple[str, str]], errors: set[str]
) -> None:
    body = "&".join(f"{name}={value}" for name, value in fields)
    response = client.post(
        "/reviews",
        content=body.encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    page = rendered(response, "review_form.html", 422)
    assert set(context(response)["errors"]) == errors
    assert page.find(attrs={"role": "alert"}) is not None
    assert set(row_counts(engine).values()) == {0}


def test_review_form_over_max_request_bytes_is_413_page(
    small_client: TestClient, engine: Engine
) -> None:
    response = small_client.post("/reviews", data=review_form(**{"answers.actual": "x" * 6000}))
    page = rendered(response, "error.html", 413)
    assert "5000" in page.get_text()
    assert set(row_counts(engine).values()) == {0}


# --- before action reviews -----------------------------------------------------------------


def test_bar_form_page_offers_projects(client: TestClient) -> None:
    project_id = post_review(client)["project"]["id"]
    response = client.get(f"/bar/new?project_id={project_id}")
    page = rendered(response, "bar_form.html")
    assert [p.id for p in context(response)["project_choices"]] == [project_id]
    assert "The brief" in labelled(page, "brief")
    assert field_value(page, "project.id") == str(project_id)
    assert labelled(page, "include_unvalidated")


def test_bar_list_page_empty_then_lists_bars(client: TestClient) -> None:
    page = rendered(client.get("/bar"), "bars.html")
    assert "None yet." in page.get_text()
    bar_id = client.post("/api/bar", json={"brief": "Cold chain for a polio round"}).json()["id"]
    response = client.get("/bar")
    page = rendered(response, "bars.html")
    assert [b.id for b in context(response)["bars"]] == [bar_id]
    link = page.find("a", href=f"/bar/{bar_id}")
    assert isinstance(link, Tag)
    assert "Cold chain for a polio round" in page.get_text()


def test_bar_page_shows_results_with_decision_controls(client: TestClient) -> None:
    review = post_review(client)
    lesson_id = review["lessons"][0]["id"]
    validate(client, lesson_id)
    bar = client.post("/api/bar", json={"brief": "cold chain fridges", "run_by": "Jo"}).json()
    response = client.get(f"/bar/{bar['id']}")
    page = rendered(response, "bar.html")
    ctx = context(response)
    assert ctx["bar"] == bar
    assert ctx["saved"] is False
    assert page.find("a", href=f"/lessons/{lesson_id}") is not None
    assert field_value(page, "decisions.0.lesson_id") == str(lesson_id)
    radios = page.find_all("input", attrs={"name": "decisions.0.decision"})
    assert [r["value"] for r in radios] == ["apply", "not_relevant", "note"]
    for radio in radios:
        assert page.find("label", attrs={"for": radio["id"]}) is not None
    people = page.get_text()
    assert "Amina Diallo" in people
    assert "Tom Reyes" in people
    assert "Add a lead-time check to the plan template" in people


def test_bar_page_without_results_says_so(client: TestClient) -> None:
    bar = client.post("/api/bar", json={"brief": "anything"}).json()
    page = rendered(client.get(f"/bar/{bar['id']}"), "bar.html")
    assert "No lessons matched." in page.get_text()
    assert page.select_one("main button[type=submit]") is None


@pytest.mark.parametrize("bar_id", [999, 2**63, 2**64])
def test_bar_page_unknown_id_is_404(client: TestClient, bar_id: int) -> None:
    rendered(client.get(f"/bar/{bar_id}"), "error.html", 404)


@pytest.mark.parametrize(("include", "surfaced"), [(False, False), (True, True)])
def test_bar_form_post_redirects_to_the_recorded_bar(
    client: TestClient, include: bool, surfaced: bool
) -> None:
    lesson_id = post_review(client)["lessons"][0]["id"]  # identified, not validated
    form = {
        "brief": "cold chain fridges late",
        "run_by": "Jo",
        "project.id": "",
        "project.name": "",
    }
    if include:
        form["include_unvalidated"] = "1"
    response = client.post("/bar", data=form, follow_redirects=False)
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/bar/")
    bar = client.get(f"/api{location}").json()
    assert bar["brief"] == "cold chain fridges late"
    assert bar["run_by"] == "Jo"
    assert bar["project"] is None
    assert (lesson_id in [r["id"] for r in bar["results"]]) is surfaced
    rendered(client.get(location), "bar.html")


def test_bar_form_new_project_name_creates_it(client: TestClient, engine: Engine) -> None:
    response = client.post(
        "/bar", data={"brief": "A new thing", "project.name": "Polio round 2026"}
    )
    page = rendered(response, "bar.html")  # followed the redirect
    assert "Polio round 2026" in page.get_text()
    assert row_counts(engine)["project"] == 1


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"brief": "", "run_by": "Jo", "project.name": "Typed project"}, "brief"),
        ({"brief": "   ", "run_by": "Jo"}, "brief"),
        ({"brief": "b" * 101, "run_by": "Jo"}, "brief"),
        ({"brief": "Fridges", "project.id": "999", "run_by": "Jo"}, "project.id"),
    ],
)
def test_bar_form_invalid_rerenders_with_values_and_error(
    small_client: TestClient, engine: Engine, form: dict[str, str], field: str
) -> None:
    response = small_client.post("/bar", data=form, follow_redirects=False)
    page = rendered(response, "bar_form.html", 422)
    assert field in context(response)["errors"]
    assert_error_beside(page, field)
    assert_kept(page, form)
    counts = row_counts(engine)
    assert (counts["bar"], counts["project"]) == (0, 0)


def test_bar_form_tampered_project_field_is_not_a_server_error(
    client: TestClient, engine: Engine
) -> None:
    response = client.post("/bar", data={"brief": "Fridges", "project": "Measles"})
    rendered(response, "bar_form.html", 422)
    assert row_counts(engine)["bar"] == 0


def test_bar_form_limit_above_max_is_refused(
    client: TestClient, engine: Engine, settings: Settings
) -> None:
    response = client.post(
        "/bar",
        data={"brief": "Fridges", "limit": str(settings.bar_max_limit * 100)},
        follow_redirects=False,
    )
    assert response.status_code == 422
    assert row_counts(engine)["bar"] == 0


@pytest.fixture
def bar_with_three(client: TestClient) -> dict[str, Any]:
    # Three different lessons (near-copies would be folded into one result).
    lessons = [
        {"title": title, "observation": observation, "tags": ["cold-chain"]}
        for title, observation in (
            ("Order fridges early", "The fridges arrived after the campaign began."),
            ("Check fridge temperatures", "Nobody logged fridge temperatures at weekends."),
            ("Train fridge staff", "Clinic staff could not reset the fridge alarms."),
        )
    ]
    review = post_review(client, lessons=lessons, actions=[])
    for lesson in review["lessons"]:
        validate(client, lesson["id"])
    bar: dict[str, Any] = client.post("/api/bar", json={"brief": "cold chain fridges"}).json()
    assert len(bar["results"]) == 3
    return bar


def test_bar_decisions_form_saves_each_decision_and_note(
    client: TestClient, bar_with_three: dict[str, Any]
) -> None:
    bar_id = bar_with_three["id"]
    ids = [r["id"] for r in bar_with_three["results"]]
    form = {}
    for i, (lesson_id, decision) in enumerate(
        zip(ids, ["apply", "not_relevant", "note"], strict=True)
    ):
        form[f"decisions.{i}.lesson_id"] = str(lesson_id)
        form[f"decisions.{i}.decision"] = decision
        form[f"decisions.{i}.note"] = f"note {i}"
    response = client.post(f"/bar/{bar_id}/decisions", data=form, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/bar/{bar_id}?saved=1"

    saved = client.get(f"/api/bar/{bar_id}").json()
    assert [(r["id"], r["decision"], r["note"]) for r in saved["results"]] == [
        (ids[0], "apply", "note 0"),
        (ids[1], "not_relevant", "note 1"),
        (ids[2], "note", "note 2"),
    ]
    response = client.get(response.headers["location"])
    page = rendered(response, "bar.html")
    assert context(response)["saved"] is True
    assert page.find(attrs={"role": "status"}) is not None
    checked = page.select("input[type=radio][checked]")
    assert [(r["name"], r["value"]) for r in checked] == [
        ("decisions.0.decision", "apply"),
        ("decisions.1.decision", "not_relevant"),
        ("decisions.2.decision", "note"),
    ]
    assert field_value(page, "decisions.1.note") == "note 1"


def test_bar_decisions_form_some_undecided_saves_only_the_chosen(
    client: TestClient, bar_with_three: dict[str, Any]
) -> None:
    bar_id = bar_with_three["id"]
    ids = [r["id"] for r in bar_with_three["results"]]
    form = {f"decisions.{i}.lesson_id": str(lesson_id) for i, lesson_id in enumerate(ids)}
    form["decisions.1.decision"] = "apply"
    response = client.post(f"/bar/{bar_id}/decisions", data=form, follow_redirects=False)
    assert response.status_code == 303
    saved = client.get(f"/api/bar/{bar_id}").json()
    assert [r["decision"] for r in saved["results"]] == [None, "apply", None]


def test_bar_decisions_form_nothing_chosen_is_422_with_message(
    client: TestClient, engine: Engine, bar_with_three: dict[str, Any]
) -> None:
    bar_id = bar_with_three["id"]
    form = {
        f"decisions.{i}.lesson_id": str(r["id"]) for i, r in enumerate(bar_with_three["results"])
    }
    before = row_counts(engine)
    response = client.post(f"/bar/{bar_id}/decisions", data=form, follow_redirects=False)
    page = rendered(response, "bar.html", 422)
    alert = page.find(attrs={"role": "alert"})
    assert isinstance(alert, Tag)
    assert "Choose apply, not relevant or note" in alert.get_text()
    assert element(page, id="decisions-error").get_text(strip=True)
    assert client.get(f"/api/bar/{bar_id}").json() == bar_with_three
    assert row_counts(engine) == before


def test_bar_decisions_form_rejected_keeps_the_typed_note(
    client: TestClient, bar_with_three: dict[str, Any]
) -> None:
    form = {
        "decisions.0.lesson_id": str(bar_with_three["results"][0]["id"]),
        "decisions.0.note": "Ask Ana about the supplier",
    }
    response = client.post(f"/bar/{bar_with_three['id']}/decisions", data=form)
    page = rendered(response, "bar.html", 422)
    assert field_value(page, "decisions.0.note") == "Ask Ana about the supplier"


def test_bar_decisions_form_rejected_keeps_typed_choices(
    client: TestClient, bar_with_three: dict[str, Any]
) -> None:
    first = bar_with_three["results"][0]["id"]
    form = {
        "decisions.0.lesson_id": str(first),
        "decisions.0.decision": "not_relevant",
        "decisions.0.note": "Different supplier",
        "decisions.1.lesson_id": "999999",
        "decisions.1.decision": "apply",
    }
    response = client.post(f"/bar/{bar_with_three['id']}/decisions", data=form)
    page = rendered(response, "bar.html", 422)
    assert "decisions.1.lesson_id" in context(response)["errors"]
    checked = page.select("input[type=radio][checked]")
    assert [(r["name"], r["value"]) for r in checked] == [("decisions.0.decision", "not_relevant")]
    assert field_value(page, "decisions.0.note") == "Different supplier"
    assert client.get(f"/api/bar/{bar_with_three['id']}").json() == bar_with_three


@pytest.mark.parametrize(
    ("lesson_id", "decision"),
    [("999999", "apply"), ("abc", "apply"), ("FIRST", "maybe")],
)
def test_bar_decisions_form_bad_decision_is_422_and_saves_nothing(
    client: TestClient, bar_with_three: dict[str, Any], lesson_id: str, decision: str
) -> None:
    first = str(bar_with_three["results"][0]["id"])
    form = {
        "decisions.0.lesson_id": first if lesson_id == "FIRST" else lesson_id,
        "decisions.0.decision": decision,
    }
    response = client.post(f"/bar/{bar_with_three['id']}/decisions", data=form)
    page = rendered(response, "bar.html", 422)
    alert = page.find(attrs={"role": "alert"})
    assert isinstance(alert, Tag)
    assert alert.get_text(strip=True)
    assert client.get(f"/api/bar/{bar_with_three['id']}").json() == bar_with_three


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


# --- the 404 page --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/nothing-here", "/lessons/abc", "/projects/1/extra", "/reviews/-1", "/bar/x"]
)
def test_unknown_page_is_404_error_page(client: TestClient, url: str) -> None:
    page = rendered(client.get(url), "error.html", 404)
    h1 = page.find("h1")
    assert isinstance(h1, Tag)
    assert h1.get_text() == "Not found"
    assert page.find("a", href="/") is not None


# --- escaping ------------------------------------------------------------------------------

XSS = "<script>alert(1)</script> <img src=x onerror=alert(1)>"


def assert_no_injected_markup(page: BeautifulSoup) -> None:
    assert page.find("script") is None
    assert page.find(attrs={"onerror": True}) is None
    assert page.find("img") is None


@pytest.fixture
def xss(client: TestClient) -> dict[str, Any]:
    lesson = {
        **review_payload()["lessons"][0],
        "title": f"Fridges late {XSS}",
        "observation": f"The fridges were late. {XSS}",
        "insight": f"Because {XSS}",
        "recommendation": f"Order early {XSS}",
        "tags": ["cold chain", XSS],
    }
    review = post_review(
        client,
        project={"name": f"Measles {XSS}"},
        author=f"Amina {XSS}",
        answers={"planned": f"Plan {XSS}"},
        lessons=[lesson],
    )
    lesson_id = review["lessons"][0]["id"]
    validate(client, lesson_id)
    bar = client.post("/api/bar", json={"brief": f"fridges late {XSS}", "run_by": XSS}).json()
    assert [r["id"] for r in bar["results"]] == [lesson_id]
    return {"review": review, "lesson": lesson_id, "bar": bar["id"]}


@pytest.mark.parametrize(
    "url",
    [
        "/lessons/{lesson}",
        "/reviews/{review}",
        "/lessons",
        "/lessons?status=all",
        "/lessons?q=fridges+late",
        "/projects/{project}",
        "/projects",
        "/bar/{bar}",
        "/bar",
        "/",
        "/actions",
        "/people",
    ],
)
def test_pages_escape_lesson_text(client: TestClient, xss: dict[str, Any], url: str) -> None:
    response = client.get(
        url.format(
            lesson=xss["lesson"],
            review=xss["review"]["id"],
            project=xss["review"]["project"]["id"],
            bar=xss["bar"],
        )
    )
    assert response.status_code == 200
    page = BeautifulSoup(response.text, "html.parser")
    assert_no_injected_markup(page)
    # The text is there, shown as text: the test would see markup if it were not escaped.
    assert "<script>alert(1)</script>" in page.get_text()


def test_search_page_escapes_the_query(client: TestClient) -> None:
    response = client.get("/lessons", params={"q": XSS})
    page = rendered(response, "lessons.html")
    assert_no_injected_markup(page)
    assert field_value(page, "q") == XSS


def test_review_form_rerender_escapes_typed_values(client: TestClient) -> None:
    typed = f'"><{XSS}'
    form = review_form(
        **{
            "answers.planned": "",
            "answers.actual": "",
            "lessons.0.title": typed,
            "lessons.0.observation": typed,
        }
    )
    page = rendered(client.post("/reviews", data=form), "review_form.html", 422)
    assert_no_injected_markup(page)
    assert field_value(page, "lessons.0.title") == typed
    assert field_value(page, "lessons.0.observation") == typed


# --- access: restricted lessons stay out of every page -------------------------------------


@pytest.fixture
def restricted(client: TestClient) -> dict[str, Any]:
    lesson = {
        **review_payload()["lessons"][0],
        "title": "SECRET zebrafish quarantine lesson",
        "sensitivity": "restricted",
    }
    review = post_review(
        client,
        project={"name": "Closed aquarium"},
        lessons=[lesson],
        actions=[{"what": "Fix quarantine", "owner": "Otto", "lesson_index": 0}],
    )
    bar = client.post(
        "/api/bar",
        json={"brief": "zebrafish quarantine", "filters": {"status": ["identified", "validated"]}},
    ).json()
    return {"review": review, "lesson": review["lessons"][0]["id"], "bar": bar["id"]}


@pytest.mark.parametrize(
    "url",
    [
        "/lessons?status=all",
        "/lessons?q=zebrafish+quarantine",
        "/lessons?q=zebrafish&status=identified",
        "/bar/{bar}",
        "/bar",
        "/people",
        "/",
        "/actions",
        "/actions?status=all",
        "/reviews/{review}",
        "/projects/{project}",
    ],
)
def test_pages_never_show_a_restricted_lesson(
    client: TestClient, restricted: dict[str, Any], url: str
) -> None:
    response = client.get(
        url.format(
            review=restricted["review"]["id"],
            project=restricted["review"]["project"]["id"],
            bar=restricted["bar"],
        )
    )
    # A review or project holding only restricted work answers as a missing one (404).
    assert response.status_code == (404 if url.startswith(("/reviews/{", "/projects/{")) else 200)
    assert "SECRET" not in response.text
    page = BeautifulSoup(response.text, "html.parser")
    assert page.find("a", href=f"/lessons/{restricted['lesson']}") is None
