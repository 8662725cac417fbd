"""Whole numbers from query strings and forms are read one way (lessons.numbers): a value that
is not one is a 4xx naming the parameter in words, never a 5xx (issue 11, item 15)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import pytest
from bs4 import BeautifulSoup
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from lessons.numbers import read_whole
from lessons.storage.settings import Settings
from tests.conftest import Client, app_client, review_payload

# '²' and '٣' pass str.isdigit; int() refuses the first and reads the second as 3.
NOT_NUMBERS = ["²", "٣", "1_000", "+1", "-1", "1.0", "0x1", "", " ", "1 2", "½", "9" * 30]


@pytest.mark.parametrize("raw", NOT_NUMBERS)
def test_only_ascii_digits_are_whole_numbers(raw: str) -> None:
    assert read_whole(raw) is None


@pytest.mark.parametrize(("raw", "value"), [("0", 0), (" 7 ", 7), ("0042", 42)])
def test_ascii_digits_are_read(raw: str, value: int) -> None:
    assert read_whole(raw) == value


def test_a_whole_number_out_of_range_is_refused() -> None:
    assert read_whole("11", low=0, high=10) is None
    assert read_whole("0", low=1) is None
    assert read_whole(str(2**63)) is None


@pytest.fixture
def admin(settings: Settings) -> Iterator[Client]:
    """Signed in as an admin, so every route (curator and admin ones too) reads its numbers."""
    yield from app_client(settings, as_user="ada")


def _lesson(client: Client) -> int:
    made = client.post("/api/reviews", json=review_payload())
    assert made.status_code == 201, made.text
    lesson_id: int = made.json()["lessons"][0]["id"]
    return lesson_id


@pytest.fixture
def lesson_id(admin: Client) -> int:
    return _lesson(admin)


# Every query parameter the app reads as an integer: (path, parameter).
QUERY_INTEGERS = [
    ("/lessons", "page"),
    ("/feeds/lessons.atom", "project"),
    ("/actions", "owner_id"),
    ("/actions", "project_id"),
    ("/api/actions", "owner_id"),
    ("/api/actions", "project_id"),
    ("/reviews/new", "project_id"),
    ("/bar/new", "project_id"),
    ("/admin/audit", "entity_id"),
    ("/curate", "page"),
    ("/curate", "done"),
    ("/api/curation/queue", "offset"),
    ("/api/curation/queue", "limit"),
    ("/api/lessons/{lesson}/tag-suggestions", "limit"),
    ("/api/lessons", "limit"),
    ("/api/lessons", "offset"),
    ("/api/lessons", "project_id"),
    ("/api/lessons/{lesson}/similar", "limit"),
    ("/api/lessons/{lesson}/duplicates", "limit"),
    ("/api/curation/duplicates", "limit"),
    ("/api/curation/duplicates", "offset"),
    ("/curate/duplicates", "page"),
    ("/curate/duplicates", "merged"),
    ("/lessons/{lesson}", "merged"),
    ("/lessons/{lesson}", "undone"),
    ("/curate/merge", "lessons"),
]
# Those read through ui.shared.params, answering a bad value with the same 422 (the app's own
# redirect markers too); `lessons` is a choice of ids, refused with its own message.
ANSWERED = [pair for pair in QUERY_INTEGERS if pair[1] != "lessons"]


@pytest.mark.parametrize(("path", "name"), ANSWERED)
def test_a_unicode_digit_is_a_4xx_naming_the_parameter(admin: Client, path: str, name: str) -> None:
    url = path.format(lesson=_lesson(admin))
    response = admin.get(f"{url}?{name}=%C2%B2")  # '²'
    assert response.status_code == 422, response.text
    if url.startswith("/api"):
        error = response.json()["error"]
        assert error["code"] == "invalid" and name in error["fields"]
        assert "whole number" in error["message"]
    else:
        assert "must be a whole number" in BeautifulSoup(response.text, "html.parser").text


@given(raw=st.text(max_size=30))
@hypothesis_settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_any_text_to_any_integer_parameter_is_never_a_5xx(
    admin: Client, lesson_id: int, raw: str
) -> None:
    for path, name in QUERY_INTEGERS:
        response = admin.get(f"{path.format(lesson=lesson_id)}?{name}={quote(raw)}")
        assert response.status_code < 500, (path, name, raw)
        if read_whole(raw) is None and (path, name) in ANSWERED and raw.strip():
            assert 400 <= response.status_code < 500, (path, name, raw)


@pytest.mark.parametrize("raw", ["²", "٣", "11"])
def test_a_score_answer_that_is_not_0_to_10_is_refused_in_words(client: Client, raw: str) -> None:
    api = client.post(
        "/api/reviews", json=review_payload(answers={"score": raw}, kind="retrospect")
    )
    assert api.status_code == 422, api.text
    assert api.json()["error"]["fields"]["answers.score"] == "a whole number from 0 to 10"
    form = client.post(
        "/reviews",
        data={
            "kind": "retrospect",
            "project.name": "Pumps",
            "answers.score": raw,
            "lessons.0.title": "T",
        },
    )
    assert form.status_code == 422
    soup = BeautifulSoup(form.text, "html.parser")
    assert "a whole number from 0 to 10" in soup.text
    typed = soup.find(attrs={"name": "answers.score"})
    assert typed is not None and typed.get("value") == raw


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/taxonomy/terms", "scheme_id"),
        ("/taxonomy/terms", "parent_id"),
        ("/taxonomy/adopt", "scheme_id"),
        ("/taxonomy/adopt", "parent_id"),
    ],
)
def test_taxonomy_forms_refuse_a_unicode_digit_in_words(
    admin: Client, path: str, field: str
) -> None:
    data = {"form": "f", "scheme_id": "1", "name": "Fridges", "tag": "fridges", field: "²"}
    response = admin.post(path, data=data)
    assert response.status_code == 422, response.text
    assert "Choose from the list." in BeautifulSoup(response.text, "html.parser").text


def test_merge_form_refuses_a_unicode_digit_as_its_choice(admin: Client) -> None:
    first, second = _lesson(admin), _lesson(admin)
    response = admin.post(
        "/curate/merge",
        data={"lessons": [str(first), str(second)], "canonical": "²", "keep_text": "²"},
    )
    assert response.status_code == 422, response.text
    assert "Choose which lesson to keep." in BeautifulSoup(response.text, "html.parser").text


def test_curation_form_with_a_tampered_page_is_refused_like_the_query(admin: Client) -> None:
    lesson = _lesson(admin)
    response = admin.post(
        f"/curate/lessons/{lesson}/validate", data={"page": "²", "decision": "nonsense"}
    )
    assert response.status_code == 422, response.text
    assert "The page number must be a whole number" in response.text


@pytest.mark.parametrize(("path", "limit"), [("/api/curation/queue", "0"), ("/api/lessons", "0")])
def test_a_limit_of_zero_is_refused_on_every_paged_list(
    admin: Client, path: str, limit: str
) -> None:
    response = admin.get(f"{path}?limit={limit}")
    assert response.status_code == 422, response.text
    assert "limit" in response.json()["error"]["fields"]
