"""Actions tracked across reviews."""

from __future__ import annotations

from pydantic import Field

from lessons.responses.common import Out, ProjectName, Timestamp
from lessons.responses.lessons import Action


class TrackedAction(Action):
    project: ProjectName | None
    carried_to_review_id: int | None
    closed_at: Timestamp | None


class ActionList(Out):
    results: list[TrackedAction]
    total: int = Field(description="How many actions match overall.")
