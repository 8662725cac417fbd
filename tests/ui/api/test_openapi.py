"""GET /api/openapi.json documents every /api route, its parameters, bodies and error shape."""

from __future__ import annotations

import re

import pytest
from pydantic import BaseModel
from starlette.routing import Route
from starlette.testclient import TestClient

from lessons.actions.service import ActionChange
from lessons.schemas import (
    ActionIn,
    BarIn,
    DecisionIn,
    DecisionsIn,
    LessonIn,
    LessonPatch,
    MergeIn,
    OutcomesIn,
    ProjectRef,
    ReviewDueIn,
    ReviewIn,
    SearchFilters,
    TransitionIn,
    UndoIn,
    ValidateIn,
)
from lessons.schemas.people import PeerAssistIn, PeerAssistOutcomeIn, ProfileIn
from tests.ui.api.helpers import get_json
from ui.api.actions import CarryIn, CloseIn, DropIn
from ui.api.taxonomy import AdoptIn, SchemeIn, TermIn, TermMergeIn, TermPatch

# --- GET /api/openapi.json -----------------------------------------------------------------

# The document does not describe itself.
UNDOCUMENTED = {"/api/openapi.json"}
REQUEST_MODELS: dict[tuple[str, str], type[BaseModel]] = {
    ("post", "/api/reviews"): ReviewIn,
    ("patch", "/api/lessons/{id}"): LessonPatch,
    ("post", "/api/lessons/{id}/transition"): TransitionIn,
    ("post", "/api/bar"): BarIn,
    ("post", "/api/bar/{id}/decisions"): DecisionsIn,
    ("post", "/api/bar/{id}/outcomes"): OutcomesIn,
    ("post", "/api/lessons/{id}/merge"): MergeIn,
    ("post", "/api/merges/{id}/undo"): UndoIn,
    ("patch", "/api/actions/{id}"): ActionChange,
    ("post", "/api/actions/{id}/close"): CloseIn,
    ("post", "/api/actions/{id}/drop"): DropIn,
    ("post", "/api/actions/{id}/carry-forward"): CarryIn,
    ("post", "/api/taxonomy/schemes"): SchemeIn,
    ("post", "/api/taxonomy/schemes/{id}/terms"): TermIn,
    ("patch", "/api/taxonomy/terms/{id}"): TermPatch,
    ("post", "/api/taxonomy/terms/{id}/merge"): TermMergeIn,
    ("post", "/api/taxonomy/adopt"): AdoptIn,
    ("post", "/api/curation/lessons/{id}/validate"): ValidateIn,
    ("post", "/api/curation/lessons/{id}/review"): ReviewDueIn,
    ("patch", "/api/people/{id}"): ProfileIn,
    ("post", "/api/bar/{id}/peer-assists"): PeerAssistIn,
    ("post", "/api/peer-assists/{id}/outcome"): PeerAssistOutcomeIn,
}
NESTED_MODELS: list[type[BaseModel]] = [ProjectRef, LessonIn, ActionIn, SearchFilters, DecisionIn]


def api_operations(client: TestClient) -> set[tuple[str, str]]:
    """(method, path) for every /api route the running app serves, in OpenAPI spelling."""
    operations: set[tuple[str, str]] = set()
    for route in client.app.routes:  # type: ignore[attr-defined]
        if not isinstance(route, Route) or not route.path.startswith("/api"):
            continue
        if route.path in UNDOCUMENTED:
            continue
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
        for method in route.methods or set():
            if method != "HEAD":
                operations.add((method.lower(), path))
    return operations


def test_openapi_documents_every_api_route_and_nothing_else(client: TestClient) -> None:
    doc = get_json(client, "/api/openapi.json")
    assert doc["openapi"].startswith("3.")
    documented = {(method, path) for path, item in doc["paths"].items() for method in item}
    served = api_operations(client)
    assert len(served) >= 9  # each area adds its own routes
    assert documented == served


def test_openapi_operations_describe_responses_and_id_parameters(client: TestClient) -> None:
    doc = get_json(client, "/api/openapi.json")
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            assert operation["summary"], (method, path)
            assert any(code.startswith("2") for code in operation["responses"]), (method, path)
            errors = [code for code in operation["responses"] if code.startswith("4")]
            assert errors, (method, path)
            for code in errors:
                schema = operation["responses"][code]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}
            names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert names == set(re.findall(r"\{(\w+)\}", path)), (method, path)


def test_openapi_error_schema_matches_error_bodies(client: TestClient) -> None:
    schemas = get_json(client, "/api/openapi.json")["components"]["schemas"]
    error = schemas["Error"]
    assert error["required"] == ["error"]
    detail = schemas[error["properties"]["error"]["$ref"].rsplit("/", 1)[-1]]
    assert set(detail["required"]) == {"code", "message", "fields"}
    body = client.get("/api/lessons/999").json()
    assert set(body) == set(error["required"])
    assert set(body["error"]) == set(detail["required"])


def test_openapi_request_bodies_point_at_the_validating_models(client: TestClient) -> None:
    doc = get_json(client, "/api/openapi.json")
    with_body = {
        (method, path)
        for path, item in doc["paths"].items()
        for method, operation in item.items()
        if "requestBody" in operation
    }
    assert with_body == set(REQUEST_MODELS)
    assert with_body == {(m, p) for m, p in api_operations(client) if m in {"post", "patch"}}
    for (method, path), model in REQUEST_MODELS.items():
        body = doc["paths"][path][method]["requestBody"]
        assert body["required"] is True
        ref = body["content"]["application/json"]["schema"]["$ref"]
        assert ref == f"#/components/schemas/{model.__name__}"


@pytest.mark.parametrize(
    "model", [*REQUEST_MODELS.values(), *NESTED_MODELS], ids=lambda m: m.__name__
)
def test_openapi_schema_required_fields_match_the_model(
    client: TestClient, model: type[BaseModel]
) -> None:
    schema = get_json(client, "/api/openapi.json")["components"]["schemas"][model.__name__]
    required = {name for name, info in model.model_fields.items() if info.is_required()}
    assert set(schema.get("required", [])) == required
    assert set(schema["properties"]) == set(model.model_fields)
    assert schema.get("additionalProperties") is False  # extra fields are refused


def test_openapi_limit_parameters_follow_settings(small_client: TestClient) -> None:
    doc = get_json(small_client, "/api/openapi.json")
    [limit] = [p for p in doc["paths"]["/api/lessons"]["get"]["parameters"] if p["name"] == "limit"]
    assert limit["schema"]["maximum"] == 5 * 4
