"""Learning-loop metrics over the API: the dashboard's numbers as JSON."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lessons.catalogue import service as catalogue
from lessons.metrics import service as metrics
from ui.shared.state import require, session_for, viewer_for
from ui.shared.themes import themes_for


async def get_metrics(request: Request) -> Response:
    require(request)

    def work() -> dict[str, Any]:
        today = catalogue.today()
        with session_for(request) as session:
            computed = metrics.compute_all(
                session,
                viewer=viewer_for(request),
                themes=lambda: themes_for(request, session),
                today=today,
            )
        return {"as_of": today.isoformat(), "metrics": [m.as_json() for m in computed]}

    return JSONResponse(await run_in_threadpool(work))


routes = [Route("/api/metrics", get_metrics, methods=["GET"])]
