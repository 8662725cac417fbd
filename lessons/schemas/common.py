"""What every input and answer shares: the base models, ids, tags and links, the length limits
checked against the running configuration, parsing into a model, the error body, and how a
project and a person are named (in and out).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from lessons.errors import ValidationFailed
from lessons.numbers import LARGEST_ID
from lessons.storage.settings import Settings

M = TypeVar("M", bound=BaseModel)


MAX_LINK_CHARS = 1000  # the learned_link column
# Record ids: anything larger cannot exist in any database and must not reach one.
MAX_ID = LARGEST_ID


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
    problems = over_limits(payload, limits)
    if problems:
        raise ValidationFailed("Some fields are too long or have too many items.", problems)


def over_limits(value: Any, limits: Limits) -> dict[str, str]:
    """Every field of `value` (a model, or raw data shaped like one) over the limits, so a form
    can report lengths together with the problems that stopped the model being built."""
    problems: dict[str, str] = {}
    if isinstance(value, dict):
        for key, item in value.items():
            _walk(item, str(key), limits, problems)
    else:
        _walk(value, "", limits, problems)
    return problems


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
        elif "\x00" in value:  # PostgreSQL's text refuses it: one rule for both backends
            problems[path] = "must not contain a NUL character"


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


Timestamp = str  # ISO 8601, e.g. 2025-03-01T09:30:00.123456 (UTC)


Day = str  # ISO 8601 date, e.g. 2025-03-01


Match = Literal["strong", "related", "weak"]


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(Out):
    code: str
    message: str
    fields: dict[str, str]


class Error(Out):
    """Every refusal (4xx): what went wrong, in words, and per field."""

    error: ErrorDetail


class ProjectName(Out):
    id: int
    name: str


class PersonOut(Out):
    id: int
    name: str
    unit: str
    role: str
    profile: str = Field(description="The person's place in the people directory (a link).")
