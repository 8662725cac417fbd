"""SQLModel tables: the records of DESIGN.md.

Enumerated values are stored as plain strings (validated on input by `lessons.schemas`) so a
new state or kind is a code change, not a database enum migration.
"""

import uuid
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, Optional

from sqlalchemy import JSON, Column, ForeignKey, Integer, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, Relationship, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_uid() -> str:
    """A stable identity that survives export and import between databases."""
    return uuid.uuid4().hex


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


class Decision(StrEnum):
    APPLY = "apply"
    NOT_RELEVANT = "not_relevant"
    NOTE = "note"


def _fk(target: str, *, nullable: bool = True, ondelete: str = "SET NULL") -> Any:
    return Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey(target, ondelete=ondelete), index=True, nullable=nullable
        ),
    )


class Person(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(default_factory=new_uid, unique=True, max_length=32)
    name: str = Field(unique=True, max_length=200)
    unit: str = Field(default="", max_length=200)
    role: str = Field(default="", max_length=200)
    expertise: list[str] = Field(default_factory=list, sa_type=JSON)
    bio: str = Field(default="", sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow)


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
    author_id: int | None = _fk("person.id")  # whose words (a person in the directory)
    # Who recorded it: the signed-in user, whoever the words are from (None for loaded data).
    recorded_by_id: int | None = _fk("user.id")
    answers: dict[str, str] = Field(default_factory=dict, sa_type=JSON)
    # Who may read the review's own story (answers, author, actions on no lesson): the widest
    # restriction any of its lessons has had. Stored, and only ever widened, so purging or
    # re-labelling a lesson never opens the answers that were written about it.
    sensitivity: str = Field(default=Sensitivity.PUBLIC, max_length=20)
    created_at: datetime = Field(default_factory=utcnow)

    project: Project = Relationship(back_populates="reviews")
    author: Person | None = Relationship()
    recorded_by: Optional["User"] = Relationship()  # "User": defined below
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
    project_id: int | None = _fk("project.id")
    review_id: int | None = _fk("review.id")
    author_id: int | None = _fk("person.id")
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
    merged_into_id: int | None = _fk("lesson.id")

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
    project_id: int | None = _fk("project.id")
    review_id: int | None = _fk("review.id")
    lesson_id: int | None = _fk("lesson.id")
    what: str = Field(sa_type=Text)
    owner_id: int | None = _fk("person.id")
    due: date | None = None
    status: str = Field(default=ActionStatus.OPEN, max_length=20, index=True)
    closure_evidence: str = Field(default="", sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow)
    closed_at: datetime | None = None
    # The later review (of the same project) this action was carried forward to, still open.
    carried_to_review_id: int | None = _fk("review.id")

    project: Project | None = Relationship()
    lesson: Lesson | None = Relationship(back_populates="actions")
    owner: Person | None = Relationship()

    def is_overdue(self, today: date) -> bool:
        return self.status == ActionStatus.OPEN and self.due is not None and self.due < today


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


class BeforeActionReview(SQLModel, table=True):
    __tablename__ = "bar"

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(default_factory=new_uid, unique=True, max_length=32)
    brief: str = Field(sa_type=Text)
    project_id: int | None = _fk("project.id")
    run_by: str = Field(default="", max_length=200)
    # The signed-in user who ran it (`run_by` is a name typed on the form): with the project's
    # members and curators, the only ones who may read it or record its decisions.
    run_by_user_id: int | None = _fk("user.id")
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
    lesson_id: int | None = _fk("lesson.id")
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


class LessonVersion(SQLModel, table=True):
    """A counter the database bumps on every change to lessons, tags or vectors, so each
    process's in-memory index can tell in one cheap read whether it is stale."""

    __tablename__ = "lesson_version"

    id: int = Field(default=1, primary_key=True)
    n: int = 0


class Role(StrEnum):
    CONTRIBUTOR = "contributor"
    CURATOR = "curator"
    ADMIN = "admin"


class User(SQLModel, table=True):
    """Someone who signs in. A user is also a Person (the name on what they write)."""

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, max_length=100)
    password_hash: str = Field(default="", max_length=200)
    role: str = Field(default=Role.CONTRIBUTOR, max_length=20)
    person_id: int | None = _fk("person.id")
    is_active: bool = True
    created_at: datetime = Field(default_factory=utcnow)
    password_changed_at: datetime | None = None

    person: Person | None = Relationship()


class ApiToken(SQLModel, table=True):
    """A bearer token for the API; only its hash is stored, and it can be revoked."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("user.id", ondelete="CASCADE"), index=True, nullable=False
        )
    )
    name: str = Field(max_length=100)
    token_hash: str = Field(unique=True, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class UserSession(SQLModel, table=True):
    """A signed-in browser session. The cookie carries a random id; only its hash is kept, and
    deleting the row ends the session wherever the cookie was copied to."""

    __tablename__ = "user_session"

    id_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("user.id", ondelete="CASCADE"), index=True, nullable=False
        )
    )
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime = Field(index=True)


class ProjectMember(SQLModel, table=True):
    """Who belongs to a project, and so may see its restricted lessons."""

    __tablename__ = "project_member"

    project_id: int = Field(
        sa_column=Column(Integer, ForeignKey("project.id", ondelete="CASCADE"), primary_key=True)
    )
    user_id: int = Field(
        sa_column=Column(Integer, ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    )


class LoginFailure(SQLModel, table=True):
    """A failed sign-in, kept briefly to slow down password guessing (any process sees it)."""

    __tablename__ = "login_failure"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=100, index=True)
    client: str = Field(default="", max_length=100)
    at: datetime = Field(default_factory=utcnow, index=True)


class AuditEvent(SQLModel, table=True):
    """Who changed what, when, with the record as it was before and after."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    actor: str = Field(default="", max_length=200)
    actor_user_id: int | None = _fk("user.id")
    action: str = Field(max_length=40)
    entity: str = Field(max_length=40)
    entity_id: int | None = Field(default=None, index=True)
    before: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    after: dict[str, Any] | None = Field(default=None, sa_type=JSON)


class LessonMerge(SQLModel, table=True):
    """One merge of a duplicate into a canonical lesson, kept so it can be undone: the
    duplicate's status before, and the canonical lesson's text and tags before."""

    __tablename__ = "lesson_merge"

    id: int | None = Field(default=None, primary_key=True)
    canonical_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("lesson.id", ondelete="CASCADE"), index=True, nullable=False
        )
    )
    merged_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("lesson.id", ondelete="CASCADE"), index=True, nullable=False
        )
    )
    merged_status_before: str = Field(max_length=20)
    canonical_before: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    reason: str = Field(default="", sa_type=Text)
    actor: str = Field(default="", max_length=200)
    at: datetime = Field(default_factory=utcnow)
    undone_at: datetime | None = None
    undone_by: str = Field(default="", max_length=200)


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
    parent_id: int | None = _fk("tag_term.id")
    description: str = Field(default="", sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow)
