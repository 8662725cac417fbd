"""The BAR page's context, shared by the BAR page and the carry-forward form that re-shows it."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from lessons.bar.reading import BarView
from lessons.catalogue import service as catalogue
from ui.shared.bar_run import read_bar
from ui.shared.carry import carry_context
from ui.shared.presenters import bar_json
from ui.shared.state import session_for, viewer_for


def bar_context(
    request: Request, bar_id: int, *, outcomes: bool = False, **carry_form: Any
) -> dict[str, Any]:
    """What the BAR page shows, for the BAR page and for the actions form that returns to it
    (read in one transaction, rendered after it); `outcomes`: with each visible result's
    recorded outcome (kept apart from `bar`, which is the BAR exactly as the API shows it) and
    the outcome forms' state; `carry_form`: the carry-forward form's errors and values when it
    comes back refused."""
    with session_for(request) as session:
        viewer = viewer_for(request)
        view = read_bar(request, session, bar_id)
        # The project's open actions, to carry forward, close or drop from here.
        carry = carry_context(
            session,
            viewer=viewer,
            project_id=view.bar.project_id,
            bar_id=bar_id,
            **carry_form,
        )
        # Whom a peer assist may ask: the people the reader may see (`_bar_people.html`).
        directory = [(p.id, p.name) for p in catalogue.list_people(session, viewer=viewer)]
    context = {
        "bar": bar_json(view),
        "errors": {},
        "typed": {},
        "saved": request.query_params.get("saved") == "1",
        "carry": carry,
        "settled": request.query_params.get("settled") == "1",
        "directory": directory,
        "assist_saved": request.query_params.get("asked") == "1",
        # Its runner may delete it (a junk brief, a test run); nobody else sees the button.
        "deletable": view.bar.run_by_user_id is not None
        and view.bar.run_by_user_id == viewer_for(request).user_id,
    }
    return {**_outcomes(request, view), **context} if outcomes else context


def _outcomes(request: Request, view: BarView) -> dict[str, Any]:
    return {
        "outcomes": {
            r.lesson.id: {"outcome": r.outcome, "outcome_at": r.outcome_at} for r in view.results
        },
        "outcome_errors": {},
        "outcome_typed": {},
        "outcome_saved": request.query_params.get("outcome") == "1",
    }
