"""A lesson's edit page (issue 15 item 2): its author or a curator fixes its wording, tags and
sensitivity in the web UI, through the same service (and the same audit) as the API's PATCH."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from lessons.accounts.access import Viewer
from lessons.catalogue import service as catalogue
from lessons.errors import Forbidden, ValidationFailed
from lessons.schemas import LessonPatch, parse
from lessons.storage.models import Lesson
from ui.pages.render import page
from ui.shared.body import form_handler, path_id
from ui.shared.state import app_state, embed_committed, require, session_for, viewer_for

# The form's fields, as LessonPatch names them; tags are typed comma-separated.
FIELDS = ("title", "observation", "insight", "recommendation", "tags", "sensitivity")
REFUSED = "Only its author or a curator may edit this lesson."


def _editable(request: Request, session: Any, lesson_id: int) -> tuple[Viewer, Lesson]:
    """The lesson, decided as PATCH /api/lessons/{id} decides: one the viewer may not see is
    missing (404, as for an id that does not exist); one they see but did not write is 403."""
    viewer = viewer_for(request)
    lesson = catalogue.get_lesson(session, lesson_id=lesson_id, viewer=viewer)
    if not viewer.can_edit(lesson):
        raise Forbidden(REFUSED)
    return viewer, lesson


def _current(lesson: Lesson) -> dict[str, str]:
    values = {name: str(getattr(lesson, name) or "") for name in FIELDS if name != "tags"}
    return {**values, "tags": ", ".join(lesson.tags)}


def _edit_page(
    request: Request,
    lesson: Lesson,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    message: str = "",
    status: int = 200,
) -> Response:
    context = {"lesson": lesson, "values": values, "errors": errors or {}, "message": message}
    return page(request, "lesson_edit.html", context, status)


def edit_form(request: Request) -> Response:
    require(request)
    lesson_id = path_id(request)
    with session_for(request) as session:
        _, lesson = _editable(request, session, lesson_id)
        return _edit_page(request, lesson, _current(lesson))


def _changed(lesson: Lesson, patch: LessonPatch) -> LessonPatch:
    """Only the fields the person changed, so an unchanged save records no edit and an
    untouched field never counts as rewritten."""
    differ = {
        name: value
        for name, value in patch.model_dump(include=patch.model_fields_set).items()
        if value is not None and value != getattr(lesson, name)
    }
    if "tags" in differ and sorted(differ["tags"]) == sorted(lesson.tags):
        del differ["tags"]
    return LessonPatch.model_validate(differ)


def _patch_body(typed: dict[str, str]) -> dict[str, Any]:
    """The form as the API's body: tags are typed comma- or line-separated."""
    raw = typed["tags"].replace("\n", ",")
    return {**typed, "tags": [tag for tag in raw.split(",") if tag.strip()]}


def edit_submit(request: Request, form: FormData) -> Response:
    require(request)
    lesson_id = path_id(request)
    typed = {name: str(form.get(name) or "") for name in FIELDS}
    with session_for(request) as session:
        viewer, lesson = _editable(request, session, lesson_id)
        try:
            patch = parse(LessonPatch, _patch_body(typed), app_state(request).limits)
        except ValidationFailed as exc:
            # Everything typed comes back, each problem beside its field.
            errors = {key.split(".")[0]: text for key, text in exc.fields.items()}
            return _edit_page(request, lesson, typed, errors, exc.message, 422)
        changes = _changed(lesson, patch)
        if changes.model_fields_set:
            catalogue.update_lesson(
                session,
                lesson=lesson,
                patch=changes,
                actor=viewer.name,
                by_curator=viewer.is_curator,
            )
    if changes.model_fields_set:
        embed_committed(request, [lesson_id])
    return RedirectResponse(f"/lessons/{lesson_id}", status_code=303)


routes = [
    Route("/lessons/{id:int}/edit", edit_form, methods=["GET"]),
    Route("/lessons/{id:int}/edit", form_handler(edit_submit), methods=["POST"]),
]
