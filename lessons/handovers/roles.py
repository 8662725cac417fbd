"""Roles and their handover history: a role is listed, and its handovers shown, only as far
as the viewer may read those handovers (a role's name can tell of restricted work)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from lessons.accounts.access import Viewer, readable_review_ids
from lessons.errors import NotFound
from lessons.handovers.service import awaiting
from lessons.storage.models import Handover, JobRole, Review, User


@dataclass(frozen=True)
class RoleHandover:
    review: Review
    handover: Handover
    successor: str | None


@dataclass(frozen=True)
class RoleHistory:
    role: JobRole
    handovers: list[RoleHandover]  # newest first


def _readable_handovers(session: Session, viewer: Viewer) -> list[tuple[Review, Handover]]:
    rows = session.exec(
        select(Review, Handover)
        .join(Handover, col(Handover.review_id) == col(Review.id))
        .where(col(Review.id).in_(readable_review_ids(viewer)))
        .order_by(col(Review.held_on).desc().nulls_last(), col(Review.id).desc())
    )
    return list(rows.all())


def _histories(session: Session, viewer: Viewer, role_id: int | None = None) -> list[RoleHistory]:
    query = select(JobRole).order_by(col(JobRole.name))
    if role_id is not None:
        query = query.where(JobRole.id == role_id)
    roles = list(session.exec(query))
    held = {i for i in session.exec(select(Handover.job_role_id)).all() if i is not None}
    readable = _readable_handovers(session, viewer)
    successors = _usernames(session, {h.successor_user_id for _, h in readable})
    histories = []
    for role in roles:
        mine = [
            RoleHandover(review, handover, successors.get(handover.successor_user_id or 0))
            for review, handover in readable
            if handover.job_role_id == role.id
        ]
        # A role whose every handover is hidden from the viewer is not named to them.
        if mine or role.id not in held:
            histories.append(RoleHistory(role, mine))
    return histories


def _usernames(session: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = [i for i in ids if i is not None]
    users = session.exec(select(User).where(col(User.id).in_(wanted)))
    return {u.id: u.username for u in users if u.id is not None}


def list_roles(session: Session, *, viewer: Viewer) -> list[RoleHistory]:
    """Every role the viewer may know of, by name, each with its handovers newest first."""
    return _histories(session, viewer)


def get_role(session: Session, *, role_id: int, viewer: Viewer) -> RoleHistory:
    """One role and its handover history, or NotFound (also when all of it is hidden)."""
    found = _histories(session, viewer, role_id)
    if not found:
        raise NotFound(f"No role with id {role_id}.")
    return found[0]


def awaiting_for(session: Session, *, viewer: Viewer) -> list[Review]:
    """Handovers naming the viewer their successor, not yet acknowledged, oldest first."""
    if viewer.user_id is None:
        return []
    return awaiting(session, user_id=viewer.user_id)
