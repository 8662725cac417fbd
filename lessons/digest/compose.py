"""Whose digest, and what is in it. A digest goes to a person in the directory with an e-mail
address and an active account linked to them: what they may see is their account's, so a
person with no account (or a disabled one) gets none, whatever they own."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from lessons.accounts import users as accounts
from lessons.digest.sections import SOURCES, Reader, Section, Source, sections
from lessons.people import service as people
from lessons.storage.models import Person, User


@dataclass(frozen=True)
class Digest:
    person: Person
    address: str
    day: date
    sections: tuple[Section, ...]

    @property
    def filled(self) -> tuple[Section, ...]:
        """The sections with something in them (an e-mail shows only these)."""
        return tuple(s for s in self.sections if s.items)

    @property
    def empty(self) -> bool:
        return not self.filled

    def summary(self) -> str:
        """The subject's tally, e.g. "2 overdue, 1 due soon"."""
        urgent = sum(1 for s in self.sections for i in s.items if i.urgent)
        parts = [f"{urgent} overdue"] if urgent else []
        for section in self.filled:
            rest = sum(1 for i in section.items if not i.urgent)
            if rest:
                parts.append(f"{rest} {section.tally}")
        return ", ".join(parts) or "nothing new"


def account_of(session: Session, person: Person) -> User | None:
    """The active account linked to this person (the oldest, if several), or None."""
    return session.exec(
        select(User)
        .where(User.person_id == person.id, col(User.is_active).is_(True))
        .order_by(col(User.id))
    ).first()


def recipients(session: Session) -> list[tuple[Person, User]]:
    """Everyone who may get a digest: an address, and an active account, by name. An
    address that is not a plain one (only an import could have stored it) gets nothing."""
    directory = session.exec(select(Person).where(Person.email != "").order_by(col(Person.name)))
    found = []
    for person in directory:
        if not people.is_plain_address(person.email):
            continue
        user = account_of(session, person)
        if user is not None:
            found.append((person, user))
    return found


def compose(
    session: Session,
    *,
    person: Person,
    user: User,
    today: date,
    due_days: int = 7,
    sources: tuple[Source, ...] = SOURCES,
) -> Digest:
    """This person's digest of `today`, each section what their account may see."""
    reader = Reader(
        person=person, viewer=accounts.viewer(session, user), today=today, due_days=due_days
    )
    return Digest(
        person=person,
        address=person.email,
        day=today,
        sections=tuple(sections(session, reader, sources)),
    )
