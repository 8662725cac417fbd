"""Communities and who belongs: a curator starts one with its tags and facilitators; anyone
signed in joins, leaves, follows or stops following. Communities are for signed-in staff
(their lessons are filtered per reader, see `lessons.communities.content`)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, col, select

from lessons.accounts import audit
from lessons.accounts import users as accounts
from lessons.accounts.access import Viewer
from lessons.errors import Forbidden, NotFound, ValidationFailed
from lessons.schemas.communities import CommunityIn, MembershipIn
from lessons.storage.models import Community, CommunityMember, User

FACILITATOR, MEMBER, FOLLOWER = "facilitator", "member", "follower"


@dataclass(frozen=True)
class Roster:
    """A community's people: members (facilitators first) with their accounts, how many
    follow it, and the viewer's own place."""

    community: Community
    members: list[tuple[CommunityMember, User]]
    followers: int
    mine: CommunityMember | None


def create(session: Session, *, payload: CommunityIn, viewer: Viewer) -> Community:
    """A new community (curators: they keep the bank's structure), with its facilitators."""
    if not viewer.is_curator:
        raise Forbidden("Only curators start communities.")
    taken = session.exec(
        select(Community).where(func.lower(Community.name) == payload.name.lower())
    ).first()
    if taken is not None:
        raise ValidationFailed("That name is taken.", {"name": "a community has this name"})
    names = payload.facilitators or [viewer.name]
    users = []
    for i, name in enumerate(names):
        user = accounts.user_named(session, name)
        if user is None or not user.is_active:
            raise ValidationFailed(
                "Facilitators must be people who can sign in.",
                {f"facilitators.{i}": f"no active account is named {name!r}"},
            )
        users.append(user)
    community = Community(name=payload.name, summary=payload.summary, tags=payload.tags)
    session.add(community)
    session.flush()
    assert community.id is not None
    for user in users:
        assert user.id is not None
        session.merge(CommunityMember(community_id=community.id, user_id=user.id, role=FACILITATOR))
    session.flush()
    after = {**payload.model_dump(), "facilitators": [u.username for u in users]}
    audit.record(
        session, actor=viewer.name, actor_user_id=viewer.user_id, action="create",
        entity=community, after=after,
    )  # fmt: skip
    return community


def get(session: Session, *, community_id: int, viewer: Viewer) -> Community:
    """A community, for a signed-in reader; NotFound otherwise."""
    community = session.get(Community, community_id)
    if community is None or not viewer.signed_in:
        raise NotFound(f"No community with id {community_id}.")
    return community


def list_communities(session: Session, *, viewer: Viewer) -> list[Community]:
    if not viewer.signed_in:
        return []
    return list(session.exec(select(Community).order_by(col(Community.name))))


def roster(session: Session, *, community: Community, viewer: Viewer) -> Roster:
    rows = session.exec(
        select(CommunityMember, User)
        .join(User, col(User.id) == col(CommunityMember.user_id))
        .where(CommunityMember.community_id == community.id)
    ).all()
    members = sorted(
        ((m, u) for m, u in rows if m.role in (FACILITATOR, MEMBER)),
        key=lambda row: (row[0].role != FACILITATOR, row[1].username),
    )
    mine = next((m for m, u in rows if u.id == viewer.user_id), None)
    return Roster(community, members, sum(1 for m, _ in rows if m.follows), mine)


def place(session: Session, *, community: Community, viewer: Viewer) -> CommunityMember | None:
    if viewer.user_id is None:
        return None
    return session.get(CommunityMember, (community.id, viewer.user_id))


def is_member(session: Session, *, community: Community, viewer: Viewer) -> bool:
    found = place(session, community=community, viewer=viewer)
    return found is not None and found.role in (FACILITATOR, MEMBER)


def is_facilitator(session: Session, *, community: Community, viewer: Viewer) -> bool:
    found = place(session, community=community, viewer=viewer)
    return found is not None and found.role == FACILITATOR


def set_membership(
    session: Session, *, community: Community, viewer: Viewer, change: MembershipIn
) -> CommunityMember | None:
    """Join (following too, unless told not to), leave (a follower stays a follower), follow
    or stop. A facilitator stays one while a member. Returns the viewer's place, if any."""
    if viewer.user_id is None or community.id is None:
        raise Forbidden("Sign in to join a community.")
    current = place(session, community=community, viewer=viewer)
    before = {"role": current.role, "follows": current.follows} if current else None
    row = current or CommunityMember(
        community_id=community.id, user_id=viewer.user_id, role=FOLLOWER, follows=False
    )
    if change.member is True and row.role == FOLLOWER:
        row.role, row.follows = MEMBER, True
    elif change.member is False:
        row.role = FOLLOWER
    if change.follows is not None:
        row.follows = change.follows
    after = {"role": row.role, "follows": row.follows}
    if row.role == FOLLOWER and not row.follows:
        if current is not None:
            session.delete(current)
        row_kept = None
    else:
        session.add(row)
        row_kept = row
    session.flush()
    audit.record(
        session, actor=viewer.name, actor_user_id=viewer.user_id, action="membership",
        entity=community, before=before, after=after,
    )  # fmt: skip
    return row_kept
