"""The curation queue, likely duplicates, and an undone merge."""

from __future__ import annotations

from pydantic import Field

from lessons.responses.common import Day, Out
from lessons.responses.lessons import CanonicalLesson, Lesson, LessonBrief, Merge


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
