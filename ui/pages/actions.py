"""The action tracker, and settling a project's open actions from its BAR page (the review
form and the review page settle theirs in `ui.pages.reviews`)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from lessons.actions import service as actions
from lessons.actions.service import ActionChange
from lessons.bar import service as bars
from lessons.capture import projects
from lessons.catalogue import service as catalogue
from lessons.errors import ValidationFailed
from lessons.schemas import Limits, parse
from ui.pages.auth import safe_next
from ui.pages.render import page
from ui.shared.bar_view import bar_context
from ui.shared.body import path_id
from ui.shared.carry import settle_in_own_transaction
from ui.shared.forms import nested, redisplay
from ui.shared.params import id_param
from ui.shared.state import app_state, require, session_for, viewer_for

STATUSES = [("open", "Open"), ("done", "Done"), ("dropped", "Dropped"), ("all", "All")]


def _filters(params: QueryParams) -> dict[str, Any]:
    """The tracker's filters from a query string (an unknown status falls back to the
    default; an id that is not one is a 422 naming it)."""
    status = params.get("status", "open")
    return {
        "status": status if status in {s for s, _ in STATUSES} else "open",
        "owner_id": id_param(params, "owner_id", label="The owner"),
        "project_id": id_param(params, "project_id", label="The project"),
        "overdue": params.get("overdue") == "1",
    }


def _here(filters: dict[str, Any]) -> str:
    query = {k: ("1" if v is True else v) for k, v in filters.items() if v not in (None, False)}
    return "/actions?" + urlencode(query)


def _tracker(
    request: Request,
    filters: dict[str, Any],
    *,
    errors: dict[str, str] | None = None,
    typed: dict[str, Any] | None = None,
    open_row: int | None = None,
    message: str = "",
    status: int = 200,
) -> Response:
    viewer = viewer_for(request)
    with session_for(request, write=False) as session:
        today = catalogue.today()
        listed = actions.find_actions(
            session,
            viewer=viewer,
            owner_id=filters["owner_id"],
            project_id=filters["project_id"],
            status=None if filters["status"] == "all" else filters["status"],
            overdue=filters["overdue"],
            today=today,
        )
        # Owners to filter by: those of actions the viewer may see, nobody else.
        owners = sorted(
            {
                a.owner.id: a.owner.name
                for a in catalogue.list_actions(session, viewer=viewer)
                if a.owner is not None and a.owner.id is not None
            }.items(),
            key=lambda item: item[1].lower(),
        )
        return page(
            request,
            "actions.html",
            {
                "actions": listed,
                "overdue_count": sum(1 for a in listed if a.is_overdue(today)),
                "filters": filters,
                "statuses": STATUSES,
                "owners": owners,
                "project_choices": projects.list_projects(session, viewer=viewer_for(request)),
                "directory": catalogue.list_people(session, viewer=viewer),
                "today": today,
                "errors": errors or {},
                "typed": typed or {},
                "open_row": open_row,
                "message": message,
                "saved": request.query_params.get("saved") == "1",
                "here": _here(filters),
            },
            status=status,
        )


def action_list(request: Request) -> Response:
    require(request)
    return _tracker(request, _filters(request.query_params))


def my_action_list(request: Request) -> Response:
    """The signed-in person's own open actions, overdue first, then by due date."""
    viewer = require(request)
    with session_for(request, write=False) as session:
        today = catalogue.today()
        mine = actions.my_actions(session, viewer=viewer, today=today)
        return page(
            request,
            "my_actions.html",
            {
                "actions": mine,
                "today": today,
                "overdue_count": sum(1 for a in mine if a.is_overdue(today)),
                "linked": viewer.person_id is not None,
            },
        )


def _change(values: dict[str, Any], limits: Limits) -> ActionChange:
    """A tracker row's form as a change; a blank owner or due date clears it. It is checked
    as PATCH /api/actions/{id} checks its body (types and length limits alike)."""
    data: dict[str, Any] = {
        k: values[k] for k in ("status", "closure_evidence", "owner") if k in values
    }
    if "due" in values:
        data["due"] = values["due"] or None
    try:
        return parse(ActionChange, data, limits)
    except ValidationFailed as exc:
        raise ValidationFailed("The action could not be saved.", exc.fields) from None


async def action_update(request: Request) -> Response:
    """Save one row of the tracker: status, closure evidence, owner, due date."""
    viewer = require(request)
    action_id = path_id(request)
    values = redisplay(nested(await request.form()))
    target = safe_next(str(values.pop("next", "") or "/actions"))

    limits = app_state(request).limits

    def save() -> None:
        change = _change(values, limits)
        with session_for(request) as session:
            action = actions.action_to_change(session, action_id=action_id, viewer=viewer)
            actions.update_action(
                session, action=action, change=change, actor=viewer.name, viewer=viewer
            )

    try:
        await run_in_threadpool(save)
    except ValidationFailed as exc:
        error = exc
        filters = _filters(QueryParams(target.partition("?")[2]))

        def again() -> Response:
            return _tracker(
                request,
                filters,
                errors={f"row-{action_id}.{k}": v for k, v in error.fields.items()},
                typed={str(action_id): values},
                open_row=action_id,
                message=error.message,
                status=422,
            )

        return await run_in_threadpool(again)
    path, _, query = target.partition("#")[0].partition("?")
    return RedirectResponse(f"{path}?{query + '&' if query else ''}saved=1", status_code=303)


async def bar_settle(request: Request) -> Response:
    """Carry forward, close or drop the BAR's project's open actions from the BAR page."""
    require(request)
    bar_id = path_id(request)
    values = nested(await request.form())

    def save() -> None:
        with session_for(request, write=False) as session:
            project_id = bars.get(session, bar_id=bar_id, viewer=viewer_for(request)).project_id
        if project_id is None:
            raise ValidationFailed(
                "This BAR is not for a project, so it has no open actions to settle.",
                {"carry": "no project"},
            )
        settle_in_own_transaction(request, values, project_id=project_id, bar_id=bar_id)

    try:
        await run_in_threadpool(save)
    except ValidationFailed as exc:
        error = exc

        def again() -> Response:
            context = bar_context(
                request, bar_id, outcomes=True, errors=error.fields, values=values
            )
            context["carry_message"] = error.message
            return page(request, "bar.html", context, status=422)

        return await run_in_threadpool(again)
    return RedirectResponse(f"/bar/{bar_id}?settled=1#open-actions", status_code=303)


routes = [
    Route("/actions", action_list, methods=["GET"]),
    Route("/actions/mine", my_action_list, methods=["GET"]),
    Route("/actions/{id:int}", action_update, methods=["POST"]),
    Route("/bar/{id:int}/actions", bar_settle, methods=["POST"]),
]
