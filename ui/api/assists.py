"""JSON endpoints for peer-assist requests on a BAR: record one (whom, what to ask, by when)
and, later, what came of it. A BAR or request the caller may not use answers 404."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lessons.bar import assists
from lessons.bar import service as bars
from lessons.schemas import parse
from lessons.schemas.people import PeerAssistIn, PeerAssistOutcomeIn
from ui.shared.bar_run import read_bar
from ui.shared.body import path_id, read_json_object
from ui.shared.presenters import assist_json, bar_json
from ui.shared.state import app_state, require, session_for, viewer_for


async def post_peer_assist(request: Request) -> Response:
    require(request)
    bar_id = path_id(request)
    payload = parse(PeerAssistIn, await read_json_object(request), app_state(request).limits)

    def work() -> dict[str, Any]:
        with session_for(request) as session:
            viewer = viewer_for(request)
            bar = bars.get(session, bar_id=bar_id, viewer=viewer)
            assists.request(session, bar=bar, payload=payload, viewer=viewer)
        with session_for(request, write=False) as session:
            return bar_json(read_bar(request, session, bar_id))

    return JSONResponse(await run_in_threadpool(work), status_code=201)


async def post_assist_outcome(request: Request) -> Response:
    require(request)
    assist_id = path_id(request)
    payload = parse(PeerAssistOutcomeIn, await read_json_object(request), app_state(request).limits)

    def work() -> dict[str, Any]:
        with session_for(request) as session:
            assist = assists.record_outcome(
                session, assist_id=assist_id, outcome=payload.outcome, viewer=viewer_for(request)
            )
            _ = assist.person, assist.requested_by
            return assist_json(assist)

    return JSONResponse(await run_in_threadpool(work))


routes = [
    Route("/api/bar/{id:int}/peer-assists", post_peer_assist, methods=["POST"]),
    Route("/api/peer-assists/{id:int}/outcome", post_assist_outcome, methods=["POST"]),
]
