"""The digest's sections, one per source, in this order. A source is a key, a title and a
function that lists what one reader should hear about today; it is given the reader's own
access (`Reader.viewer`) and must list only what that viewer may see. To add a source, write
it in `lessons/digest/sources/` and add it to SOURCES.
"""

from __future__ import annotations

from sqlmodel import Session

from lessons.digest.kinds import Reader, Section, Source
from lessons.digest.sources import actions, assists, communities, handovers

SOURCES: tuple[Source, ...] = (
    actions.SOURCE,
    handovers.SOURCE,
    communities.SOURCE,
    assists.SOURCE,
)


def sections(
    session: Session, reader: Reader, sources: tuple[Source, ...] = SOURCES
) -> list[Section]:
    """Every source's section for this reader, in the order of SOURCES (empty ones too)."""
    return [
        Section(
            source.key,
            source.title,
            source.tally,
            source.more.format(person=reader.person.id),
            tuple(source.items(session, reader)),
        )
        for source in sources
    ]
