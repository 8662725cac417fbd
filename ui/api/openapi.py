"""The OpenAPI document, generated from the operations table (`ui.api.operations`): request
bodies, query parameters and every 2xx answer from the pydantic models that declare them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from lessons.responses import Error
from lessons.schemas import MAX_ID
from lessons.storage.settings import Settings
from ui.api.operations import OPERATIONS, LessonsQuery, Operation

_REF = "#/components/schemas/{model}"
_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
}


def _ref(model: type[BaseModel]) -> dict[str, Any]:
    return {"$ref": _REF.format(model=model.__name__)}


def _json(model: type[BaseModel]) -> dict[str, Any]:
    return {"application/json": {"schema": _ref(model)}}


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter is absent or a value: `X | None` is X in the query string."""
    options = [o for o in schema.get("anyOf", []) if o.get("type") != "null"]
    if len(options) != 1:
        return schema
    rest = {k: v for k, v in schema.items() if k not in ("anyOf", "default")}
    return {**options[0], **rest}


def _inline(schema: Any, schemas: dict[str, Any]) -> Any:
    """`schema` with references written out (a query parameter's enum reads in place)."""
    if isinstance(schema, list):
        return [_inline(item, schemas) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        return _inline(schemas[schema["$ref"].rsplit("/", 1)[-1]], schemas)
    return {key: _inline(value, schemas) for key, value in schema.items()}


def _query_parameters(model: type[BaseModel], schemas: dict[str, Any]) -> list[dict[str, Any]]:
    """One query parameter per field of a query model's JSON schema."""
    schema = schemas[model.__name__]
    parameters = []
    for name, prop in schema["properties"].items():
        prop = _inline(_not_null(prop), schemas)
        prop.pop("title", None)
        parameter = {"name": name, "in": "query", "required": name in schema.get("required", [])}
        if "description" in prop:
            parameter["description"] = prop.pop("description")
        parameters.append({**parameter, "schema": prop})
    return parameters


def _operation(op: Operation, schemas: dict[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {"summary": op.summary}
    if op.description:
        doc["description"] = op.description
    parameters = [_ID] if "{id}" in op.path else []
    if op.query is not None:
        parameters += _query_parameters(op.query, schemas)
    if parameters:
        doc["parameters"] = parameters
    if op.body is not None:
        doc["requestBody"] = {"required": True, "content": _json(op.body)}
    doc["responses"] = {
        str(op.status): {"description": op.ok.__doc__ or op.ok.__name__, "content": _json(op.ok)},
        **{
            str(status): {"description": "Error", "content": _json(Error)}
            for status in sorted(op.errors)
        },
    }
    return doc


def _models() -> list[type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {"Error": Error}
    for op in OPERATIONS:
        for model in (op.ok, op.body, op.query):
            if model is not None:
                found.setdefault(model.__name__, model)
    return list(found.values())


def _apply_settings(schemas: dict[str, Any], settings: Settings) -> None:
    """Bounds that are settings, not model rules: a BAR's limit, and a list's."""
    for option in schemas["BarIn"]["properties"]["limit"]["anyOf"]:
        if option.get("type") == "integer":
            option["maximum"] = settings.bar_max_limit
    schemas[LessonsQuery.__name__]["properties"]["limit"]["maximum"] = settings.bar_max_limit * 4


def openapi(settings: Settings) -> dict[str, Any]:
    """OpenAPI 3.1 for every route under /api."""
    _, defs = models_json_schema([(m, "validation") for m in _models()], ref_template=_REF)
    schemas: dict[str, Any] = defs["$defs"]
    _apply_settings(schemas, settings)
    paths: dict[str, Any] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, schemas)
    queries = {op.query.__name__ for op in OPERATIONS if op.query is not None}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Lessonbank API", "version": "1"},
        "paths": paths,
        "components": {"schemas": {k: v for k, v in schemas.items() if k not in queries}},
    }
