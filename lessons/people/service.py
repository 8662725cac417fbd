"""People: who wrote a review, owns an action or knows about a lesson. The directory as a
viewer may see it is `lessons.catalogue.service.list_people` (people sit below the access
rule: accounts create a person for each user)."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, select

from lessons.errors import NotFound
from lessons.storage.get_or_create import get_or_create
from lessons.storage.models import Person


def find_or_create(session: Session, *, name: str | None) -> Person | None:
    """The person with this name (case-insensitive), created when new; None for no name."""
    name = (name or "").strip()
    if not name:
        return None
    lookup = select(Person).where(func.lower(Person.name) == name.lower())
    return get_or_create(session, lambda: session.exec(lookup).first(), lambda: Person(name=name))


def get(session: Session, *, person_id: int) -> Person:
    """One person, or NotFound."""
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(f"No person with id {person_id}.")
    return person
