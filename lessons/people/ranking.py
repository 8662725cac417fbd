"""Who to talk to about a topic: people ranked by the lessons that link them to it.

One rule for the BAR's "people to talk to" and for people search (`lessons.expertise.search`):
the lessons are ranked first (by the retriever, over what the viewer may see), then each person
gathers the matched lessons they are linked to, and their relevance is the scores of those
lessons with a discount of a third: best + 1/3 second + 1/9 third ...

Why a discount rather than a count or a plain sum: counting how many of the top results a
person wrote, or summing every score, lets a prolific author of loosely related lessons crowd
out the one person who wrote the lesson that answers the brief. With the discount the best
match leads and volume can add at most half of it (the series sums to under 1.5), so depth
breaks near-ties but never outweighs a clearly better match: a strong match (0.45 and up under
the shipped model) still leads someone with any number of lessons at the middle of the related
band. Weak matches link nobody."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lessons.storage.models import Person

DISCOUNT = 1 / 3
# How much a link counts of its lesson's score: writing the lesson (or the review it came
# from) is first-hand knowledge; owning an action on it is knowing the remedy, not the event.
WEIGHTS = {
    "wrote": 1.0,
    "handed over": 1.0,
    "owns an action on": 0.5,
    "asked about": 0.5,
}
# A tag a person lists as their expertise and the topic names counts as a lesson at the
# shipped model's `related` floor (retrieval.fusion.RankingParams.related): a claim, not
# evidence, so it never outranks a lesson that matched strongly.
DECLARED_SCORE = 0.30
DECLARED = "lists expertise in"


@dataclass(frozen=True)
class Link:
    """One reason a person is linked to a topic: a matched lesson they wrote, handed over or
    own an action on, or an expertise tag of theirs the topic names (`lesson_id` None)."""

    person: Person
    relation: str  # a key of WEIGHTS, or DECLARED
    title: str  # the lesson's title, or the tag
    score: float  # the lesson's score, as the reader is shown it
    match: str  # strong, related (weak links are dropped)
    lesson_id: int | None = None

    @property
    def weighted(self) -> float:
        return self.score * WEIGHTS.get(self.relation, 1.0)

    @property
    def why(self) -> str:
        if self.lesson_id is None:
            return f"lists “{self.title}” as expertise"
        return f"{self.relation} “{self.title}” ({self.match} match)"


@dataclass(frozen=True)
class RankedPerson:
    person: Person
    relevance: float
    links: tuple[Link, ...]  # best first, one per lesson (its strongest link) or tag

    @property
    def why(self) -> tuple[str, ...]:
        return tuple(link.why for link in self.links)

    @property
    def lesson_ids(self) -> tuple[int, ...]:
        return tuple(link.lesson_id for link in self.links if link.lesson_id is not None)


def rank_people(links: Iterable[Link]) -> list[RankedPerson]:
    """People by relevance (see the module's docstring), best first, then by name."""
    by_person: dict[int, dict[object, Link]] = {}
    people: dict[int, Person] = {}
    for link in links:
        if link.match == "weak" or link.person.id is None:
            continue
        people[link.person.id] = link.person
        # Each lesson counts once per person, by its strongest link (wrote beats owns).
        key: object = link.lesson_id if link.lesson_id is not None else ("tag", link.title)
        held = by_person.setdefault(link.person.id, {})
        if key not in held or link.weighted > held[key].weighted:
            held[key] = link
    ranked = []
    for person_id, held in by_person.items():
        best = sorted(held.values(), key=lambda link: (-link.weighted, link.title))
        relevance = sum(link.weighted * DISCOUNT**i for i, link in enumerate(best))
        ranked.append(RankedPerson(people[person_id], round(relevance, 4), tuple(best)))
    ranked.sort(key=lambda entry: (-entry.relevance, entry.person.name))
    return ranked
