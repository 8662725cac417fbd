"""Restricted lessons stay out of every page."""

from __future__ import annotations

from typing import Any

import pytest
from bs4 import BeautifulSoup
from starlette.testclient import TestClient

from tests.conftest import add_people, review_payload
from tests.ui.pages.helpers import post_review

# --- access: restricted lessons stay out of every page -------------------------------------


@pytest.fixture
def restricted(client: TestClient) -> dict[str, Any]:
    lesson = {
        **review_payload()["lessons"][0],
        "title": "SECRET zebrafish quarantine lesson",
        "sensitivity": "restricted",
    }
    add_people(client, "Otto")
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
