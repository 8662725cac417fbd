"""The OpenAPI document, built from the same pydantic models that validate requests."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from lessons.merging import MergeIn, UndoIn
from lessons.models import LessonStatus
from lessons.schemas import (
    BarIn,
    DecisionsIn,
    LessonPatch,
    ReviewDueIn,
    ReviewIn,
    TransitionIn,
    ValidateIn,
)
from lessons.settings import Settings
from retrieval.duplicates import FLOOR
from ui.api import openapi_loop as loop
from ui.api import openapi_taxonomy_actions as taxonomy_actions

_REF = "#/components/schemas/{model}"

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "fields"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        }
    },
}
OBJECT = {"type": "object"}


def _body(model: type[BaseModel]) -> dict[str, Any]:
    return {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": _REF.format(model=model.__name__)}}},
    }


def _responses(ok: int, description: str, *errors: int) -> dict[str, Any]:
    responses: dict[str, Any] = {
        str(ok): {"description": description, "content": {"application/json": {"schema": OBJECT}}}
    }
    for status in errors:
        responses[str(status)] = {
            "description": "Error",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    return responses


_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
}


def openapi(settings: Settings) -> dict[str, Any]:
    """OpenAPI 3.1 for every route under /api."""
    models: list[type[BaseModel]] = [ReviewIn, LessonPatch, TransitionIn, BarIn, DecisionsIn]
    models += taxonomy_actions.MODELS
    models += loop.MODELS
    models += [ValidateIn, ReviewDueIn]
    models += [MergeIn, UndoIn]
    _, defs = models_json_schema([(m, "validation") for m in models], ref_template=_REF)
    schemas = {**defs.get("$defs", {}), "Error": ERROR}
    # A BAR's limit is capped by a setting, not by the model.
    for option in schemas["BarIn"]["properties"]["limit"]["anyOf"]:
        if option.get("type") == "integer":
            option["maximum"] = settings.bar_max_limit
    limit = {
        "name": "limit",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": settings.bar_max_limit * 4},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Lessonbank API", "version": "1"},
        "paths": {
            "/api/reviews": {
                "post": {
                    "summary": "Log a review with its lessons and actions",
                    "requestBody": _body(ReviewIn),
                    "responses": _responses(
                        201, "The review, its lessons and actions", 400, 404, 413, 422
                    ),
                }
            },
            "/api/lessons": {
                "get": {
                    "summary": "List lessons, or search them by meaning with q",
                    "parameters": [
                        {
                            "name": "q",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "string"},
                        },
                        {
                            "name": "tag",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "string"},
                        },
                        {
                            "name": "status",
                            "in": "query",
                            "required": False,
                            "schema": {
                                "type": "array",
                                "items": {"type": "string", "enum": [str(s) for s in LessonStatus]},
                            },
                        },
                        {
                            "name": "project_id",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "integer"},
                        },
                        limit,
                        {
                            "name": "offset",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "integer", "minimum": 0},
                        },
                    ],
                    # 429: too many searches (with q) from one caller; see Retry-After.
                    "responses": _responses(200, "Lessons", 422, 429),
                }
            },
            "/api/lessons/{id}": {
                "get": {
                    "summary": "One lesson with its actions and history",
                    "parameters": [_ID],
                    "responses": _responses(200, "The lesson", 404),
                },
                "patch": {
                    "summary": "Edit a lesson's wording or classification",
                    "parameters": [_ID],
                    "requestBody": _body(LessonPatch),
                    "responses": _responses(200, "The lesson", 400, 404, 413, 422),
                },
            },
            "/api/lessons/{id}/transition": {
                "post": {
                    "summary": "Move a lesson along its lifecycle",
                    "parameters": [_ID],
                    "requestBody": _body(TransitionIn),
                    "responses": _responses(200, "The lesson", 400, 404, 409, 413, 422),
                }
            },
            "/api/lessons/{id}/similar": {
                "get": {
                    "summary": "Lessons closest in meaning to this one",
                    "parameters": [
                        _ID,
                        {**limit, "schema": {"type": "integer", "minimum": 1, "maximum": 50}},
                    ],
                    "responses": _responses(
                        200, "Similar lessons, down to the similarity floor (may be none)", 404, 422
                    ),
                }
            },
            "/api/bar": {
                "post": {
                    "summary": "Run and record a before action review",
                    "requestBody": _body(BarIn),
                    "description": "A brief without a word to search on is refused (422). Each "
                    "result carries `match` (strong, related or weak) and its figures under "
                    "`why`; `summary.message` says when nothing matched strongly; `people` are "
                    "ranked by the relevance of their strong and related lessons.",
                    "responses": _responses(
                        201, "The BAR with ranked lessons", 400, 404, 413, 422, 429
                    ),
                }
            },
            "/api/bar/{id}": {
                "get": {
                    "summary": "A recorded before action review",
                    "parameters": [_ID],
                    "responses": _responses(200, "The BAR", 404),
                }
            },
            "/api/bar/{id}/decisions": {
                "post": {
                    "summary": "Record apply / not relevant / note per surfaced lesson",
                    "parameters": [_ID],
                    "requestBody": _body(DecisionsIn),
                    "responses": _responses(200, "The BAR", 400, 404, 413, 422),
                }
            },
            **_curation_paths(limit),
            **_merge_paths(),
            **taxonomy_actions.paths(_body, _responses, _ID),
            **loop.paths(_body, _responses, _ID),
        },
        "components": {"schemas": schemas},
    }


def _curation_paths(limit: dict[str, Any]) -> dict[str, Any]:
    """The curation queue (ui/api/curation.py); curators only, others get 401/403."""
    return {
        "/api/curation/queue": {
            "get": {
                "summary": "The curation queue: counts and a page of each section, oldest first",
                "parameters": [
                    {
                        "name": "section",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "enum": ["validate", "review_due", "flagged"]},
                    },
                    {**limit, "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
                    {
                        "name": "offset",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 0},
                    },
                ],
                "responses": _responses(200, "Counts and lessons per section", 401, 403, 422),
            }
        },
        "/api/curation/lessons/{id}/validate": {
            "post": {
                "summary": "Validate or reject an identified lesson, with edits",
                "parameters": [_ID],
                "requestBody": _body(ValidateIn),
                "responses": _responses(200, "The lesson", 400, 401, 403, 404, 409, 413, 422),
            }
        },
        "/api/curation/lessons/{id}/review": {
            "post": {
                "summary": "Confirm (with updates) or retire a lesson due for review",
                "parameters": [_ID],
                "requestBody": _body(ReviewDueIn),
                "responses": _responses(200, "The lesson", 400, 401, 403, 404, 409, 413, 422),
            }
        },
    }


def _merge_paths() -> dict[str, Any]:
    """Near-duplicates and merges (ui/api/merging.py)."""
    score = {
        "name": "min_score",
        "in": "query",
        "required": False,
        "description": "Lowest cosine similarity to list (default: the app's threshold).",
        "schema": {"type": "number", "minimum": FLOOR, "maximum": 1},
    }

    def whole(name: str, low: int, high: int) -> dict[str, Any]:
        schema = {"type": "integer", "minimum": low, "maximum": high}
        return {"name": name, "in": "query", "required": False, "schema": schema}

    return {
        "/api/lessons/{id}/duplicates": {
            "get": {
                "summary": "Possible duplicates of a lesson, among the lessons the caller may read",
                "parameters": [_ID, score, whole("limit", 1, 50)],
                "responses": _responses(200, "Possible duplicates, closest first", 401, 404, 422),
            }
        },
        "/api/curation/duplicates": {
            "get": {
                "summary": "Pairs of possible duplicates across the bank (curators)",
                "parameters": [
                    score,
                    whole("limit", 1, 500),
                    whole("offset", 0, 10**9),
                    {
                        "name": "awaiting_validation",
                        "in": "query",
                        "required": False,
                        "description": "1: only pairs with a newly identified lesson.",
                        "schema": {"type": "string", "enum": ["0", "1", "true"]},
                    },
                ],
                "responses": _responses(200, "Pairs, most similar first", 401, 403, 422),
            }
        },
        "/api/lessons/{id}/merge": {
            "post": {
                "summary": "Merge duplicates into this canonical lesson (curators)",
                "parameters": [_ID],
                "requestBody": _body(MergeIn),
                "responses": _responses(
                    200, "The canonical lesson with its sources", 400, 401, 403, 404, 409, 413, 422
                ),
            }
        },
        "/api/merges/{id}/undo": {
            "post": {
                "summary": "Undo a merge (curators)",
                "parameters": [_ID],
                "requestBody": _body(UndoIn),
                "responses": _responses(
                    200, "What was restored", 400, 401, 403, 404, 409, 413, 422
                ),
            }
        },
    }
