"""Before-action reviews: a brief, the team's decisions and outcomes sent, and the lessons and
people a brief surfaced as answered.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from lessons.schemas.actions import Action
from lessons.schemas.common import (
    MAX_ID,
    Match,
    Out,
    PersonOut,
    ProjectName,
    ProjectRef,
    Timestamp,
    _Input,
)
from lessons.schemas.lessons import LessonBrief, SearchFilters, Why
from lessons.schemas.people import PeerAssist
from lessons.storage.models import (
    Decision,
)


class BarIn(_Input):
    brief: str = Field(min_length=1)
    project: ProjectRef | None = None
    run_by: str = ""
    limit: int | None = Field(default=None, ge=1)
    filters: SearchFilters | None = None


class DecisionIn(_Input):
    lesson_id: int = Field(ge=1, le=MAX_ID)
    decision: Decision
    note: str = ""


class DecisionsIn(_Input):
    decisions: list[DecisionIn] = Field(min_length=1)


class OutcomeIn(BaseModel):
    """What happened when the team applied a lesson the BAR surfaced."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    lesson_id: int = Field(ge=1, le=MAX_ID)
    outcome: str = Field(min_length=1)


class OutcomesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcomes: list[OutcomeIn] = Field(min_length=1)


class ResultPerson(PersonOut):
    why: str = Field(description="Why to talk to them: wrote it, owns an action.")


class PersonLesson(LessonBrief):
    match: Match


class RelevantPerson(PersonOut):
    """Someone to talk to, ranked by the summed scores of their strong and related lessons."""

    relevance: float
    lessons: list[PersonLesson]
    why: list[str]


class BarResult(LessonBrief):
    """A surfaced lesson: the short form, why it matched and what the team decided. Add a
    field here (with a default if it is not always present) when the BAR shows more."""

    lesson_id: int = Field(
        description="The lesson's id, as decisions name it (the API contract's name; equals id)."
    )
    rank: int
    score: float
    match: Match
    snippet: str | None
    why: Why
    people: list[ResultPerson]
    open_actions: list[Action]
    decision: Decision | None
    note: str
    outcome: str | None = Field(
        default=None, description="What happened when it was applied (answer to outcomes)."
    )
    outcome_at: Timestamp | None = None


class BarSummary(Out):
    strong: int
    related: int
    message: str = Field(description="What to tell the reader when nothing matched strongly.")


class Bar(Out):
    id: int
    brief: str
    project: ProjectName | None
    run_by: str
    model: str
    filters: SearchFilters = Field(description="The filters the BAR ran with.")
    created_at: Timestamp
    results: list[BarResult]
    summary: BarSummary
    people: list[RelevantPerson]
    peer_assists: list[PeerAssist] = Field(
        default_factory=list,
        description="The team's peer-assist requests: whom, what to ask, by when, outcome.",
    )
