"""Suggesting tags for a new lesson from its nearest validated neighbours."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlmodel import Session

from lessons.accounts.access import TRUSTED_STATUSES, Viewer
from lessons.storage.models import Lesson


class _Scores(Protocol):
    @property
    def dense(self) -> float | None: ...


class _Neighbour(Protocol):
    @property
    def lesson(self) -> Lesson: ...

    @property
    def components(self) -> _Scores: ...


class SimilarLessons(Protocol):
    """What suggestions need of the retriever (`retrieval.service.Retriever` is one)."""

    def similar(
        self, session: Session, lesson: Lesson, *, viewer: Viewer, limit: int = 5
    ) -> Sequence[_Neighbour]: ...


@dataclass(frozen=True)
class TagSuggestion:
    """A tag the nearest validated neighbours carry; `score` is the share of their similarity
    that carries it (0 to 1), `lesson_ids` the neighbours that do."""

    tag: str
    score: float
    lesson_ids: tuple[int, ...]


def suggest_tags(
    session: Session,
    *,
    lesson: Lesson,
    viewer: Viewer,
    retriever: SimilarLessons,
    limit: int = 5,
    neighbours: int = 10,
    min_score: float = 0.1,
) -> list[TagSuggestion]:
    """Tags for `lesson` from its `neighbours` nearest validated lessons the viewer may see,
    each weighted by the similarity of the neighbours that carry it; tags the lesson already
    has are left out."""
    hits = retriever.similar(session, lesson, viewer=viewer, limit=neighbours)
    weights: dict[str, float] = defaultdict(float)
    carriers: dict[str, list[int]] = defaultdict(list)
    total = 0.0
    own = set(lesson.tags)
    for hit in hits:
        neighbour = hit.lesson
        # The retriever filters by the viewer already; checked again because a suggestion
        # must never come from a lesson the viewer may not see, nor from an unvetted one.
        if not viewer.can_see(neighbour) or neighbour.status not in TRUSTED_STATUSES:
            continue
        similarity = max(hit.components.dense or 0.0, 0.0)
        total += similarity
        for tag in neighbour.tags:
            if tag not in own and neighbour.id is not None:
                weights[tag] += similarity
                carriers[tag].append(neighbour.id)
    if total <= 0:
        return []
    ranked = sorted(weights.items(), key=lambda item: (-item[1], item[0]))
    return [
        TagSuggestion(tag, round(weight / total, 3), tuple(carriers[tag]))
        for tag, weight in ranked[:limit]
        if weight / total >= min_score
    ]
