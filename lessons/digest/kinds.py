"""What a digest is made of: whom it is for (Reader), a source (a key, a title and a function
listing what one reader should hear about today), and the section a source gives."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session

from lessons.accounts.access import Viewer
from lessons.storage.models import Person


@dataclass(frozen=True)
class Reader:
    """Whom a digest is for: their directory person, and what their account may see."""

    person: Person
    viewer: Viewer
    today: date
    due_days: int = 7


@dataclass(frozen=True)
class Item:
    """One line of a section: what, a link into the site (a path), and a detail line."""

    text: str
    link: str
    detail: str = ""
    urgent: bool = False  # overdue, or otherwise past its moment: shown first and marked


@dataclass(frozen=True)
class Source:
    key: str
    title: str
    tally: str  # how the subject line counts its items that are not urgent: "3 due soon"
    more: str  # where the reader sees all of it (a path; "{person}": the reader's person id)
    items: Callable[[Session, Reader], list[Item]]


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    tally: str
    more: str
    items: tuple[Item, ...]
