"""Handovers and roles as plain dicts for the JSON API and the templates (lessons.responses:
Review's handover fields, Role)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from lessons.handovers.roles import RoleHistory
from lessons.handovers.service import HandoverView
from lessons.storage.models import Action, JobRole, Lesson, Review
from ui.shared.presenters import action_json, person_ref, review_json


def _when(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def role_ref(role: JobRole | None) -> dict[str, Any] | None:
    if role is None:
        return None
    return {"id": role.id, "name": role.name, "page": f"/roles/{role.id}"}


def handover_fields(view: HandoverView | None) -> dict[str, Any]:
    """A review's handover fields: all null for another kind of review, or for a reader who
    may not read the handover's story."""
    if view is None:
        return {"successor": None, "acknowledged_at": None, "handover": None}
    successor = view.successor
    return {
        "successor": {"username": successor.username, "person": person_ref(successor.person)}
        if successor
        else None,
        "acknowledged_at": _when(view.handover.acknowledged_at),
        "handover": {
            "role": role_ref(view.role),
            "work_in_flight": [
                {
                    "what": str(item.get("what", "")),
                    "status": str(item.get("status", "")),
                    "next_step": str(item.get("next_step", "")),
                }
                for item in view.handover.work_in_flight
            ],
            "contacts": [
                {"person": person_ref(view.people[c.person_id]), "why": c.why}
                for c in view.contacts
                if c.person_id in view.people
            ],
            "questions": [
                {
                    "id": q.id,
                    "question": q.question,
                    "asked_by": view.usernames.get(q.asked_by_id or 0),
                    "asked_at": q.asked_at.isoformat(),
                    "answer": q.answer,
                    "answered_by": view.usernames.get(q.answered_by_id or 0),
                    "answered_at": _when(q.answered_at),
                }
                for q in view.questions
            ],
            "leaver_open_actions": [action_json(a) for a in view.leaver_open_actions],
        },
    }


def review_with_handover(
    review: Review,
    lessons: Sequence[Lesson],
    actions: Sequence[Action],
    view: HandoverView | None,
) -> dict[str, Any]:
    """A review as the API answers it, with its handover fields."""
    return {**review_json(review, lessons, actions), **handover_fields(view)}


def role_json(history: RoleHistory) -> dict[str, Any]:
    """A role with its handover history (newest first) as the viewer may read it."""
    return {
        **(role_ref(history.role) or {}),
        "handovers": [
            {
                "id": item.review.id,
                "project": {"id": item.review.project.id, "name": item.review.project.name},
                "held_on": item.review.held_on.isoformat() if item.review.held_on else None,
                "created_at": item.review.created_at.isoformat(),
                "leaver": person_ref(item.review.author),
                "successor": item.successor,
                "acknowledged_at": _when(item.handover.acknowledged_at),
            }
            for item in history.handovers
        ],
    }
