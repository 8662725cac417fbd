"""The BAR page's peer-assist forms: record a request (whom, what to ask, by when) and what
came of it. A refusal shows the BAR page again with what was typed beside its field."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from lessons.bar import assists
from lessons.bar import service as bars
from lessons.errors import ValidationFailed
from lessons.schemas import parse
from lessons.schemas.people import PeerAssistIn, PeerAssistOutcomeIn
from ui.pages.render import page
from ui.shared.bar_view import bar_context
from ui.shared.body import form_handler, path_id
from ui.shared.state import app_state, require, session_for, viewer_for

FIELDS = ("person_id", "ask", "ask_by")


def _refused(
    request: Request, bar_id: int, exc: ValidationFailed, typed: dict[str, str]
) -> Response:
    errors = {key.split(".")[0]: text for key, text in exc.fields.items()}
    context = {
        **bar_context(request, bar_id, outcomes=True),
        "message": exc.message,
        "assist_errors": errors,
        "assist_typed": typed,
    }
    return page(request, "bar.html", context, status=422)


def request_assist(request: Request, form: FormData) -> Response:
    require(request)
    bar_id = path_id(request)
    typed = {name: str(form.get(name) or "").strip() for name in FIELDS}
    body: dict[str, Any] = {**typed, "ask_by": typed["ask_by"] or None}
    body["person_id"] = typed["person_id"] or None
    try:
        payload = parse(PeerAssistIn, body, app_state(request).limits)
        with session_for(request) as session:
            viewer = viewer_for(request)
            bar = bars.get(session, bar_id=bar_id, viewer=viewer)
            assists.request(session, bar=bar, payload=payload, viewer=viewer)
    except ValidationFailed as exc:
        if not typed["person_id"]:
            exc.fields["person_id"] = "choose whom to ask"
        return _refused(request, bar_id, exc, typed)
    return RedirectResponse(f"/bar/{bar_id}?asked=1#peer-assists", status_code=303)


def record_outcome(request: Request, form: FormData) -> Response:
    require(request)
    assist_id = path_id(request)
    outcome = str(form.get("outcome") or "")
    try:
        payload = parse(PeerAssistOutcomeIn, {"outcome": outcome}, app_state(request).limits)
    except ValidationFailed as exc:
        with session_for(request, write=False) as session:
            bar_id = assists.bar_of(session, assist_id=assist_id, viewer=viewer_for(request))
        key = f"outcome-{assist_id}"
        problem = "say what came of it" if not outcome.strip() else exc.message
        refused = ValidationFailed(exc.message, {key: problem})
        return _refused(request, bar_id, refused, {key: outcome})
    with session_for(request) as session:
        assist = assists.record_outcome(
            session, assist_id=assist_id, outcome=payload.outcome, viewer=viewer_for(request)
        )
        bar_id = assist.bar_id
    return RedirectResponse(f"/bar/{bar_id}#peer-assist-{assist_id}", status_code=303)


routes = [
    Route("/bar/{id:int}/peer-assists", form_handler(request_assist), methods=["POST"]),
    Route("/peer-assists/{id:int}/outcome", form_handler(record_outcome), methods=["POST"]),
]
