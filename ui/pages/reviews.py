"""Logging a review through the guided form, and reading it back."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from lessons import capture, catalogue, projects, questions
from lessons.errors import DomainError, ValidationFailed
from lessons.models import ReviewKind
from lessons.schemas import ReviewIn, parse
from ui.bar_run import with_author
from ui.body import path_id
from ui.forms import form_paths, nested, redisplay, review_input
from ui.pages.render import int_param, page
from ui.state import app_state, embed_committed, require, session_for, viewer_for


def _form_context(
    request: Request, values: dict[str, Any], errors: dict[str, str], message: str = ""
) -> dict[str, Any]:
    values = redisplay(values)
    kind = str(values.get("kind") or "")
    kind = kind if kind in set(ReviewKind) else ReviewKind.AAR
    lessons = values.get("lessons")
    actions = values.get("actions")
    lessons = lessons if isinstance(lessons, list) else []
    actions = actions if isinstance(actions, list) else []
    with session_for(request) as session:
        project_choices = projects.list_projects(session)
    return {
        "values": values,
        "errors": errors,
        "message": message,
        "kind": kind,
        "question_set": questions.current(kind),
        "project_choices": project_choices,
        "lesson_slots": max(len(lessons), 1),
        "action_slots": max(len(actions), 1),
    }


def review_form(request: Request) -> Response:
    require(request)
    kind = request.query_params.get("kind", "aar")
    project_id = int_param(request, "project_id")
    values: dict[str, Any] = {"kind": kind, "project": {"id": str(project_id or "")}}
    return page(request, "review_form.html", _form_context(request, values, {}))


async def review_submit(request: Request) -> Response:
    require(request)
    form = await request.form()
    values = nested(form)
    if "add_lesson" in form or "add_action" in form:
        # Grow the form without saving; everything typed so far comes back.
        key = "lessons" if "add_lesson" in form else "actions"
        values[key] = (
            [*(values.get(key) or [{}]), {}] if isinstance(values.get(key), list) else [{}, {}]
        )
        return page(request, "review_form.html", _form_context(request, values, {}))

    def save() -> int:
        data, back = review_input(values)
        try:
            payload = parse(ReviewIn, data, app_state(request).limits)
        except ValidationFailed as exc:
            raise ValidationFailed(exc.message, form_paths(exc.fields, back)) from None
        with session_for(request) as session:
            viewer = viewer_for(request)
            review = capture.log_review(
                session, payload=with_author(payload, viewer), actor=viewer.name
            )
            assert review.id is not None
            review_id, lesson_ids = review.id, [le.id for le in review.lessons if le.id]
        embed_committed(request, lesson_ids)
        return review_id

    try:
        review_id = await run_in_threadpool(save)
    except DomainError as exc:
        context = _form_context(request, values, exc.fields, exc.message)
        return page(request, "review_form.html", context, status=422)
    return RedirectResponse(f"/reviews/{review_id}", status_code=303)


def review_detail(request: Request) -> Response:
    require(request)
    with session_for(request) as session:
        review = catalogue.get_review(session, review_id=path_id(request))
        viewer = viewer_for(request)
        return page(
            request,
            "review.html",
            {
                "review": review,
                "question_set": questions.get(review.kind, review.question_set_version),
                "lessons": [le for le in review.lessons if viewer.can_see(le)],
                "actions": catalogue.list_actions(session, viewer=viewer, review_id=review.id),
                "today": catalogue.today(),
            },
        )


routes = [
    Route("/reviews/new", review_form, methods=["GET"]),
    Route("/reviews", review_submit, methods=["POST"]),
    Route("/reviews/{id:int}", review_detail, methods=["GET"]),
]
