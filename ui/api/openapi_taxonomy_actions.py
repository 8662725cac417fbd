"""The OpenAPI entries for the taxonomy, tag suggestions and action tracker routes
(`ui.api.taxonomy`, `ui.api.actions`); `ui.api.openapi` adds them to the document."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from lessons.actions import ActionChange
from ui.api.actions import CarryIn, CloseIn, DropIn
from ui.api.taxonomy import AdoptIn, SchemeIn, TermIn, TermMergeIn, TermPatch

MODELS: list[type[BaseModel]] = [
    ActionChange,
    CloseIn,
    DropIn,
    CarryIn,
    SchemeIn,
    TermIn,
    TermPatch,
    TermMergeIn,
    AdoptIn,
]

Body = Callable[[type[BaseModel]], dict[str, Any]]
Responses = Callable[..., dict[str, Any]]


def _query(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema}


def paths(body: Body, responses: Responses, id_param: dict[str, Any]) -> dict[str, Any]:
    """Paths for the routes of this area, built with the document's own helpers."""
    ident = {"type": "integer", "minimum": 1}
    write = (400, 401, 403, 404, 413, 422)

    def change(summary: str, model: type[BaseModel], ok: str) -> dict[str, Any]:
        return {
            "summary": summary,
            "parameters": [id_param],
            "requestBody": body(model),
            "responses": responses(200, ok, *write),
        }

    return {
        "/api/actions": {
            "get": {
                "summary": "Actions across projects the caller may see, soonest due first",
                "parameters": [
                    _query("owner_id", ident),
                    _query("project_id", ident),
                    _query("status", {"type": "string", "enum": ["open", "done", "dropped"]}),
                    _query("overdue", {"type": "boolean"}),
                ],
                "responses": responses(200, "The actions and how many", 401, 422),
            }
        },
        "/api/actions/{id}": {
            "patch": change(
                "Edit status, closure evidence, owner or due date (done needs evidence)",
                ActionChange,
                "The action",
            )
        },
        "/api/actions/{id}/close": {
            "post": change("Close an open action as done, with evidence", CloseIn, "The action")
        },
        "/api/actions/{id}/drop": {
            "post": change("Drop an open action, saying why", DropIn, "The action")
        },
        "/api/actions/{id}/carry-forward": {
            "post": change(
                "Carry an open action into a later review of its project (or a BAR for it)",
                CarryIn,
                "The action",
            )
        },
        "/api/taxonomy": {
            "get": {
                "summary": "Tag schemes with their term trees and lesson counts the caller may see",
                "responses": responses(200, "The schemes (and free tags, for curators)", 401),
            }
        },
        "/api/taxonomy/schemes": {
            "post": {
                "summary": "Create a tag scheme (curators)",
                "requestBody": body(SchemeIn),
                "responses": responses(201, "The scheme", 400, 401, 403, 413, 422),
            }
        },
        "/api/taxonomy/schemes/{id}/terms": {
            "post": {
                **change("Add a term to a scheme (curators)", TermIn, "The scheme"),
                "responses": responses(201, "The scheme", *write),
            }
        },
        "/api/taxonomy/terms/{id}": {
            "patch": change(
                "Rename a term (its lessons are retagged) or move it (curators)",
                TermPatch,
                "The term's scheme and the lessons retagged",
            )
        },
        "/api/taxonomy/terms/{id}/merge": {
            "post": change(
                "Merge a term into another (its lessons are retagged once each; curators)",
                TermMergeIn,
                "The target's scheme and the lessons retagged",
            )
        },
        "/api/taxonomy/adopt": {
            "post": {
                "summary": "Adopt a free tag into a scheme as a term (curators)",
                "requestBody": body(AdoptIn),
                "responses": responses(200, "The scheme and the lessons retagged", *write),
            }
        },
        "/api/lessons/{id}/tag-suggestions": {
            "get": {
                "summary": "Tags from the lesson's nearest validated neighbours the caller may see",
                "parameters": [
                    id_param,
                    _query("limit", {"type": "integer", "minimum": 1, "maximum": 20}),
                ],
                "responses": responses(200, "Suggested tags with scores", 404, 422),
            }
        },
    }
