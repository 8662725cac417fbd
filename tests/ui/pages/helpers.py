"""What the page tests share: the template and context a page rendered, its form fields and
errors, row counts, the demo bank's lessons and actions, and a filled review form."""

from __future__ import annotations

from typing import Any

import httpx
from bs4 import BeautifulSoup, Tag
from sqlalchemy import Engine, func
from sqlmodel import Session, SQLModel, col, select
from starlette.testclient import TestClient

from lessons.storage.models import (
    Action,
    BarItem,
    BeforeActionReview,
    Lesson,
    LessonEvent,
    Person,
    Project,
    Review,
    User,
)
from tests.conftest import DIRECTORY, review_payload

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
        if "person" in counts:  # the template's people (accounts, directory) are not the app's
            counts["person"] -= int(
                session.exec(select(func.count()).where(col(User.person_id).is_not(None))).one()
            ) + len(DIRECTORY)
        return counts


def lesson_links(page: BeautifulSoup) -> list[int]:
    """Ids of lessons linked from the page's lesson lists."""
    ids = []
    for link in page.select("ul.lessons a[href^='/lessons/']"):
        ids.append(int(str(link["href"]).rsplit("/", 1)[-1]))
    return ids


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
        "author": "",  # the signed-in user's own words (issue 15 item 1)
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
        "actions.0.due": "2031-09-30",
        "actions.0.lesson_index": "0",
    }
    form.update(changes)
    return form
