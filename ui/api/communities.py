"""Communities of practice over the API: list and start them, join and follow, share a
lesson, ask and answer questions, and draw a lesson from a good answer."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lessons.communities import board, content
from lessons.communities import service as communities
from lessons.schemas import parse
from lessons.schemas.communities import (
    AnswerLessonIn,
    CommunityAnswerIn,
    CommunityIn,
    CommunityQuestionIn,
    MembershipIn,
    ShareIn,
)
from ui.shared.body import path_id, read_json_object
from ui.shared.community_json import (
    community_detail,
    community_json,
    thread_json,
    visible_answer_lessons,
)
from ui.shared.presenters import lesson_json
from ui.shared.state import app_state, embed_committed, require, session_for, viewer_for


async def list_communities(request: Request) -> Response:
    require(request)

    def work() -> dict[str, Any]:
        with session_for(request) as session:
            viewer = viewer_for(request)
            found = communities.list_communities(session, viewer=viewer)
            return {"results": [community_json(session, c, viewer) for c in found]}

    return JSONResponse(await run_in_threadpool(work))


async def create_community(request: Request) -> Response:
    require(request)
    payload = parse(CommunityIn, await read_json_object(request), app_state(request).limits)

    def work() -> dict[str, Any]:
        with session_for(request) as session:
            viewer = viewer_for(request)
            community = communities.create(session, payload=payload, viewer=viewer)
            return community_json(session, community, viewer)

    return JSONResponse(await run_in_threadpool(work), status_code=201)


async def get_community(request: Request) -> Response:
    require(request)
    community_id = path_id(request)

    def work() -> dict[str, Any]:
        with session_for(request) as session:
            viewer = viewer_for(request)
            community = communities.get(session, community_id=community_id, viewer=viewer)
            return community_detail(request, session, community, viewer)

    return JSONResponse(await run_in_threadpool(work))


async def membership(request: Request) -> Response:
    require(request)
    community_id = path_id(request)
    change = parse(MembershipIn, await read_json_object(request), app_state(request).limits)

    def work() -> dict[str, Any]:
        with session_for(request) as session:
            viewer = viewer_for(request)
            community = communities.get(session, community_id=community_id, viewer=viewer)
            communities.set_membership(session, community=community, viewer=viewer, change=change)
            return community_json(session, community, viewer)

    return JSONResponse(await run_in_threadpool(work))


async def share(request: Request) -> Response:
    require(request)
    community_id = path_id(request)
    payload = parse(ShareIn, await read_json_object(request), app_state(request).limits)

    def work() -> dict[str, Any]:
        with session_for(request) as session:
            viewer = viewer_for(request)
            community = communities.get(session, community_id=community_id, viewer=viewer)
            content.share(
                session,
                community=community,
                viewer=viewer,
                lesson_id=payload.lesson_id,
                note=payload.note,
            )
            return community_detail(request, session, community, viewer)

    return JSONResponse(await run_in_threadpool(work))


async def ask(request: Request) -> Response:
    require(request)
    community_id = path_id(request)
    payload = parse(CommunityQuestionIn, await read_json_object(request), app_state(request).limits)

    def work() -> dict[str, Any]:
        with session_for(request) as session:
            viewer = viewer_for(request)
            community = communities.get(session, community_id=community_id, viewer=viewer)
            question = board.ask(
                session,
                community=community,
                viewer=viewer,
                title=payload.question,
                body=payload.details,
            )
            return _thread(session, community, question.id, viewer)

    return JSONResponse(await run_in_threadpool(work), status_code=201)


async def answer(request: Request) -> Response:
    require(request)
    question_id = path_id(request)
    payload = parse(CommunityAnswerIn, await read_json_object(request), app_state(request).limits)

    def work() -> dict[str, Any]:
        with session_for(request) as session:
            viewer = viewer_for(request)
            community, _ = board.answer(
                session, question_id=question_id, viewer=viewer, body=payload.body
            )
            return _thread(session, community, question_id, viewer)

    return JSONResponse(await run_in_threadpool(work), status_code=201)


def _thread(session: Any, community: Any, question_id: int | None, viewer: Any) -> dict[str, Any]:
    (thread,) = [
        t for t in board.threads(session, community=community) if t.question.id == question_id
    ]
    return thread_json(thread, visible_answer_lessons(session, [thread], viewer))


async def answer_to_lesson(request: Request) -> Response:
    require(request)
    answer_id = path_id(request)
    payload = parse(AnswerLessonIn, await read_json_object(request), app_state(request).limits)

    def work() -> tuple[dict[str, Any], int]:
        with session_for(request) as session:
            viewer = viewer_for(request)
            _, lesson = board.answer_to_lesson(
                session, answer_id=answer_id, viewer=viewer, payload=payload
            )
            assert lesson.id is not None
            return lesson_json(lesson), lesson.id

    body, lesson_id = await run_in_threadpool(work)
    await run_in_threadpool(embed_committed, request, [lesson_id])
    return JSONResponse(body, status_code=201)


routes = [
    Route("/api/communities", list_communities, methods=["GET"]),
    Route("/api/communities", create_community, methods=["POST"]),
    Route("/api/communities/{id:int}", get_community, methods=["GET"]),
    Route("/api/communities/{id:int}/membership", membership, methods=["POST"]),
    Route("/api/communities/{id:int}/shares", share, methods=["POST"]),
    Route("/api/communities/{id:int}/questions", ask, methods=["POST"]),
    Route("/api/community-questions/{id:int}/answers", answer, methods=["POST"]),
    Route("/api/community-answers/{id:int}/lesson", answer_to_lesson, methods=["POST"]),
]
