"""Communities of practice: a community sent by a curator, joining and following, sharing a
lesson, questions and answers, an answer drawn into a lesson; and how communities are
answered."""

from __future__ import annotations

from pydantic import Field, field_validator

from lessons.schemas.common import MAX_ID, Out, PersonOut, Timestamp, _clean_tags, _Input
from lessons.schemas.lessons import LessonBrief
from lessons.storage.models import Perspective, Polarity, Sensitivity


class CommunityIn(_Input):
    name: str = Field(min_length=1, max_length=200)
    summary: str = ""
    tags: list[str] = Field(
        default_factory=list, description="Its lessons are those carrying one of these tags."
    )
    facilitators: list[str] = Field(
        default_factory=list, description="User names; left out: the curator creating it."
    )

    _tags = field_validator("tags")(_clean_tags)


class MembershipIn(_Input):
    """Join or leave, follow or stop following (what is left out stays as it is). Joining
    follows too unless `follows` says otherwise."""

    member: bool | None = None
    follows: bool | None = None


class ShareIn(_Input):
    lesson_id: int = Field(ge=1, le=MAX_ID)
    note: str = ""


class CommunityQuestionIn(_Input):
    question: str = Field(min_length=1, description="The question, in a line.")
    details: str = ""


class CommunityAnswerIn(_Input):
    body: str = Field(min_length=1)


class AnswerLessonIn(_Input):
    """The lesson drawn from a good answer: the question's title and the answer as its
    recommendation unless given; the community's tags added; identified, for curation."""

    title: str | None = Field(default=None, min_length=1)
    observation: str | None = None
    insight: str = ""
    polarity: Polarity = Polarity.SUSTAIN
    perspective: Perspective = Perspective.OPERATIONAL
    sensitivity: Sensitivity = Sensitivity.INTERNAL
    tags: list[str] = Field(default_factory=list)

    _tags = field_validator("tags")(_clean_tags)


class Member(Out):
    username: str
    person: PersonOut | None
    role: str = Field(description="facilitator or member")


class You(Out):
    """The caller's own place in the community."""

    role: str | None = Field(description="facilitator, member, follower, or null")
    follows: bool


class Community(Out):
    id: int
    name: str
    summary: str
    tags: list[str]
    page: str
    members: list[Member] = Field(description="Facilitators first, then members, by name.")
    followers: int = Field(description="How many accounts follow it (members included).")
    you: You


class Communities(Out):
    results: list[Community]


class SharedLesson(Out):
    lesson: LessonBrief
    note: str
    shared_by: str | None
    shared_at: Timestamp


class CommunityAnswer(Out):
    id: int
    body: str
    answered_by: str | None
    answered_at: Timestamp
    lesson_id: int | None = Field(description="The lesson drawn from it, if the caller may see it.")


class CommunityQuestion(Out):
    id: int
    community_id: int
    question: str
    details: str
    asked_by: str | None
    asked_at: Timestamp
    open: bool = Field(description="Nobody has answered it yet.")
    answers: list[CommunityAnswer]


class CommunityTheme(Out):
    label: str
    tags: list[str]
    lessons: int = Field(description="How many of its lessons the caller may see.")


class CommunityDetail(Community):
    lessons: list[LessonBrief] = Field(description="Recent trusted lessons with its tags.")
    shared: list[SharedLesson]
    questions: list[CommunityQuestion] = Field(description="Open questions first, newest first.")
    themes: list[CommunityTheme] = Field(description="Recurring themes among its lessons.")
