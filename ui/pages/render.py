"""Rendering helpers shared by the page modules."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ui.shared.state import app_state, viewer_for


def page(request: Request, template: str, context: dict[str, Any], status: int = 200) -> Response:
    """Render a page; every template knows who is viewing (for the header and what to offer)."""
    return app_state(request).templates.TemplateResponse(
        request, template, {"viewer": viewer_for(request), **context}, status_code=status
    )
