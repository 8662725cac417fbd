"""JSON endpoints. Each reads and validates input, calls services, commits, and serialises."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lessons.accounts.access import Viewer
from lessons.bar import service as bars
from lessons.capture import service as capture
from lessons.catalogue import service as catalogue
from lessons.curation import lifecycle, merging
from lessons.errors import Forbidden, ValidationFailed
from lessons.schemas import (
    BarIn,
    DecisionsIn,
    LessonPatch,
    ReviewIn,
    SearchFilters,
    TransitionIn,
    parse,
)
from lessons.storage.models import Action, Lesson
from retrieval.explain import has_words
from ui.api import actions as actions_api
from ui.api import assists as assists_api
from ui.api import curation as curation_api
from ui.api import merging as merging_api
from ui.api import metrics as metrics_api
from ui.api import outcomes as outcomes_api
from ui.api import people as people_api
from ui.api import taxonomy as taxonomy_api
from ui.api import themes as themes_api
from ui.api.openapi import openapi
from ui.shared.bar_run import read_bar, run_bar
from ui.shared.body import path_id, read_json_object
from ui.shared.params import id_param, int_param, paging
from ui.shared.presenters import (
    action_json,
    bar_json,
    lesson_brief,
    lesson_json,
    review_json,
    why_json,
)
from ui.shared.state import (
    CURATORS,
    app_state,
    embed_committed,
    require,
    session_for,
    throttle,
    viewer_for,
)
from ui.shared.throttle import Costly


async def post_review(request: Request) -> Response:
    require(request)
    data = await read_json_object(request)
    payload = parse(ReviewIn, data, app_state(request).limits)

    def work() -> dict[str, Any]:
        with session_for(request) as session:
            viewer = viewer_for(request)
            review = capture.log_review(session, payload=payload, viewer=viewer)
            lessons = sorted(review.lessons, key=lambda le: le.id or 0)
            actions = catalogue.list_actions(
                session, viewer=viewer_for(request), review_id=review.id
            )
            body = review_json(review, lessons, actions)
        embed_committed(request, [le.id for le in lessons if le.id is not None])
        return body

    return JSONResponse(await run_in_threadpool(work), status_code=201)


async def get_lesson(request: Request) -> Response:
    lesson_id = path_id(request)

    def work() -> dict[str, Any] | int:
        with session_for(request) as session:
            viewer = viewer_for(request)
            # A merged lesson a partner may not read leads on to its canonical lesson.
            found = merging.open_lesson(session, lesson_id=lesson_id, viewer=viewer)
            return found if isinstance(found, int) else _lesson_detail(session, found, viewer)

    body = await run_in_threadpool(work)
    return merging_api.api_redirect(body) if isinstance(body, int) else JSONResponse(body)


def _lesson_detail(session: Session, lesson: Lesson, viewer: Viewer) -> dict[str, Any]:
    actions: list[Action] = lesson.actions
    return {
        **lesson_json(lesson),
        # Where it was merged, where else it was identified, its merges (as the viewer may see).
        **merging_api.merge_fields(session, lesson, viewer),
        "actions": [action_json(a) for a in actions],
        "history": [
            e.model_dump(mode="json", include={"from_status", "to_status", "actor", "reason", "at"})
            for e in lifecycle.history(session, lesson_id=lesson.id or 0)
        ],
        "allowed_transitions": [str(s) for s in lifecycle.allowed_next(lesson.status)],
        "learned_evidence": lesson.learned_evidence,
        "learned_link": lesson.learned_link,
    }


async def list_lessons(request: Request) -> Response:
    params = request.query_params
    state = app_state(request)
    limit, offset = paging(params, default=20, most=state.settings.bar_max_limit * 4)
    filters = parse(
        SearchFilters,
        {
            "status": params.getlist("status") or None,
            "tags": params.getlist("tag") or None,
            "project_id": id_param(params, "project_id"),
        },
        state.limits,
    )
    query = (params.get("q") or "").strip()
    if len(query) > state.settings.max_brief_chars:
        raise ValidationFailed("q is too long.", {"q": "too long"})
    if query:
        throttle(request, Costly.SEARCH)

    def work() -> dict[str, Any]:
        with session_for(request) as session:
            viewer = viewer_for(request)
            if query:
                hits = state.retriever.search(
                    session, query, viewer=viewer, filters=filters, limit=limit
                )
                return {
                    "results": [
                        {
                            **lesson_json(h.lesson),
                            "score": h.score,
                            "why": why_json(h.why, h.score, h.components),
                        }
                        for h in hits
                    ],
                    # Every lesson the filters admit is ranked; a text without a word to
                    # search on ranks none.
                    "total": catalogue.count_lessons(session, viewer=viewer, filters=filters)
                    if has_words(query)
                    else 0,
                }
            lessons, total = catalogue.list_lessons(
                session, viewer=viewer, filters=filters, limit=limit, offset=offset
            )
            return {"results": [lesson_json(le) for le in lessons], "total": total}

    return JSONResponse(await run_in_threadpool(work))


async def patch_lesson(request: Request) -> Response:
    require(request)
    lesson_id = path_id(request)
    patch = parse(LessonPatch, await read_json_object(request), app_state(request).limits)

    def work() -> dict[str, Any]:
        with session_for(request) as session:
            lesson = catalogue.get_lesson(session, lesson_id=lesson_id, viewer=viewer_for(request))
            viewer = viewer_for(request)
            if not viewer.can_edit(lesson):
                raise Forbidden("Only its author or a curator may edit this lesson.")
            catalogue.update_lesson(
                session,
                lesson=lesson,
                patch=patch,
                actor=viewer.name,
                by_curator=viewer.is_curator,
            )
            session.refresh(lesson)
            body = _lesson_detail(session, lesson, viewer)
        embed_committed(request, [lesson_id])
        return body

    return JSONResponse(await run_in_threadpool(work))


async def transition_lesson(request: Request) -> Response:
    require(request, *CURATORS)
    lesson_id = path_id(request)
    step = parse(TransitionIn, await read_json_object(request), app_state(request).limits)

    def work() -> dict[str, Any]:
        with session_for(request) as session:
            viewer = viewer_for(request)
            lesson = catalogue.get_lesson(session, lesson_id=lesson_id, viewer=viewer)
            lifecycle.transition(
                session,
                lesson=lesson,
                to=step.to,
                actor=viewer.name,
                reason=step.reason,
                evidence=step.learned_evidence,
                link=step.learned_link,
                review_months=app_state(request).settings.review_months,
            )
            return _lesson_detail(session, lesson, viewer)

    return JSONResponse(await run_in_threadpool(work))


async def similar_lessons(request: Request) -> Response:
    lesson_id = path_id(request)
    limit = int_param(request.query_params, "limit", 5, low=1, high=50)

    def work() -> dict[str, Any]:
        with session_for(request) as session:
            viewer = viewer_for(request)
            lesson = catalogue.get_lesson(session, lesson_id=lesson_id, viewer=viewer)
            hits = app_state(request).retriever.similar(session, lesson, viewer=viewer, limit=limit)
            return {
                "results": [
                    {**lesson_brief(h.lesson), "lesson_id": h.lesson.id, "score": h.score}
                    for h in hits
                ]
            }

    return JSONResponse(await run_in_threadpool(work))


async def post_bar(request: Request) -> Response:
    require(request)
    state = app_state(request)
    payload = parse(BarIn, await read_json_object(request), state.limits)

    def work() -> dict[str, Any]:
        return bar_json(run_bar(request, payload))

    return JSONResponse(await run_in_threadpool(work), status_code=201)


async def get_bar(request: Request) -> Response:
    require(request)
    bar_id = path_id(request)

    def work() -> dict[str, Any]:
        with session_for(request) as session:
            view = read_bar(request, session, bar_id)
        return bar_json(view)

    return JSONResponse(await run_in_threadpool(work))


async def post_decisions(request: Request) -> Response:
    require(request)
    bar_id = path_id(request)
    payload = parse(DecisionsIn, await read_json_object(request), app_state(request).limits)

    def work() -> dict[str, Any]:
        with session_for(request) as session:
            viewer = viewer_for(request)
            bar = bars.get(session, bar_id=bar_id, viewer=viewer_for(request))
            bars.decide(session, bar=bar, decisions=payload.decisions, viewer=viewer)
        # The answer is assembled in a read of its own: explaining and scoring the results
        # again does not hold the write lock.
        with session_for(request, write=False) as session:
            view = read_bar(request, session, bar_id)
        return bar_json(view)

    return JSONResponse(await run_in_threadpool(work))


async def openapi_document(request: Request) -> Response:
    return JSONResponse(openapi(app_state(request).settings))


routes = [
    Route("/api/openapi.json", openapi_document, methods=["GET"]),
    Route("/api/reviews", post_review, methods=["POST"]),
    Route("/api/lessons", list_lessons, methods=["GET"]),
    Route("/api/lessons/{id:int}", get_lesson, methods=["GET"]),
    Route("/api/lessons/{id:int}", patch_lesson, methods=["PATCH"]),
    Route("/api/lessons/{id:int}/transition", transition_lesson, methods=["POST"]),
    Route("/api/lessons/{id:int}/similar", similar_lessons, methods=["GET"]),
    Route("/api/bar", post_bar, methods=["POST"]),
    Route("/api/bar/{id:int}", get_bar, methods=["GET"]),
    Route("/api/bar/{id:int}/decisions", post_decisions, methods=["POST"]),
]
routes += curation_api.routes
routes += [*actions_api.routes, *taxonomy_api.routes]
routes += merging_api.routes
routes += themes_api.routes
routes += [*metrics_api.routes, *outcomes_api.routes]
routes += [*people_api.routes, *assists_api.routes]
