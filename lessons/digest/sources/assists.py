"""The digest's peer-assist section: open requests asking the reader for a peer assist (no
outcome recorded yet), those past the date the team wanted first. The ask was written for
them, so it reaches them whatever they may see of its BAR (`bar.assists.addressed_to`); the
BAR's brief, results and project do not. Each links to the reader's own profile, where they
record what came of it."""

from __future__ import annotations

from sqlmodel import Session

from lessons.bar import assists
from lessons.digest.kinds import Item, Reader, Source


def asked_of_me(session: Session, reader: Reader) -> list[Item]:
    if reader.person.id is None:
        return []
    items = []
    for assist in assists.addressed_to(session, person_id=reader.person.id):
        by = assist.requested_by.username if assist.requested_by else "a BAR team"
        when = f" · by {assist.ask_by.isoformat()}" if assist.ask_by else ""
        items.append(
            Item(
                text=assist.ask,
                link=f"/people/{reader.person.id}#peer-assist-{assist.id}",
                detail=f"asked by {by}{when}",
                urgent=assist.ask_by is not None and assist.ask_by < reader.today,
            )
        )
    return sorted(items, key=lambda item: not item.urgent)


SOURCE = Source(
    "peer_assists", "Peer assists asked of you", "asked", "/people/{person}#asked", asked_of_me
)
