"""Every JSON answer of the API held to the response model its operation declares
(ui/api/operations.py, models in lessons/responses.py). tests/conftest.py's Client calls
`check` on every response, so each test that talks to the API checks the contract too."""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from ui.api.operations import OPERATIONS, Operation

_ROUTES = [
    (op.method, re.compile("^" + op.path.replace("{id}", r"\d+") + "$"), op) for op in OPERATIONS
]
UNDECLARED = ("/api/openapi.json",)


def operation_for(method: str, path: str) -> Operation | None:
    for op_method, pattern, op in _ROUTES:
        if op_method == method.upper() and pattern.match(path):
            return op
    return None


def check(response: Any) -> None:
    """A 2xx from /api is the status and body its operation declares: no undeclared field,
    no declared field missing or of another type."""
    request = response.request
    path = request.url.path
    if not path.startswith("/api/") or path in UNDECLARED or not 200 <= response.status_code < 300:
        return
    op = operation_for(request.method, path)
    assert op is not None, f"{request.method} {path} answered {response.status_code}: no operation"
    assert response.status_code == op.status, (request.method, path, response.status_code)
    try:
        op.ok.model_validate_json(response.content, strict=True)
    except ValidationError as exc:
        raise AssertionError(
            f"{request.method} {path} answered outside {op.ok.__name__} "
            f"(declare the field in lessons/responses.py):\n{exc}"
        ) from None
