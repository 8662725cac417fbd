"""Sessions, CSRF and security headers: the layers every request passes through."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

from asgi_csrf import asgi_csrf
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lessons.storage.settings import Settings
from ui.shared.errors import RequestRejected, send_error

log = logging.getLogger("lessonbank")

# No inline script or style anywhere: the templates load only files from /static.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)
HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


def secret_key(settings: Settings) -> str:
    """The configured key, else one generated on first start and kept on disk (owner-only)."""
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.secret_key_file)
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.touch(mode=0o600)
    path.write_text(key, encoding="utf-8")
    return key


class SecurityHeaders:
    """Adds the security headers to every response, including errors from outer layers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [
                    *message.get("headers", []),
                    *[(n, v) for n, v in HEADERS if n not in present],
                ]
            await send(message)

        await self.app(scope, receive, with_headers)


async def _csrf_failed(scope: Scope, send: Send, message_id: int = 0) -> None:
    await send_error(
        scope,
        send,
        403,
        "csrf",
        "This form has expired or did not come from Lessonbank: reload the page and try again.",
    )


def with_csrf(app: ASGIApp, settings: Settings, key: str) -> ASGIApp:
    """Double-submit-cookie CSRF protection on every unsafe request that carries cookies
    (bearer-token API calls carry none and are not exposed to CSRF)."""
    wrapped: ASGIApp = asgi_csrf(
        app,
        signing_secret=key,
        cookie_secure=settings.secure_cookies,
        cookie_samesite="Lax",
        always_protect={"/login"},
        send_csrf_failed=_csrf_failed,
    )
    return wrapped


# Set in the scope by CSRFProtect; the check sets it once the request has passed.
_PASSED = "lessonbank.csrf_passed"


class CSRFProtect:
    """`with_csrf` as a Starlette middleware class.

    asgi_csrf reads the body for the token when the header does not carry it, and its reader
    breaks on some bodies (a multipart type without `; boundary=`, any multipart body with
    python-multipart 0.0.34, a urlencoded body that is not UTF-8). A request it fails on
    before it lets the request through is refused as one without a valid token: no form of
    ours sends such a body."""

    def __init__(self, app: ASGIApp, settings: Settings, key: str) -> None:
        async def passed(scope: Scope, receive: Receive, send: Send) -> None:
            if _PASSED in scope:  # not for the lifespan
                scope[_PASSED]["passed"] = True
            await app(scope, receive, send)

        self.app = with_csrf(passed, settings, key)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = {"passed": False, "started": False}

        async def tracking_send(message: Message) -> None:
            state["started"] = state["started"] or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app({**scope, _PASSED: state}, receive, tracking_send)
        except RequestRejected:
            raise  # the body is over the size cap: LimitBodySize answers
        except Exception:
            if state["passed"] or state["started"]:
                raise
            log.info("CSRF check could not read the body of %s %s", scope["method"], scope["path"])
            await _csrf_failed(scope, send)
