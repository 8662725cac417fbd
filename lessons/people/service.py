"""People: who wrote a review, owns an action or knows about a lesson."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from lessons.accounts.access import Viewer, visible_person_ids
from lessons.errors import NotFound
from lessons.storage.models import Person


def find_or_create(session: Session, *, name: str | None) -> Person | None:
    """The person with this name (case-insensitive), created when new; None for no name."""
    name = (name or "").strip()
    if not name:
        return None
    person = session.exec(select(Person).where(func.lower(Person.name) == name.lower())).first()
    if person is None:
        person = Person(name=name)
        session.add(person)
        session.flush()
    return person


def get(session: Session, *, person_id: int) -> Person:
    """One person, or NotFound."""
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(f"No person with id {person_id}.")
    return person


def list_people(session: Session, *, viewer: Viewer) -> list[Person]:
    """Everyone the viewer may see named (`access.visible_person_ids`), by name."""
    return list(
        session.exec(
            select(Person)
            .where(col(Person.id).in_(visible_person_ids(viewer)))
            .order_by(col(Person.name))
        )
    )
