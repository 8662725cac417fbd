"""The BAR page's context, shared by the BAR page and the carry-forward form that re-shows it."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from lessons.bar import service as bars
from ui.shared.carry import carry_context
from ui.shared.presenters import bar_json
from ui.shared.state import session_for, viewer_for


def bar_context(request: Request, bar_id: int) -> dict[str, Any]:
    """What the BAR page shows, for the BAR page and for the actions form that returns to it."""
    with session_for(request) as session:
        bar = bars.get(session, bar_id=bar_id, viewer=viewer_for(request))
        viewer = viewer_for(request)
        return {
            "bar": bar_json(session, bar, bars.visible_items(bar, viewer), viewer=viewer),
            "errors": {},
            "typed": {},
            "saved": request.query_params.get("saved") == "1",
            # The project's open actions, to carry forward, close or drop from here.
            "carry": carry_context(
                session, viewer=viewer_for(request), project_id=bar.project_id, bar_id=bar.id
            ),
            "settled": request.query_params.get("settled") == "1",
        }
