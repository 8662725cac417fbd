"""Request bodies: a size cap for every request, JSON parsing with clear errors, and the one
way a page handler reads a form."""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lessons.errors import NotFound
from lessons.numbers import LARGEST_ID, read_whole
from ui.shared.errors import RequestRejected, send_error


def _too_large(max_bytes: int) -> RequestRejected:
    return RequestRejected(413, "too_large", f"The request is larger than {max_bytes} bytes.")


class LimitBodySize:
    """Refuse bodies over the limit while they are read, whatever Content-Length claims."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length", b"0")
        # A Content-Length that is not a number claims nothing; the bytes read are counted.
        declared_size = read_whole(declared.decode("latin-1")) or 0
        received = 0
        max_bytes = self.max_bytes

        async def capped_receive() -> Message:
            nonlocal received
            if declared_size > max_bytes:
                raise _too_large(max_bytes)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    raise _too_large(max_bytes)
            return message

        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, capped_receive, tracking_send)
        except RequestRejected as exc:  # raised in an outer layer (e.g. CSRF reading a form)
            if started:
                raise
            # A body refused before any route reads it is answered in JSON on every path.
            await send_error(scope, send, exc.status, exc.code, exc.message, as_json=True)


class RefuseMultipart:
    """Refuse multipart bodies (415): no route takes files, and every form is sent url-encoded.
    A form handler that parsed one would leave an uploaded file's temporary file open. It
    raises; LimitBodySize, the layer outside it, answers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            kind = dict(scope.get("headers", [])).get(b"content-type", b"")
            if kind.split(b";")[0].strip().lower() == b"multipart/form-data":
                raise RequestRejected(
                    415, "unsupported_media_type", "Send forms url-encoded; files are not taken."
                )
        await self.app(scope, receive, send)


async def read_json(request: Request) -> Any:
    """The body as JSON, or a 400 that says what is wrong with it."""
    body = await request.body()
    if not body.strip():
        raise RequestRejected(400, "invalid_json", "The request body is empty; send JSON.")
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RequestRejected(400, "invalid_json", f"The body is not valid JSON: {exc}.") from None
    except RecursionError:
        raise RequestRejected(400, "invalid_json", "The body is nested too deeply.") from None
    except ValueError as exc:  # e.g. an integer literal longer than Python will convert
        raise RequestRejected(400, "invalid_json", f"The body cannot be read: {exc}.") from None


async def read_json_object(request: Request) -> dict[str, Any]:
    data = await read_json(request)
    if not isinstance(data, dict):
        raise RequestRejected(400, "invalid_json", "The body must be a JSON object.")
    return data


def path_id(request: Request, name: str = "id") -> int:
    """A record id from the path; ids beyond the id columns' integer cannot exist."""
    value = int(request.path_params[name])
    if value > LARGEST_ID:
        raise NotFound(f"No record with id {value}.")
    return value


def form_handler(
    handler: Callable[[Request, FormData], Response],
) -> Callable[[Request], Awaitable[Response]]:
    """The rule for handlers (README, "The event loop"): blocking work (the database, argon2,
    the model) never runs on the event loop, where it would stall every other request. A
    handler with no body to read is a plain `def`, which Starlette runs in its threadpool; one
    that reads a form is a plain `def (request, form)` wrapped here: the form is awaited on
    the loop, then the handler runs in the threadpool."""

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        form = await request.form()
        return await run_in_threadpool(handler, request, form)

    return endpoint
