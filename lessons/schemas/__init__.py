"""Every entity's models in one module: what the API and the web forms accept (input models, one
set of rules for both) beside what the API answers with (output models, re-exported by
`lessons.responses`). This package re-exports the input names and the parsing helpers.

Structural rules (types, enums, required fields) live on the models; length and count limits
are settings, so `enforce_limits` checks them against the running configuration.
"""

from lessons.schemas.actions import ActionIn
from lessons.schemas.bar import BarIn, DecisionIn, DecisionsIn, OutcomeIn, OutcomesIn
from lessons.schemas.common import (
    MAX_ID,
    MAX_LINK_CHARS,
    SHORT,
    Limits,
    ProjectRef,
    enforce_limits,
    field_errors,
    link_problem,
    normalise_tag,
    parse,
)
from lessons.schemas.curation import (
    MergeIn,
    ReviewDecision,
    ReviewDueIn,
    TransitionIn,
    UndoIn,
    ValidateDecision,
    ValidateIn,
)
from lessons.schemas.lessons import LessonIn, LessonPatch, SearchFilters
from lessons.schemas.reviews import ReviewIn

__all__ = [
    "MAX_ID",
    "MAX_LINK_CHARS",
    "SHORT",
    "ActionIn",
    "BarIn",
    "DecisionIn",
    "DecisionsIn",
    "LessonIn",
    "LessonPatch",
    "Limits",
    "MergeIn",
    "OutcomeIn",
    "OutcomesIn",
    "ProjectRef",
    "ReviewDecision",
    "ReviewDueIn",
    "ReviewIn",
    "SearchFilters",
    "TransitionIn",
    "UndoIn",
    "ValidateDecision",
    "ValidateIn",
    "enforce_limits",
    "field_errors",
    "link_problem",
    "normalise_tag",
    "parse",
]
