"""Requests every /api route refuses alike: bodies that are not JSON or too large, wrong methods,
unknown paths and unknown ids; each leaves the database as it was."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from tests.conftest import review_payload
from tests.ui.api.helpers import BIG_IDS, Bank, assert_error, get_json, row_counts

# --- request bodies for every write endpoint ----------------------------------------------


def write_endpoints(bank: Bank) -> list[tuple[str, str]]:
    return [
        ("POST", "/api/reviews"),
        ("PATCH", f"/api/lessons/{bank.fridges}"),
        ("POST", f"/api/lessons/{bank.fridges}/transition"),
        ("POST", "/api/bar"),
        ("POST", f"/api/bar/{bank.bar['id']}/decisions"),
    ]


@pytest.mark.parametrize("endpoint", range(5))
@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        pytest.param(b"", "application/json", id="empty"),
        pytest.param(b"   \n", "application/json", id="whitespace"),
        pytest.param(b"{", "application/json", id="truncated-json"),
        pytest.param(b"{'kind': 'aar'}", "application/json", id="single-quotes"),
        pytest.param(b"\xff\xfe\x00", "application/json", id="not-utf8"),
        pytest.param(b"[]", "application/json", id="array"),
        pytest.param(b'[{"kind": "aar"}]', "application/json", id="array-of-object"),
        pytest.param(b'"text"', "application/json", id="string"),
        pytest.param(b"null", "application/json", id="null"),
        pytest.param(b"42", "application/json", id="number"),
        pytest.param(b"kind=aar", "application/x-www-form-urlencoded", id="form-encoded"),
    ],
)
def test_write_endpoint_bad_json_is_400_and_changes_nothing(
    client: TestClient, engine: Engine, bank: Bank, endpoint: int, body: bytes, content_type: str
) -> None:
    method, url = write_endpoints(bank)[endpoint]
    before = row_counts(engine)
    lesson_before = get_json(client, f"/api/lessons/{bank.fridges}")
    # As a curator, who may call every write endpoint: the body is what is under test.
    headers = {**client.curator, "content-type": content_type}
    response = client.request(method, url, content=body, headers=headers)
    assert_error(response, 400, code="invalid_json")
    assert row_counts(engine) == before
    assert get_json(client, f"/api/lessons/{bank.fridges}") == lesson_before


@pytest.mark.parametrize("endpoint", range(5))
def test_write_endpoint_body_over_max_request_bytes_is_413(
    small_client: TestClient, engine: Engine, endpoint: int
) -> None:
    review = small_client.post("/api/reviews", json=review_payload()).json()
    lesson_id = review["lessons"][0]["id"]
    bar = small_client.post("/api/bar", json={"brief": "fridges"}).json()
    urls = [
        ("POST", "/api/reviews"),
        ("PATCH", f"/api/lessons/{lesson_id}"),
        ("POST", f"/api/lessons/{lesson_id}/transition"),
        ("POST", "/api/bar"),
        ("POST", f"/api/bar/{bar['id']}/decisions"),
    ]
    method, url = urls[endpoint]
    before = row_counts(engine)
    # Valid JSON, so only its size can be the problem.
    body = b'{"padding": "' + b"x" * 5000 + b'"}'
    # As a curator, who may call every write endpoint: the body is what is under test.
    headers = {**small_client.curator, "content-type": "application/json"}
    response = small_client.request(method, url, content=body, headers=headers)
    error = assert_error(response, 413, code="too_large")
    assert "5000" in error["message"]
    assert row_counts(engine) == before


def test_write_endpoint_streamed_body_over_limit_is_413_without_content_length(
    small_client: TestClient, engine: Engine
) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"brief": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}'

    response = small_client.post(
        "/api/bar", content=chunks(), headers={"content-type": "application/json"}
    )
    assert_error(response, 413, code="too_large")
    assert row_counts(engine)["bar"] == 0


def test_write_endpoint_body_just_under_max_request_bytes_is_read(
    small_client: TestClient,
) -> None:
    body = b'{"brief": "fridges ' + b"x" * 100 + b'"}'
    body += b" " * (5000 - len(body))
    assert len(body) == 5000
    response = small_client.post(
        "/api/bar", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("PUT", "/api/reviews"),
        ("DELETE", "/api/lessons/1"),
        ("GET", "/api/bar"),
        ("POST", "/api/lessons"),
    ],
)
def test_api_wrong_method_is_405_json(client: TestClient, method: str, url: str) -> None:
    assert_error(client.request(method, url), 405, code="method_not_allowed")


@pytest.mark.parametrize(
    "url", ["/api/nothing", "/api/lessons/abc", "/api/lessons/-1", "/api/bar/1.5", "/api/"]
)
def test_api_unknown_path_is_404_json(client: TestClient, url: str) -> None:
    assert_error(client.get(url), 404, code="not_found")


# --- unknown ids ---------------------------------------------------------------------------

VALID_BODIES: dict[str, dict[str, Any]] = {
    "patch": {"title": "A new title"},
    "transition": {"to": "validated"},
    "decisions": {"decisions": [{"lesson_id": 1, "decision": "apply"}]},
}


@pytest.mark.parametrize("missing", [0, 999, 2**63 - 1, *BIG_IDS])
@pytest.mark.parametrize(
    ("method", "template", "body"),
    [
        ("GET", "/api/lessons/{id}", None),
        ("PATCH", "/api/lessons/{id}", "patch"),
        ("POST", "/api/lessons/{id}/transition", "transition"),
        ("GET", "/api/lessons/{id}/similar", None),
        ("GET", "/api/bar/{id}", None),
        ("POST", "/api/bar/{id}/decisions", "decisions"),
    ],
)
def test_api_unknown_id_is_404_and_changes_nothing(
    client: TestClient,
    engine: Engine,
    bank: Bank,
    missing: int,
    method: str,
    template: str,
    body: str | None,
) -> None:
    before = row_counts(engine)
    url = template.format(id=missing)
    response = client.request(
        method, url, json=VALID_BODIES[body] if body else None, headers=client.curator
    )
    assert_error(response, 404, code="not_found")
    assert row_counts(engine) == before


def test_a_nul_character_is_refused_by_its_field_and_changes_nothing(
    client: TestClient, engine: Engine, bank: Bank
) -> None:
    """PostgreSQL text cannot hold NUL: refused on both backends, naming the field, never a 500."""
    before = row_counts(engine)
    response = client.patch(
        f"/api/lessons/{bank.fridges}", json={"title": "Fridge\x00 alarms"}, headers=client.curator
    )
    error = assert_error(response, 422, field="title")
    assert "NUL" in str(error["fields"]["title"])
    assert row_counts(engine) == before
