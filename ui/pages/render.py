"""Rendering helpers shared by the page modules."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ui.state import app_state


def page(request: Request, template: str, context: dict[str, Any], status: int = 200) -> Response:
    return app_state(request).templates.TemplateResponse(
        request, template, context, status_code=status
    )


def int_param(request: Request, name: str) -> int | None:
    """A whole-number query parameter, or None when absent or not a number."""
    raw = request.query_params.get(name, "")
    return int(raw) if raw.isdigit() and len(raw) < 10 else None
