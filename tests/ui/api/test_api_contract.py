"""The API contract is generated from the models (ui/api/operations.py, lessons/responses.py)
and every answer is held to it: no 2xx is untyped, and a field a route returns without its
response model declaring it fails (tests/contract.py, run on every test client response)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from lessons import responses
from lessons.storage.settings import Settings
from tests import contract
from tests.conftest import Client, review_payload
from ui.api import merging as merging_api
from ui.api.openapi import openapi
from ui.api.operations import OPERATIONS
from ui.shared import presenters

DOCUMENT = openapi(Settings(load_demo=False))
SCHEMAS = DOCUMENT["components"]["schemas"]


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    return SCHEMAS[ref.rsplit("/", 1)[-1]] if ref else schema


def untyped(schema: Any, path: str, seen: set[str]) -> Iterator[str]:
    """Where a schema reachable from `schema` lets anything through: an object without its
    properties, one open to undeclared fields, or a value of no type at all."""
    if not isinstance(schema, dict):
        return
    ref = schema.get("$ref")
    if ref:
        if ref not in seen:
            seen.add(ref)
            yield from untyped(_resolve(schema), ref, seen)
        return
    if schema == {} or schema is True:
        yield f"{path}: any value"
    if schema.get("type") == "object":
        extra = schema.get("additionalProperties")
        if "properties" in schema and extra is not False:
            yield f"{path}: open to undeclared fields"
        if "properties" not in schema and not isinstance(extra, dict):
            yield f"{path}: an object of unknown fields"
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield from untyped(schema[key], f"{path}.{key}", seen)
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        for i, option in enumerate(schema.get(key, [])):
            yield from untyped(option, f"{path}.{key}[{i}]", seen)
    for name, prop in schema.get("properties", {}).items():
        yield from untyped(prop, f"{path}.{name}", seen)


def test_every_2xx_answer_is_a_typed_model() -> None:
    problems = []
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            ok = [code for code in operation["responses"] if code.startswith("2")]
            assert len(ok) == 1, (method, path)
            schema = operation["responses"][ok[0]]["content"]["application/json"]["schema"]
            assert set(schema) == {"$ref"}, (method, path, schema)
            problems += [f"{method} {path} {p}" for p in untyped(schema, "", set())]
    assert problems == []


def test_the_untyped_walk_finds_an_untyped_answer() -> None:
    """The walk above would see the old hand-written `{"type": "object"}`, and an open one."""
    assert list(untyped({"type": "object"}, "", set()))
    open_model = {"type": "object", "properties": {"id": {"type": "integer"}}}
    assert list(untyped(open_model, "", set()))
    assert not list(untyped({"$ref": "#/components/schemas/LessonBrief"}, "", set()))


def test_every_operation_has_a_response_model_from_lessons_responses() -> None:
    for op in OPERATIONS:
        assert getattr(responses, op.ok.__name__) is op.ok, (op.method, op.path)
        assert op.ok.model_config.get("extra") == "forbid", op.ok


@pytest.fixture
def lesson_id(client: Client) -> int:
    made = client.post("/api/reviews", json=review_payload())
    assert made.status_code == 201, made.text
    return int(made.json()["lessons"][0]["id"])


def test_a_field_the_model_does_not_declare_fails(
    client: Client, lesson_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert client.get(f"/api/lessons/{lesson_id}").status_code == 200
    brief = presenters.lesson_brief
    monkeypatch.setattr(presenters, "lesson_brief", lambda le: {**brief(le), "secret": 1})
    with pytest.raises(AssertionError, match="secret"):
        client.get(f"/api/lessons/{lesson_id}")


def test_a_declared_field_missing_or_mistyped_fails(
    client: Client, lesson_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    fields = merging_api.merge_fields

    def without_merges(*args: Any) -> dict[str, Any]:
        return {k: v for k, v in fields(*args).items() if k != "merges"}

    monkeypatch.setattr(merging_api, "merge_fields", without_merges)
    with pytest.raises(AssertionError, match="merges"):
        client.get(f"/api/lessons/{lesson_id}")
    monkeypatch.setattr(merging_api, "merge_fields", lambda *a: {**fields(*a), "merges": "none"})
    with pytest.raises(AssertionError, match="merges"):
        client.get(f"/api/lessons/{lesson_id}")


def test_an_api_answer_no_operation_declares_fails() -> None:
    assert contract.operation_for("GET", "/api/lessons/7") is not None
    assert contract.operation_for("DELETE", "/api/lessons/7") is None
    assert contract.operation_for("GET", "/api/lessons/7/unknown") is None


def test_lessons_have_one_shape_with_id(client: Client, lesson_id: int) -> None:
    """The whole lesson holds the short form, and `id` is the lesson's id in both; a lesson's
    short form in a BAR result carries the same values as the lesson itself, and the result
    points at it by `lesson_id` too, as DESIGN.md's API contract and the decisions name it."""
    lesson = client.get(f"/api/lessons/{lesson_id}").json()
    brief = {key: lesson[key] for key in responses.LessonBrief.model_fields}
    assert brief["id"] == lesson_id
    client.post(
        f"/api/lessons/{lesson_id}/transition", json={"to": "validated"}, headers=client.curator
    )
    bar = client.post("/api/bar", json={"brief": lesson["title"]}).json()
    [result] = [r for r in bar["results"] if r["id"] == lesson_id]
    assert result["lesson_id"] == lesson_id
    assert {key: result[key] for key in brief} == {**brief, "status": "validated"}
