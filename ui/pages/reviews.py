"""Logging a review through the guided form, and reading it back."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from lessons.capture import projects, questions
from lessons.capture import service as capture
from lessons.catalogue import service as catalogue
from lessons.errors import DomainError, ValidationFailed
from lessons.numbers import read_whole
from lessons.schemas import ReviewIn, parse
from lessons.storage.models import ReviewKind
from lessons.taxonomy import suggestions
from ui.pages import merge
from ui.pages.render import page
from ui.shared import carry
from ui.shared.body import form_handler, path_id
from ui.shared.carry import carry_context
from ui.shared.forms import form_paths, nested, redisplay, review_input
from ui.shared.params import id_param
from ui.shared.state import app_state, embed_committed, require, session_for, viewer_for


def _form_context(
    request: Request, values: dict[str, Any], errors: dict[str, str], message: str = ""
) -> dict[str, Any]:
    carry_values = {"carry": values.get("carry")}
    values = redisplay(values)
    kind = str(values.get("kind") or "")
    kind = kind if kind in set(ReviewKind) else ReviewKind.AAR
    lessons = values.get("lessons")
    actions = values.get("actions")
    lessons = lessons if isinstance(lessons, list) else []
    actions = actions if isinstance(actions, list) else []
    project_id = str((values.get("project") or {}).get("id") or "")
    with session_for(request) as session:
        project_choices = projects.list_projects(session, viewer=viewer_for(request))
        directory = catalogue.list_people(session, viewer=viewer_for(request))
        # An existing project chosen: its open actions from earlier reviews, to settle here.
        carry = carry_context(
            session,
            viewer=viewer_for(request),
            project_id=read_whole(project_id, low=1),
            errors={k: v for k, v in errors.items() if k.startswith("carry")},
            values=carry_values,
        )
    return {
        "carry": carry,
        "values": values,
        "errors": errors,
        "message": message,
        "kind": kind,
        "question_set": questions.current(kind),
        "project_choices": project_choices,
        "directory": directory,
        "lesson_slots": max(len(lessons), 1),
        "action_slots": max(len(actions), 1),
    }


def review_form(request: Request) -> Response:
    require(request)
    kind = request.query_params.get("kind", "aar")
    project_id = id_param(request.query_params, "project_id", label="The project")
    values: dict[str, Any] = {"kind": kind, "project": {"id": str(project_id or "")}}
    return page(request, "review_form.html", _form_context(request, values, {}))


@form_handler
def review_submit(request: Request, form: FormData) -> Response:
    require(request)
    values = nested(form)
    if values.pop("show_actions", None) is not None:
        # Show the chosen project's open actions without saving anything typed.
        return page(request, "review_form.html", _form_context(request, values, {}))
    carry_values = {"carry": values.pop("carry", None)}
    if "add_lesson" in form or "add_action" in form:
        # Grow the form without saving; everything typed so far comes back.
        key = "lessons" if "add_lesson" in form else "actions"
        values[key] = (
            [*(values.get(key) or [{}]), {}] if isinstance(values.get(key), list) else [{}, {}]
        )
        context = _form_context(request, {**values, **carry_values}, {})
        return page(request, "review_form.html", context)

    def save() -> int:
        data, back = review_input(values)
        try:
            payload = parse(ReviewIn, data, app_state(request).limits)
        except ValidationFailed as exc:
            raise ValidationFailed(exc.message, form_paths(exc.fields, back)) from None
        with session_for(request) as session:
            viewer = viewer_for(request)
            review = capture.log_review(session, payload=payload, viewer=viewer)
            assert review.id is not None
            # Open actions settled in the form land with the review, or neither does.
            carry.settle(
                session,
                viewer,
                carry_values,
                project_id=review.project_id,
                review_id=review.id,
                required=False,
                limits=app_state(request).limits,
            )
            review_id, lesson_ids = review.id, [le.id for le in review.lessons if le.id]
        embed_committed(request, lesson_ids)
        return review_id

    try:
        review_id = save()
    except DomainError as exc:
        context = _form_context(request, {**values, **carry_values}, exc.fields, exc.message)
        return page(request, "review_form.html", context, status=422)
    return RedirectResponse(f"/reviews/{review_id}", status_code=303)


def _review_page(
    request: Request,
    review_id: int,
    *,
    carry_errors: dict[str, str] | None = None,
    carry_values: dict[str, Any] | None = None,
    carry_message: str = "",
    status: int = 200,
) -> Response:
    with session_for(request, write=False) as session:
        viewer = viewer_for(request)
        review = catalogue.get_review(session, review_id=review_id, viewer=viewer)
        lessons = [le for le in review.lessons if viewer.can_see(le)]
        # The review's story (answers, author, actions on no lesson) as its audience allows.
        answers_visible = viewer.can_read_review(review)
        actions = catalogue.list_actions(session, viewer=viewer, review_id=review.id)
        retriever = app_state(request).retriever
        return page(
            request,
            "review.html",
            {
                "review": review,
                "question_set": questions.get(review.kind, review.question_set_version),
                "lessons": lessons,
                "actions": actions,
                "answers_visible": answers_visible,
                "today": catalogue.today(),
                # Tags the nearest validated lessons (that this viewer may see) carry.
                "tag_suggestions": {
                    le.id: suggestions.suggest_tags(
                        session, lesson=le, viewer=viewer, retriever=retriever
                    )
                    for le in lessons
                    if viewer.can_edit(le)
                },
                "carry": carry_context(
                    session,
                    viewer=viewer,
                    project_id=review.project_id,
                    review_id=review.id,
                    errors=carry_errors,
                    values=carry_values,
                ),
                "carry_message": carry_message,
                "settled": request.query_params.get("settled") == "1",
                # Existing lessons each new lesson looks like (that this viewer may see).
                "possible_duplicates": merge.review_duplicates(request, session, lessons, viewer),
            },
            status=status,
        )


def review_detail(request: Request) -> Response:
    require(request)
    return _review_page(request, path_id(request))


async def review_settle(request: Request) -> Response:
    """Carry forward, close or drop the project's open actions from the review page."""
    require(request)
    review_id = path_id(request)
    values = nested(await request.form())

    def save() -> None:
        with session_for(request) as session:
            review = catalogue.get_review(session, review_id=review_id, viewer=viewer_for(request))
            carry.settle(
                session,
                viewer_for(request),
                values,
                project_id=review.project_id,
                review_id=review.id,
                limits=app_state(request).limits,
            )

    try:
        await run_in_threadpool(save)
    except ValidationFailed as exc:
        error = exc

        def again() -> Response:
            return _review_page(
                request,
                review_id,
                carry_errors=error.fields,
                carry_values=values,
                carry_message=error.message,
                status=422,
            )

        return await run_in_threadpool(again)
    return RedirectResponse(f"/reviews/{review_id}?settled=1#open-actions", status_code=303)


routes = [
    Route("/reviews/new", review_form, methods=["GET"]),
    Route("/reviews", review_submit, methods=["POST"]),
    Route("/reviews/{id:int}", review_detail, methods=["GET"]),
    Route("/reviews/{id:int}/actions", review_settle, methods=["POST"]),
]
