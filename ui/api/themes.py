"""Recurring themes over the API."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lessons.catalogue import service as catalogue
from lessons.curation import themes as lesson_themes
from lessons.curation.themes import Theme, lesson_year
from ui.shared.presenters import action_json, lesson_brief
from ui.shared.state import require, session_for
from ui.shared.themes import theme_finder, themes_for


def theme_json(theme: Theme) -> dict[str, Any]:
    today = catalogue.today()
    return {
        "label": theme.label,
        "central_lesson_id": theme.central.id,
        "tags": theme.tags,
        "project_count": len(theme.projects),
        "open_project_count": len(theme.open_projects),
        "projects": [{"id": p.id, "name": p.name} for p in theme.projects],
        "years": theme.years,
        "lessons": [
            {**lesson_brief(lesson), "year": lesson_year(lesson)} for lesson in theme.lessons
        ],
        "learned_lesson_ids": [lesson.id for lesson in theme.learned],
        "open_actions": [action_json(a, today) for a in theme.open_actions],
    }


async def get_themes(request: Request) -> Response:
    require(request)

    def work() -> dict[str, Any]:
        with session_for(request) as session:
            finder = theme_finder(request)
            return {
                "themes": [theme_json(t) for t in themes_for(request, session)],
                "threshold": finder.threshold,
                "min_projects": lesson_themes.MIN_PROJECTS,
            }

    return JSONResponse(await run_in_threadpool(work))


routes = [Route("/api/themes", get_themes, methods=["GET"])]
