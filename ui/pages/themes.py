"""Recurring themes: problems met in three or more projects and not yet learned."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from lessons.catalogue import service as catalogue
from lessons.curation.themes import MIN_PROJECTS, lesson_year
from ui.pages.render import page
from ui.shared.state import require, session_for
from ui.shared.themes import theme_finder, themes_for


def theme_list(request: Request) -> Response:
    """(A plain function: Starlette runs it in a worker thread, and the page renders inside
    the session, where each action's owner and lesson can still be loaded.)"""
    require(request)
    with session_for(request) as session:
        themes = themes_for(request, session)
        context = {
            "themes": themes,
            "years": {le.id: lesson_year(le) for t in themes for le in t.lessons},
            "today": catalogue.today(),
            "min_projects": MIN_PROJECTS,
            "threshold": theme_finder(request).threshold,
        }
        return page(request, "themes.html", context)


routes = [Route("/themes", theme_list, methods=["GET"])]
