"""Output models: the JSON the API answers with, declared once for the OpenAPI document
(`ui.api.openapi`) and for the tests that hold every route to it.

Every model forbids fields it does not declare, so a presenter that adds a key without
declaring it here fails tests/ui/api/test_api_contract.py and the schemathesis run. To add a field:
one line on the model below (with a default if it is not always present).

A lesson has one shape, `Lesson`, and one short form, `LessonBrief`, used inside lists and
results; in both, `id` is the lesson's id. `lesson_id` names a lesson from a record that is not a
lesson (an action, a tag suggestion, a BAR's surfaced item, a similarity hit): BAR and similar
results carry it beside the short form's `id`, as DESIGN.md's API contract names it and the
decisions a client sends back (`{"lesson_id", "decision"}`) use it. `total` is always how many
records match overall, however many one page holds.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from lessons.schemas import SearchFilters
from lessons.storage.models import (
    ActionStatus,
    Decision,
    LessonStatus,
    Perspective,
    Polarity,
    ReviewKind,
    Sensitivity,
)

Timestamp = str  # ISO 8601, e.g. 2025-03-01T09:30:00.123456 (UTC)
Day = str  # ISO 8601 date, e.g. 2025-03-01
Match = Literal["strong", "related", "weak"]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(_Out):
    code: str
    message: str
    fields: dict[str, str]


class Error(_Out):
    """Every refusal (4xx): what went wrong, in words, and per field."""

    error: ErrorDetail


class ProjectName(_Out):
    id: int
    name: str


class PersonOut(_Out):
    id: int
    name: str
    unit: str
    role: str
    profile: str = Field(description="The person's place in the people directory (a link).")


# --- lessons -------------------------------------------------------------------------------


class LessonBrief(_Out):
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


class Action(_Out):
    id: int
    what: str
    owner: PersonOut | None
    due: Day | None
    status: ActionStatus
    overdue: bool
    closure_evidence: str
    lesson_id: int | None = Field(description="The lesson the action serves, if any.")
    project_id: int | None
    review_id: int | None


class Merge(_Out):
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


class SourceReview(_Out):
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


class HistoryEntry(_Out):
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


class Why(_Out):
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


class LessonList(_Out):
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


class SimilarLessons(_Out):
    results: list[SimilarLesson]


class Review(_Out):
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


# --- before action reviews -----------------------------------------------------------------


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


class BarSummary(_Out):
    strong: int
    related: int
    message: str = Field(description="What to tell the reader when nothing matched strongly.")


class Bar(_Out):
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


# --- curation ------------------------------------------------------------------------------


class QueuedLesson(Lesson):
    flags: list[str]


class QueueSection(_Out):
    total: int = Field(description="How many lessons are in the section overall.")
    limit: int
    offset: int
    results: list[QueuedLesson]


class Queue(_Out):
    today: Day
    counts: dict[str, int]
    sections: dict[str, QueueSection]


class Duplicate(LessonBrief):
    score: float
    advice_score: float | None


class Duplicates(_Out):
    threshold: float
    results: list[Duplicate]


class DuplicatePair(_Out):
    score: float
    advice_score: float | None
    lessons: list[LessonBrief]


class DuplicatePairs(_Out):
    threshold: float
    total: int = Field(description="How many pairs match overall.")
    results: list[DuplicatePair]


class Undone(_Out):
    merge: Merge
    text_restored: bool
    tags_removed: list[str]
    actions_moved_back: list[int]
    notes: list[str]
    canonical: CanonicalLesson


# --- actions, taxonomy, themes, metrics ----------------------------------------------------


class TrackedAction(Action):
    project: ProjectName | None
    carried_to_review_id: int | None
    closed_at: Timestamp | None


class ActionList(_Out):
    results: list[TrackedAction]
    total: int = Field(description="How many actions match overall.")


class Term(_Out):
    id: int
    name: str
    tag: str
    parent_id: int | None
    depth: int
    description: str
    lessons: int = Field(description="Lessons the caller may see tagged with it or narrower.")
    direct_lessons: int


class Scheme(_Out):
    id: int
    key: str
    name: str
    unit: str
    description: str
    terms: list[Term]


class FreeTag(_Out):
    tag: str
    lessons: int


class Taxonomy(_Out):
    schemes: list[Scheme]
    free_tags: list[FreeTag] | None = Field(default=None, description="For curators only.")


class SchemeChange(Scheme):
    retagged_lesson_ids: list[int]


class TagSuggestion(_Out):
    tag: str
    score: float
    lesson_ids: list[int]


class TagSuggestions(_Out):
    lesson_id: int
    suggestions: list[TagSuggestion]


class ThemeLesson(LessonBrief):
    year: int


class Theme(_Out):
    label: str
    central_lesson_id: int
    tags: list[str]
    project_count: int
    open_project_count: int
    projects: list[ProjectName]
    years: list[int]
    lessons: list[ThemeLesson]
    learned_lesson_ids: list[int]
    open_actions: list[Action]


class Themes(_Out):
    themes: list[Theme]
    threshold: float
    min_projects: int


Cell = int | float | str | None


class Metric(_Out):
    name: str
    title: str
    definition: str
    columns: list[str]
    rows: list[list[Cell]]
    summary: dict[str, Cell]


class Metrics(_Out):
    as_of: Day
    metrics: list[Metric]
