"""The people directory's pages: find people for a topic, a person's profile, and editing
one's own profile (the person themselves, or an admin)."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from lessons.errors import Forbidden, ValidationFailed
from lessons.expertise import profiles
from lessons.schemas import parse
from lessons.schemas.people import ProfileIn
from ui.pages.render import page
from ui.shared import people
from ui.shared.body import form_handler, path_id
from ui.shared.state import app_state, require, session_for, viewer_for

PAGE_LIMIT = 20


def people_list(request: Request) -> Response:
    """The directory by name, or the people for a topic (`?q=`), best first."""
    require(request)
    try:
        topic = people.topic_of(request)
    except ValidationFailed as exc:
        return page(request, "people.html", {"q": "", "found": [], "message": exc.message}, 422)
    with session_for(request) as session:
        found = people.find(request, session, topic, limit=PAGE_LIMIT if topic else 10**6)
        return page(request, "people.html", {"q": topic, "found": found, "message": ""})


def person_page(request: Request) -> Response:
    require(request)
    person_id = path_id(request)
    with session_for(request) as session:
        shown = people.profile(request, session, person_id)
    return page(request, "person.html", {"person": shown})


def edit_form(request: Request) -> Response:
    require(request)
    person_id = path_id(request)
    with session_for(request) as session:
        person = profiles.get(session, person_id=person_id, viewer=viewer_for(request))
        if not profiles.may_edit(viewer_for(request), person):
            raise Forbidden("Only the person themselves or an admin may edit this profile.")
        values = {name: getattr(person, name) for name in profiles.EDITABLE}
    values["expertise"] = ", ".join(values["expertise"])
    return _edit_page(request, person_id, person.name, values)


def _edit_page(
    request: Request,
    person_id: int,
    name: str,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    message: str = "",
    status: int = 200,
) -> Response:
    context = {"person_id": person_id, "name": name, "values": values}
    return page(
        request, "person_edit.html", {**context, "errors": errors or {}, "message": message}, status
    )


def _profile_in(form: FormData) -> dict[str, Any]:
    """The form as the API's body: expertise is typed comma- or line-separated."""
    values = {name: str(form.get(name) or "") for name in profiles.EDITABLE}
    raw = values["expertise"].replace("\n", ",")
    return {**values, "expertise": [tag for tag in raw.split(",") if tag.strip()]}


def edit_submit(request: Request, form: FormData) -> Response:
    require(request)
    person_id = path_id(request)
    typed = {name: str(form.get(name) or "") for name in profiles.EDITABLE}
    with session_for(request) as session:
        viewer = viewer_for(request)
        person = profiles.get(session, person_id=person_id, viewer=viewer)
        name = person.name
        if not profiles.may_edit(viewer, person):
            raise Forbidden("Only the person themselves or an admin may edit this profile.")
        try:
            patch = parse(ProfileIn, _profile_in(form), app_state(request).limits)
        except ValidationFailed as exc:
            # Everything typed comes back, each problem beside its field.
            errors = {key.split(".")[0]: text for key, text in exc.fields.items()}
            return _edit_page(request, person_id, name, typed, errors, exc.message, 422)
        profiles.update(session, person=person, patch=patch, viewer=viewer)
    return RedirectResponse(f"/people/{person_id}", status_code=303)


routes = [
    Route("/people", people_list, methods=["GET"]),
    Route("/people/{id:int}", person_page, methods=["GET"]),
    Route("/people/{id:int}/edit", edit_form, methods=["GET"]),
    Route("/people/{id:int}/edit", form_handler(edit_submit), methods=["POST"]),
]
