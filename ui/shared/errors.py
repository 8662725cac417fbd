"""One place that turns errors into responses: JSON under /api, an error page elsewhere."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import Scope, Send

from lessons.errors import (
    DomainError,
    Forbidden,
    InvalidTransition,
    NotFound,
    NotSignedIn,
    ValidationFailed,
)

log = logging.getLogger("lessonbank")

STATUS = {
    NotFound: 404,
    ValidationFailed: 422,
    InvalidTransition: 409,
    Forbidden: 403,
    NotSignedIn: 401,
}


class RequestRejected(DomainError):
    """A request the HTTP layer refuses before the domain sees it (bad JSON, too large)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class RateLimited(RequestRejected):
    """Too many costly requests from one caller: 429, with how many seconds to wait."""

    def __init__(self, retry_after: int, message: str) -> None:
        super().__init__(429, "rate_limited", message)
        self.retry_after = retry_after


def error_body(code: str, message: str, fields: dict[str, str] | None = None) -> dict[str, object]:
    """The one JSON error body: `{"error": {"code", "message", "fields"}}`."""
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def error_page(
    request: Request, status: int, message: str, fields: dict[str, str] | None = None
) -> Response:
    """The one error page (error.html), for every path outside /api."""
    templates = request.app.state.lessonbank.templates
    response: Response = templates.TemplateResponse(
        request,
        "error.html",
        {"status": status, "message": message, "fields": fields or {}},
        status_code=status,
    )
    return response


def error_response(
    request: Request,
    status: int,
    code: str,
    message: str,
    fields: dict[str, str] | None = None,
    *,
    as_json: bool = False,
) -> Response:
    """The JSON body under /api (or when `as_json`), the error page elsewhere."""
    if as_json or request.url.path.startswith("/api"):
        return JSONResponse(error_body(code, message, fields), status_code=status)
    return error_page(request, status, message, fields)


async def send_error(
    scope: Scope, send: Send, status: int, code: str, message: str, *, as_json: bool = False
) -> None:
    """`error_response` from a middleware layer, which has a scope rather than a request (and
    has read the body or refused to: nothing more is received)."""
    request = Request(scope)
    response = error_response(request, status, code, message, as_json=as_json)
    await response(scope, request.receive, send)


def status_of(exc: DomainError) -> int:
    return exc.status if isinstance(exc, RequestRejected) else STATUS.get(type(exc), 400)


async def domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    if isinstance(exc, NotSignedIn) and not request.url.path.startswith("/api"):
        return RedirectResponse(f"/login?{urlencode({'next': request.url.path})}", status_code=303)
    response = error_response(request, status_of(exc), exc.code, exc.message, exc.fields)
    if isinstance(exc, RateLimited):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    codes = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}
    message = {404: "Nothing here.", 405: "That method is not allowed here."}.get(
        exc.status_code, str(exc.detail)
    )
    return error_response(
        request, exc.status_code, codes.get(exc.status_code, "http_error"), message
    )


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(request, 500, "server_error", "Something went wrong on our side.")


HANDLERS = {DomainError: domain_error, HTTPException: http_error, Exception: server_error}
