"""The OpenAPI entries for the learning-loop routes: recurring themes (`ui.api.themes`);
`ui.api.openapi` adds them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

MODELS: list[type[BaseModel]] = []

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
    }
