"""JSON endpoints for the action tracker: list with filters, edit, close, drop, carry forward.

An action on a lesson the caller may not see answers 404, as one that does not exist."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lessons.actions import service as actions
from lessons.actions.service import ActionChange
from lessons.catalogue import service as catalogue
from lessons.errors import ValidationFailed
from lessons.schemas import MAX_ID, parse
from lessons.storage.models import Action, ActionStatus
from ui.shared.body import path_id, read_json_object
from ui.shared.params import id_param
from ui.shared.presenters import action_json
from ui.shared.state import app_state, require, session_for, viewer_for


class CarryIn(BaseModel):
    """Carry an open action into a later review of its project, or into a BAR for it."""

    model_config = ConfigDict(extra="forbid")

    review_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    bar_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class CloseIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    closure_evidence: str = Field(min_length=1)


class DropIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(min_length=1)


def action_out(action: Action, today: date) -> dict[str, Any]:
    return {
        **action_json(action, today),
        "project": {"id": action.project.id, "name": action.project.name}
        if action.project
        else None,
        "carried_to_review_id": action.carried_to_review_id,
        "closed_at": action.closed_at.isoformat() if action.closed_at else None,
    }


async def list_actions(request: Request) -> Response:
    require(request)
    params = request.query_params
    status = params.get("status", "").strip() or None
    if status not in (None, *ActionStatus):
        raise ValidationFailed("status must be open, done or dropped.", {"status": "not a status"})
    overdue = params.get("overdue", "").strip().lower()
    if overdue not in ("", "0", "1", "true", "false"):
        raise ValidationFailed("overdue must be true or false.", {"overdue": "not a boolean"})
    owner_id, project_id = id_param(params, "owner_id"), id_param(params, "project_id")

    def work() -> dict[str, Any]:
        with session_for(request) as session:
            today = catalogue.today()
            found = actions.find_actions(
                session,
                viewer=viewer_for(request),
                owner_id=owner_id,
                project_id=project_id,
                status=status,
                overdue=overdue in ("1", "true"),
                today=today,
            )
            return {"results": [action_out(a, today) for a in found], "total": len(found)}

    return JSONResponse(await run_in_threadpool(work))


async def my_actions(request: Request) -> Response:
    """The caller's own open actions (as a directory person), overdue first."""
    viewer = require(request)

    def work() -> dict[str, Any]:
        with session_for(request) as session:
            today = catalogue.today()
            mine = actions.my_actions(session, viewer=viewer, today=today)
            return {"results": [action_out(a, today) for a in mine], "total": len(mine)}

    return JSONResponse(await run_in_threadpool(work))


async def _change(request: Request, apply: Any) -> Response:
    viewer = require(request)
    action_id = path_id(request)
    body = await read_json_object(request)

    def work() -> dict[str, Any]:
        with session_for(request) as session:
            action = actions.action_to_change(session, action_id=action_id, viewer=viewer)
            apply(session, action, body, viewer.name)
            return action_out(action, catalogue.today())

    return JSONResponse(await run_in_threadpool(work))


async def patch_action(request: Request) -> Response:
    limits = app_state(request).limits

    viewer = viewer_for(request)

    def apply(session: Any, action: Action, body: dict[str, Any], actor: str) -> None:
        change = parse(ActionChange, body, limits)
        actions.update_action(session, action=action, change=change, actor=actor, viewer=viewer)

    return await _change(request, apply)


async def close_action(request: Request) -> Response:
    limits = app_state(request).limits

    def apply(session: Any, action: Action, body: dict[str, Any], actor: str) -> None:
        data = parse(CloseIn, body, limits)
        actions.close_action(session, action=action, evidence=data.closure_evidence, actor=actor)

    return await _change(request, apply)


async def drop_action(request: Request) -> Response:
    limits = app_state(request).limits

    def apply(session: Any, action: Action, body: dict[str, Any], actor: str) -> None:
        data = parse(DropIn, body, limits)
        actions.drop_action(session, action=action, reason=data.reason, actor=actor)

    return await _change(request, apply)


async def carry_forward(request: Request) -> Response:
    limits = app_state(request).limits

    def apply(session: Any, action: Action, body: dict[str, Any], actor: str) -> None:
        data = parse(CarryIn, body, limits)
        actions.carry_forward(
            session, action=action, review_id=data.review_id, bar_id=data.bar_id, actor=actor
        )

    return await _change(request, apply)


routes = [
    Route("/api/actions", list_actions, methods=["GET"]),
    Route("/api/actions/mine", my_actions, methods=["GET"]),
    Route("/api/actions/{id:int}", patch_action, methods=["PATCH"]),
    Route("/api/actions/{id:int}/close", close_action, methods=["POST"]),
    Route("/api/actions/{id:int}/drop", drop_action, methods=["POST"]),
    Route("/api/actions/{id:int}/carry-forward", carry_forward, methods=["POST"]),
]
