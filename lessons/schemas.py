"""Input models shared by the JSON API and the web forms: one set of rules for both.

Structural rules (types, enums, required fields) live on the models; length and count limits
are settings, so `enforce_limits` checks them against the running configuration.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from lessons.errors import ValidationFailed
from lessons.storage.models import (
    Decision,
    LessonStatus,
    Perspective,
    Polarity,
    ReviewKind,
    Sensitivity,
)
from lessons.storage.settings import Settings

M = TypeVar("M", bound=BaseModel)
MAX_LINK_CHARS = 1000  # the learned_link column
# Record ids: anything larger cannot exist in any database and must not reach one.
MAX_ID = 2**63 - 1

_TAG_CHARS = re.compile(r"[^a-z0-9:/_-]+")


def normalise_tag(raw: str) -> str:
    """Lower-case, hyphenated, no stray punctuation: `Cold Chain` -> `cold-chain`."""
    return _TAG_CHARS.sub("-", raw.strip().lower()).strip("-")[:100]


def _clean_tags(values: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        tag = normalise_tag(value)
        if tag:
            seen[tag] = None
    return list(seen)


def link_problem(link: str) -> str | None:
    """Why `link` is not a usable http(s) link to the evidence, or None when it is."""
    if len(link) > MAX_LINK_CHARS:
        return f"at most {MAX_LINK_CHARS} characters"
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in link):
        return "a link has no spaces or control characters"
    try:
        parts = urlsplit(link)
    except ValueError:
        return "not a valid link"
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return "an http:// or https:// link to the changed process, guidance or checklist"
    return None


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ProjectRef(_Input):
    """An existing project by `id`, or a project by `name` (created when new)."""

    id: int | None = Field(default=None, ge=1, le=MAX_ID)
    name: str | None = None
    summary: str = ""
    unit: str = ""
    start_date: date | None = None
    end_date: date | None = None
    tags: list[str] = Field(default_factory=list)

    _tags = field_validator("tags")(_clean_tags)

    @model_validator(mode="after")
    def _id_or_name(self) -> ProjectRef:
        if self.id is None and not self.name:
            raise ValueError("give the project's id or a name")
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        return self


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


class ActionIn(_Input):
    what: str = Field(min_length=1)
    owner: str | None = None
    due: date | None = None
    lesson_index: int | None = Field(
        default=None, ge=0, description="Index in this review's `lessons` that the action serves."
    )


class ReviewIn(_Input):
    kind: ReviewKind
    project: ProjectRef
    held_on: date | None = None
    author: str | None = Field(
        default=None,
        description=(
            "Whose words these are, when not the sender's own (a facilitator logging for a "
            "team): a person in the people directory, added when new. The signed-in user is "
            "always recorded as who sent it, beside this."
        ),
    )
    answers: dict[str, str | int] = Field(default_factory=dict)
    lessons: list[LessonIn] = Field(default_factory=list)
    actions: list[ActionIn] = Field(default_factory=list)

    @model_validator(mode="after")
    def _action_links(self) -> ReviewIn:
        for action in self.actions:
            if action.lesson_index is not None and action.lesson_index >= len(self.lessons):
                raise ValueError("an action's lesson_index points past the lessons given")
        return self


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


class SearchFilters(_Input):
    """Narrow a search before ranking. Empty means the defaults (DESIGN.md: retrieval)."""

    status: list[LessonStatus] | None = None
    tags: list[str] | None = None
    polarity: Polarity | None = None
    perspective: Perspective | None = None
    project_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    unit: str | None = None

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _clean_tags(value)


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


@dataclass(frozen=True)
class Limits:
    title: int
    text: int
    brief: int
    items: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            settings.max_title_chars,
            settings.max_text_chars,
            settings.max_brief_chars,
            settings.max_items,
        )


# One-line fields, stored in bounded columns: they share the title's limit.
SHORT = frozenset({"title", "name", "author", "owner", "unit", "run_by", "actor"})


def enforce_limits(payload: BaseModel, limits: Limits) -> None:
    """Raise ValidationFailed naming every field that is longer than the settings allow."""
    problems: dict[str, str] = {}
    _walk(payload, "", limits, problems)
    if problems:
        raise ValidationFailed("Some fields are too long or have too many items.", problems)


def _walk(value: Any, path: str, limits: Limits, problems: dict[str, str]) -> None:
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            _walk(getattr(value, name), f"{path}.{name}" if path else name, limits, problems)
    elif isinstance(value, dict):
        for key, item in value.items():
            _walk(item, f"{path}.{key}", limits, problems)
    elif isinstance(value, list):
        if len(value) > limits.items:
            problems[path] = f"at most {limits.items} items"
        for i, item in enumerate(value):
            _walk(item, f"{path}.{i}", limits, problems)
    elif isinstance(value, str):
        leaf = path.rsplit(".", 1)[-1]
        cap = limits.brief if leaf == "brief" else limits.title if leaf in SHORT else limits.text
        if len(value) > cap:
            problems[path] = f"at most {cap} characters (got {len(value)})"


def parse(model: type[M], data: Any, limits: Limits) -> M:
    """Validate raw data (a JSON body or a parsed form) into `model`, or raise ValidationFailed."""
    try:
        payload = model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed("The input is not valid.", field_errors(exc)) from None
    enforce_limits(payload, limits)
    return payload


def field_errors(exc: ValidationError) -> dict[str, str]:
    """Pydantic's errors as {"lessons.0.title": "message"}."""
    fields: dict[str, str] = {}
    for error in exc.errors():
        path = ".".join(str(part) for part in error["loc"]) or "body"
        message = error["msg"].removeprefix("Value error, ")
        fields.setdefault(path, message)
    return fields
