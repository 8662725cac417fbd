"""Every page escapes what users typed: lesson text, a search, a form shown again."""

from __future__ import annotations

from typing import Any

import pytest
from bs4 import BeautifulSoup
from starlette.testclient import TestClient

from tests.conftest import review_payload
from tests.ui.pages.helpers import field_value, post_review, rendered, review_form, validate

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
