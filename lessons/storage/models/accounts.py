"""Who signs in (users, their sessions and API tokens, failed sign-ins), who belongs to which
project, and the audit trail of what they did."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Integer
from sqlmodel import Field, Relationship, SQLModel

from lessons.storage.models.base import fk, utcnow
from lessons.storage.models.people import Person


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
    person_id: int | None = fk("person.id")
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
    actor_user_id: int | None = fk("user.id")
    action: str = Field(max_length=40)
    entity: str = Field(max_length=40)
    entity_id: int | None = Field(default=None, index=True)
    before: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    after: dict[str, Any] | None = Field(default=None, sa_type=JSON)
