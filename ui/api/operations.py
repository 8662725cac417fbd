"""Every operation of the JSON API: what it takes (path id, query, body) and what it answers,
as pydantic models. `ui.api.openapi` generates /api/openapi.json from this table, and the tests
hold every route's answers to its response model (tests/contract.py).

The query models say what the handlers' query parsing (ui.shared.params) accepts, bound for
bound."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from lessons import responses as out
from lessons.actions.service import ActionChange
from lessons.curation.queue import Section
from lessons.schemas import (
    MAX_ID,
    BarIn,
    DecisionsIn,
    LessonPatch,
    MergeIn,
    OutcomesIn,
    ReviewDueIn,
    ReviewIn,
    TransitionIn,
    UndoIn,
    ValidateIn,
)
from lessons.schemas.people import PeerAssistIn, PeerAssistOutcomeIn, ProfileIn
from lessons.storage.models import ActionStatus, LessonStatus
from retrieval.duplicates import FLOOR
from ui.api.actions import CarryIn, CloseIn, DropIn
from ui.api.taxonomy import AdoptIn, SchemeIn, TermIn, TermMergeIn, TermPatch
from ui.shared.params import MAX_OFFSET


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # as OpenAPI writes it: /api/lessons/{id}
    summary: str
    ok: type[BaseModel]  # the 2xx body
    status: int = 200
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    errors: tuple[int, ...] = ()
    description: str = ""


class _Query(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LessonsQuery(_Query):
    q: str | None = Field(default=None, description="Search by meaning and words.")
    tag: list[str] | None = None
    status: list[LessonStatus] | None = None
    project_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    # The maximum is a setting (bar_max_limit x 4): ui.api.openapi sets it.
    limit: int = Field(default=20, ge=1)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET, description="Without q only.")


class SimilarQuery(_Query):
    limit: int = Field(default=5, ge=1, le=50)


class QueueQuery(_Query):
    section: Section | None = None
    limit: int = Field(default=20, ge=1, le=100)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)


_SCORE = Field(
    default=None,
    ge=FLOOR,
    le=1,
    description="Lowest cosine similarity to list (default: the app's threshold).",
)


class DuplicatesQuery(_Query):
    min_score: float | None = _SCORE
    limit: int = Field(default=5, ge=1, le=50)


class PairsQuery(_Query):
    min_score: float | None = _SCORE
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)
    awaiting_validation: str | None = Field(
        default=None,
        description="1: only pairs with a newly identified lesson.",
        json_schema_extra={"enum": ["0", "1", "true"]},
    )


class ActionsQuery(_Query):
    owner_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    project_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    status: ActionStatus | None = None
    overdue: bool | None = None


class PeopleQuery(_Query):
    q: str | None = Field(
        default=None,
        description="A topic: people are ranked by the lessons of theirs it matches, by "
        "meaning and words, and the expertise they list. Without it, the directory by name.",
    )
    limit: int = Field(default=10, ge=1, le=50)


class SuggestionsQuery(_Query):
    limit: int = Field(default=5, ge=1, le=20)


WRITE = (400, 404, 413, 422)
CURATE = (400, 401, 403, 404, 409, 413, 422)
BAR_DESCRIPTION = (
    "A brief without a word to search on is refused (422). Each result is a lesson's short "
    "form with `match` (strong, related or weak) and its figures under `why`; "
    "`summary.message` says when nothing matched strongly; `people` are ranked by the "
    "relevance of their strong and related lessons."
)


LESSONS = [
    Operation("POST", "/api/reviews", "Log a review with its lessons and actions", out.Review,
        status=201, body=ReviewIn, errors=WRITE),
    Operation("GET", "/api/lessons", "List lessons, or search them by meaning with q",
        out.LessonList, query=LessonsQuery, errors=(422, 429),
        description="429: too many searches (with q) from one caller; see Retry-After."),
    Operation("GET", "/api/lessons/{id}", "One lesson with its actions and history",
        out.LessonDetail, errors=(404,)),
    Operation("PATCH", "/api/lessons/{id}", "Edit a lesson's wording or classification",
        out.LessonDetail, body=LessonPatch, errors=WRITE),
    Operation("POST", "/api/lessons/{id}/transition", "Move a lesson along its lifecycle",
        out.LessonDetail, body=TransitionIn, errors=(*WRITE, 409)),
    Operation("GET", "/api/lessons/{id}/similar",
        "Lessons closest in meaning to this one, down to the similarity floor (may be none)",
        out.SimilarLessons, query=SimilarQuery, errors=(404, 422)),
    Operation("POST", "/api/bar", "Run and record a before action review", out.Bar, status=201,
        body=BarIn, errors=(*WRITE, 429), description=BAR_DESCRIPTION),
    Operation("GET", "/api/bar/{id}", "A recorded before action review", out.Bar, errors=(404,)),
    Operation("POST", "/api/bar/{id}/decisions",
        "Record apply / not relevant / note per surfaced lesson", out.Bar, body=DecisionsIn,
        errors=WRITE),
    Operation("POST", "/api/bar/{id}/outcomes",
        "Record what happened when the team applied a surfaced lesson", out.Bar,
        body=OutcomesIn, errors=(*WRITE, 401)),
]  # fmt: skip

CURATION = [
    Operation("GET", "/api/curation/queue",
        "The curation queue: counts and a page of each section, oldest first", out.Queue,
        query=QueueQuery, errors=(401, 403, 422)),
    Operation("POST", "/api/curation/lessons/{id}/validate",
        "Validate or reject an identified lesson, with edits", out.QueuedLesson,
        body=ValidateIn, errors=CURATE),
    Operation("POST", "/api/curation/lessons/{id}/review",
        "Confirm (with updates) or retire a lesson due for review", out.QueuedLesson,
        body=ReviewDueIn, errors=CURATE),
    Operation("GET", "/api/lessons/{id}/duplicates",
        "Possible duplicates of a lesson, among the lessons the caller may read, closest first",
        out.Duplicates, query=DuplicatesQuery, errors=(401, 404, 422)),
    Operation("GET", "/api/curation/duplicates",
        "Pairs of possible duplicates across the bank, most similar first (curators)",
        out.DuplicatePairs, query=PairsQuery, errors=(401, 403, 422)),
    Operation("POST", "/api/lessons/{id}/merge",
        "Merge duplicates into this canonical lesson (curators)", out.CanonicalLesson,
        body=MergeIn, errors=CURATE),
    Operation("POST", "/api/merges/{id}/undo", "Undo a merge (curators)", out.Undone, body=UndoIn,
        errors=CURATE),
    Operation("GET", "/api/themes",
        "Recurring themes: lessons alike in meaning, met in three or more projects and not "
        "yet learned, among the lessons the caller may see", out.Themes, errors=(401,)),
    Operation("GET", "/api/metrics", "Learning-loop metrics over the lessons the caller may see",
        out.Metrics, errors=(401,)),
]  # fmt: skip

_ACTION_WRITE = (400, 401, 403, 404, 413, 422)

TAXONOMY_ACTIONS = [
    Operation("GET", "/api/actions",
        "Actions across projects the caller may see, soonest due first", out.ActionList,
        query=ActionsQuery, errors=(401, 422)),
    Operation("GET", "/api/actions/mine",
        "The caller's own open actions (they own them as a person in the directory), "
        "overdue first, then by due date", out.ActionList, errors=(401,)),
    Operation("PATCH", "/api/actions/{id}",
        "Edit status, closure evidence, owner (a directory person, by `owner_id` or exact "
        "`owner` name) or due date (done needs evidence)",
        out.TrackedAction, body=ActionChange, errors=_ACTION_WRITE),
    Operation("POST", "/api/actions/{id}/close", "Close an open action as done, with evidence",
        out.TrackedAction, body=CloseIn, errors=_ACTION_WRITE),
    Operation("POST", "/api/actions/{id}/drop", "Drop an open action, saying why",
        out.TrackedAction, body=DropIn, errors=_ACTION_WRITE),
    Operation("POST", "/api/actions/{id}/carry-forward",
        "Carry an open action into a later review of its project (or a BAR for it)",
        out.TrackedAction, body=CarryIn, errors=_ACTION_WRITE),
    Operation("GET", "/api/taxonomy",
        "Tag schemes with their term trees and lesson counts the caller may see (and free "
        "tags, for curators)", out.Taxonomy, errors=(401,)),
    Operation("POST", "/api/taxonomy/schemes", "Create a tag scheme (curators)", out.SchemeChange,
        status=201, body=SchemeIn, errors=(400, 401, 403, 413, 422)),
    Operation("POST", "/api/taxonomy/schemes/{id}/terms", "Add a term to a scheme (curators)",
        out.SchemeChange, status=201, body=TermIn, errors=_ACTION_WRITE),
    Operation("PATCH", "/api/taxonomy/terms/{id}",
        "Rename a term (its lessons are retagged) or move it (curators)", out.SchemeChange,
        body=TermPatch, errors=_ACTION_WRITE),
    Operation("POST", "/api/taxonomy/terms/{id}/merge",
        "Merge a term into another (its lessons are retagged once each; curators)",
        out.SchemeChange, body=TermMergeIn, errors=_ACTION_WRITE),
    Operation("POST", "/api/taxonomy/adopt",
        "Adopt a free tag into a scheme as a term (curators)", out.SchemeChange, body=AdoptIn,
        errors=_ACTION_WRITE),
    Operation("GET", "/api/lessons/{id}/tag-suggestions",
        "Tags from the lesson's nearest validated neighbours the caller may see",
        out.TagSuggestions, query=SuggestionsQuery, errors=(404, 422)),
]  # fmt: skip

PEOPLE_DESCRIPTION = (
    "The lessons the caller may see are ranked for the topic as lesson search ranks them; "
    "each person gathers the strong and related ones they wrote, handed over or own an action "
    "on (and the expertise tags of theirs the topic names); relevance is those scores with a "
    "discount of a third per further lesson, best first. `why` names each. A person known "
    "only through work the caller may not see is never listed."
)

PEOPLE = [
    Operation("GET", "/api/people", "People to talk to about a topic, best first",
        out.People, query=PeopleQuery, errors=(401, 422, 429), description=PEOPLE_DESCRIPTION),
    Operation("GET", "/api/people/{id}",
        "A person's profile: expertise listed and inferred (with evidence) and contributions, "
        "as the caller may see them", out.Profile, errors=(401, 404)),
    Operation("PATCH", "/api/people/{id}",
        "Edit a profile (the person themselves, or an admin); only the fields sent change",
        out.Profile, body=ProfileIn, errors=(400, 401, 403, 404, 413, 422)),
    Operation("POST", "/api/bar/{id}/peer-assists",
        "Record a peer-assist request on a BAR: whom (a person in the directory), what to ask, "
        "by when", out.Bar, status=201, body=PeerAssistIn, errors=(*WRITE, 401)),
    Operation("POST", "/api/peer-assists/{id}/outcome",
        "Record what came of a peer-assist request (the BAR's team or the person asked)",
        out.PeerAssist, body=PeerAssistOutcomeIn, errors=(*WRITE, 401)),
]  # fmt: skip

OPERATIONS: list[Operation] = [*LESSONS, *CURATION, *TAXONOMY_ACTIONS, *PEOPLE]
