"""People: a profile as its owner edits it, and the directory as the API answers it (people
found for a topic, a profile with inferred expertise and what the person contributed)."""

from __future__ import annotations

from datetime import date

from pydantic import Field, field_validator

from lessons.schemas.actions import Action
from lessons.schemas.common import MAX_ID, Day, Out, PersonOut, Timestamp, _Input
from lessons.schemas.lessons import LessonBrief

MAX_EXPERTISE = 20


def _clean_expertise(values: list[str]) -> list[str]:
    """Each tag as typed (trimmed, inner spaces collapsed), once, ignoring case."""
    seen: dict[str, str] = {}
    for value in values:
        tag = " ".join(value.split())
        if tag and tag.casefold() not in seen:
            seen[tag.casefold()] = tag
    return list(seen.values())


class ProfileIn(_Input):
    """What a person says of themselves (every field optional: only those sent change)."""

    unit: str | None = Field(default=None, max_length=200)
    role: str | None = Field(default=None, max_length=200)
    expertise: list[str] | None = Field(default=None, max_length=MAX_EXPERTISE)
    bio: str | None = None
    contact: str | None = Field(
        default=None, max_length=500, description="How to reach them: an address, a phone."
    )

    @field_validator("expertise")
    @classmethod
    def _expertise(cls, values: list[str] | None) -> list[str] | None:
        if values is None:
            return None
        if any(len(" ".join(v.split())) > 100 for v in values):
            raise ValueError("each expertise tag is at most 100 characters")
        return _clean_expertise(values)


class Evidence(Out):
    """A record that links a person to a topic or an expertise: a lesson, a review or
    handover, an action, a BAR outcome or a peer assist, as the reader may see it."""

    kind: str = Field(description="lesson, review, handover, action, bar_outcome, peer_assist")
    id: int
    label: str = Field(description="The record's title or what it says, in short.")
    link: str


class Found(Out):
    """Why a person came up for a topic: one of their matched lessons (or a tag they list)."""

    relation: str = Field(description="wrote, handed over, owns an action on, lists expertise in")
    title: str
    match: str
    lesson_id: int | None


class PersonHit(PersonOut):
    """A person found for a topic, by relevance (lessons.people.ranking)."""

    relevance: float
    why: list[str]
    found: list[Found]


class People(Out):
    results: list[PersonHit]


class Inferred(Out):
    """An expertise read off what the person did, with the records that show it."""

    tag: str
    evidence: list[Evidence]


class Contributions(Out):
    lessons: list[LessonBrief]
    reviews: list[Evidence]
    actions: list[Action]
    bar_outcomes: list[Evidence]
    peer_assists: list[Evidence]


class Profile(PersonOut):
    expertise: list[str]
    bio: str
    contact: str
    editable: bool = Field(description="Whether the caller may edit this profile.")
    created_at: Timestamp
    inferred: list[Inferred]
    contributions: Contributions


class PeerAssistIn(_Input):
    """A peer-assist request on a BAR: whom (a person in the directory), what to ask, and by
    when the team wants to have talked to them."""

    person_id: int = Field(ge=1, le=MAX_ID)
    ask: str = Field(min_length=1)
    ask_by: date | None = None


class PeerAssistOutcomeIn(_Input):
    outcome: str = Field(min_length=1, description="What came of talking to them.")


class PeerAssist(Out):
    id: int
    bar_id: int
    person: PersonOut
    ask: str
    ask_by: Day | None
    requested_by: str | None = Field(description="Who recorded the request (a user name).")
    created_at: Timestamp
    outcome: str
    outcome_at: Timestamp | None
