"""People in the directory: who wrote a review, owns an action or knows about a lesson."""

from datetime import datetime

from sqlalchemy import JSON, Text
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
    # How to reach them (an address, a phone, a chat handle): free text the person writes.
    contact: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow)
