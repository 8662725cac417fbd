"""The digest's actions section: the reader's open actions overdue or due within the
digest's horizon, overdue first, only those on work the reader may see."""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import Session

from lessons.actions import service as actions
from lessons.digest.kinds import Item, Reader, Source
from lessons.storage.models import Action


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


SOURCE = Source("actions", "Your actions due or overdue", "due soon", "/actions/mine", due_actions)
