"""Recurring themes for a reader: the one way the API and the pages get them."""

from __future__ import annotations

from sqlmodel import Session
from starlette.requests import Request

from lessons.curation import themes as lesson_themes
from lessons.curation.themes import Theme
from retrieval.themes import ThemeFinder
from ui.shared.state import app_state, viewer_for


def theme_finder(request: Request) -> ThemeFinder:
    """The process's clustering cache, made on first use (two requests racing to make it
    only cost one clustering more)."""
    finder: ThemeFinder | None = getattr(request.app.state, "theme_finder", None)
    if finder is None:
        finder = ThemeFinder()
        request.app.state.theme_finder = finder
    return finder


def themes_for(request: Request, session: Session) -> list[Theme]:
    """The recurring themes among the lessons the request's viewer may see."""
    viewer = viewer_for(request)
    clusters = theme_finder(request).clusters(
        session, viewer=viewer, model=app_state(request).retriever.model
    )
    return lesson_themes.build(session, clusters=clusters, viewer=viewer)
