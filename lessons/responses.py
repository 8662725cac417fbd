"""Output models: the JSON the API answers with, declared once for the OpenAPI document
(`ui.api.openapi`) and for the tests that hold every route to it. Each is declared beside its
entity's input models in `lessons.schemas.<entity>`; this module gathers the output names.

Every model forbids fields it does not declare, so a presenter that adds a key without
declaring it here fails tests/ui/api/test_api_contract.py and the schemathesis run. To add a field:
one line on its entity's model in `lessons.schemas` (with a default if it is not always present).

A lesson has one shape, `Lesson`, and one short form, `LessonBrief`, used inside lists and
results; in both, `id` is the lesson's id. `lesson_id` names a lesson from a record that is not a
lesson (an action, a tag suggestion, a BAR's surfaced item, a similarity hit): BAR and similar
results carry it beside the short form's `id`, as DESIGN.md's API contract names it and the
decisions a client sends back (`{"lesson_id", "decision"}`) use it. `total` is always how many
records match overall, however many one page holds.
"""

from lessons.schemas.actions import Action, ActionList, TrackedAction
from lessons.schemas.bar import (
    Bar,
    BarResult,
    BarSummary,
    PersonLesson,
    RelevantPerson,
    ResultPerson,
)
from lessons.schemas.common import (
    Day,
    Error,
    ErrorDetail,
    Match,
    PersonOut,
    ProjectName,
    Timestamp,
)
from lessons.schemas.curation import (
    Duplicate,
    DuplicatePair,
    DuplicatePairs,
    Duplicates,
    Queue,
    QueuedLesson,
    QueueSection,
    Undone,
)
from lessons.schemas.lessons import (
    CanonicalLesson,
    HistoryEntry,
    Lesson,
    LessonBrief,
    LessonDetail,
    LessonList,
    LessonResult,
    Merge,
    MergedSource,
    SimilarLesson,
    SimilarLessons,
    SourceReview,
    Why,
)
from lessons.schemas.metrics import Metric, Metrics
from lessons.schemas.people import (
    Contributions,
    Evidence,
    Found,
    Inferred,
    PeerAssist,
    People,
    PersonHit,
    Profile,
)
from lessons.schemas.reviews import Review
from lessons.schemas.taxonomy import (
    FreeTag,
    Scheme,
    SchemeChange,
    TagSuggestion,
    TagSuggestions,
    Taxonomy,
    Term,
)
from lessons.schemas.themes import Theme, ThemeLesson, Themes

__all__ = [
    "Action",
    "ActionList",
    "Bar",
    "BarResult",
    "BarSummary",
    "CanonicalLesson",
    "Contributions",
    "Day",
    "Duplicate",
    "DuplicatePair",
    "DuplicatePairs",
    "Duplicates",
    "Error",
    "ErrorDetail",
    "Evidence",
    "Found",
    "FreeTag",
    "HistoryEntry",
    "Inferred",
    "Lesson",
    "LessonBrief",
    "LessonDetail",
    "LessonList",
    "LessonResult",
    "Match",
    "Merge",
    "MergedSource",
    "Metric",
    "Metrics",
    "PeerAssist",
    "People",
    "PersonHit",
    "PersonLesson",
    "PersonOut",
    "Profile",
    "ProjectName",
    "Queue",
    "QueueSection",
    "QueuedLesson",
    "RelevantPerson",
    "ResultPerson",
    "Review",
    "Scheme",
    "SchemeChange",
    "SimilarLesson",
    "SimilarLessons",
    "SourceReview",
    "TagSuggestion",
    "TagSuggestions",
    "Taxonomy",
    "Term",
    "Theme",
    "ThemeLesson",
    "Themes",
    "Timestamp",
    "TrackedAction",
    "Undone",
    "Why",
]
