"""The digest preview: the signed-in person's own daily digest as it would be sent today;
administrators may preview anyone's (each composed with that person's own access)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from lessons.accounts.access import Viewer
from lessons.catalogue import service as catalogue
from lessons.digest import render
from lessons.digest.compose import account_of, compose, recipients
from lessons.errors import Forbidden, NotFound
from lessons.storage.models import Person, Role, User
from ui.pages.render import page
from ui.shared.params import id_param
from ui.shared.state import app_state, require, session_for

OTHERS_REFUSED = "Only administrators may preview someone else's digest."


def _whose(session: Session, viewer: Viewer, person_id: int | None) -> Person | None:
    """The person whose digest is asked for: one's own, or (administrators) anyone's. Anyone
    else asking for another person is refused alike whether that person exists or not."""
    if person_id is None or person_id == viewer.person_id:
        return session.get(Person, viewer.person_id) if viewer.person_id else None
    if viewer.role != Role.ADMIN:
        raise Forbidden(OTHERS_REFUSED, {"person_id": "not yours"})
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(f"No person with id {person_id}.")
    return person


def digest_preview(request: Request) -> Response:
    viewer = require(request)
    person_id = id_param(request.query_params, "person_id", label="The person")
    settings = app_state(request).settings
    with session_for(request, write=False) as session:
        person = _whose(session, viewer, person_id)
        user = None
        if person is not None:
            own = person.id == viewer.person_id and viewer.user_id is not None
            user = session.get(User, viewer.user_id) if own else account_of(session, person)
        context: dict[str, Any] = {
            "person": person,
            "own": person is not None and person.id == viewer.person_id,
            "has_account": user is not None and user.is_active,
            "choices": recipients(session) if viewer.role == Role.ADMIN else [],
            "mail_on": bool(settings.smtp_host.strip()),
            "digest": None,
        }
        if person is not None and user is not None:
            digest = compose(
                session,
                person=person,
                user=user,
                today=catalogue.today(),
                due_days=settings.digest_due_days,
            )
            context |= {
                "digest": digest,
                "subject": render.subject(digest),
                "body": render.html_body(digest, site="", show_empty=True),
                "text": render.text(digest, site=settings.site_url),
            }
        return page(request, "digest.html", context)


routes = [Route("/digest", digest_preview, methods=["GET"])]
