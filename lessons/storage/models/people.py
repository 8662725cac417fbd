"""People in the directory (who wrote a review, owns an action or knows about a lesson), and
the peer-assist requests a team records on a before action review."""

from datetime import date, datetime

from sqlalchemy import JSON, Column, ForeignKey, Integer, Text
from sqlmodel import Field, SQLModel

from lessons.storage.models.base import fk, new_uid, utcnow


class Person(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(default_factory=new_uid, unique=True, max_length=32)
    name: str = Field(unique=True, max_length=200)
    unit: str = Field(default="", max_length=200)
    role: str = Field(default="", max_length=200)
    expertise: list[str] = Field(default_factory=list, sa_type=JSON)
    bio: str = Field(default="", sa_type=Text)
    # How to reach them (an address, a phone, a chat handle): free text the person writes.
    contact: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow)


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
