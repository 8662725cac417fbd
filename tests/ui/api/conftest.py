"""Fixtures of the JSON API tests: a small bank, and the app with tight limits."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from lessons.storage.settings import Settings
from tests.conftest import app_client
from tests.ui.api.helpers import COLD_ROOMS, VOLUNTEERS, Bank, lesson_in, move, post_review


@pytest.fixture
def bank(client: TestClient) -> Bank:
    review = post_review(client, lessons=[lesson_in(), COLD_ROOMS, VOLUNTEERS])
    fridges, cold_rooms, volunteers = (le["id"] for le in review["lessons"])
    move(client, fridges, "validated")
    move(client, cold_rooms, "validated")
    response = client.post("/api/bar", json={"brief": "cold chain fridges for a vaccine campaign"})
    assert response.status_code == 201, response.text
    return Bank(review, fridges, cold_rooms, volunteers, response.json())


@pytest.fixture
def small_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "max_text_chars": 200,
            "max_title_chars": 60,
            "max_brief_chars": 150,
            "max_items": 3,
            "max_request_bytes": 5000,
            "bar_max_limit": 5,
        }
    )


@pytest.fixture
def small_client(small_settings: Settings) -> Iterator[TestClient]:
    """The app with tight limits, on the same database file as `settings`."""
    yield from app_client(small_settings)
