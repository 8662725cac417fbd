"""The record a merge of duplicate lessons leaves, so it can be shown and undone."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Integer, Text
from sqlmodel import Field, SQLModel

from lessons.storage.models.base import utcnow


class LessonMerge(SQLModel, table=True):
    """One merge of a duplicate into a canonical lesson, kept so it can be undone: the
    duplicate's status before, and the canonical lesson's text and tags before."""

    __tablename__ = "lesson_merge"

    id: int | None = Field(default=None, primary_key=True)
    canonical_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("lesson.id", ondelete="CASCADE"), index=True, nullable=False
        )
    )
    merged_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("lesson.id", ondelete="CASCADE"), index=True, nullable=False
        )
    )
    merged_status_before: str = Field(max_length=20)
    canonical_before: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    reason: str = Field(default="", sa_type=Text)
    actor: str = Field(default="", max_length=200)
    at: datetime = Field(default_factory=utcnow)
    undone_at: datetime | None = None
    undone_by: str = Field(default="", max_length=200)
