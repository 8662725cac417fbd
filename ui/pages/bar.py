"""Before action reviews: the brief form, the ranked lessons, and the team's decisions."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from lessons.bar import service as bars
from lessons.capture import projects
from lessons.errors import DomainError, ValidationFailed
from lessons.schemas import BarIn, DecisionsIn, OutcomesIn, parse
from ui.pages.render import page
from ui.shared.bar_run import run_bar
from ui.shared.bar_view import bar_context
from ui.shared.body import form_handler, path_id
from ui.shared.errors import RateLimited
from ui.shared.forms import bar_input, form_paths, nested, redisplay
from ui.shared.params import id_param
from ui.shared.state import app_state, require, session_for, viewer_for


def _form_context(
    request: Request, values: dict[str, Any], errors: dict[str, str], message: str = ""
) -> dict[str, Any]:
    with session_for(request) as session:
        return {
            "values": redisplay(values),
            "errors": errors,
            "message": message,
            "project_choices": projects.list_projects(session, viewer=viewer_for(request)),
        }


def bar_form(request: Request) -> Response:
    require(request)
    project_id = id_param(request.query_params, "project_id", label="The project")
    values = {"project": {"id": str(project_id or "")}}
    return page(request, "bar_form.html", _form_context(request, values, {}))


@form_handler
def bar_submit(request: Request, form: FormData) -> Response:
    require(request)
    values = nested(form)

    def run() -> int:
        try:
            payload = parse(BarIn, bar_input(values), app_state(request).limits)
        except ValidationFailed as exc:
            raise ValidationFailed(exc.message, form_paths(exc.fields)) from None
        bar_id = run_bar(request, payload).bar.id
        assert bar_id is not None
        return bar_id

    try:
        bar_id = run()
    except DomainError as exc:
        # Refused (invalid, or one BAR too many): the form again, with everything typed.
        context = _form_context(request, values, exc.fields, exc.message)
        if isinstance(exc, RateLimited):
            response = page(request, "bar_form.html", context, status=429)
            response.headers["Retry-After"] = str(exc.retry_after)
            return response
        return page(request, "bar_form.html", context, status=422)
    return RedirectResponse(f"/bar/{bar_id}", status_code=303)


def bar_detail(request: Request) -> Response:
    require(request)
    bar_id = path_id(request)
    return page(request, "bar.html", bar_context(request, bar_id, outcomes=True))


@form_handler
def bar_decide(request: Request, form: FormData) -> Response:
    require(request)
    bar_id = path_id(request)
    values = nested(form)
    chosen = [d for d in values.get("decisions", []) if isinstance(d, dict) and d.get("decision")]
    try:
        if not chosen:
            raise ValidationFailed(
                "Choose apply, not relevant or note for at least one lesson.",
                {"decisions": "nothing chosen"},
            )
        payload = parse(DecisionsIn, {"decisions": chosen}, app_state(request).limits)
        with session_for(request) as session:
            bar = bars.get(session, bar_id=bar_id, viewer=viewer_for(request))
            bars.decide(session, bar=bar, decisions=payload.decisions, viewer=viewer_for(request))
    except ValidationFailed as exc:
        context = {
            **bar_context(request, bar_id, outcomes=True),
            "errors": exc.fields,
            "message": exc.message,
            # What was chosen and typed comes back, keyed by lesson, so nothing is lost.
            "typed": {d.get("lesson_id"): d for d in redisplay(values).get("decisions", [])},
        }
        return page(request, "bar.html", context, status=422)
    return RedirectResponse(f"/bar/{bar_id}?saved=1", status_code=303)


@form_handler
def bar_outcome(request: Request, form: FormData) -> Response:
    """Record what happened when the team applied one of the BAR's lessons."""
    require(request)
    bar_id = path_id(request)
    values = nested(form)
    lesson_id = str(values.get("lesson_id", ""))
    outcome = str(values.get("outcome", ""))

    def work() -> None:
        payload = parse(
            OutcomesIn,
            {"outcomes": [{"lesson_id": lesson_id, "outcome": outcome}]},
            app_state(request).limits,
        )
        with session_for(request) as session:
            bar = bars.get(session, bar_id=bar_id, viewer=viewer_for(request))
            bars.record_outcomes(
                session, bar=bar, outcomes=payload.outcomes, viewer=viewer_for(request)
            )

    try:
        work()
    except ValidationFailed as exc:
        problem = "; ".join(exc.fields.values()) or exc.message
        if not outcome.strip():
            problem = "say what happened when you applied it"
        context = {
            **bar_context(request, bar_id, outcomes=True),
            "message": exc.message,
            # The text typed comes back beside the lesson it was typed for.
            "outcome_errors": {lesson_id: problem},
            "outcome_typed": {lesson_id: outcome},
        }
        return page(request, "bar.html", context, status=422)
    return RedirectResponse(f"/bar/{bar_id}?outcome=1#outcome-{lesson_id}", status_code=303)


@form_handler
def bar_delete(request: Request, form: FormData) -> Response:
    """Its runner deletes a BAR run by mistake; it leaves the list and the metrics."""
    require(request)
    bar_id = path_id(request)
    with session_for(request) as session:
        viewer = viewer_for(request)
        bars.delete(session, bar=bars.get(session, bar_id=bar_id, viewer=viewer), viewer=viewer)
    return RedirectResponse("/bar?deleted=1", status_code=303)


def bar_list(request: Request) -> Response:
    require(request)
    with session_for(request) as session:
        usable = bars.list_bars(session, viewer=viewer_for(request))
        deleted = request.query_params.get("deleted") == "1"
        return page(request, "bars.html", {"bars": usable, "deleted": deleted})


routes = [
    Route("/bar", bar_list, methods=["GET"]),
    Route("/bar/new", bar_form, methods=["GET"]),
    Route("/bar", bar_submit, methods=["POST"]),
    Route("/bar/{id:int}", bar_detail, methods=["GET"]),
    Route("/bar/{id:int}/decisions", bar_decide, methods=["POST"]),
    Route("/bar/{id:int}/outcomes", bar_outcome, methods=["POST"]),
    Route("/bar/{id:int}/delete", bar_delete, methods=["POST"]),
]
