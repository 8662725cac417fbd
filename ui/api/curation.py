"""JSON endpoints of the curation queue (curators only): the queue, and the decisions on it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lessons.catalogue import service as catalogue
from lessons.curation import queue as curation
from lessons.curation.queue import Section
from lessons.errors import ValidationFailed
from lessons.schemas import ReviewDueIn, ValidateIn, parse
from lessons.storage.models import Lesson
from ui.shared.body import path_id, read_json_object
from ui.shared.params import paging
from ui.shared.presenters import lesson_json
from ui.shared.state import CURATORS, app_state, embed_committed, require, session_for, viewer_for

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def queued_json(lesson: Lesson) -> dict[str, Any]:
    """A lesson in the queue: the API's lesson shape, and what is flagged about it."""
    return {**lesson_json(lesson), "flags": [str(flag) for flag in curation.flags(lesson)]}


async def get_queue(request: Request) -> Response:
    require(request, *CURATORS)
    params = dict(request.query_params)
    raw_section = params.get("section", "")
    try:
        sections = [Section(raw_section)] if raw_section else list(Section)
    except ValueError:
        choices = ", ".join(Section)
        raise ValidationFailed(
            f"section must be one of {choices}.", {"section": "unknown section"}
        ) from None
    limit, offset = paging(params, default=DEFAULT_LIMIT, most=MAX_LIMIT)

    def work() -> dict[str, Any]:
        with session_for(request) as session:
            viewer = viewer_for(request)
            today = catalogue.today()
            pages = {
                section: curation.page(
                    session, viewer=viewer, section=section, today=today, limit=limit, offset=offset
                )
                for section in sections
            }
            counts = curation.counts(session, viewer=viewer, today=today)
            return {
                "today": today.isoformat(),
                "counts": {str(section): n for section, n in counts.items()},
                "sections": {
                    str(section): {
                        "total": found.total,
                        "limit": found.limit,
                        "offset": found.offset,
                        "results": [queued_json(lesson) for lesson in found.lessons],
                    }
                    for section, found in pages.items()
                },
            }

    return JSONResponse(await run_in_threadpool(work))


async def validate_lesson(request: Request) -> Response:
    return await _decide(request, ValidateIn, curation.validate)


async def review_lesson(request: Request) -> Response:
    return await _decide(request, ReviewDueIn, curation.review)


async def _decide(
    request: Request, schema: type[ValidateIn] | type[ReviewDueIn], decide: Callable[..., object]
) -> Response:
    """Parse a curator's decision on one lesson, apply it with the curation service `decide`
    (validate or review), and answer the lesson as the queue shows it; re-embed after commit."""
    require(request, *CURATORS)
    lesson_id = path_id(request)
    state = app_state(request)
    choice = parse(schema, await read_json_object(request), state.limits)

    def work() -> dict[str, Any]:
        with session_for(request) as session:
            viewer = viewer_for(request)
            lesson = catalogue.get_lesson(session, lesson_id=lesson_id, viewer=viewer)
            decide(
                session,
                lesson=lesson,
                choice=choice,
                actor=viewer.name,
                today=catalogue.today(),
                review_months=state.settings.review_months,
            )
            session.refresh(lesson)
            body = queued_json(lesson)
        embed_committed(request, [lesson_id])
        return body

    return JSONResponse(await run_in_threadpool(work))


routes = [
    Route("/api/curation/queue", get_queue, methods=["GET"]),
    Route("/api/curation/lessons/{id:int}/validate", validate_lesson, methods=["POST"]),
    Route("/api/curation/lessons/{id:int}/review", review_lesson, methods=["POST"]),
]
