"""Handovers: what a leaver sends beside the handover questions (role, successor, work in
flight, key contacts), the follow-up questions and answers, reassigning the leaver's actions,
and how a handover and a role's history are answered."""

from __future__ import annotations

from pydantic import Field

from lessons.schemas.actions import Action
from lessons.schemas.common import MAX_ID, Day, Out, PersonOut, ProjectName, Timestamp, _Input


class SuccessorRef(_Input):
    """The account that takes the role over (it reads, asks about and acknowledges it)."""

    username: str = Field(min_length=1, max_length=100)


class WorkItemIn(_Input):
    what: str = Field(min_length=1)
    status: str = ""
    next_step: str = ""


class ContactIn(_Input):
    """A key contact: a person in the people directory (added when new), and why."""

    name: str = Field(min_length=1)
    why: str = ""


class FollowUpIn(_Input):
    question: str = Field(min_length=1)


class FollowUpAnswerIn(_Input):
    answer: str = Field(min_length=1)


class ReassignmentIn(_Input):
    action_id: int = Field(ge=1, le=MAX_ID)
    owner: str | None = Field(
        default=None,
        description="The new owner, a person in the directory; left out: the successor.",
    )


class ReassignIn(_Input):
    """The leaver's open actions handed on: each to the successor or to someone named."""

    actions: list[ReassignmentIn] = Field(min_length=1)


class Successor(Out):
    username: str
    person: PersonOut | None


class RoleName(Out):
    id: int
    name: str
    page: str = Field(description="The role's page, with its handover history (a link).")


class WorkItem(Out):
    what: str
    status: str
    next_step: str


class Contact(Out):
    person: PersonOut
    why: str


class FollowUp(Out):
    id: int
    question: str
    asked_by: str | None
    asked_at: Timestamp
    answer: str = Field(description="Empty until the leaver answers.")
    answered_by: str | None
    answered_at: Timestamp | None


class HandoverDetail(Out):
    """What a handover holds beside its answers, for readers of its story."""

    role: RoleName | None
    work_in_flight: list[WorkItem]
    contacts: list[Contact]
    questions: list[FollowUp]
    leaver_open_actions: list[Action] = Field(
        description="The leaver's open actions the reader may see, to reassign."
    )


class HandoverSummary(Out):
    id: int = Field(description="The handover's review id.")
    project: ProjectName
    held_on: Day | None
    created_at: Timestamp
    leaver: PersonOut | None
    successor: str | None
    acknowledged_at: Timestamp | None


class Role(Out):
    id: int
    name: str
    page: str
    handovers: list[HandoverSummary] = Field(description="Newest first.")


class Roles(Out):
    results: list[Role]
