"""Handover pages: acknowledge, ask and answer follow-up questions and reassign the leaver's
actions from the review page (plain forms, each redirecting back), and roles with their
handover history."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from lessons.errors import NotFound, ValidationFailed
from lessons.handovers import followups, roles
from lessons.schemas import parse
from lessons.schemas.handovers import FollowUpAnswerIn, FollowUpIn, ReassignIn
from ui.pages.render import page
from ui.pages.reviews import _review_page
from ui.shared.body import form_handler, path_id
from ui.shared.forms import nested
from ui.shared.state import app_state, require, session_for, viewer_for


def _back(review_id: int, anchor: str) -> Response:
    return RedirectResponse(f"/reviews/{review_id}#{anchor}", status_code=303)


def _again(request: Request, review_id: int, exc: ValidationFailed, **extra: Any) -> Response:
    """The review page again with what was typed and the problem beside the field."""
    context = {"handover_message": exc.message, **extra}
    return _review_page(request, review_id, status=422, extra=context)


@form_handler
def acknowledge(request: Request, form: FormData) -> Response:
    require(request)
    review_id = path_id(request)
    with session_for(request) as session:
        followups.acknowledge(session, review_id=review_id, viewer=viewer_for(request))
    return _back(review_id, "handover")


@form_handler
def ask(request: Request, form: FormData) -> Response:
    require(request)
    review_id = path_id(request)
    text = str(form.get("question") or "")
    try:
        payload = parse(FollowUpIn, {"question": text}, app_state(request).limits)
        with session_for(request) as session:
            followups.ask(
                session, review_id=review_id, viewer=viewer_for(request), question=payload.question
            )
    except ValidationFailed as exc:
        errors = {"question": exc.fields.get("question", "write your question")}
        return _again(
            request,
            review_id,
            exc,
            handover_target="question",
            handover_values={"question": text},
            handover_errors=errors,
        )
    return _back(review_id, "follow-ups")


@form_handler
def answer(request: Request, form: FormData) -> Response:
    require(request)
    review_id = path_id(request)
    question_id = path_id(request, "question_id")
    field = f"answer-{question_id}"
    text = str(form.get(field) or "")
    try:
        payload = parse(FollowUpAnswerIn, {"answer": text}, app_state(request).limits)
        with session_for(request) as session:
            answered = followups.answer(
                session, question_id=question_id, viewer=viewer_for(request), text=payload.answer
            )
            if answered.id != review_id:  # a question of another handover, through this one
                raise NotFound(f"No follow-up question with id {question_id} here.")
    except ValidationFailed as exc:
        errors = {field: exc.fields.get("answer", "write your answer")}
        return _again(
            request,
            review_id,
            exc,
            handover_target=field,
            handover_values={field: text},
            handover_errors=errors,
        )
    return _back(review_id, "follow-ups")


@form_handler
def reassign(request: Request, form: FormData) -> Response:
    require(request)
    review_id = path_id(request)
    rows = nested(form).get("actions")
    ticked = [
        {"action_id": row["action_id"], "owner": row.get("owner") or None}
        for row in (rows if isinstance(rows, list) else [])
        if isinstance(row, dict) and row.get("action_id")
    ]
    try:
        if not ticked:
            raise ValidationFailed("Tick the actions to reassign.", {"actions": "none ticked"})
        payload = parse(ReassignIn, {"actions": ticked}, app_state(request).limits)
        with session_for(request) as session:
            followups.reassign(
                session, review_id=review_id, viewer=viewer_for(request), payload=payload
            )
    except ValidationFailed as exc:
        return _again(request, review_id, exc)
    return _back(review_id, "reassign")


def roles_page(request: Request) -> Response:
    require(request)
    with session_for(request) as session:
        viewer = viewer_for(request)
        context = {
            "roles": roles.list_roles(session, viewer=viewer),
            "awaiting": roles.awaiting_for(session, viewer=viewer),
        }
        return page(request, "roles.html", context)


def role_page(request: Request) -> Response:
    require(request)
    role_id = path_id(request)
    with session_for(request) as session:
        history = roles.get_role(session, role_id=role_id, viewer=viewer_for(request))
        return page(request, "role.html", {"history": history})


routes = [
    Route("/reviews/{id:int}/acknowledge", acknowledge, methods=["POST"]),
    Route("/reviews/{id:int}/questions", ask, methods=["POST"]),
    Route("/reviews/{id:int}/questions/{question_id:int}/answer", answer, methods=["POST"]),
    Route("/reviews/{id:int}/reassign", reassign, methods=["POST"]),
    Route("/roles", roles_page, methods=["GET"]),
    Route("/roles/{id:int}", role_page, methods=["GET"]),
]
