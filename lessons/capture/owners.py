"""Who owns an action: a person in the people directory, chosen by id or by exact name.

Someone assigning an action chooses among the people they may see (a person known only
through work they may not see answers as nobody), so choosing never reveals anyone. Loaded
history (the demo bank, imports) is matched by exact name too, but a name that matches nobody
is kept on the action as imported text: shown, never told, never a new person.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from lessons.accounts.access import Viewer, visible_person_ids
from lessons.errors import ValidationFailed
from lessons.people import service as people
from lessons.storage.models import Person


@dataclass(frozen=True)
class Owner:
    """An action's owner: a directory person, or (loaded history only) the text it named."""

    person: Person | None = None
    text: str = ""

    @property
    def person_id(self) -> int | None:
        return self.person.id if self.person else None


NOBODY = Owner()


def choose(
    session: Session,
    *,
    viewer: Viewer | None,
    owner_id: int | None = None,
    name: str | None = None,
    field: str = "owner",
) -> Owner:
    """The owner `viewer` chose (by person id, or by exact name: case-insensitive, trimmed);
    NOBODY for neither. `viewer=None` is loaded history: an unknown name is kept as text.
    ValidationFailed (on `field`, or `field`_id) when the choice is nobody they may see."""
    name = (name or "").strip()
    among = visible_person_ids(viewer) if viewer is not None else None
    if owner_id is not None:
        query = select(Person).where(Person.id == owner_id)
        if among is not None:
            query = query.where(col(Person.id).in_(among))
        person = session.exec(query).first()
        if person is None:
            raise ValidationFailed(
                f"There is no person {owner_id} in the people directory.",
                {f"{field}_id": "not a person in the directory"},
            )
        if name and people.named(session, name=name, among=among) not in (None, person):
            raise ValidationFailed(
                "The owner's id and name are two different people: give one of them.",
                {f"{field}_id": "names someone else than the owner's name"},
            )
        return Owner(person=person)
    if not name:
        return NOBODY
    person = people.named(session, name=name, among=among)
    if person is not None:
        return Owner(person=person)
    if viewer is None:
        return Owner(text=name)
    raise ValidationFailed(
        f"Nobody called {name!r} is in the people directory: choose the owner from it "
        "(or leave it empty).",
        {field: "not a person in the directory"},
    )
