"""Reviews read back, and handovers over the API: acknowledge, follow-up questions and answers,
reassigning the leaver's actions, and roles with their handover history."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lessons.accounts.access import Viewer
from lessons.catalogue import service as catalogue
from lessons.handovers import followups, roles
from lessons.handovers import service as handovers
from lessons.schemas import parse
from lessons.schemas.handovers import FollowUpAnswerIn, FollowUpIn, ReassignIn
from lessons.storage.models import Review
from ui.shared.body import path_id, read_json_object
from ui.shared.handover_json import review_with_handover, role_json
from ui.shared.state import app_state, require, session_for, viewer_for


def review_body(session: Session, review: Review, viewer: Viewer) -> dict[str, Any]:
    """A review as `viewer` may read it: its lessons they may see, and its story (answers,
    author, handover parts) only when they may read it."""
    lessons = sorted((le for le in review.lessons if viewer.can_see(le)), key=lambda le: le.id or 0)
    actions = catalogue.list_actions(session, viewer=viewer, review_id=review.id)
    view = handovers.view(session, review=review, viewer=viewer)
    body = review_with_handover(review, lessons, actions, view)
    if not viewer.can_read_review(review):
        body.update(answers={}, author=None, recorded_by=None)
    return body


async def get_review(request: Request) -> Response:
    require(request)
    review_id = path_id(request)

    def work() -> dict[str, Any]:
        with session_for(request) as session:
            viewer = viewer_for(request)
            review = catalogue.get_review(session, review_id=review_id, viewer=viewer)
            return review_body(session, review, viewer)

    return JSONResponse(await run_in_threadpool(work))


async def acknowledge(request: Request) -> Response:
    require(request)
    review_id = path_id(request)

    def work() -> dict[str, Any]:
        with session_for(request) as session:
            viewer = viewer_for(request)
            review = followups.acknowledge(session, review_id=review_id, viewer=viewer)
            return review_body(session, review, viewer)

    return JSONResponse(await run_in_threadpool(work))


async def ask(request: Request) -> Response:
    require(request)
    review_id = path_id(request)
    payload = parse(FollowUpIn, await read_json_object(request), app_state(request).limits)

    def work() -> dict[str, Any]:
        with session_for(request) as session:
            viewer = viewer_for(request)
            followups.ask(session, review_id=review_id, viewer=viewer, question=payload.question)
            review, _ = handovers.get_handover(session, review_id=review_id, viewer=viewer)
            return review_body(session, review, viewer)

    return JSONResponse(await run_in_threadpool(work), status_code=201)


async def answer(request: Request) -> Response:
    require(request)
    question_id = path_id(request)
    payload = parse(FollowUpAnswerIn, await read_json_object(request), app_state(request).limits)

    def work() -> dict[str, Any]:
        with session_for(request) as session:
            viewer = viewer_for(request)
            review = followups.answer(
                session, question_id=question_id, viewer=viewer, text=payload.answer
            )
            return review_body(session, review, viewer)

    return JSONResponse(await run_in_threadpool(work))


async def reassign(request: Request) -> Response:
    require(request)
    review_id = path_id(request)
    payload = parse(ReassignIn, await read_json_object(request), app_state(request).limits)

    def work() -> dict[str, Any]:
        with session_for(request) as session:
            viewer = viewer_for(request)
            review = followups.reassign(
                session, review_id=review_id, viewer=viewer, payload=payload
            )
            return review_body(session, review, viewer)

    return JSONResponse(await run_in_threadpool(work))


async def list_roles(request: Request) -> Response:
    require(request)

    def work() -> dict[str, Any]:
        with session_for(request) as session:
            found = roles.list_roles(session, viewer=viewer_for(request))
            return {"results": [role_json(history) for history in found]}

    return JSONResponse(await run_in_threadpool(work))


async def get_role(request: Request) -> Response:
    require(request)
    role_id = path_id(request)

    def work() -> dict[str, Any]:
        with session_for(request) as session:
            return role_json(roles.get_role(session, role_id=role_id, viewer=viewer_for(request)))

    return JSONResponse(await run_in_threadpool(work))


routes = [
    Route("/api/reviews/{id:int}", get_review, methods=["GET"]),
    Route("/api/reviews/{id:int}/acknowledge", acknowledge, methods=["POST"]),
    Route("/api/reviews/{id:int}/questions", ask, methods=["POST"]),
    Route("/api/follow-ups/{id:int}/answer", answer, methods=["POST"]),
    Route("/api/reviews/{id:int}/reassign", reassign, methods=["POST"]),
    Route("/api/roles", list_roles, methods=["GET"]),
    Route("/api/roles/{id:int}", get_role, methods=["GET"]),
]
