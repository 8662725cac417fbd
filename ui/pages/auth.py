"""Signing in and out, and changing one's password."""

from __future__ import annotations

from urllib.parse import urlparse

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from lessons import accounts
from lessons.errors import DomainError, NotSignedIn
from lessons.models import User, utcnow
from ui.forms import nested
from ui.pages.render import page
from ui.state import session_for, viewer_for


def _safe_next(target: str) -> str:
    """Only local paths: never bounce a user to another site after signing in. Browsers read
    a backslash as a slash (`/\\evil.example` is `//evil.example`), so none is allowed."""
    parsed = urlparse(target)
    if (
        parsed.scheme
        or parsed.netloc
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target)
    ):
        return "/"
    return target


def login_form(request: Request) -> Response:
    return page(
        request,
        "login.html",
        {
            "values": {"next": _safe_next(request.query_params.get("next", "/"))},
            "errors": {},
        },
    )


async def login(request: Request) -> Response:
    values = nested(await request.form())
    username = str(values.get("username") or "").strip()
    password = str(values.get("password") or "")
    target = _safe_next(str(values.get("next") or "/"))
    client = request.client.host if request.client else ""
    with session_for(request) as session:  # commits, so a failure counts towards the lock
        user = accounts.authenticate(session, username=username, password=password, client=client)
        user_id = user.id if user else None
    if user_id is None:
        context = {
            "values": {"username": username, "next": target},
            "errors": {},
            "message": accounts.SIGN_IN_REFUSED,
        }
        return page(request, "login.html", context, status=401)
    request.session.clear()  # a new session on sign-in: no fixation
    request.session.update({"user_id": user_id, "since": utcnow().isoformat()})
    return RedirectResponse(target, status_code=303)


async def logout(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse("/", status_code=303)


def _require_user(request: Request) -> int:
    viewer = viewer_for(request)
    if viewer.user_id is None:
        raise NotSignedIn("Sign in first.")
    return viewer.user_id


def password_form(request: Request) -> Response:
    _require_user(request)
    return page(request, "password.html", {"errors": {}, "done": False})


async def password_change(request: Request) -> Response:
    user_id = _require_user(request)
    values = nested(await request.form())
    try:
        with session_for(request) as session:
            user = session.get(User, user_id)
            assert user is not None
            accounts.change_password(
                session,
                user=user,
                current=str(values.get("current") or ""),
                new=str(values.get("new") or ""),
            )
    except DomainError as exc:
        return page(
            request,
            "password.html",
            {"errors": exc.fields, "message": exc.message, "done": False},
            status=422,
        )
    request.session["since"] = utcnow().isoformat()  # this session stays; others end
    return page(request, "password.html", {"errors": {}, "done": True})


routes = [
    Route("/login", login_form, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/account/password", password_form, methods=["GET"]),
    Route("/account/password", password_change, methods=["POST"]),
]
