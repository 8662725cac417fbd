"""Project membership: who may see a project's restricted lessons (changes are audited)."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from lessons.accounts import audit
from lessons.storage.models import (
    ProjectMember,
    User,
)


def add_member(session: Session, *, project_id: int, user: User, actor: str) -> None:
    """Let `user` see the project's restricted lessons (a permission change: audited)."""
    assert user.id is not None
    if session.get(ProjectMember, (project_id, user.id)) is None:
        session.add(ProjectMember(project_id=project_id, user_id=user.id))
        audit.record(
            session,
            actor=actor,
            action="add_member",
            entity_name="project",
            entity_id=project_id,
            after={"user": user.username},
        )


def remove_member(session: Session, *, project_id: int, user: User, actor: str) -> None:
    """Stop `user` seeing the project's restricted lessons (audited; a no-op if not a member)."""
    assert user.id is not None
    row = session.get(ProjectMember, (project_id, user.id))
    if row is not None:
        session.delete(row)
        audit.record(
            session,
            actor=actor,
            action="remove_member",
            entity_name="project",
            entity_id=project_id,
            before={"user": user.username},
        )


def list_members(session: Session, *, project_id: int) -> list[User]:
    """The users who may see the project's restricted lessons, by name."""
    return list(
        session.exec(
            select(User)
            .join(ProjectMember, col(ProjectMember.user_id) == col(User.id))
            .where(ProjectMember.project_id == project_id)
            .order_by(col(User.username))
        )
    )


def member_counts(session: Session) -> dict[int, int]:
    """Members per project id (projects without members are absent)."""
    rows = session.exec(
        select(ProjectMember.project_id, func.count()).group_by(col(ProjectMember.project_id))
    )
    return {project_id: count for project_id, count in rows}
