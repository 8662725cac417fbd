"""Pseudo-relevance feedback on the dense side, in closed form, from lessons the reader may see.

The brief's vector q is moved toward the mean m of the best `prf_depth` lessons of the first
pass by `prf_weight` (a), and every candidate's cosines are taken again against the moved
vector. For any lesson (or passage) vector x:

    cos(q + a*m, x) = (q·x + a*(m·x)) / |q + a*m|,   |q + a*m|² = 1 + 2a(q·m) + a²|m|²,

and q·m is the mean of the feedback lessons' own q·d. So the moved figures need the brief's
cosines (which a BAR keeps with each item) and the lessons' vectors, never the brief's vector:
a stored BAR's figures can be taken again for a reader who may no longer see a lesson that
formed its feedback, with feedback from the best first-pass lessons that reader may see, as a
BAR run for them would give. The one arithmetic serves the run and the reading alike.

Every product is taken in float64 over vectors rounded to float16 as the index holds them, so
the run and a later reading agree to far below the five decimals a score is shown with."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlmodel import Session, col, select

from lessons.storage.models import BarItem, BeforeActionReview, LessonEmbedding, LessonPassages
from retrieval.fusion import Candidate, Fused, RankingParams, combine

Exact = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Pooled:
    """A lesson of the first pass that may form feedback: its first-pass score and q·d."""

    lesson_id: int
    score: float
    cosine: float


@dataclass(frozen=True)
class Centre:
    """The feedback: the lessons it came from, their mean vector m, the weight a and |q + a*m|."""

    lesson_ids: tuple[int, ...]
    vector: Exact
    weight: float
    norm: float


def exact(vectors: Any) -> Exact:
    """Vectors as the index holds them (float16), in float64 for the products."""
    return np.asarray(vectors, dtype=np.float32).astype(np.float16).astype(np.float64)


def chosen(
    pool: Sequence[Pooled], params: RankingParams, may_see: Callable[[int], bool] | None = None
) -> list[Pooled]:
    """The lessons that form the feedback: the best `prf_depth` of the first pass (`pool`, best
    first) that the reader may see; none when feedback is off or the best of them is not even
    related (moving a brief that matches nothing toward its closest lessons would make them
    look like matches)."""
    visible = [p for p in pool if may_see is None or may_see(p.lesson_id)]
    if params.prf_weight <= 0 or not visible or visible[0].score < params.related:
        return []
    return visible[: params.prf_depth]


def centre_of(lessons: Sequence[Pooled], vectors: Exact, weight: float) -> Centre | None:
    """The feedback from `lessons` (their vectors, as `exact`, in the same order)."""
    if not lessons:
        return None
    mean = vectors.mean(axis=0)
    brief_dot = sum(p.cosine for p in lessons) / len(lessons)
    squared = 1.0 + 2.0 * weight * brief_dot + weight * weight * float(mean @ mean)
    return Centre(tuple(p.lesson_id for p in lessons), mean, weight, math.sqrt(max(squared, 1e-12)))


def moved(cosines: Any, vectors: Exact, centre: Centre) -> Exact:
    """Cosines against the moved vector, from the brief's own (`cosines`, one per row of
    `vectors`)."""
    brief = np.asarray(cosines, dtype=np.float64)
    return (brief + centre.weight * (vectors @ centre.vector)) / centre.norm


def moved_query(query: Any, centre: Centre) -> npt.NDArray[np.float32]:
    """The moved vector itself, to find candidates the brief's own vector missed."""
    q = np.asarray(query, dtype=np.float64)
    return ((q + centre.weight * centre.vector) / centre.norm).astype(np.float32)


def with_feedback(
    candidate: Candidate,
    vector: Exact | None,
    passages: Exact | None,
    centre: Centre | None,
) -> Candidate:
    """The candidate with its figures against the moved vector (unchanged without feedback or
    without a stored vector)."""
    if centre is None or vector is None:
        return candidate
    whole = float(moved([candidate.whole], vector[None, :], centre)[0])
    moved_passages = None
    if (
        candidate.passages is not None
        and passages is not None
        and len(passages) == len(candidate.passages)
    ):
        moved_passages = moved(candidate.passages, passages, centre)
    return replace(candidate, moved_whole=whole, moved_passages=moved_passages)


# --- What a BAR keeps, and its figures taken again for a reader --------------------------------

# The constants a BAR's figures were computed with, kept with it (they may change later).
_KEPT = (
    "passage_weight",
    "lexical_weight",
    "lexical_half",
    "lexical_per_term",
    "prf_depth",
    "prf_weight",
    "strong",
    "related",
)


def record(pool: Sequence[Pooled], params: RankingParams, terms: int) -> dict[str, Any]:
    """What a BAR keeps to take its figures again: its first pass's best lessons (id, score,
    q·d), how many terms the brief gave BM25, and the constants."""
    return {
        "pool": [[p.lesson_id, p.score, p.cosine] for p in pool],
        "terms": terms,
        "params": {name: _finite(getattr(params, name)) for name in _KEPT},
    }


def _finite(value: Any) -> Any:
    """A constant as JSON can hold it anywhere (PostgreSQL's JSON has no Infinity): the bands
    of a model not measured are infinite, kept as their sign."""
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def _params(kept: Mapping[str, Any]) -> RankingParams:
    values: dict[str, Any] = {
        k: float(v) if v in ("inf", "-inf") else v for k, v in kept.items() if k in _KEPT
    }
    return RankingParams(**values)


def stored_vectors(session: Session, ids: Sequence[int], model: str) -> dict[int, Exact]:
    """The lessons' stored whole-lesson vectors (as `exact`)."""
    if not ids:
        return {}
    rows = session.exec(
        select(LessonEmbedding.lesson_id, LessonEmbedding.vector).where(
            col(LessonEmbedding.lesson_id).in_(list(ids)), LessonEmbedding.model == model
        )
    ).all()
    return {i: exact(np.frombuffer(blob, dtype=np.float32)) for i, blob in rows}


def stored_passages(
    session: Session, ids: Sequence[int], model: str
) -> dict[int, npt.NDArray[np.float16]]:
    """The lessons' stored passage vectors (float16, a row each; lessons without are absent)."""
    if not ids:
        return {}
    rows = session.exec(
        select(LessonPassages.lesson_id, LessonPassages.count, LessonPassages.vectors).where(
            col(LessonPassages.lesson_id).in_(list(ids)),
            LessonPassages.model == model,
            LessonPassages.count > 0,
        )
    ).all()
    return {i: np.frombuffer(blob, dtype=np.float16).reshape(count, -1) for i, count, blob in rows}


def as_read(
    session: Session,
    bar: BeforeActionReview,
    items: Sequence[BarItem],
    may_see: Callable[[int], bool],
) -> Mapping[int, Fused] | None:
    """The items' figures for a reader (`may_see`: whether they may see a lesson), by lesson id:
    None when the stored figures are theirs (feedback was off, or they may see every lesson
    that formed it); otherwise each item scored again from its stored figures, with feedback
    from the best first-pass lessons the reader may see, as a BAR run for them would."""
    kept = bar.feedback
    if not kept or not kept.get("pool"):
        return None
    params = _params(kept["params"])
    pool = [Pooled(int(i), float(score), float(cosine)) for i, score, cosine in kept["pool"]]
    used = chosen(pool, params)
    theirs = chosen(pool, params, may_see)
    if [p.lesson_id for p in theirs] == [p.lesson_id for p in used]:
        return None
    ids = [item.lesson_id for item in items if item.lesson_id is not None]
    vectors = stored_vectors(session, ids + [p.lesson_id for p in theirs], bar.model)
    centre = None
    if theirs and all(p.lesson_id in vectors for p in theirs):
        stacked = np.stack([vectors[p.lesson_id] for p in theirs])
        centre = centre_of(theirs, stacked, params.prf_weight)
    passages = stored_passages(session, ids, bar.model)
    candidates = [
        with_feedback(
            _candidate(item),
            vectors.get(item.lesson_id or 0),
            exact(passages[item.lesson_id]) if item.lesson_id in passages else None,
            centre,
        )
        for item in items
        if item.dense_score is not None
    ]
    return {f.lesson_id: f for f in combine(candidates, params, int(kept["terms"]))}


def _candidate(item: BarItem) -> Candidate:
    """An item's first-pass figures as its BAR kept them."""
    cosines = item.passage_cosines
    return Candidate(
        lesson_id=item.lesson_id or 0,
        whole=float(item.dense_score or 0.0),
        passages=np.asarray(cosines, dtype=np.float32) if cosines else None,
        lexical=item.lexical_score,
        dense_rank=item.dense_rank,
        lexical_rank=item.lexical_rank,
    )
