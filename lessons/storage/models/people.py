"""People in the directory: who wrote a review, owns an action or knows about a lesson."""

from datetime import date, datetime

from sqlalchemy import JSON, Column, ForeignKey, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from lessons.storage.models.base import new_uid, utcnow


class Person(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(default_factory=new_uid, unique=True, max_length=32)
    name: str = Field(unique=True, max_length=200)
    unit: str = Field(default="", max_length=200)
    role: str = Field(default="", max_length=200)
    expertise: list[str] = Field(default_factory=list, sa_type=JSON)
    bio: str = Field(default="", sa_type=Text)
    # Where the daily digest goes (only to someone who also signs in: what they may see is
    # their account's). Empty: no digest.
    email: str = Field(default="", max_length=320)
    # How to reach them (an address, a phone, a chat handle): free text the person writes.
    contact: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow)


class DigestDelivery(SQLModel, table=True):
    """One person's digest of one day: claimed before it is sent, so a second run that day
    (or one running beside it) skips them. `status` is "sending" until the server accepted it,
    then "sent"; a failed send removes the claim so the next run tries again."""

    __tablename__ = "digest_delivery"
    __table_args__ = (UniqueConstraint("person_id", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("person.id", ondelete="CASCADE"), index=True, nullable=False
        )
    )
    day: date
    status: str = Field(default="sending", max_length=20)
    address: str = Field(default="", max_length=320)
    claimed_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None
