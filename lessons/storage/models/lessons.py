"""Projects, their reviews, the lessons drawn from them, their tags and lifecycle events, and the
actions they lead to.

Kept in one module because their relationships point both ways (`back_populates`):
Project.reviews <-> Review.project, Review.lessons <-> Lesson.review, Lesson.tag_links <->
LessonTag.lesson and Lesson.actions <-> Action.lesson. Split, each side would have to import the
other (if only for its type), an import cycle.
"""

from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Optional

from sqlalchemy import JSON, Column, ForeignKey, Integer, Text
from sqlmodel import Field, Relationship, SQLModel

from lessons.storage.models.base import fk, new_uid, utcnow
from lessons.storage.models.people import Person

if TYPE_CHECKING:
    from lessons.storage.models.accounts import User


class ReviewKind(StrEnum):
    AAR = "aar"
    RETROSPECT = "retrospect"
    HANDOVER = "handover"


class Polarity(StrEnum):
    SUSTAIN = "sustain"
    IMPROVE = "improve"


class Perspective(StrEnum):
    OPERATIONAL = "operational"
    TECHNICAL_PROGRAMMATIC = "technical_programmatic"
    PARTNERSHIP = "partnership"
    PROGRAMME_MANAGEMENT = "programme_management"


class Sensitivity(StrEnum):
    PUBLIC = "public"
    INTERNAL = "internal"
    RESTRICTED = "restricted"


class LessonStatus(StrEnum):
    DRAFT = "draft"
    IDENTIFIED = "identified"
    VALIDATED = "validated"
    ACTIONED = "actioned"
    LEARNED = "learned"
    REJECTED = "rejected"
    MERGED = "merged"
    RETIRED = "retired"


class ActionStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    DROPPED = "dropped"


class Project(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(default_factory=new_uid, unique=True, max_length=32)
    name: str = Field(unique=True, max_length=200)
    summary: str = Field(default="", sa_type=Text)
    unit: str = Field(default="", max_length=200)
    start_date: date | None = None
    end_date: date | None = None
    tags: list[str] = Field(default_factory=list, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow)

    reviews: list["Review"] = Relationship(back_populates="project")


class Review(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(default_factory=new_uid, unique=True, max_length=32)
    project_id: int = Field(foreign_key="project.id", index=True)
    kind: str = Field(max_length=20)
    question_set_version: int = 1
    held_on: date | None = None
    author_id: int | None = fk("person.id")  # whose words (a person in the directory)
    # Who recorded it: the signed-in user, whoever the words are from (None for loaded data).
    recorded_by_id: int | None = fk("user.id")
    answers: dict[str, str] = Field(default_factory=dict, sa_type=JSON)
    # Who may read the review's own story (answers, author, actions on no lesson): the widest
    # restriction any of its lessons has had. Stored, and only ever widened, so purging or
    # re-labelling a lesson never opens the answers that were written about it.
    sensitivity: str = Field(default=Sensitivity.PUBLIC, max_length=20)
    created_at: datetime = Field(default_factory=utcnow)

    project: Project = Relationship(back_populates="reviews")
    author: Person | None = Relationship()
    recorded_by: Optional["User"] = Relationship()  # "User": lessons.storage.models.accounts
    lessons: list["Lesson"] = Relationship(back_populates="review")


class Lesson(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(default_factory=new_uid, unique=True, max_length=32)
    external_id: str | None = Field(default=None, unique=True, max_length=100)
    title: str = Field(max_length=500)
    observation: str = Field(default="", sa_type=Text)
    insight: str = Field(default="", sa_type=Text)
    recommendation: str = Field(default="", sa_type=Text)
    polarity: str = Field(default=Polarity.IMPROVE, max_length=20)
    perspective: str = Field(default=Perspective.OPERATIONAL, max_length=40)
    sensitivity: str = Field(default=Sensitivity.INTERNAL, max_length=20, index=True)
    status: str = Field(default=LessonStatus.IDENTIFIED, max_length=20, index=True)
    review_due: date | None = None
    # When the lesson was learned (the review's date, or the source's own date on import) and
    # the unit it came from: both are filters in retrieval.
    lesson_date: date | None = Field(default=None, index=True)
    unit: str = Field(default="", max_length=200, index=True)
    project_id: int | None = fk("project.id")
    review_id: int | None = fk("review.id")
    author_id: int | None = fk("person.id")
    source_url: str | None = Field(default=None, max_length=1000)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow, index=True)
    # Deletion is soft (an admin can undo it); purging removes the row for good.
    deleted_at: datetime | None = Field(default=None, index=True)
    # What changed because of the lesson (a process, guidance note, checklist): required to
    # call it learned, with a link to that change.
    learned_evidence: str = Field(default="", sa_type=Text)
    learned_link: str | None = Field(default=None, max_length=1000)
    # A merged lesson points at its canonical lesson; its URL redirects there.
    merged_into_id: int | None = fk("lesson.id")

    project: Project | None = Relationship()
    review: Review | None = Relationship(back_populates="lessons")
    author: Person | None = Relationship()
    tag_links: list["LessonTag"] = Relationship(
        back_populates="lesson", sa_relationship_kwargs={"cascade": "all, delete-orphan"}
    )
    actions: list["Action"] = Relationship(back_populates="lesson")

    @property
    def tags(self) -> list[str]:
        return sorted(link.tag for link in self.tag_links)


class LessonTag(SQLModel, table=True):
    __tablename__ = "lesson_tag"

    lesson_id: int = Field(
        sa_column=Column(Integer, ForeignKey("lesson.id", ondelete="CASCADE"), primary_key=True)
    )
    tag: str = Field(primary_key=True, max_length=100, index=True)

    lesson: Lesson = Relationship(back_populates="tag_links")


class LessonEvent(SQLModel, table=True):
    """One lifecycle step of a lesson: who moved it, when, from where to where, and why."""

    __tablename__ = "lesson_event"

    id: int | None = Field(default=None, primary_key=True)
    lesson_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("lesson.id", ondelete="CASCADE"), index=True, nullable=False
        )
    )
    from_status: str | None = Field(default=None, max_length=20)
    to_status: str = Field(max_length=20)
    actor: str = Field(default="", max_length=200)
    reason: str = Field(default="", sa_type=Text)
    at: datetime = Field(default_factory=utcnow)


class Action(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(default_factory=new_uid, unique=True, max_length=32)
    project_id: int | None = fk("project.id")
    review_id: int | None = fk("review.id")
    lesson_id: int | None = fk("lesson.id")
    what: str = Field(sa_type=Text)
    owner_id: int | None = fk("person.id")  # a person in the directory
    # The owner as imported history wrote them, when that names nobody in the directory: kept
    # to read, never told (nobody can be reached through it). New actions never set it.
    owner_text: str = Field(default="", max_length=200)
    due: date | None = None
    status: str = Field(default=ActionStatus.OPEN, max_length=20, index=True)
    closure_evidence: str = Field(default="", sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow)
    closed_at: datetime | None = None
    # The later review (of the same project) this action was carried forward to, still open.
    carried_to_review_id: int | None = fk("review.id")

    project: Project | None = Relationship()
    lesson: Lesson | None = Relationship(back_populates="actions")
    owner: Person | None = Relationship()

    def is_overdue(self, today: date) -> bool:
        return self.status == ActionStatus.OPEN and self.due is not None and self.due < today
