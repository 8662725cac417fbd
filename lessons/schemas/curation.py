"""Curation: lifecycle steps, validating and reviewing lessons, merging and undoing a merge;
the curation queue, likely duplicates, and an undone merge as answered.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from lessons.schemas.common import MAX_ID, Day, Out, _Input, link_problem
from lessons.schemas.lessons import CanonicalLesson, Lesson, LessonBrief, LessonPatch, Merge
from lessons.storage.models import (
    LessonStatus,
)


class TransitionIn(_Input):
    """One lifecycle step. Learned needs what changed and a link to it (merged is reached
    only by merging)."""

    to: LessonStatus
    reason: str = ""
    learned_evidence: str = Field(
        default="",
        description="What changed because of the lesson (a process, a guidance note, a "
        "checklist); required to mark it learned.",
    )
    learned_link: str = Field(
        default="",
        description="An http(s) link to that change; required to mark the lesson learned.",
    )

    @field_validator("learned_link")
    @classmethod
    def _http_link(cls, value: str) -> str:
        if value and (problem := link_problem(value)):
            raise ValueError(problem)
        return value


class ValidateDecision(StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"


class ValidateIn(LessonPatch):
    """Accept (validated) or reject a newly identified lesson, with the curator's edits to
    its wording and classification (the LessonPatch fields) saved in the same step."""

    decision: ValidateDecision
    reason: str = Field(default="", description="Why; required to reject.")
    review_due: date | None = Field(
        default=None, description="First review date; empty: the review period from today."
    )


class ReviewDecision(StrEnum):
    CONFIRM = "confirm"
    RETIRE = "retire"


class ReviewDueIn(LessonPatch):
    """A lesson past its review date: confirm it (with any updates) until the next review, or
    retire it."""

    decision: ReviewDecision
    reason: str = Field(default="", description="Why; required to retire.")
    review_due: date | None = Field(
        default=None, description="Next review date; empty: the review period from today."
    )


# In input, a duplicate's id must be a JSON number (not `true`, not "7").
_KeepTextIn = Literal["canonical", "combined"] | Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]


class MergeIn(BaseModel):
    """A merge asked for through the API or the merge form."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    duplicates: list[Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]] = Field(
        min_length=1, description="Ids of the lessons to merge into this (canonical) one."
    )
    keep_text: _KeepTextIn = Field(
        default="canonical",
        description="Whose text the canonical lesson keeps: `canonical` (its own), the id of "
        "one of the duplicates, or `combined` (its own, with each duplicate's different "
        "sections added under it).",
    )
    reason: str = Field(default="", description="Why these are the same lesson.")

    @field_validator("keep_text", mode="before")
    @classmethod
    def _one_of(cls, value: object) -> object:
        # One clear message instead of one per member of the union.
        if value in ("canonical", "combined"):
            return value
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID:
            return value
        raise ValueError("`canonical`, `combined` or the id of one of the duplicates")


class UndoIn(BaseModel):
    """Undoing a merge through the API: why (kept in the audit log and the lesson history)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(default="", description="Why the merge is undone.")


class QueuedLesson(Lesson):
    flags: list[str]


class QueueSection(Out):
    total: int = Field(description="How many lessons are in the section overall.")
    limit: int
    offset: int
    results: list[QueuedLesson]


class Queue(Out):
    today: Day
    counts: dict[str, int]
    sections: dict[str, QueueSection]


class Duplicate(LessonBrief):
    score: float
    advice_score: float | None


class Duplicates(Out):
    threshold: float
    results: list[Duplicate]


class DuplicatePair(Out):
    score: float
    advice_score: float | None
    lessons: list[LessonBrief]


class DuplicatePairs(Out):
    threshold: float
    total: int = Field(description="How many pairs match overall.")
    results: list[DuplicatePair]


class Undone(Out):
    merge: Merge
    text_restored: bool
    tags_removed: list[str]
    actions_moved_back: list[int]
    notes: list[str]
    canonical: CanonicalLesson
