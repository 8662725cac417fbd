"""People for a topic: the lessons the viewer may see are ranked for the topic by the same
ranker as lesson search (a `TopicRanker`: `retrieval.service.Retriever` is one), then each
person gathers the matched lessons they wrote, handed over or own an action on, and the tags
of their profile the topic names; `lessons.people.ranking` orders them (and says why that
way). The domain does not import retrieval."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Protocol

from sqlmodel import Session, col, select

from lessons.accounts.access import Viewer, action_clause, visible_person_ids
from lessons.people import ranking
from lessons.people.ranking import Link, RankedPerson
from lessons.storage.models import Action, Lesson, Person, ReviewKind

# How many lessons are ranked for a topic before people are gathered: enough that the people
# behind the tenth-best person's lessons are in, few enough to stay a single search.
POOL = 40
_WORD = re.compile(r"\w+")


class Figures(Protocol):
    @property
    def match(self) -> str | None: ...


class TopicHit(Protocol):
    @property
    def lesson(self) -> Lesson: ...
    @property
    def score(self) -> float: ...
    @property
    def components(self) -> Figures: ...


class TopicRanker(Protocol):
    def search(
        self, session: Session, text: str, *, viewer: Viewer, limit: int
    ) -> Sequence[TopicHit]: ...


def people_for_topic(
    session: Session, ranker: TopicRanker, topic: str, *, viewer: Viewer, limit: int
) -> list[RankedPerson]:
    """The people best placed to talk about `topic`, best first, as `viewer` may see them."""
    hits = ranker.search(session, topic, viewer=viewer, limit=POOL)
    links = list(_lesson_links(session, hits, viewer))
    visible = set(session.exec(visible_person_ids(viewer)).all())
    links += _declared_links(session, topic, visible)
    # Belt and braces: every link above comes from a record the viewer may see, so its person
    # is visible; a person the rule hides is dropped all the same.
    return [p for p in ranking.rank_people(links) if p.person.id in visible][:limit]


def _lesson_links(session: Session, hits: Sequence[TopicHit], viewer: Viewer) -> Iterator[Link]:
    by_id = {hit.lesson.id: hit for hit in hits if hit.lesson.id is not None}
    for hit in hits:
        lesson = hit.lesson
        if lesson.author is not None:
            review = lesson.review
            handed = review is not None and review.kind == ReviewKind.HANDOVER
            yield _link(lesson.author, "handed over" if handed else "wrote", hit)
    # Owners of the matched lessons' actions (open or closed) the viewer may see.
    actions = session.exec(
        select(Action).where(col(Action.lesson_id).in_(list(by_id)), action_clause(viewer))
    ).all()
    for action in actions:
        if action.owner is not None and action.lesson_id in by_id:
            yield _link(action.owner, "owns an action on", by_id[action.lesson_id])


def _link(person: Person, relation: str, hit: TopicHit) -> Link:
    return Link(
        person=person,
        relation=relation,
        title=hit.lesson.title,
        score=round(hit.score, 5),
        match=hit.components.match or "related",
        lesson_id=hit.lesson.id,
    )


def words(text: str) -> set[str]:
    """Lower-case words, a trailing plural `s` dropped (fridges ~ fridge)."""
    return {w.removesuffix("s") if len(w) > 3 else w for w in _WORD.findall(text.casefold())}


def _declared_links(session: Session, topic: str, visible: set[int | None]) -> list[Link]:
    """A profile's expertise tag every word of which the topic holds."""
    asked = words(topic)
    people = session.exec(select(Person).where(col(Person.id).in_(visible))).all()
    return [
        Link(person, ranking.DECLARED, tag, ranking.DECLARED_SCORE, "related")
        for person in people
        for tag in person.expertise
        if words(tag) and words(tag) <= asked
    ]
