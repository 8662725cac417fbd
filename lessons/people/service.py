"""People: who wrote a review, owns an action or knows about a lesson. The directory as a
viewer may see it is `lessons.catalogue.service.list_people` (people sit below the access
rule: accounts create a person for each user)."""

from __future__ import annotations

from email.utils import parseaddr
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from lessons.errors import NotFound, ValidationFailed
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


def _key(name: str) -> str:
    """How names are matched: trimmed, ignoring case."""
    return name.strip().casefold()


def named(session: Session, *, name: str, among: Any = None) -> Person | None:
    """The directory person of exactly this name (case-insensitive, trimmed), if there is one
    and only one; `among` (a select of person ids) narrows who may be found."""
    key = _key(name)
    if not key:
        return None
    query = select(Person).where(func.lower(func.trim(Person.name)) == name.strip().lower())
    if among is not None:
        query = query.where(col(Person.id).in_(among))
    found = [p for p in session.exec(query) if _key(p.name) == key]
    if not found and not name.isascii():  # SQL lower() folds ASCII only: the rest in Python
        query = select(Person) if among is None else select(Person).where(col(Person.id).in_(among))
        found = [p for p in session.exec(query) if _key(p.name) == key]
    exact = [p for p in found if p.name.strip() == name.strip()]
    if len(exact) == 1:
        return exact[0]
    return found[0] if len(found) == 1 else None


def add_to_directory(
    session: Session, *, name: str, email: str = "", unit: str = "", role: str = ""
) -> Person:
    """Add someone to the people directory (or update the one of that name)."""
    if not name.strip() or len(name.strip()) > 200:
        raise ValidationFailed("A person's name has 1 to 200 characters.", {"name": "invalid"})
    person = named(session, name=name) or Person(name=name.strip())
    if email:
        set_email(session, person=person, email=email)
    if unit:
        person.unit = unit.strip()
    if role:
        person.role = role.strip()
    session.add(person)
    session.flush()
    return person


def set_email(session: Session, *, person: Person, email: str) -> Person:
    """Where this person's digest goes (empty: none). A plain address, checked."""
    email = email.strip()
    if email and not is_plain_address(email):
        raise ValidationFailed(
            f"{email!r} is not an e-mail address such as name@example.org.",
            {"email": "not an e-mail address"},
        )
    person.email = email
    session.add(person)
    session.flush()
    return person


def is_plain_address(email: str) -> bool:
    """A bare address (name@example.org): no display name, nothing a mail header could
    carry besides it."""
    name, address = parseaddr(email)
    local, _, domain = address.rpartition("@")
    return not name and address == email and bool(local) and "." in domain and len(email) <= 320
