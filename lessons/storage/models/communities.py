"""Communities of practice: who belongs (members and facilitators) and who follows, the
lessons shared with them, and the questions members ask and answer."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from lessons.storage.models.base import fk, new_uid, utcnow


def _owned(target: str, *, primary_key: bool = False) -> Any:
    """A reference that goes when its target goes (a membership, a share, an answer)."""
    return Column(
        Integer,
        ForeignKey(target, ondelete="CASCADE"),
        primary_key=primary_key,
        index=not primary_key,
        nullable=False,
    )


class Community(SQLModel, table=True):
    """A community of practice: its lessons are those carrying one of its tags."""

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(default_factory=new_uid, unique=True, max_length=32)
    name: str = Field(unique=True, max_length=200)
    summary: str = Field(default="", sa_type=Text)
    tags: list[str] = Field(default_factory=list, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow)


class CommunityMember(SQLModel, table=True):
    """An account's place in a community: `role` facilitator, member or follower (a follower
    gets its news without belonging); `follows` whether its news reaches them."""

    __tablename__ = "community_member"

    community_id: int = Field(sa_column=_owned("community.id", primary_key=True))
    user_id: int = Field(sa_column=_owned("user.id", primary_key=True))
    role: str = Field(default="member", max_length=20)
    follows: bool = True
    joined_at: datetime = Field(default_factory=utcnow)


class CommunityShare(SQLModel, table=True):
    """A lesson a member shared with a community, and why."""

    __tablename__ = "community_share"
    __table_args__ = (UniqueConstraint("community_id", "lesson_id"),)

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(sa_column=_owned("community.id"))
    lesson_id: int = Field(sa_column=_owned("lesson.id"))
    shared_by_id: int | None = fk("user.id")
    note: str = Field(default="", sa_type=Text)
    shared_at: datetime = Field(default_factory=utcnow)


class CommunityQuestion(SQLModel, table=True):
    """A question a member asks the community."""

    __tablename__ = "community_question"

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(sa_column=_owned("community.id"))
    asked_by_id: int | None = fk("user.id")
    title: str = Field(max_length=500)
    body: str = Field(default="", sa_type=Text)
    asked_at: datetime = Field(default_factory=utcnow)


class CommunityAnswer(SQLModel, table=True):
    """A member's answer; a good one can become a lesson (identified, then curated)."""

    __tablename__ = "community_answer"

    id: int | None = Field(default=None, primary_key=True)
    question_id: int = Field(sa_column=_owned("community_question.id"))
    answered_by_id: int | None = fk("user.id")
    body: str = Field(sa_type=Text)
    answered_at: datetime = Field(default_factory=utcnow)
    lesson_id: int | None = fk("lesson.id")  # the lesson drawn from it
