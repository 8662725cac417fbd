"""Signing in and out, and changing one's password."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlparse

from sqlmodel import Session
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from lessons.accounts import users as accounts
from lessons.errors import DomainError, NotSignedIn
from lessons.storage.models import User
from ui.pages.render import page
from ui.shared.body import form_handler
from ui.shared.forms import nested
from ui.shared.state import SESSION_KEY, app_state, session_for, session_id_of, viewer_for


def safe_next(target: str) -> str:
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


# Why a page sent its visitor here, by the start of the path they asked for.
REASONS = [
    ("/reviews/new", "log a review"),
    ("/bar", "run or read a before action review"),
    ("/actions", "see the actions"),
    ("/projects", "see the projects"),
    ("/themes", "see the recurring themes"),
    ("/people", "see who wrote what"),
    ("/metrics", "see the metrics"),
    ("/taxonomy", "see the taxonomy"),
    ("/curate", "curate lessons"),
    ("/admin", "administer Lessonbank"),
]


def reason_for(target: str) -> str:
    """What the visitor was trying to do, in their words, or "" when they came on their own."""
    if target == "/":
        return ""
    for prefix, doing in REASONS:
        if target == prefix or target.startswith(prefix + "/"):
            return f"You need to be signed in to {doing}."
    return "You need to be signed in to see that page."


def login_page(
    request: Request,
    *,
    target: str,
    username: str = "",
    message: str = "",
    status: int = 200,
) -> Response:
    """The sign-in page: the password form, and the single sign-on button when configured."""
    settings = app_state(request).settings
    with session_for(request, write=False) as session:
        first_run = not accounts.has_users(session)
    context = {
        "values": {"username": username, "next": target},
        "errors": {},
        "message": message,
        "reason": reason_for(target),
        "first_run": first_run,
        "sso_label": settings.oidc_label if settings.oidc_enabled else "",
    }
    return page(request, "login.html", context, status=status)


def open_session(request: Request, session: Session, user: User) -> str:
    """A new server-side session for `user`, lasting as long as the cookie may; its id goes
    into the cookie with `start_session` once the transaction has committed."""
    hours = app_state(request).settings.session_hours
    return accounts.open_session(session, user=user, lifetime=timedelta(hours=hours))


def start_session(request: Request, session_id: str) -> None:
    """Sign in as the server-side session `session_id`: a fresh cookie (no fixation) holding
    only that id. Password and single sign-on both come through here."""
    request.session.clear()
    request.session[SESSION_KEY] = session_id


def login_form(request: Request) -> Response:
    return login_page(request, target=safe_next(request.query_params.get("next", "/")))


@form_handler
def login(request: Request, form: FormData) -> Response:
    values = nested(form)
    username = str(values.get("username") or "").strip()
    password = str(values.get("password") or "")
    target = safe_next(str(values.get("next") or "/"))
    client = request.client.host if request.client else ""
    with session_for(request) as session:  # commits, so a failure counts towards the lock
        user = accounts.authenticate(session, username=username, password=password, client=client)
        session_id = open_session(request, session, user) if user else None
    if session_id is None:
        return login_page(
            request, target=target, username=username, message=accounts.SIGN_IN_REFUSED, status=401
        )
    start_session(request, session_id)
    return RedirectResponse(target, status_code=303)


def logout(request: Request) -> Response:
    session_id = session_id_of(request)
    if session_id is not None:
        with session_for(request) as session:
            accounts.end_session(session, session_id=session_id)
    request.session.clear()
    return RedirectResponse("/", status_code=303)


def _require_user(request: Request) -> int:
    viewer = viewer_for(request)
    if viewer.user_id is None:
        raise NotSignedIn("Sign in first.")
    return viewer.user_id


def _sso_only(request: Request, user_id: int) -> Response | None:
    """For a user without a Lessonbank password (single sign-on only): the page that says so."""
    with session_for(request) as session:
        user = session.get(User, user_id)
        if user is None or accounts.has_password(user):
            return None
    label = app_state(request).settings.oidc_label
    message = (
        f"You sign in with {label}, so you have no Lessonbank password to change. "
        f"Change your password where you manage your {label} account."
    )
    status = 200 if request.method == "GET" else 409
    return page(
        request, "password.html", {"errors": {}, "done": False, "sso_only": message}, status
    )


def password_form(request: Request) -> Response:
    user_id = _require_user(request)
    return _sso_only(request, user_id) or page(
        request, "password.html", {"errors": {}, "done": False}
    )


@form_handler
def password_change(request: Request, form: FormData) -> Response:
    user_id = _require_user(request)
    refused = _sso_only(request, user_id)
    if refused is not None:
        return refused
    values = nested(form)
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
            # Every session ended, a copied cookie's too; this browser carries on in a new one.
            session_id = open_session(request, session, user)
    except DomainError as exc:
        return page(
            request,
            "password.html",
            {"errors": exc.fields, "message": exc.message, "done": False},
            status=422,
        )
    start_session(request, session_id)
    return page(request, "password.html", {"errors": {}, "done": True})


routes = [
    Route("/login", login_form, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/account/password", password_form, methods=["GET"]),
    Route("/account/password", password_change, methods=["POST"]),
]
