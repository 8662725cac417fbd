"""What the running app holds, built once in the lifespan and reached through `request`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import Session
from starlette.requests import Request
from starlette.templating import Jinja2Templates

from lessons import access
from lessons.access import Viewer
from lessons.db import transaction
from lessons.schemas import Limits
from lessons.settings import Settings
from retrieval.service import Retriever


@dataclass
class AppState:
    settings: Settings
    engine: Engine
    retriever: Retriever
    templates: Jinja2Templates
    limits: Limits


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.lessonbank
    return state


@contextmanager
def session_for(request: Request) -> Iterator[Session]:
    """The request's transaction: commits if the handler returns, rolls back if it raises."""
    with transaction(app_state(request).engine) as session:
        yield session


def viewer_for(request: Request) -> Viewer:
    """Who is asking. Until accounts exist every caller is trusted staff: public and internal
    lessons, never restricted ones (those wait for project membership)."""
    return access.STAFF
