"""JSON endpoints for the people directory: people for a topic, a profile, editing one's own.

Signed-in callers only (the directory holds how to reach people). A person the caller may not
see named answers 404, as one that does not exist."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lessons.expertise import profiles
from lessons.schemas import parse
from lessons.schemas.people import ProfileIn
from ui.shared import people
from ui.shared.body import path_id, read_json_object
from ui.shared.params import int_param
from ui.shared.state import app_state, require, session_for, viewer_for


async def list_people(request: Request) -> Response:
    require(request)
    limit = int_param(request.query_params, "limit", 10, low=1, high=people.MAX_LIMIT)
    topic = people.topic_of(request)

    def work() -> dict[str, Any]:
        with session_for(request, write=False) as session:
            return {"results": people.find(request, session, topic, limit=limit)}

    return JSONResponse(await run_in_threadpool(work))


async def get_person(request: Request) -> Response:
    require(request)
    person_id = path_id(request)

    def work() -> dict[str, Any]:
        with session_for(request, write=False) as session:
            return people.profile(request, session, person_id)

    return JSONResponse(await run_in_threadpool(work))


async def patch_person(request: Request) -> Response:
    require(request)
    person_id = path_id(request)
    patch = parse(ProfileIn, await read_json_object(request), app_state(request).limits)

    def work() -> dict[str, Any]:
        with session_for(request) as session:
            viewer = viewer_for(request)
            person = profiles.get(session, person_id=person_id, viewer=viewer)
            profiles.update(session, person=person, patch=patch, viewer=viewer)
            return people.profile(request, session, person_id)

    return JSONResponse(await run_in_threadpool(work))


routes = [
    Route("/api/people", list_people, methods=["GET"]),
    Route("/api/people/{id:int}", get_person, methods=["GET"]),
    Route("/api/people/{id:int}", patch_person, methods=["PATCH"]),
]
