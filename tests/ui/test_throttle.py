"""Search and BAR are rate-limited per signed-in user, else per client address: one caller
past a small configured limit gets 429 with Retry-After; nobody else is slowed (issue 11,
item 14)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from bs4 import BeautifulSoup
from pydantic import ValidationError
from starlette.testclient import TestClient

from lessons.storage.settings import Settings
from retrieval.embedder import HashingEmbedder
from tests.conftest import TOKENS, Client, app_client, review_payload
from ui.app import create_app

SEARCHES, BARS = 3, 2


@pytest.fixture
def tight(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"rate_limit_search": f"{SEARCHES}/minute", "rate_limit_bar": f"{BARS}/minute"}
    )


@pytest.fixture
def casey(tight: Settings) -> Iterator[Client]:
    yield from app_client(tight)


def bearer(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[name]}"}


def assert_refused(response: object, *, api: bool) -> int:
    """A 429 that says when to come back, in the API's error shape or as a page."""
    assert isinstance(response, object)
    status, headers = response.status_code, response.headers  # type: ignore[attr-defined]
    assert status == 429, response.text  # type: ignore[attr-defined]
    wait = int(headers["retry-after"])
    assert 1 <= wait <= 60
    if api:
        error = response.json()["error"]  # type: ignore[attr-defined]
        assert error["code"] == "rate_limited"
        message = error["message"]
    else:
        message = BeautifulSoup(response.text, "html.parser").text  # type: ignore[attr-defined]
    assert f"at most {SEARCHES if 'search' in message else BARS} every minute" in message
    assert "Try again in" in message
    return wait


def test_searching_past_the_limit_is_429_with_retry_after(casey: Client) -> None:
    casey.post("/api/reviews", json=review_payload())
    for _ in range(SEARCHES):
        assert casey.get("/api/lessons?q=fridges").status_code == 200
    assert_refused(casey.get("/api/lessons?q=fridges"), api=True)
    assert_refused(casey.get("/lessons?q=fridges"), api=False)  # the page counts as the API
    # Listing without a query is not a search, and others are not slowed by casey.
    assert casey.get("/api/lessons").status_code == 200
    assert casey.get("/api/lessons?q=fridges", headers=bearer("kim")).status_code == 200


def test_the_search_page_is_limited_too(casey: Client) -> None:
    for _ in range(SEARCHES):
        assert casey.get("/lessons?q=fridges").status_code == 200
    assert_refused(casey.get("/lessons?q=fridges"), api=False)
    assert_refused(casey.get("/api/lessons?q=fridges"), api=True)


def test_a_bar_past_the_limit_is_429_and_the_form_keeps_the_brief(casey: Client) -> None:
    for _ in range(BARS):
        assert casey.post("/api/bar", json={"brief": "Order fridges early"}).status_code == 201
    assert_refused(casey.post("/api/bar", json={"brief": "Order fridges early"}), api=True)
    form = casey.post("/bar", data={"brief": "Plan the cold chain before approval"})
    assert_refused(form, api=False)
    brief = BeautifulSoup(form.text, "html.parser").find(attrs={"name": "brief"})
    assert brief is not None and "Plan the cold chain before approval" in brief.text
    other = casey.post("/api/bar", json={"brief": "Order fridges early"}, headers=bearer("kim"))
    assert other.status_code == 201


def test_visitors_are_counted_by_their_address(tight: Settings) -> None:
    app = create_app(tight, embedder=HashingEmbedder())
    with (
        TestClient(app, base_url="https://testserver", client=("192.0.2.1", 1)) as first,
        TestClient(app, base_url="https://testserver", client=("192.0.2.2", 1)) as second,
    ):
        for _ in range(SEARCHES):
            assert first.get("/api/lessons?q=fridges").status_code == 200
        assert_refused(first.get("/api/lessons?q=fridges"), api=True)
        assert second.get("/api/lessons?q=fridges").status_code == 200
        # A user who signs in from the refused address has a count of their own.
        assert first.get("/api/lessons?q=fridges", headers=bearer("casey")).status_code == 200


def test_no_limit_when_the_setting_is_empty(settings: Settings) -> None:
    unlimited = settings.model_copy(update={"rate_limit_search": ""})
    for client in app_client(unlimited):
        for _ in range(SEARCHES * 3):
            assert client.get("/api/lessons?q=fridges").status_code == 200


@pytest.mark.parametrize("value", ["lots", "60 a minute", "/minute"])
def test_a_limit_that_cannot_be_read_is_refused_at_start(value: str) -> None:
    with pytest.raises(ValidationError, match="rate_limit_bar"):
        Settings(rate_limit_bar=value)
