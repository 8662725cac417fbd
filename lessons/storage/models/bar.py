"""Before-action reviews and the lessons each one surfaced, with the decision taken on each.

BeforeActionReview.bar_items <-> BarItem.bar point both ways, so both stay here."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Integer, Text
from sqlmodel import Field, Relationship, SQLModel

from lessons.storage.models.base import fk, new_uid, utcnow
from lessons.storage.models.lessons import Lesson, Project


class Decision(StrEnum):
    APPLY = "apply"
    NOT_RELEVANT = "not_relevant"
    NOTE = "note"


class BeforeActionReview(SQLModel, table=True):
    __tablename__ = "bar"

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(default_factory=new_uid, unique=True, max_length=32)
    brief: str = Field(sa_type=Text)
    project_id: int | None = fk("project.id")
    run_by: str = Field(default="", max_length=200)
    # The signed-in user who ran it (`run_by` is a name typed on the form): with the project's
    # members and curators, the only ones who may read it or record its decisions.
    run_by_user_id: int | None = fk("user.id")
    model: str = Field(default="", max_length=200)
    filters: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow)
    # The run's pseudo-relevance feedback: its first pass's best lessons (id, score, cosine),
    # the brief's BM25 term count and the ranking's constants, so a reader who may not see a
    # lesson that formed the feedback is shown figures without it (`retrieval.feedback`).
    # None for BARs recorded before this was kept.
    feedback: dict[str, Any] | None = Field(default=None, sa_type=JSON)

    project: Project | None = Relationship()
    # Not "items": SQLModel reads relationships off dicts by name, and dict.items exists.
    bar_items: list["BarItem"] = Relationship(
        back_populates="bar",
        sa_relationship_kwargs={"order_by": "BarItem.rank", "cascade": "all, delete-orphan"},
    )


class BarItem(SQLModel, table=True):
    """A lesson surfaced by a BAR, with the rank and score it had then and the team's decision."""

    __tablename__ = "bar_item"

    id: int | None = Field(default=None, primary_key=True)
    bar_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("bar.id", ondelete="CASCADE"), index=True, nullable=False
        )
    )
    lesson_id: int | None = fk("lesson.id")
    rank: int
    score: float
    # Each ranker's part in `score` at the time, kept as evidence of why it was surfaced.
    dense_score: float | None = None
    dense_rank: int | None = None
    lexical_score: float | None = None
    lexical_rank: int | None = None
    near_copies: list[int] = Field(default_factory=list, sa_type=JSON)
    # The best passage's cosine, how strong a match it was, and the lesson's sentence closest
    # in meaning to the brief (None for BARs recorded before these were kept).
    passage_score: float | None = None
    match: str | None = Field(default=None, max_length=10)
    best_sentence: str | None = Field(default=None, sa_type=Text)
    # The brief's cosine to each of the lesson's passages (None without passages, or before
    # these were kept): with `dense_score`, what scoring it again with other feedback needs.
    passage_cosines: list[float] | None = Field(default=None, sa_type=JSON)
    decision: str | None = Field(default=None, max_length=20)
    note: str = Field(default="", sa_type=Text)
    decided_at: datetime | None = None
    # For a lesson the team applied: what happened when they did (recorded later).
    outcome: str = Field(default="", sa_type=Text)
    outcome_at: datetime | None = None

    bar: BeforeActionReview = Relationship(back_populates="bar_items")
    lesson: Lesson | None = Relationship()
