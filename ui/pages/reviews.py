"""Logging a review through the guided form, and reading it back."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from lessons.accounts.access import Viewer
from lessons.capture import owners, projects, questions
from lessons.catalogue import service as catalogue
from lessons.errors import DomainError, ValidationFailed
from lessons.handovers import service as handovers
from lessons.numbers import read_whole
from lessons.schemas import ReviewIn, parse
from lessons.schemas.common import over_limits
from lessons.storage.models import ReviewKind
from lessons.taxonomy import suggestions
from ui.pages import merge
from ui.pages.handover_view import handover_context
from ui.pages.render import page
from ui.shared import carry
from ui.shared.body import form_handler, path_id
from ui.shared.carry import carry_context
from ui.shared.field_labels import labelled
from ui.shared.forms import form_paths, nested, redisplay, review_input
from ui.shared.handover_forms import ROWS, grow, handover_parts
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
        **{f"{key}_slots": _slots(values, key) for key in ROWS.values()},
    }


def _slots(values: dict[str, Any], key: str) -> int:
    rows = values.get(key)
    return max(len(rows) if isinstance(rows, list) else 0, 2)


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
    grown = next((key for button, key in ROWS.items() if button in form), None)
    if grown:
        context = _form_context(request, {**grow(values, grown), **carry_values}, {})
        return page(request, "review_form.html", context)

    def save() -> int:
        data, back = review_input(values)
        data = handover_parts(data, back)
        payload, found = _checked(request, data, back)
        with session_for(request) as session:
            viewer = viewer_for(request)
            if payload is None:
                raise found
            try:
                review = handovers.log(session, payload=payload, viewer=viewer)
            except ValidationFailed as exc:
                # The review's own rules (answers required, ...) reported with the form's.
                raise _together(found, exc.message, form_paths(exc.fields, back)) from None
            if found.fields:
                raise found  # the form's problems alone: the transaction rolls back
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
        errors = labelled(exc.fields, _question_texts(values))
        context = _form_context(request, {**values, **carry_values}, errors, exc.message)
        return page(request, "review_form.html", context, status=422)
    return RedirectResponse(f"/reviews/{review_id}", status_code=303)


def _checked(
    request: Request, data: dict[str, Any], back: dict[str, str]
) -> tuple[ReviewIn | None, ValidationFailed]:
    """The form's data as a review (None when the model refuses it) and every problem found
    at once, as form paths: what the model refuses, lengths, a stranger as author and due
    dates already past. No problems: an empty ValidationFailed."""
    limits = app_state(request).limits
    problems: dict[str, str] = {}
    messages: list[str] = []
    payload: ReviewIn | None = None
    try:
        payload = parse(ReviewIn, data, limits)
    except ValidationFailed as exc:
        messages.append(exc.message)
        # Lengths too, not on the next submit once the missing fields are filled in.
        problems = {**over_limits(data, limits), **exc.fields}
    past = _past_due(data)
    if past:
        messages.append("A new action cannot be due in the past.")
        problems = {**past, **problems}
    with session_for(request, write=False) as session:
        stranger = _author_in_directory(session, viewer_for(request), data.get("author"))
    if stranger:
        messages.append(stranger.message)
        problems = {**stranger.fields, **problems}
    return payload, ValidationFailed(" ".join(messages), form_paths(problems, back))


def _together(found: ValidationFailed, message: str, fields: dict[str, str]) -> ValidationFailed:
    return ValidationFailed(
        " ".join(filter(None, [found.message, message])),
        {
            **fields,
            **found.fields,
        },
    )


def _past_due(data: dict[str, Any]) -> dict[str, str]:
    """New actions due before today (a typo such as 1999 would never be chased)."""
    today = catalogue.today()
    problems = {}
    actions = data.get("actions")
    for i, action in enumerate(actions if isinstance(actions, list) else []):
        due = action.get("due") if isinstance(action, dict) else None
        try:
            day = date.fromisoformat(due) if isinstance(due, str) else None
        except ValueError:
            continue  # not a date at all: the model says so
        if day and day < today:
            problems[f"actions.{i}.due"] = "Due date is in the past"
    return problems


def _question_texts(values: dict[str, Any]) -> dict[str, str]:
    kind = str(values.get("kind") or "")
    question_set = questions.current(kind if kind in set(ReviewKind) else ReviewKind.AAR)
    return {q.id: q.text for q in question_set.questions}


def _author_in_directory(session: Session, viewer: Viewer, name: Any) -> ValidationFailed | None:
    """On the form, whose words are the signed-in user's own or a person chosen from the
    directory: a typed stranger would become a second person, no longer the account.
    Returned, not raised, so it is reported with every other problem."""
    if not isinstance(name, str) or not name.strip():
        return None
    try:
        owners.choose(session, viewer=viewer, name=name, field="author")
    except ValidationFailed:
        return ValidationFailed(
            f"Whose words: nobody called {name!r} is in the people directory. Choose the "
            "person from the list, or leave it empty if the words are yours.",
            {"author": "choose a person from the people directory, or leave it empty"},
        )
    return None


def _review_page(
    request: Request,
    review_id: int,
    *,
    carry_errors: dict[str, str] | None = None,
    carry_values: dict[str, Any] | None = None,
    carry_message: str = "",
    status: int = 200,
    extra: dict[str, Any] | None = None,
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
                **handover_context(session, review, viewer),
                **(extra or {}),
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
