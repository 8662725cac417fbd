"""The OpenAPI entries for the learning-loop routes: recurring themes (`ui.api.themes`),
metrics (`ui.api.metrics`) and BAR outcomes (`ui.api.outcomes`); `ui.api.openapi` adds them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from lessons.bar import OutcomesIn

MODELS: list[type[BaseModel]] = [OutcomesIn]

Body = Callable[[type[BaseModel]], dict[str, Any]]
Responses = Callable[..., dict[str, Any]]


def paths(body: Body, responses: Responses, id_param: dict[str, Any]) -> dict[str, Any]:
    """Paths for the routes of this area, built with the document's own helpers."""
    return {
        "/api/themes": {
            "get": {
                "summary": "Recurring themes: lessons alike in meaning, met in three or more "
                "projects and not yet learned, among the lessons the caller may see",
                "responses": responses(200, "The themes, most projects first", 401),
            }
        },
        "/api/metrics": {
            "get": {
                "summary": "Learning-loop metrics over the lessons the caller may see",
                "responses": responses(200, "Each metric's columns, rows and summary", 401),
            }
        },
        "/api/bar/{id}/outcomes": {
            "post": {
                "summary": "Record what happened when the team applied a surfaced lesson",
                "parameters": [id_param],
                "requestBody": body(OutcomesIn),
                "responses": responses(200, "The BAR with outcomes", 400, 401, 404, 413, 422),
            }
        },
    }
