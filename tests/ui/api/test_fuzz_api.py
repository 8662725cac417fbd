"""Property-based bad input (DESIGN.md, The API: "never a 5xx for bad input").

Hypothesis sends arbitrary JSON and near-valid bodies to every write endpoint of the API, as
contributor `casey` (session and CSRF) and as curator `kim` (bearer token, no cookies); garbage
forms to the HTML forms; and schemathesis drives every operation of `/api/openapi.json`. No
answer may be a 5xx; a refused API request answers `{"error": {"code", "message", "fields"}}`
and leaves every table exactly as it was.

The fuzzing tests share one bank per module on purpose: each request is checked against a
snapshot of every table taken just before it, so no test needs a bank of its own, and none
pays for its own sign-ins (argon2 is slow by design). Tests whose outcome depends on the bank's
state (a valid body is accepted) get a fresh database each. The examples are the same on every
run (`derandomize`); set `LESSONBANK_FUZZ_EXAMPLES` to explore more locally.
"""

from __future__ import annotations

import copy
import gc
import hashlib
import json
import operator
import os
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.python import asgi as schemathesis_asgi
from sqlalchemy import Engine, inspect
from starlette.routing import Route

from lessons.storage.db import make_engine
from lessons.storage.models import (
    Decision,
    LessonStatus,
    Perspective,
    Polarity,
    ReviewKind,
    Sensitivity,
)
from lessons.storage.settings import Settings
from retrieval.embedder import HashingEmbedder
from tests.conftest import TOKENS, Client, app_client, review_payload, settings_for
from tests.databases import databases
from ui.api.openapi import openapi
from ui.app import create_app

EXAMPLES = int(os.environ.get("LESSONBANK_FUZZ_EXAMPLES", "30"))
FUZZ = hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    # The same examples on every run, so CI passes or fails on the code alone; and no
    # .hypothesis/ folder left in the work tree.
    derandomize=True,
    database=None,
)

# --- strategies ----------------------------------------------------------------------------------

ENUM_WORDS = sorted(
    str(v)
    for enum in (Decision, LessonStatus, Perspective, Polarity, ReviewKind, Sensitivity)
    for v in enum
)
WEIRD_TEXT = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "\t\r\n",
        "😀",
        "\u202e\u0301",
        "\uff46\uff55\uff4c\uff4c",  # full-width letters
        "<script>alert(1)</script>",
        "' OR 1=1 --",
        '"; DROP TABLE lesson; --',
        "NaN",
        "null",
        "-1",
        "9" * 40,
        "2025-02-30",
        "0000-00-00",
        "../../etc/passwd",
        "%00",
        "{{ 7*7 }}",
        "lessons.0.title",
        *ENUM_WORDS,
    ]
)
# Lone surrogates are valid JSON escapes but not text: they reach the app only through JSON.
SURROGATES = st.sampled_from(["\ud800", "a\udfffb", "\udbff\udfff"])
# Long strings around each limit: title (200), free text and brief (20,000), and past the
# 2,000,000-byte request cap (é is two bytes, 😀 four).
HUGE_TEXT = st.builds(
    operator.mul,
    st.sampled_from(["x", "é", "😀", " "]),
    st.sampled_from([201, 1_001, 20_001, 200_000, 600_000]),
)
EDGE_INTS = st.sampled_from(
    [-1, 0, 1, 2**31, 2**53 + 1, 2**63 - 1, 2**63, 2**64, -(2**63) - 1, 10**100]
)
TEXT = st.text(max_size=40) | WEIRD_TEXT | HUGE_TEXT
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | EDGE_INTS
    | st.floats()  # NaN and ±Infinity too: Python's JSON reads them
    | TEXT
)
KEYS = st.text(max_size=12) | st.sampled_from(
    ["id", "title", "lessons", "brief", "to", "__proto__"]
)
# Shallow on purpose: nesting deep enough to exhaust the recursion limit is its own test below.
JSON_VALUES = st.recursive(
    SCALARS | SURROGATES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=10,
)
WRONG_VALUES = JSON_VALUES | st.sampled_from([[], {}, [None], {"": None}])


def _slots(value: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) in a JSON document: the places a mutation may touch."""
    found: list[tuple[Any, Any]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            found.append((value, key))
            found += _slots(item)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.append((value, index))
            found += _slots(item)
    return found


@st.composite
def near_valid(draw: st.DrawFn, base: dict[str, Any]) -> Any:
    """`base` with one to four things wrong: a value of the wrong type or size, a key
    dropped, an unknown key added, or a value wrapped in a list or nulled."""
    body = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 4))):
        slots = _slots(body)
        if not slots:
            break
        container, key = draw(st.sampled_from(slots))
        action = draw(st.sampled_from(["replace", "replace", "drop", "extra", "wrap", "null"]))
        # Copies: a drawn list or dict may be the strategy's own object, and later mutations
        # must not change what the strategy hands out.
        if action == "replace":
            container[key] = copy.deepcopy(draw(WRONG_VALUES))
        elif action == "drop":
            del container[key]
        elif action == "extra" and isinstance(container, dict):
            container[draw(KEYS)] = copy.deepcopy(draw(WRONG_VALUES))
        elif action == "wrap":
            container[key] = [container[key]]
        else:
            container[key] = None
    return body


# --- the bank and the requests -------------------------------------------------------------------


@dataclass
class World:
    """A small bank: casey's own lesson (identified), a validated one, and casey's BAR."""

    own_lesson: int
    validated_lesson: int
    bar: int


def make_world(client: Client) -> World:
    body = review_payload(author=None)  # written by casey, so casey may edit it
    body["lessons"].append(
        {**body["lessons"][0], "title": "Fridges need a buffer", "sensitivity": "public"}
    )
    made = client.post("/api/reviews", json=body)
    assert made.status_code == 201, made.text
    own, other = (lesson["id"] for lesson in made.json()["lessons"])
    step = client.post(
        f"/api/lessons/{other}/transition", json={"to": "validated"}, headers=client.curator
    )
    assert step.status_code == 200, step.text
    bar = client.post("/api/bar", json={"brief": "cold-chain fridges buffer"})
    assert bar.status_code == 201, bar.text
    assert other in {r["id"] for r in bar.json()["results"]}
    return World(own_lesson=own, validated_lesson=other, bar=bar.json()["id"])


@pytest.fixture
def fresh_world(client: Client) -> World:
    """A bank of its own, for the tests that a valid request is accepted."""
    return make_world(client)


@pytest.fixture(scope="module")
def shared_settings(tmp_path_factory: pytest.TempPathFactory, migrated_template: str) -> Settings:
    return settings_for(databases().copy(migrated_template, tmp_path_factory.mktemp("fuzz")))


@pytest.fixture(scope="module")
def casey(shared_settings: Settings) -> Iterator[Client]:
    """Contributor casey, signed in with a session (so CSRF applies)."""
    yield from app_client(shared_settings)


@pytest.fixture(scope="module")
def world(casey: Client) -> World:
    return make_world(casey)


@pytest.fixture(scope="module")
def kim(shared_settings: Settings, world: World) -> Iterator[Client]:
    """Curator kim, signed in with a session: the transition form is hers."""
    yield from app_client(shared_settings, as_user="kim")


@pytest.fixture(scope="module")
def curator_api(shared_settings: Settings, world: World) -> Iterator[Client]:
    """The shared bank through a client that never signs in: only the bearer token counts."""
    yield from app_client(shared_settings, as_user=None)


@pytest.fixture(scope="module")
def visitor(shared_settings: Settings, world: World) -> Iterator[Client]:
    """Nobody signed in: the sign-in form is open to anyone."""
    yield from app_client(shared_settings, as_user=None)


@pytest.fixture(scope="module")
def db(shared_settings: Settings) -> Iterator[Engine]:
    """The shared bank's database, for snapshots."""
    engine = make_engine(shared_settings.database_url)
    yield engine
    engine.dispose()


def endpoints(world: World) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """Every write endpoint of the API, with a valid body to start mutating from."""
    return {
        "review": ("POST", "/api/reviews", review_payload()),
        "patch": (
            "PATCH",
            f"/api/lessons/{world.own_lesson}",
            {
                "title": "Order fridges early",
                "observation": "They came late.",
                "polarity": "sustain",
                "perspective": "technical_programmatic",
                "tags": ["cold chain"],
                "sensitivity": "internal",
                "review_due": "2030-01-31",
            },
        ),
        "transition": (
            "POST",
            f"/api/lessons/{world.own_lesson}/transition",
            {"to": "validated", "reason": "Checked with the team."},
        ),
        "bar": (
            "POST",
            "/api/bar",
            {
                "brief": "Cold chain fridges for a new campaign",
                "limit": 5,
                "run_by": "Tom",
                "project": {"name": "Measles catch-up 2025", "unit": "Public Health"},
                "filters": {
                    "status": ["validated"],
                    "tags": ["cold-chain"],
                    "polarity": "improve",
                    "perspective": "operational",
                    "project_id": 1,
                    "unit": "Public Health",
                },
            },
        ),
        "decisions": (
            "POST",
            f"/api/bar/{world.bar}/decisions",
            {
                "decisions": [
                    {"lesson_id": world.validated_lesson, "decision": "apply", "note": "ok"}
                ]
            },
        ),
    }


ENDPOINTS = ("review", "patch", "transition", "bar", "decisions")
ACTORS = ("casey", "curator")


def snapshot(engine: Engine) -> dict[str, tuple[int, str]]:
    """Rows and a digest of their content, per table. Bearer tokens record when they were
    last used, so that table is compared by its row count alone."""
    tables: dict[str, tuple[int, str]] = {}
    with engine.connect() as connection:
        for name in inspect(connection).get_table_names():
            rows = connection.exec_driver_sql(f'SELECT * FROM "{name}"').fetchall()
            digest = "" if name == "api_token" else repr(sorted(repr(tuple(r)) for r in rows))
            tables[name] = (len(rows), hashlib.sha256(digest.encode()).hexdigest())
    return tables


def assert_error_shape(content_type: str, content: bytes) -> None:
    """A refusal is `{"error": {"code", "message", "fields"}}`, as the OpenAPI document says."""
    assert content_type.startswith("application/json"), content[:500]
    body = json.loads(content)
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "fields"}, error
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"].strip()
    assert isinstance(error["fields"], dict)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in error["fields"].items())


def send_json(
    actor: str, casey: Client, api: Client, method: str, url: str, raw: bytes
) -> httpx.Response:
    headers = {"content-type": "application/json"}
    if actor == "casey":
        return casey.request(method, url, content=raw, headers=headers)
    api.cookies.clear()
    curator = {"Authorization": f"Bearer {TOKENS['kim']}"}
    return api.request(method, url, content=raw, headers=headers | curator)


def check_api_answer(response: httpx.Response, engine: Engine, before: Any) -> None:
    """Never a 5xx; a refusal has the error shape and changed nothing."""
    assert response.status_code < 500, response.text[:500]
    if response.status_code >= 400:
        assert_error_shape(response.headers.get("content-type", ""), response.content)
        assert snapshot(engine) == before, f"a refused request ({response.status_code}) wrote"
    else:
        assert isinstance(response.json(), dict)


def encode(value: Any) -> bytes:
    # ensure_ascii: lone surrogates travel as \\ud800 escapes, as any JSON client may send them
    return json.dumps(value, ensure_ascii=True, allow_nan=True).encode()


def test_snapshot_sees_a_write(casey: Client, db: Engine) -> None:
    """The 'database unchanged' checks below rest on this: a write changes the snapshot."""
    before = snapshot(db)
    made = casey.post("/api/bar", json={"brief": "snapshot check"})
    assert made.status_code == 201, made.text
    assert snapshot(db) != before


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_write_endpoint_base_body_is_accepted(
    endpoint: str, client: Client, anon_client: Client, fresh_world: World
) -> None:
    """The near-valid bodies start from a valid one: the one that is accepted here."""
    method, url, base = endpoints(fresh_world)[endpoint]
    actor = "curator" if endpoint == "transition" else "casey"
    response = send_json(actor, client, anon_client, method, url, encode(base))
    assert response.status_code in (200, 201), response.text


# --- (a) the JSON API ----------------------------------------------------------------------------


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
@FUZZ
@given(body=JSON_VALUES)
def test_write_endpoint_arbitrary_json_never_a_server_error(
    endpoint: str,
    actor: str,
    body: Any,
    casey: Client,
    curator_api: Client,
    db: Engine,
    world: World,
) -> None:
    method, url, _ = endpoints(world)[endpoint]
    before = snapshot(db)
    response = send_json(actor, casey, curator_api, method, url, encode(body))
    check_api_answer(response, db, before)


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
@FUZZ
@given(data=st.data())
def test_write_endpoint_near_valid_body_never_a_server_error(
    endpoint: str,
    actor: str,
    data: st.DataObject,
    casey: Client,
    curator_api: Client,
    db: Engine,
    world: World,
) -> None:
    method, url, base = endpoints(world)[endpoint]
    body = data.draw(near_valid(base), label="body")
    before = snapshot(db)
    response = send_json(actor, casey, curator_api, method, url, encode(body))
    check_api_answer(response, db, before)


RAW_BODIES = st.binary(max_size=200) | st.sampled_from(
    [b"", b" ", b"{", b"[]", b"null", b"\xff\xfe{}", b'{"a": 1}garbage', b"\x00" * 10, b"1e999"]
)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@FUZZ
@given(raw=RAW_BODIES, content_type=st.sampled_from(["application/json", "text/plain", ""]))
def test_write_endpoint_raw_bytes_never_a_server_error(
    endpoint: str, raw: bytes, content_type: str, casey: Client, db: Engine, world: World
) -> None:
    method, url, _ = endpoints(world)[endpoint]
    before = snapshot(db)
    response = casey.request(method, url, content=raw, headers={"content-type": content_type})
    check_api_answer(response, db, before)


PARSER_LIMITS = {
    "nested-objects": b'{"a":' * 5_000 + b"1" + b"}" * 5_000,
    "nested-arrays": b"[" * 50_000 + b"]" * 50_000,
    "5000-digit-int": b'{"brief": "x", "limit": 1' + b"0" * 5_000 + b"}",
}


@pytest.mark.parametrize("body", PARSER_LIMITS.values(), ids=PARSER_LIMITS.keys())
def test_write_endpoint_json_past_the_parser_limits_is_a_client_error(
    body: bytes, casey: Client, curator_api: Client, db: Engine, world: World
) -> None:
    for endpoint in ENDPOINTS:
        method, url, _ = endpoints(world)[endpoint]
        actor = "curator" if endpoint == "transition" else "casey"  # casey is refused unread
        before = snapshot(db)
        response = send_json(actor, casey, curator_api, method, url, body)
        assert response.status_code == 400, (endpoint, response.text[:300])
        check_api_answer(response, db, before)


# --- (b) the HTML forms --------------------------------------------------------------------------

FORM_FIELDS = [
    *["kind", "held_on", "author", "add_lesson", "add_action", "csrftoken"],
    *[f"project.{f}" for f in ("id", "name", "unit", "summary", "start_date", "end_date", "tags")],
    *[f"answers.{q}" for q in ("planned", "actual", "why", "sustain", "improve", "score", "x")],
    *[
        f"lessons.{i}.{f}"
        for i in (0, 1, 7)
        for f in (
            "title",
            "observation",
            "insight",
            "recommendation",
            "polarity",
            "perspective",
            "tags",
            "sensitivity",
            "review_due",
        )
    ],
    *[f"actions.{i}.{f}" for i in (0, 1) for f in ("what", "owner", "due", "lesson_index")],
    *["brief", "limit", "run_by", "include_unvalidated"],
    *[f"filters.{f}" for f in ("status", "tags", "polarity", "perspective", "project_id", "unit")],
    *[f"decisions.{i}.{f}" for i in (0, 1) for f in ("lesson_id", "decision", "note")],
    *["to", "reason", "lessons", "actions", "decisions", "project", "answers", "filters"],
]
SEGMENTS = st.sampled_from(["lessons", "actions", "0", "1", "99999999999999999999", "", "x", "id"])
DOTTED = st.lists(SEGMENTS, min_size=1, max_size=6).map(".".join)
FIELD_NAMES = st.sampled_from(FORM_FIELDS) | DOTTED | st.text(max_size=15)
FORM_TEXT = (
    st.text(max_size=40)
    | WEIRD_TEXT
    | st.builds(operator.mul, st.sampled_from(["x", "é"]), st.sampled_from([201, 20_001, 300_000]))
)
FORMS = st.dictionaries(FIELD_NAMES, st.lists(FORM_TEXT, min_size=1, max_size=3), max_size=12)


def valid_forms(world: World) -> dict[str, tuple[str, str, dict[str, list[str]]]]:
    """Every HTML form that writes, the user who may submit it, and a valid submission."""
    return {
        "review": (
            "casey",
            "/reviews",
            {
                "kind": ["aar"],
                "project.name": ["Measles catch-up 2025"],
                "answers.planned": ["Vaccinate 40,000 children."],
                "lessons.0.title": ["Order fridges early"],
                "lessons.0.tags": ["cold chain, procurement"],
                "actions.0.what": ["Add a lead-time check"],
                "actions.0.lesson_index": ["0"],
            },
        ),
        "bar": ("casey", "/bar", {"brief": ["Cold chain fridges"], "limit": ["5"]}),
        "decisions": (
            "casey",
            f"/bar/{world.bar}/decisions",
            {
                "decisions.0.lesson_id": [str(world.validated_lesson)],
                "decisions.0.decision": ["apply"],
                "decisions.0.note": ["ok"],
            },
        ),
        "transition": (
            "kim",
            f"/lessons/{world.own_lesson}/transition",
            {"to": ["validated"], "reason": ["Checked."]},
        ),
    }


FORM_NAMES = ("review", "bar", "decisions", "transition")


def form_user(user: str, casey: Client, kim: Client) -> Client:
    return kim if user == "kim" else casey


def post_form(who: Client, url: str, form: dict[str, list[str]]) -> httpx.Response:
    return who.post(url, data=form, follow_redirects=False)


def check_form_answer(response: httpx.Response, engine: Engine, before: Any) -> None:
    """Never a 5xx; anything but the redirect that follows a save changed nothing."""
    assert response.status_code < 500, response.text[:500]
    if response.status_code != 303:
        assert snapshot(engine) == before, f"an unsaved form ({response.status_code}) wrote"


@pytest.mark.parametrize("form_name", FORM_NAMES)
def test_html_form_valid_submission_is_saved(
    form_name: str, client: Client, settings: Settings, fresh_world: World
) -> None:
    """The fuzzed forms start from a valid submission: the one saved here."""
    user, url, valid = valid_forms(fresh_world)[form_name]
    for kim in app_client(settings, as_user="kim"):
        response = post_form(form_user(user, client, kim), url, valid)
        assert response.status_code == 303, response.text[:500]


@pytest.mark.parametrize("form_name", FORM_NAMES)
@FUZZ
@given(fields=FORMS, keep_valid=st.booleans())
def test_html_form_arbitrary_fields_never_a_server_error(
    form_name: str,
    fields: dict[str, list[str]],
    keep_valid: bool,
    casey: Client,
    kim: Client,
    db: Engine,
    world: World,
) -> None:
    user, url, valid = valid_forms(world)[form_name]
    form = {**valid, **fields} if keep_valid else fields
    before = snapshot(db)
    response = post_form(form_user(user, casey, kim), url, form)
    check_form_answer(response, db, before)


FORM_CONTENT_TYPES = st.sampled_from(
    [
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
        "multipart/form-data",
        "text/plain",
        "",
    ]
)
# Multipart bodies are refused before any handler reads them (a test below).
MULTIPART_BITS = st.sampled_from(
    [
        b'--xyz\r\nContent-Disposition: form-data; name="brief"\r\n\r\ncold chain\r\n--xyz--\r\n',
        b'--xyz\r\nContent-Disposition: form-data; name="to"\r\n\r\n\xff\xfe\r\n--xyz--\r\n',
        b"--xyz\r\n\r\n\r\n--xyz--",
        b"--xyz--",
        b"--xyz",
        b"a=%ZZ&b=%&&=&c",
        b"brief=\xff\xfe&limit=5",
        b"to=validated&to=learned&reason=" + b"%F0%9F" * 10,
    ]
)


RAW_FORMS = st.binary(max_size=300) | MULTIPART_BITS


@pytest.mark.parametrize("form_name", FORM_NAMES)
@FUZZ
@given(raw=RAW_FORMS, content_type=FORM_CONTENT_TYPES)
def test_html_form_raw_body_never_a_server_error(
    form_name: str,
    raw: bytes,
    content_type: str,
    casey: Client,
    kim: Client,
    db: Engine,
    world: World,
) -> None:
    """Garbage bodies with the CSRF token in its header, as the app's own script would send
    it: the app's form parsing must cope. (The token-in-the-body path is tested below.)"""
    user, url, _ = valid_forms(world)[form_name]
    before = snapshot(db)
    response = form_user(user, casey, kim).post(
        url, content=raw, headers={"content-type": content_type}, follow_redirects=False
    )
    check_form_answer(response, db, before)


def every_form(
    world: World, casey: Client, kim: Client, visitor: Client
) -> Iterator[tuple[str, Client, str, dict[str, list[str]]]]:
    """(name, who submits it, url, a valid submission) for every form that writes, and the
    sign-in form, open to anyone (a wrong password, for a user who does not exist)."""
    for name in FORM_NAMES:
        user, url, valid = valid_forms(world)[name]
        yield name, form_user(user, casey, kim), url, valid
    visitor.get("/login")  # the CSRF cookie, as a browser would have it
    yield "login", visitor, "/login", {"username": ["nobody"], "password": ["x" * 12]}


# Field names no form of ours has, each of which once crashed the form reader (ui/shared/forms.py).
ODD_NAMES: dict[str, tuple[dict[str, list[str]], bool]] = {  # name -> (fields, with a valid form?)
    "only-numbers": ({"0": ["x"], "1": ["y"]}, False),  # the whole form was read as a list
    "superscript-digit": ({"x.\u00b2": ["a"]}, True),  # '\u00b2'.isdigit(), but int() refuses it
    "non-ascii-digit-index": ({"lessons.\u0661.title": ["a"]}, True),  # Arabic-Indic one
    "a-thousand-dots": ({"a." * 1_500 + "b": ["x"]}, True),  # one recursion per dot
}


@pytest.mark.parametrize("case", ODD_NAMES)
def test_html_form_odd_field_names_are_client_errors(
    case: str, casey: Client, kim: Client, visitor: Client, db: Engine, world: World
) -> None:
    fields, with_valid = ODD_NAMES[case]
    for name, who, url, valid in every_form(world, casey, kim, visitor):
        before = snapshot(db)
        response = post_form(who, url, {**valid, **fields} if with_valid else fields)
        assert response.status_code < 500, name
        if name != "login":  # a refused sign-in is counted (throttling)
            check_form_answer(response, db, before)


# Bodies the CSRF layer (asgi_csrf) once crashed on while looking for the token in them.
CSRF_BODIES = {
    "multipart-without-boundary": ("multipart/form-data", b"brief=x"),
    "multipart-boundary-without-space": ("multipart/form-data;boundary=xyz", b"--xyz--"),
    "multipart": (
        "multipart/form-data; boundary=xyz",
        b'--xyz\r\nContent-Disposition: form-data; name="csrftoken"\r\n\r\nx\r\n--xyz--\r\n',
    ),
    "multipart-garbage": ("multipart/form-data; boundary=xyz", b"\x00--xyz\r\n\r\n\xff"),
    "urlencoded-not-utf8": ("application/x-www-form-urlencoded", b"brief=\xff\xfe"),
}


@pytest.mark.parametrize("body", CSRF_BODIES)
def test_html_form_token_in_an_odd_body_is_a_client_error(
    body: str, casey: Client, kim: Client, visitor: Client, db: Engine, world: World
) -> None:
    """A browser's form sends its CSRF token in the body, so the middleware reads the body."""
    content_type, raw = CSRF_BODIES[body]
    headers = {"content-type": content_type, "x-csrftoken": ""}  # no token in the header
    for name, who, url, _ in every_form(world, casey, kim, visitor):
        before = snapshot(db)
        response = who.post(url, content=raw, headers=headers, follow_redirects=False)
        assert 400 <= response.status_code < 500, name
        assert snapshot(db) == before, name


def test_html_form_file_part_is_refused(casey: Client, db: Engine) -> None:
    """No form takes files or multipart bodies: a handler that read one would leave the
    uploaded file's temporary file open (a ResourceWarning once garbage-collected)."""
    upload = (
        b'--xyz\r\nContent-Disposition: form-data; name="brief"\r\n\r\ncold chain\r\n'
        b'--xyz\r\nContent-Disposition: form-data; name="f"; filename="a.txt"\r\n\r\nx\r\n'
        b"--xyz--\r\n"
    )
    before = snapshot(db)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        response = casey.post(
            "/bar",
            content=upload,
            headers={"content-type": "multipart/form-data; boundary=xyz"},
            follow_redirects=False,
        )
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]
    assert response.status_code == 415
    assert_error_shape(response.headers["content-type"], response.content)
    assert snapshot(db) == before


# --- (c) schemathesis over the OpenAPI document --------------------------------------------------

DOCUMENT = openapi(Settings(load_demo=False))
OPERATIONS = sorted(
    (method.upper(), path)
    for path, operations in DOCUMENT["paths"].items()
    for method in operations
)
MODES = {
    "positive": schemathesis.GenerationMode.POSITIVE,
    "negative": schemathesis.GenerationMode.NEGATIVE,
}
# Every operation with valid input, and with invalid input where it takes any input at all.
RUNS = [
    (method, path, mode)
    for method, path in OPERATIONS
    for mode in MODES
    if mode == "positive"
    or DOCUMENT["paths"][path][method.lower()].get("parameters")
    or DOCUMENT["paths"][path][method.lower()].get("requestBody")
]


@pytest.fixture(scope="module")
def served(shared_settings: Settings, world: World) -> Iterator[Any]:
    """The app as schemathesis drives it (its own ASGI client and lifespan), on the shared
    bank; the lifespan is ended afterwards so the database is let go."""
    app = create_app(shared_settings, embedder=HashingEmbedder())
    try:
        yield schemathesis.openapi.from_asgi("/api/openapi.json", app)
    finally:
        schemathesis_asgi.shutdown_lifespans()


def test_openapi_document_lists_every_api_route(casey: Client) -> None:
    """So the schemathesis run below covers every route under /api."""
    served = casey.get("/api/openapi.json").json()
    documented = {(m.upper(), p) for p, ops in served["paths"].items() for m in ops}
    assert documented == set(OPERATIONS)
    routes = {
        (method, route.path.replace(":int", ""))
        for route in casey.app.routes  # type: ignore[attr-defined]
        if isinstance(route, Route)
        and route.path.startswith("/api/")
        and route.path != "/api/openapi.json"
        for method in (route.methods or set()) - {"HEAD"}
    }
    assert routes == documented


# No 5xx, and every answer as documented: its status code, content type and body schema.
# (Not schemathesis's positive_data_acceptance: some valid-looking requests are refused on
# purpose, for rules a schema cannot say -- a decision on a lesson the BAR did not surface.)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_openapi_document_allows_only_what_the_api_accepts(casey: Client) -> None:
    """Values the document allows are accepted (schemathesis' positive mode sends them)."""
    doc = casey.get("/api/openapi.json").json()
    [status] = [
        p for p in doc["paths"]["/api/lessons"]["get"]["parameters"] if p["name"] == "status"
    ]
    statuses = status["schema"]["items"]["enum"]
    assert set(statuses) == {str(s) for s in LessonStatus}
    both = casey.get("/api/lessons", params=[("status", statuses[0]), ("status", statuses[-1])])
    assert both.status_code == 200, both.text
    assert casey.get("/api/lessons", params={"status": "bogus"}).status_code == 422
    [most] = [
        option["maximum"]
        for option in doc["components"]["schemas"]["BarIn"]["properties"]["limit"]["anyOf"]
        if option.get("type") == "integer"
    ]
    assert casey.post("/api/bar", json={"brief": "fridges", "limit": most}).status_code == 201
    assert casey.post("/api/bar", json={"brief": "fridges", "limit": most + 1}).status_code == 422


def known_id(path: str, world: World) -> int | None:
    """A record that exists, for the path's {id}: random ids almost never hit one."""
    if path.startswith("/api/lessons/{id}/transition"):
        return world.own_lesson  # identified, so a valid step exists
    if path.startswith("/api/lessons/{id}"):
        return world.validated_lesson
    if path.startswith("/api/bar/{id}"):
        return world.bar
    return None


@pytest.mark.parametrize(("method", "path", "mode"), RUNS)
def test_openapi_operation_never_a_server_error(
    method: str, path: str, mode: str, served: Any, db: Engine, world: World
) -> None:
    """Every operation as casey with her bearer token; the transition and the curation queue
    as curator kim, since casey's would all be refused before the body is read. A refusal has
    the documented error shape and leaves the database as it was."""
    operation = served[path][method]
    curators_only = path.endswith("/transition") or path.startswith("/api/curation/")
    user = "kim" if curators_only else "casey"
    bearer = {"Authorization": f"Bearer {TOKENS[user]}"}
    strategy = operation.as_strategy(generation_mode=MODES[mode])
    record = known_id(path, world)
    if record is not None:
        strategy |= operation.as_strategy(
            generation_mode=MODES[mode], path_parameters={"id": record}
        )
    statuses: list[int] = []

    @hypothesis_settings(FUZZ, max_examples=EXAMPLES // 2)
    @given(case=strategy)
    def run(case: Any) -> None:
        before = snapshot(db)
        response = case.call(headers=bearer)
        case.validate_response(response, checks=CHECKS)
        statuses.append(response.status_code)
        if response.status_code >= 400:
            assert_error_shape(response.headers.get("content-type", [""])[0], response.content)
            assert snapshot(db) == before, f"a refused request ({response.status_code}) wrote"

    run()
    assert statuses  # the strategy produced requests, and they were sent


# --- (d) every other form, including any added later ---------------------------------------------

# Forms a fuzzed submission must not reach: signing out would end the shared sessions.
NOT_FUZZED = {"/logout"}
PAGE_FORMS = sorted(
    route.path
    for route in create_app(
        Settings(database_url="sqlite://", load_demo=False, secret_key="x"),
        embedder=HashingEmbedder(),
    ).routes
    if isinstance(route, Route)
    and "POST" in (route.methods or set())
    and not route.path.startswith("/api/")
    and route.path not in NOT_FUZZED
)


def test_every_page_form_is_fuzzed() -> None:
    """The walk finds the forms (so the test below cannot pass by finding none)."""
    assert {"/reviews", "/bar", "/lessons/{id:int}/transition", "/login"} <= set(PAGE_FORMS)


@pytest.mark.parametrize("path", PAGE_FORMS)
@hypothesis_settings(FUZZ, max_examples=max(5, EXAMPLES // 4))
@given(fields=FORMS)
def test_every_page_form_arbitrary_fields_never_a_server_error(
    path: str, fields: dict[str, list[str]], kim: Client, db: Engine, world: World
) -> None:
    """Every form of the pages, found in app.routes, as curator kim (past most role checks),
    each path id 1 (a record of every kind exists with it): garbage fields never a 5xx, and
    nothing written unless the form was saved (the redirect). Runs last: a saved form may
    change the shared bank."""
    url = re.sub(r"{\w+(?::\w+)?}", "1", path)
    # A refused sign-in is counted on purpose (throttling): the one write it may make.
    counted = {"login_failure"} if path == "/login" else set()
    before = {t: rows for t, rows in snapshot(db).items() if t not in counted}
    response = post_form(kim, url, fields)
    assert response.status_code < 500, response.text[:500]
    if response.status_code != 303:
        after = {t: rows for t, rows in snapshot(db).items() if t not in counted}
        assert after == before, f"an unsaved form ({response.status_code}) wrote"
