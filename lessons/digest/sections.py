"""The digest's sections, one per source. A source is a key, a title and a function that lists
what one reader should hear about today; it is given the reader's own access (`Viewer`) and
must list only what that viewer may see. To add a source, write its function and add a line
to SOURCES.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import Session

from lessons.accounts.access import Viewer
from lessons.actions import service as actions
from lessons.storage.models import Action, Person


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
    more: str  # where the reader sees all of it (a path)
    items: Callable[[Session, Reader], list[Item]]


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    tally: str
    more: str
    items: tuple[Item, ...]


def _action_item(action: Action, today: date) -> Item:
    due = action.due
    assert due is not None
    if due < today:
        days = (today - due).days
        when = f"overdue by {days} day{'s' if days != 1 else ''} (due {due.isoformat()})"
    elif due == today:
        when = "due today"
    else:
        when = f"due {due.isoformat()}"
    where = action.project.name if action.project else ""
    return Item(
        text=action.what,
        link=f"/actions/mine#action-{action.id}",
        detail=f"{when}{' — ' + where if where else ''}",
        urgent=due < today,
    )


def due_actions(session: Session, reader: Reader) -> list[Item]:
    """The reader's open actions that are overdue or due within `due_days`, overdue first
    (`actions.my_actions` lists only actions on work the reader may see)."""
    horizon = reader.today + timedelta(days=reader.due_days)
    mine = actions.my_actions(session, viewer=reader.viewer, today=reader.today)
    return [_action_item(a, reader.today) for a in mine if a.due is not None and a.due <= horizon]


SOURCES: tuple[Source, ...] = (
    Source("actions", "Your actions due or overdue", "due soon", "/actions/mine", due_actions),
)


def sections(
    session: Session, reader: Reader, sources: tuple[Source, ...] = SOURCES
) -> list[Section]:
    """Every source's section for this reader, in the order of SOURCES (empty ones too)."""
    return [
        Section(
            source.key,
            source.title,
            source.tally,
            source.more,
            tuple(source.items(session, reader)),
        )
        for source in sources
    ]
