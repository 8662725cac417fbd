"""Tag schemes, their terms, free tags and tag suggestions."""

from __future__ import annotations

from pydantic import Field

from lessons.schemas.common import Out


class Term(Out):
    id: int
    name: str
    tag: str
    parent_id: int | None
    depth: int
    description: str
    lessons: int = Field(description="Lessons the caller may see tagged with it or narrower.")
    direct_lessons: int


class Scheme(Out):
    id: int
    key: str
    name: str
    unit: str
    description: str
    terms: list[Term]


class FreeTag(Out):
    tag: str
    lessons: int


class Taxonomy(Out):
    schemes: list[Scheme]
    free_tags: list[FreeTag] | None = Field(default=None, description="For curators only.")


class SchemeChange(Scheme):
    retagged_lesson_ids: list[int]


class TagSuggestion(Out):
    tag: str
    score: float
    lesson_ids: list[int]


class TagSuggestions(Out):
    lesson_id: int
    suggestions: list[TagSuggestion]
