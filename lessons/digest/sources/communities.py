"""The digest's communities section: lessons newly validated in the communities the reader
follows (those carrying one of a community's tags), since their last digest (at most a week
back), only those the reader may see (`communities.content.news_for`)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlmodel import Session, col, select

from lessons.communities.content import news_for
from lessons.digest.kinds import Item, Reader, Source
from lessons.storage.models import DigestDelivery

LOOKBACK = timedelta(days=7)


def _since(session: Session, reader: Reader) -> datetime:
    """Since the reader's last digest sent before today, else yesterday; never over a week."""
    start = datetime.combine(reader.today, time.min, tzinfo=UTC)
    last = session.exec(
        select(DigestDelivery.sent_at)
        .where(
            DigestDelivery.person_id == reader.person.id,
            DigestDelivery.day < reader.today,
            col(DigestDelivery.sent_at).is_not(None),
        )
        .order_by(col(DigestDelivery.day).desc())
    ).first()
    if last is None:
        return start - timedelta(days=1)
    last = last if last.tzinfo else last.replace(tzinfo=UTC)
    return max(last, start - LOOKBACK)


def community_lessons(session: Session, reader: Reader) -> list[Item]:
    since = _since(session, reader)
    found: dict[int, tuple[str, list[str]]] = {}  # a lesson in two communities is told once
    for community, lessons in news_for(session, viewer=reader.viewer, since=since):
        for lesson in lessons:
            assert lesson.id is not None
            found.setdefault(lesson.id, (lesson.title, []))[1].append(community.name)
    return [
        Item(text=title, link=f"/lessons/{lesson_id}", detail="new in " + ", ".join(names))
        for lesson_id, (title, names) in found.items()
    ]


SOURCE = Source(
    "communities",
    "New lessons in your communities",
    "new in your communities",
    "/communities",
    community_lessons,
)
