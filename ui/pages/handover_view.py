"""What a review page shows of a handover: its parts, and which forms this reader may use."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from lessons.accounts.access import Viewer
from lessons.handovers import followups
from lessons.handovers import service as handovers
from lessons.storage.models import Review


def handover_context(session: Session, review: Review, viewer: Viewer) -> dict[str, Any]:
    """The handover (None for another kind of review, or a reader of its lessons only) and
    whether the reader is its successor (acknowledge, ask) or its leaver (answer)."""
    view = handovers.view(session, review=review, viewer=viewer)
    return {
        "handover": view,
        "is_successor": view is not None and followups.is_successor(view.handover, viewer),
        "is_leaver": view is not None and followups.is_leaver(review, viewer),
        "can_reassign": view is not None
        and any(viewer.can_change_action(a) for a in view.leaver_open_actions),
    }
