"""The digest's peer-assist section: open requests asking the reader for a peer assist (no
outcome recorded yet), oldest first. The ask was written for them, so it reaches them whatever
they may see of its BAR (`bar.assists.addressed_to`); the BAR's brief and project are never
shown, and the link goes to the BAR only for a reader who may open it."""

from __future__ import annotations

from sqlmodel import Session

from lessons.bar import assists
from lessons.digest.kinds import Item, Reader, Source
from lessons.storage.models import BeforeActionReview, PeerAssist


def _item(session: Session, assist: PeerAssist, reader: Reader) -> Item:
    asker = assist.requested_by
    bar = session.get(BeforeActionReview, assist.bar_id)
    if bar is not None and reader.viewer.can_use_bar(bar):
        link = f"/bar/{bar.id}#peer-assist-{assist.id}"
    elif asker is not None and asker.person_id is not None:
        link = f"/people/{asker.person_id}"
    else:
        link = "/people"
    detail = f"asked by {asker.username}" if asker else "asked by a team"
    detail += f" on {assist.created_at.date().isoformat()}"
    if assist.ask_by is not None:
        detail += f"; they hope to talk by {assist.ask_by.isoformat()}"
    late = assist.ask_by is not None and assist.ask_by < reader.today
    return Item(text=assist.ask, link=link, detail=detail, urgent=late)


def peer_assists(session: Session, reader: Reader) -> list[Item]:
    if reader.person.id is None:
        return []
    found = assists.addressed_to(session, person_id=reader.person.id)
    return [_item(session, assist, reader) for assist in found]


SOURCE = Source(
    "peer-assists",
    "Peer assists you are asked for",
    "asking for a peer assist",
    "/people/{person}",
    peer_assists,
)
