"""What retrieval keeps about each lesson (vectors, passages, sentences) and the change counter
that tells a process its in-memory index is stale."""

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer, LargeBinary
from sqlmodel import Field, SQLModel

from lessons.storage.models.base import utcnow


class LessonEmbedding(SQLModel, table=True):
    """A lesson's vector, stored so a restart does not re-embed; one row per lesson."""

    __tablename__ = "lesson_embedding"

    lesson_id: int = Field(
        sa_column=Column(Integer, ForeignKey("lesson.id", ondelete="CASCADE"), primary_key=True)
    )
    model: str = Field(max_length=200)
    dim: int
    content_hash: str = Field(max_length=64)
    vector: bytes = Field(sa_type=LargeBinary)
    updated_at: datetime = Field(default_factory=utcnow, index=True)


class LessonPassages(SQLModel, table=True):
    """A long lesson's passage vectors (one per piece the model reads whole), stored beside its
    whole-lesson vector so a restart does not re-embed; a short lesson has a row with none.
    Read for a search's few hundred candidates only, never held in memory for the whole bank."""

    __tablename__ = "lesson_passages"

    lesson_id: int = Field(
        sa_column=Column(Integer, ForeignKey("lesson.id", ondelete="CASCADE"), primary_key=True)
    )
    model: str = Field(max_length=200)
    content_hash: str = Field(max_length=64)
    count: int = 0
    # `count` float16 rows of the model's dimension, back to back.
    vectors: bytes = Field(default=b"", sa_type=LargeBinary)
    updated_at: datetime = Field(default_factory=utcnow)


class LessonSentences(SQLModel, table=True):
    """A lesson's sentence vectors (`retrieval.text.body_sentences`, in order), made when the
    lesson is embedded so that explaining a match by the sentence closest in meaning to a brief
    needs no model at query time. int8, each row scaled to its largest component (its
    direction is what counts). Read for the shown lessons only."""

    __tablename__ = "lesson_sentences"

    lesson_id: int = Field(
        sa_column=Column(Integer, ForeignKey("lesson.id", ondelete="CASCADE"), primary_key=True)
    )
    model: str = Field(max_length=200)
    content_hash: str = Field(max_length=64)
    count: int = 0
    # `count` int8 rows of the model's dimension, back to back.
    vectors: bytes = Field(default=b"", sa_type=LargeBinary)
    updated_at: datetime = Field(default_factory=utcnow)


class LessonVersion(SQLModel, table=True):
    """A counter the database bumps on every change to lessons, tags or vectors, so each
    process's in-memory index can tell in one cheap read whether it is stale."""

    __tablename__ = "lesson_version"

    id: int = Field(default=1, primary_key=True)
    n: int = 0
