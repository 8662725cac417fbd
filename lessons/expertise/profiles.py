"""Reading and editing a profile through the viewer's access: a person the viewer may not see
named answers as missing; only the person (their account) and admins edit it."""

from __future__ import annotations

from sqlmodel import Session, col, select

from lessons.accounts import audit
from lessons.accounts.access import Viewer, visible_person_ids
from lessons.errors import Forbidden, NotFound
from lessons.schemas.people import ProfileIn
from lessons.storage.models import Person, Role

EDITABLE = ("unit", "role", "expertise", "bio", "contact")


def get(session: Session, *, person_id: int, viewer: Viewer) -> Person:
    """The person, or NotFound when there is none or the viewer may not see them named (the
    same answer: a person known only through restricted work is not revealed)."""
    person = session.exec(
        select(Person).where(
            col(Person.id) == person_id, col(Person.id).in_(visible_person_ids(viewer))
        )
    ).first()
    if person is None:
        raise NotFound(f"No person with id {person_id}.")
    return person


def may_edit(viewer: Viewer, person: Person) -> bool:
    """The person themselves (the account they sign in with) and admins."""
    return viewer.role == Role.ADMIN or (
        viewer.person_id is not None and viewer.person_id == person.id
    )


def update(session: Session, *, person: Person, patch: ProfileIn, viewer: Viewer) -> Person:
    """Change the fields sent, with an audit row (before and after)."""
    if not may_edit(viewer, person):
        raise Forbidden("Only the person themselves or an admin may edit this profile.")
    before = audit.snapshot(person, set(EDITABLE))
    for name in EDITABLE:
        value = getattr(patch, name)
        if value is not None:
            setattr(person, name, value)
    session.add(person)
    session.flush()
    audit.record(
        session,
        actor=viewer.name,
        actor_user_id=viewer.user_id,
        action="edit_profile",
        entity=person,
        before=before,
        after=audit.snapshot(person, set(EDITABLE)),
    )
    return person
