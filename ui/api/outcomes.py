"""Outcomes of applied BAR lessons over the API: what happened when the team applied them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lessons.bar import service as bars
from lessons.schemas import parse
from lessons.storage.models import BarItem
from ui.shared.body import path_id, read_json_object
from ui.shared.presenters import bar_json
from ui.shared.state import app_state, require, session_for, viewer_for


def with_outcomes(body: dict[str, Any], items: Sequence[BarItem]) -> dict[str, Any]:
    """A BAR as `bar_json` shows it, each result with its recorded outcome and when."""
    by_lesson = {item.lesson_id: item for item in items}
    for result in body["results"]:
        item = by_lesson.get(result["id"])
        result["outcome"] = item.outcome if item else ""
        result["outcome_at"] = item.outcome_at.isoformat() if item and item.outcome_at else None
    return body


async def post_outcomes(request: Request) -> Response:
    require(request)
    bar_id = path_id(request)
    payload = parse(bars.OutcomesIn, await read_json_object(request), app_state(request).limits)

    def work() -> dict[str, Any]:
        with session_for(request) as session:
            viewer = viewer_for(request)
            bar = bars.get(session, bar_id=bar_id, viewer=viewer_for(request))
            bars.record_outcomes(session, bar=bar, outcomes=payload.outcomes, viewer=viewer)
            items = bars.visible_items(bar, viewer)
            return with_outcomes(bar_json(session, bar, items, viewer=viewer), items)

    return JSONResponse(await run_in_threadpool(work))


routes = [Route("/api/bar/{id:int}/outcomes", post_outcomes, methods=["POST"])]
