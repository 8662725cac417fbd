"""Outcomes of applied BAR lessons over the API: what happened when the team applied them."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lessons.bar import service as bars
from lessons.schemas import OutcomesIn, parse
from ui.shared.bar_run import read_bar
from ui.shared.body import path_id, read_json_object
from ui.shared.presenters import bar_json
from ui.shared.state import app_state, require, session_for, viewer_for


async def post_outcomes(request: Request) -> Response:
    require(request)
    bar_id = path_id(request)
    payload = parse(OutcomesIn, await read_json_object(request), app_state(request).limits)

    def work() -> dict[str, Any]:
        with session_for(request) as session:
            viewer = viewer_for(request)
            bar = bars.get(session, bar_id=bar_id, viewer=viewer_for(request))
            bars.record_outcomes(session, bar=bar, outcomes=payload.outcomes, viewer=viewer)
        # The answer is assembled in a read of its own: explaining and scoring the results
        # again does not hold the write lock.
        with session_for(request, write=False) as session:
            view = read_bar(request, session, bar_id)
        return bar_json(view, outcomes=True)

    return JSONResponse(await run_in_threadpool(work))


routes = [Route("/api/bar/{id:int}/outcomes", post_outcomes, methods=["POST"])]
