"""Lessons: a lesson sent or edited, the search filters, and the one shape and its short form,
their merges, history and search results as answered.
"""

from __future__ import annotations

from datetime import date

from pydantic import Field, field_validator

from lessons.schemas.actions import Action
from lessons.schemas.common import (
    MAX_ID,
    Day,
    Out,
    PersonOut,
    ProjectName,
    Timestamp,
    _clean_tags,
    _Input,
)
from lessons.storage.models import (
    LessonStatus,
    Perspective,
    Polarity,
    ReviewKind,
    Sensitivity,
)


class LessonIn(_Input):
    title: str = Field(min_length=1)
    observation: str = ""
    insight: str = ""
    recommendation: str = ""
    polarity: Polarity = Polarity.IMPROVE
    perspective: Perspective = Perspective.OPERATIONAL
    tags: list[str] = Field(default_factory=list)
    sensitivity: Sensitivity = Sensitivity.INTERNAL
    review_due: date | None = None

    _tags = field_validator("tags")(_clean_tags)


class LessonPatch(_Input):
    """A partial edit of a lesson's wording and classification (not its lifecycle state)."""

    title: str | None = Field(default=None, min_length=1)
    observation: str | None = None
    insight: str | None = None
    recommendation: str | None = None
    polarity: Polarity | None = None
    perspective: Perspective | None = None
    tags: list[str] | None = None
    sensitivity: Sensitivity | None = None
    review_due: date | None = None

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _clean_tags(value)


class SearchFilters(_Input):
    """Narrow a search before ranking. Empty means the defaults (DESIGN.md: retrieval)."""

    status: list[LessonStatus] | None = None
    tags: list[str] | None = None
    polarity: Polarity | None = None
    perspective: Perspective | None = None
    project_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    unit: str | None = None
    # Lessons one person wrote ("my lessons", and an author's own lessons awaiting a curator).
    author_id: int | None = Field(default=None, ge=1, le=MAX_ID)

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _clean_tags(value)


class LessonBrief(Out):
    """The short form of a lesson, used inside lists and results. `id` is the lesson's id;
    GET /api/lessons/{id} gives the whole lesson."""

    id: int
    title: str
    status: LessonStatus
    sensitivity: Sensitivity
    polarity: Polarity
    tags: list[str]
    project: ProjectName | None


class Lesson(LessonBrief):
    """A lesson: the short form and the rest of its fields."""

    external_id: str | None
    observation: str
    insight: str
    recommendation: str
    perspective: Perspective
    review_due: Day | None
    review_id: int | None
    author: PersonOut | None
    source_url: str | None
    created_at: Timestamp
    updated_at: Timestamp


class Merge(Out):
    id: int
    canonical_id: int
    merged_id: int
    merged_status_before: str
    reason: str
    actor: str
    at: Timestamp
    text_taken: bool
    tags_added: list[str]
    moved_action_ids: list[int]
    undone_at: Timestamp | None
    undone_by: str | None
    undo_reason: str
    undo_notes: list[str]


class SourceReview(Out):
    id: int
    kind: ReviewKind
    held_on: Day | None


class MergedSource(LessonBrief):
    """A lesson merged into this one: where else it was identified, as it was before."""

    status_before: str
    review: SourceReview | None
    author: PersonOut | None
    date: Day
    merge_id: int
    merged_at: Timestamp


class CanonicalLesson(Lesson):
    """A lesson with what it says about merges (as far as the caller may see)."""

    merged_into: LessonBrief | None = Field(
        description="The lesson this one was merged into, when the caller may read it."
    )
    also_identified_in: list[MergedSource]
    merges: list[Merge]


class HistoryEntry(Out):
    from_status: str | None
    to_status: str
    actor: str
    reason: str
    at: Timestamp


class LessonDetail(CanonicalLesson):
    """One lesson with its actions and lifecycle."""

    actions: list[Action]
    history: list[HistoryEntry]
    allowed_transitions: list[LessonStatus]
    learned_evidence: str | None
    learned_link: str | None


class Why(Out):
    """Why a lesson matched; each ranker's part when the ranking is at hand."""

    matched_terms: list[str]
    best_sentence: str | None
    highlighted: list[tuple[str, bool]] = Field(
        description="The best sentence in pieces: (text, whether it matches the query)."
    )
    fused: float
    dense: float | None = None
    dense_rank: int | None = None
    lexical: float | None = None
    lexical_rank: int | None = None
    passage: float | None = None
    near_copies: list[int] = Field(default_factory=list)


class LessonResult(Lesson):
    """A lesson in a list; with `q`, also its score and why it matched."""

    score: float | None = None
    why: Why | None = None


class LessonList(Out):
    results: list[LessonResult]
    total: int = Field(
        description="How many lessons match overall. Without q: the lessons the filters "
        "admit, paged by limit and offset. With q every lesson the filters admit is ranked "
        "(0 when q has no word to search on): total counts them; results are the best "
        "`limit` (offset does not apply)."
    )


class SimilarLesson(LessonBrief):
    lesson_id: int = Field(description="The lesson's id (the API contract's name; equals id).")
    score: float


class SimilarLessons(Out):
    results: list[SimilarLesson]
