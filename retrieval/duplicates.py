"""Near-duplicate lessons: the ones that say the same thing closely enough to merge.

Two lessons are offered as possible duplicates when
- the whole lessons are close in meaning: the cosine of their stored vectors (the retriever's
  index: title, sections and tags) is at least `THRESHOLD`, and
- they give the same advice: the cosine of their recommendations is at least
  `ADVICE_THRESHOLD` (when one has no real recommendation, the whole-lesson cosine stands in).
The second test is what the first misses: a lesson's vector is mostly its observation (the
model reads the first 256 word pieces), so two lessons about one event that draw different
lessons from it look alike. On the NASA lessons, a third of the pairs above the first
threshold were such siblings (scripts/check_duplicates.py has the figures).

What may be offered is decided before ranking, by the one access rule (`lessons.accounts.access`): a
lesson the viewer may not see is masked out of the index before the search runs, so it is
never ranked, counted or named. Only lessons that could take part in a merge are candidates
(identified, validated, actioned or learned, not deleted), and only lessons with enough text
to judge (a pointer such as "See Lesson 1046" is not a lesson to merge).

It lives in retrieval, not in the domain: it needs the retriever's index and model (torch),
and the domain imports neither (dependencies point down, tests/test_layers.py).
`DuplicateCache` is what an app keeps between requests.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from sqlmodel import Session, col

from lessons.accounts.access import Viewer, visible_lesson_ids, visible_lessons
from lessons.schemas import SearchFilters
from lessons.storage.models import Lesson, LessonStatus
from retrieval.duplicate_pairs import PairCache
from retrieval.text import chunks, lesson_text

if TYPE_CHECKING:
    from retrieval.service import Retriever

S = LessonStatus
# Lessons that can be offered for a merge (as the duplicate or as the canonical lesson).
ACTIVE_STATUSES = (S.IDENTIFIED, S.VALIDATED, S.ACTIONED, S.LEARNED)

# Chosen on the 1,976 NASA lessons (all-MiniLM-L6-v2), see scripts/check_duplicates.py and
# reports/check_duplicates.json for the counts at each threshold and the hand-judged sample.
THRESHOLD = 0.85
ADVICE_THRESHOLD = 0.65
# The lowest whole-lesson threshold a caller may ask for: the pair cache keeps nothing below.
FLOOR = 0.75
# Fewer words than this in all is too little to call a duplicate; in a recommendation, too
# little to compare advice by (the rest of the lesson is compared instead).
MIN_WORDS = 8
# How many lessons the index hands to the advice check for each one asked for.
_SHORTLIST = 4

Ids = npt.NDArray[np.int64]
Vector = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Candidate:
    """A lesson offered as a possible duplicate: its whole-lesson cosine to the lesson asked
    about (`score`) and the cosine of their advice."""

    lesson: Lesson
    score: float
    advice: float


@dataclass(frozen=True)
class Pair:
    """Two lessons that look like the same lesson; `first` has the lower id."""

    first: Lesson
    second: Lesson
    score: float
    advice: float


def has_advice(lesson: Lesson) -> bool:
    """Whether the lesson has a recommendation to compare (not a pointer such as "See Lessons
    Learned")."""
    return len(lesson.recommendation.split()) >= MIN_WORDS


def substantive(lesson: Lesson) -> bool:
    text = " ".join((lesson.title, lesson.observation, lesson.insight, lesson.recommendation))
    return len(text.split()) >= MIN_WORDS


class AdviceVectors:
    """Each lesson's recommendation as a unit vector, embedded on first need and kept by the
    hash of its text (the least recently used are dropped past `capacity`)."""

    def __init__(self, capacity: int = 50_000) -> None:
        self.capacity = capacity
        self._lock = threading.Lock()
        self._vectors: OrderedDict[str, npt.NDArray[np.float16]] = OrderedDict()

    def of(self, retriever: Retriever, lessons: Iterable[Lesson]) -> dict[int, Vector]:
        """Recommendation vectors of `lessons` that have one, by lesson id (embeds the ones not
        yet seen)."""
        lessons = [le for le in lessons if has_advice(le)]
        keys = {
            le.id: hashlib.sha256(
                f"{retriever.model}\0{le.recommendation.strip()}".encode()
            ).hexdigest()
            for le in lessons
            if le.id is not None
        }
        texts = {key: le.recommendation.strip() for le in lessons if (key := keys.get(le.id or 0))}
        with self._lock:
            missing = [k for k in dict.fromkeys(keys.values()) if k not in self._vectors]
        if missing:
            words = getattr(retriever.embedder, "max_words", 150)
            pieces = [chunks(texts[k], words) for k in missing]
            encoded = retriever.embedder.encode([p for group in pieces for p in group])
            start = 0
            with self._lock:
                for key, group in zip(missing, pieces, strict=True):
                    pooled = encoded[start : start + len(group)].mean(axis=0)
                    start += len(group)
                    norm = float(np.linalg.norm(pooled)) or 1.0
                    self._vectors[key] = (pooled / norm).astype(np.float16)
        with self._lock:
            for key in keys.values():
                self._vectors.move_to_end(key)
            found = {i: self._vectors[k].astype(np.float32) for i, k in keys.items() if i}
            while len(self._vectors) > self.capacity:
                self._vectors.popitem(last=False)
        return found


@dataclass
class DuplicateCache:
    """What an app keeps between requests to find duplicates quickly: every close pair of
    lesson vectors, and the advice vectors embedded so far. One per process."""

    pairs: PairCache = field(default_factory=lambda: PairCache(FLOOR))
    advice: AdviceVectors = field(default_factory=AdviceVectors)


def candidate_filters() -> SearchFilters:
    return SearchFilters(status=list(ACTIVE_STATUSES))


def candidate_ids(session: Session, *, viewer: Viewer) -> Ids:
    """Ids of the lessons that may be offered to `viewer` as duplicates (access first)."""
    query = visible_lesson_ids(viewer, candidate_filters()).where(col(Lesson.deleted_at).is_(None))
    return np.fromiter((i for i in session.exec(query) if i is not None), np.int64)


def is_candidate(lesson: Lesson) -> bool:
    return lesson.status in ACTIVE_STATUSES and lesson.deleted_at is None and substantive(lesson)


def _load_visible(session: Session, ids: Iterable[int], viewer: Viewer) -> dict[int, Lesson]:
    """The lessons among `ids` the viewer may see, checked once more in SQL (the index and
    the caches are only caches: a lesson changed since must not slip through)."""
    wanted = list(ids)
    if not wanted:
        return {}
    query = (
        visible_lessons(viewer, candidate_filters())
        .where(col(Lesson.id).in_(wanted))
        .where(col(Lesson.deleted_at).is_(None))
    )
    return {lesson.id: lesson for lesson in session.exec(query) if lesson.id is not None}


def advice_scores(
    retriever: Retriever, cache: DuplicateCache, pairs: Sequence[tuple[Lesson, Lesson, float]]
) -> list[float]:
    """How alike each pair's advice is: the cosine of their recommendations, or the pair's
    whole-lesson cosine when either has none to compare."""
    vectors = cache.advice.of(retriever, {le.id: le for p in pairs for le in p[:2]}.values())
    return [
        round(float(vectors[a.id or 0] @ vectors[b.id or 0]), 4)
        if a.id in vectors and b.id in vectors
        else round(score, 4)
        for a, b, score in pairs
    ]


def duplicates_of(
    session: Session,
    *,
    retriever: Retriever,
    cache: DuplicateCache,
    lesson: Lesson,
    viewer: Viewer,
    threshold: float = THRESHOLD,
    limit: int = 5,
) -> list[Candidate]:
    """Lessons the viewer may see that look like the same lesson as `lesson`, closest first;
    never the lesson itself, nor merged, rejected, retired, deleted or near-empty ones."""
    if lesson.id is None or not is_candidate(lesson) or limit <= 0:
        return []
    allowed = candidate_ids(session, viewer=viewer)
    with retriever.locked_index(session) as index:
        vector = index.vector(lesson.id)
    if vector is None:  # not embedded yet (the model runs after the request commits)
        vector = retriever.embed_query(lesson_text(lesson))
    with retriever.locked_index(session) as index:
        mask = index.mask_of(allowed)
        mask[index.ids == lesson.id] = False
        hits = index.search(vector, limit * _SHORTLIST, mask=mask)
    close = {i: s for i, s in hits if s >= threshold}
    found = _load_visible(session, close, viewer)
    shortlist = [found[i] for i in close if i in found and substantive(found[i])]
    advice = advice_scores(
        retriever, cache, [(lesson, other, close[other.id or 0]) for other in shortlist]
    )
    kept = [
        Candidate(other, round(close[other.id or 0], 4), a)
        for other, a in zip(shortlist, advice, strict=True)
        if a >= ADVICE_THRESHOLD
    ]
    return kept[:limit]


def duplicates_for_many(
    session: Session,
    *,
    retriever: Retriever,
    cache: DuplicateCache,
    lessons: Sequence[Lesson],
    viewer: Viewer,
    limit: int = 3,
) -> dict[int, list[Candidate]]:
    """`duplicates_of` for each lesson (a review's new lessons, a queue page), keyed by id;
    lessons with no candidate are left out."""
    found: dict[int, list[Candidate]] = {}
    for lesson in lessons:
        candidates = duplicates_of(
            session, retriever=retriever, cache=cache, lesson=lesson, viewer=viewer, limit=limit
        )
        if candidates and lesson.id is not None:
            found[lesson.id] = candidates
    return found


def candidate_pairs(
    session: Session,
    *,
    retriever: Retriever,
    cache: DuplicateCache,
    viewer: Viewer,
    threshold: float = THRESHOLD,
    limit: int = 50,
    offset: int = 0,
    awaiting_validation: bool = False,
) -> tuple[list[Pair], int]:
    """The best pairs of possible duplicates among the lessons the viewer may see, and how
    many pairs there are in all. `awaiting_validation` keeps pairs with at least one newly
    identified lesson (what the curation queue is about)."""
    threshold = max(threshold, cache.pairs.floor)
    cache.pairs.update(session, retriever)
    a, b, s = cache.pairs.pairs(candidate_ids(session, viewer=viewer), threshold)
    found = _load_visible(session, set(a.tolist()) | set(b.tolist()), viewer)
    close = [
        (found[x], found[y], float(score))
        for x, y, score in zip(a.tolist(), b.tolist(), s.tolist(), strict=True)
        if x in found and y in found and substantive(found[x]) and substantive(found[y])
    ]
    if awaiting_validation:
        close = [p for p in close if S.IDENTIFIED in (p[0].status, p[1].status)]
    advice = advice_scores(retriever, cache, close)
    pairs = [
        Pair(x, y, round(score, 4), a_score)
        for (x, y, score), a_score in zip(close, advice, strict=True)
        if a_score >= ADVICE_THRESHOLD
    ]
    return pairs[offset : offset + limit], len(pairs)
