"""After-action reviews: a review sent (its project, lessons and actions) and as answered."""

from __future__ import annotations

from datetime import date

from pydantic import Field, model_validator

from lessons.schemas.actions import Action, ActionIn
from lessons.schemas.common import Day, Out, PersonOut, ProjectName, ProjectRef, Timestamp, _Input
from lessons.schemas.handovers import ContactIn, HandoverDetail, Successor, SuccessorRef, WorkItemIn
from lessons.schemas.lessons import Lesson, LessonIn
from lessons.storage.models import (
    ReviewKind,
)


class ReviewIn(_Input):
    kind: ReviewKind
    project: ProjectRef
    held_on: date | None = None
    author: str | None = Field(
        default=None,
        description=(
            "Whose words these are, when not the sender's own (a facilitator logging for a "
            "team): a person in the people directory, added when new. The signed-in user is "
            "always recorded as who sent it, beside this."
        ),
    )
    answers: dict[str, str | int] = Field(default_factory=dict)
    lessons: list[LessonIn] = Field(default_factory=list)
    actions: list[ActionIn] = Field(default_factory=list)
    # A handover's own parts (kind "handover" only).
    successor: SuccessorRef | None = Field(
        default=None, description="Handover: the account taking the role over."
    )
    role: str | None = Field(
        default=None, max_length=200, description="Handover: the role handed over (added when new)."
    )
    work_in_flight: list[WorkItemIn] = Field(default_factory=list)
    contacts: list[ContactIn] = Field(default_factory=list)

    @model_validator(mode="after")
    def _action_links(self) -> ReviewIn:
        for action in self.actions:
            if action.lesson_index is not None and action.lesson_index >= len(self.lessons):
                raise ValueError("an action's lesson_index points past the lessons given")
        return self

    @model_validator(mode="after")
    def _handover_parts(self) -> ReviewIn:
        given = self.successor or self.role or self.work_in_flight or self.contacts
        if given and self.kind != ReviewKind.HANDOVER:
            raise ValueError(
                "only a handover names a successor, a role, work in flight or key contacts"
            )
        return self


class Review(Out):
    id: int
    kind: ReviewKind
    question_set_version: int
    project: ProjectName
    held_on: Day | None
    author: PersonOut | None = Field(description="Whose words these are.")
    recorded_by: str | None = Field(description="Who sent them (the signed-in user).")
    answers: dict[str, str | int]
    lessons: list[Lesson]
    actions: list[Action]
    created_at: Timestamp
    successor: Successor | None = Field(
        default=None, description="Handover: who takes the role over (readers of its story)."
    )
    acknowledged_at: Timestamp | None = Field(
        default=None, description="Handover: when the successor acknowledged it."
    )
    handover: HandoverDetail | None = Field(
        default=None, description="Handover: role, work in flight, contacts, follow-ups."
    )
