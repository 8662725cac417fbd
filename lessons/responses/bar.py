"""Before-action reviews: the lessons and people a brief surfaced."""

from __future__ import annotations

from pydantic import Field

from lessons.responses.common import Match, Out, PersonOut, ProjectName, Timestamp
from lessons.responses.lessons import Action, LessonBrief, Why
from lessons.schemas import SearchFilters
from lessons.storage.models import (
    Decision,
)


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
