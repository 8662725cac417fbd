"""What the running app holds, built once in the lifespan and reached through `request`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Receive, Scope, Send

from lessons.accounts import users as accounts
from lessons.accounts.access import Viewer
from lessons.errors import Forbidden, NotSignedIn
from lessons.schemas import Limits
from lessons.storage.db import transaction
from lessons.storage.models import Role, User
from lessons.storage.settings import Settings
from retrieval.service import Retriever
from ui.shared.throttle import Costly, Throttle


@dataclass
class AppState:
    settings: Settings
    engine: Engine
    retriever: Retriever
    templates: Jinja2Templates
    limits: Limits
    throttle: Throttle


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.lessonbank
    return state


READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@contextmanager
def session_for(request: Request, *, write: bool | None = None) -> Iterator[Session]:
    """The request's transaction: commits if the handler returns, rolls back if it raises.
    Requests that may write (anything but GET/HEAD/OPTIONS) take the write lock first,
    unless `write=False` says this part only reads."""
    engine = app_state(request).engine
    if write is None:
        write = request.method not in READ_METHODS
    with transaction(engine, write=write) as session:
        yield session


def throttle(request: Request, kind: Costly) -> None:
    """Count a costly request (a search, a BAR) against its caller's rate limit, or raise
    RateLimited. Behind a proxy, run uvicorn with --forwarded-allow-ips so the client address
    is the visitor's, not the proxy's."""
    address = request.client.host if request.client else ""
    app_state(request).throttle.count(kind, viewer_for(request), address)


def embed_committed(request: Request, lesson_ids: list[int]) -> None:
    """Embed lessons the request has committed, the model running outside any transaction
    (holding the write lock through it would make every other writer wait)."""
    state = app_state(request)
    state.retriever.sync_committed(state.engine, ids=lesson_ids)


def viewer_for(request: Request) -> Viewer:
    """Who is asking: a bearer token's user, else the signed-in session's, else anonymous.
    Worked out once per request (by `ResolveViewer`, off the event loop)."""
    cached: Viewer | None = getattr(request.state, "viewer", None)
    if cached is not None:
        return cached
    engine = app_state(request).engine
    token = _bearer(request)
    with transaction(engine) as session:
        user = _user(request, session)
        viewer = accounts.viewer(session, user)
        note_use = (
            user is not None
            and token is not None
            and accounts.token_use_is_stale(session, token=token)
        )
    if note_use and token is not None:
        with transaction(engine, write=True) as session:
            accounts.note_token_use(session, token=token)
    request.state.viewer = viewer
    return viewer


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else None


def _user(request: Request, session: Session) -> User | None:
    token = _bearer(request)
    if token is not None:
        return accounts.user_for_token(session, token=token)
    session_id = session_id_of(request)
    if session_id is None:
        return None
    # The cookie only names a server-side session: signing out, a password or role change or
    # disabling the user deletes it, and every copy of the cookie stops working.
    return accounts.user_for_session(session, session_id=session_id)


SESSION_KEY = "sid"


def session_id_of(request: Request) -> str | None:
    """The server-side session id the signed cookie carries, if any."""
    session_id = request.session.get(SESSION_KEY) if "session" in request.scope else None
    return session_id if isinstance(session_id, str) and session_id else None


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


class ResolveViewer:
    """Works out the viewer in a worker thread before the handler runs: it reads the
    database, which must not stall the event loop (every other request waits on it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith(("/static/", "/healthz")):
            await run_in_threadpool(viewer_for, Request(scope))
        await self.app(scope, receive, send)
