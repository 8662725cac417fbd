"""Actions: an action sent with a review, and actions as answered and tracked across reviews."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from lessons.schemas.common import MAX_ID, Day, Out, PersonOut, ProjectName, Timestamp, _Input
from lessons.storage.models import (
    ActionStatus,
)


class ActionIn(_Input):
    what: str = Field(min_length=1)
    owner: str | None = Field(
        default=None,
        description="The owner's name, exactly as in the people directory (ignoring case).",
    )
    owner_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="The owner: a person's id in the directory."
    )
    due: date | None = None
    lesson_index: int | None = Field(
        default=None, ge=0, description="Index in this review's `lessons` that the action serves."
    )


class Action(Out):
    id: int
    what: str
    owner: PersonOut | None
    owner_text: str = Field(
        description="The owner as imported history named them, when that is nobody in the "
        "directory (shown, never told); empty otherwise."
    )
    due: Day | None
    status: ActionStatus
    overdue: bool
    closure_evidence: str
    lesson_id: int | None = Field(description="The lesson the action serves, if any.")
    project_id: int | None
    review_id: int | None


class TrackedAction(Action):
    project: ProjectName | None
    carried_to_review_id: int | None
    closed_at: Timestamp | None


class ActionList(Out):
    results: list[TrackedAction]
    total: int = Field(description="How many actions match overall.")
