"""Tag schemes and their terms (the taxonomy lessons are tagged from)."""

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from lessons.storage.models.base import fk, utcnow


class TagScheme(SQLModel, table=True):
    """A taxonomy: the organisation-wide one (no unit) or one kept by a unit."""

    __tablename__ = "tag_scheme"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=40)
    name: str = Field(max_length=200)
    unit: str = Field(default="", max_length=200)
    description: str = Field(default="", sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow)


class TagTerm(SQLModel, table=True):
    """A term of a scheme, optionally under a broader term. Lessons carry the term's tag
    string (see lessons.taxonomy.term_changes), so renaming or merging a term retags its lessons."""

    __tablename__ = "tag_term"
    __table_args__ = (UniqueConstraint("scheme_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    scheme_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("tag_scheme.id", ondelete="CASCADE"), index=True, nullable=False
        )
    )
    name: str = Field(max_length=100)
    parent_id: int | None = fk("tag_term.id")
    description: str = Field(default="", sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow)
