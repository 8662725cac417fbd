"""What a community holds for one reader: its recent trusted lessons (those carrying one of
its tags), the lessons members shared with it, and its recurring themes, each only as far as
the reader may see (access decided in SQL before anything is cut or counted); sharing a
lesson; and the news a follower gets (the digest's community section)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session, col, select

from lessons.accounts import audit
from lessons.accounts.access import Viewer, visible_lesson_ids
from lessons.catalogue import feeds
from lessons.catalogue import service as catalogue
from lessons.communities.service import is_member
from lessons.curation.themes import Theme
from lessons.errors import Forbidden
from lessons.schemas import SearchFilters
from lessons.storage.models import (
    Community,
    CommunityMember,
    CommunityShare,
    Lesson,
    LessonStatus,
    User,
)

RECENT = 10


@dataclass(frozen=True)
class Shared:
    share: CommunityShare
    lesson: Lesson
    shared_by: str | None


def recent_lessons(
    session: Session, *, community: Community, viewer: Viewer, limit: int = RECENT
) -> list[Lesson]:
    """The newest validated lessons with one of the community's tags the viewer may see."""
    return [
        entry.lesson
        for entry in feeds.newly_validated(
            session, viewer=viewer, any_tags=list(community.tags), limit=limit
        )
    ]


def _every_status() -> SearchFilters:
    return SearchFilters(status=list(LessonStatus))


def shared_lessons(session: Session, *, community: Community, viewer: Viewer) -> list[Shared]:
    """Lessons shared with the community that the viewer may see, newest share first."""
    rows = session.exec(
        select(CommunityShare, Lesson)
        .join(Lesson, col(Lesson.id) == col(CommunityShare.lesson_id))
        .where(
            CommunityShare.community_id == community.id,
            col(Lesson.id).in_(visible_lesson_ids(viewer, _every_status())),
        )
        .order_by(col(CommunityShare.shared_at).desc(), col(CommunityShare.id).desc())
    ).all()
    names = _usernames(session, [share.shared_by_id for share, _ in rows])
    return [Shared(share, lesson, names.get(share.shared_by_id or 0)) for share, lesson in rows]


def _usernames(session: Session, ids: Sequence[int | None]) -> dict[int, str]:
    wanted = sorted({i for i in ids if i is not None})
    users = session.exec(select(User).where(col(User.id).in_(wanted)))
    return {u.id: u.username for u in users if u.id is not None}


def share(
    session: Session, *, community: Community, viewer: Viewer, lesson_id: int, note: str
) -> CommunityShare:
    """A member shares a lesson they may see with the community (once; again updates the
    note). A lesson they may not see answers as a missing one."""
    lesson = catalogue.get_lesson(session, lesson_id=lesson_id, viewer=viewer)
    if not is_member(session, community=community, viewer=viewer):
        raise Forbidden("Join the community to share lessons with it.")
    found = session.exec(
        select(CommunityShare).where(
            CommunityShare.community_id == community.id, CommunityShare.lesson_id == lesson.id
        )
    ).first()
    assert community.id is not None and lesson.id is not None
    row = found or CommunityShare(community_id=community.id, lesson_id=lesson.id)
    row.note, row.shared_by_id = note, viewer.user_id
    session.add(row)
    session.flush()
    audit.record(
        session, actor=viewer.name, actor_user_id=viewer.user_id, action="share",
        entity=row, after={"community_id": community.id, "lesson_id": lesson.id, "note": note},
    )  # fmt: skip
    return row


def community_themes(themes: Sequence[Theme], lessons: Sequence[Lesson]) -> list[Theme]:
    """Of the recurring themes a reader is shown (already limited to what they may see),
    those meeting one of the community's lessons."""
    ids = {lesson.id for lesson in lessons}
    return [theme for theme in themes if any(le.id in ids for le in theme.lessons)]


def community_lesson_pool(
    session: Session, *, community: Community, viewer: Viewer
) -> list[Lesson]:
    """Every trusted lesson of the community the viewer may see (for its themes)."""
    if not community.tags:
        return []
    return list(
        session.exec(
            select(Lesson).where(
                col(Lesson.id).in_(visible_lesson_ids(viewer)),
                col(Lesson.id).in_(feeds.tagged_any(list(community.tags))),
            )
        )
    )


def news_for(
    session: Session, *, viewer: Viewer, since: datetime, limit: int = 20
) -> list[tuple[Community, list[Lesson]]]:
    """For each community the viewer follows, lessons newly validated since `since` (with
    its tags) that the viewer may see: the digest's "new lessons in your communities"."""
    if viewer.user_id is None:
        return []
    followed = session.exec(
        select(Community)
        .join(CommunityMember, col(CommunityMember.community_id) == col(Community.id))
        .where(CommunityMember.user_id == viewer.user_id, col(CommunityMember.follows))
        .order_by(col(Community.name))
    ).all()
    news = []
    for community in followed:
        entries = feeds.newly_validated(
            session, viewer=viewer, any_tags=list(community.tags), limit=limit
        )
        fresh = [e.lesson for e in entries if _aware(e.validated_at) >= _aware(since)]
        if fresh:
            news.append((community, fresh))
    return news


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
