"""Peer-assist requests a team records on a before action review: whom to ask (a person in
the directory), what, by when, and what came of it."""

from datetime import date, datetime

from sqlalchemy import Column, ForeignKey, Integer, Text
from sqlmodel import Field, Relationship, SQLModel

from lessons.storage.models.accounts import User
from lessons.storage.models.base import fk, utcnow
from lessons.storage.models.people import Person


class PeerAssist(SQLModel, table=True):
    """A team's request, recorded on a BAR, to ask someone in the directory something before
    the work starts (whom, what to ask, by when), and what came of it."""

    __tablename__ = "peer_assist"

    id: int | None = Field(default=None, primary_key=True)
    bar_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("bar.id", ondelete="CASCADE"), index=True, nullable=False
        )
    )
    person_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("person.id", ondelete="CASCADE"), index=True, nullable=False
        )
    )
    ask: str = Field(sa_type=Text)
    ask_by: date | None = None  # when the team wants to have talked to them
    requested_by_id: int | None = fk("user.id")
    created_at: datetime = Field(default_factory=utcnow)
    outcome: str = Field(default="", sa_type=Text)
    outcome_at: datetime | None = None

    person: Person = Relationship()
    requested_by: User | None = Relationship()
