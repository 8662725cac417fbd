"""What the running app holds, built once in the lifespan and reached through `request`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import Session
from starlette.requests import Request
from starlette.templating import Jinja2Templates

from lessons import accounts
from lessons.access import Viewer
from lessons.db import transaction
from lessons.errors import Forbidden, NotSignedIn
from lessons.models import Role, User
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
    """Who is asking: a bearer token's user, else the signed-in session's, else anonymous.
    Worked out once per request."""
    cached: Viewer | None = getattr(request.state, "viewer", None)
    if cached is not None:
        return cached
    with session_for(request) as session:
        user = _user(request, session)
        viewer = accounts.viewer(session, user)
    request.state.viewer = viewer
    return viewer


def _user(request: Request, session: Session) -> User | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return accounts.user_for_token(session, token=header[7:].strip())
    user_id = request.session.get("user_id") if "session" in request.scope else None
    if not isinstance(user_id, int):
        return None
    user = session.get(User, user_id)
    # A password change ends every other session: the session remembers when it signed in.
    signed_in_at = request.session.get("since", "")
    if user is None or not user.is_active:
        return None
    if user.password_changed_at and signed_in_at < user.password_changed_at.isoformat():
        return None
    return user


def require(request: Request, *roles: Role) -> Viewer:
    """The viewer, who must be signed in (NotSignedIn) and, when `roles` are given, hold one
    of them (Forbidden)."""
    viewer = viewer_for(request)
    if not viewer.signed_in:
        raise NotSignedIn("Sign in to do that.")
    if roles and viewer.role not in roles:
        raise Forbidden("Your role does not allow that.")
    return viewer


CURATORS = (Role.CURATOR, Role.ADMIN)
