"""Handovers: the role a leaver hands over, the successor named to receive it, the work in
flight and key contacts passed on, and the follow-up questions asked and answered on it.

A handover is a review of kind `handover` (its answers are the handover questions); these
tables hold what only a handover has, keyed by the review."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Integer, Text
from sqlmodel import Field, SQLModel

from lessons.storage.models.base import fk, new_uid, utcnow


class JobRole(SQLModel, table=True):
    """A role people hold and hand over (not a sign-in role): its handovers are its history."""

    __tablename__ = "job_role"

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(default_factory=new_uid, unique=True, max_length=32)
    name: str = Field(unique=True, max_length=200)
    created_at: datetime = Field(default_factory=utcnow)


class Handover(SQLModel, table=True):
    """What a handover review adds: the role, the successor (an account) and when they
    acknowledged it, and the work in flight as a list of {what, status, next_step}."""

    review_id: int = Field(
        sa_column=Column(Integer, ForeignKey("review.id", ondelete="CASCADE"), primary_key=True)
    )
    job_role_id: int | None = fk("job_role.id")
    successor_user_id: int | None = fk("user.id")
    acknowledged_at: datetime | None = None
    work_in_flight: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)


class HandoverContact(SQLModel, table=True):
    """A key contact the leaver passes on: a person in the directory, and why they matter."""

    __tablename__ = "handover_contact"

    id: int | None = Field(default=None, primary_key=True)
    review_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("review.id", ondelete="CASCADE"), index=True, nullable=False
        )
    )
    person_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("person.id", ondelete="CASCADE"), index=True, nullable=False
        )
    )
    why: str = Field(default="", sa_type=Text)


class HandoverQuestion(SQLModel, table=True):
    """A follow-up question the successor asks on a handover, and the leaver's answer."""

    __tablename__ = "handover_question"

    id: int | None = Field(default=None, primary_key=True)
    review_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("review.id", ondelete="CASCADE"), index=True, nullable=False
        )
    )
    asked_by_id: int | None = fk("user.id")
    question: str = Field(sa_type=Text)
    asked_at: datetime = Field(default_factory=utcnow)
    answer: str = Field(default="", sa_type=Text)
    answered_by_id: int | None = fk("user.id")
    answered_at: datetime | None = None
