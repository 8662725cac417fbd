"""Combining the rankers, and keeping near-copies off one page.

The shipped ranking (`combine`) puts both rankers on one absolute scale and adds them: the
dense figure is a cosine (the whole lesson's and its best passage's, mixed), the lexical figure
is BM25 squashed into 0..1 by `bm25 / (bm25 + half)`. Neither depends on which other lessons
were candidates, so a score means the same from one brief to the next (the match bands rest
on that), and a ranker that finds nothing adds nothing instead of dragging the other down by
rank. With pseudo-relevance feedback (`retrieval.feedback`) the dense figure is taken against
the brief moved toward its best first-pass lessons: those the viewer may see, and for a stored
BAR those its reader may see, so a score still tells nothing of lessons hidden from them.
Reciprocal rank fusion stays for the baselines it is measured against."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from retrieval.embedder import SHIPPED_MODEL, Vectors

# Reciprocal rank fusion as shipped before the judged evaluation (tuned on category-overlap
# labels): kept to show BARs recorded then as they were ranked, and for `Retriever(fusion=...)`.
RRF_K = 10
DENSE_WEIGHT = 1.0
LEXICAL_WEIGHT = 2.0
# Two lessons this close in meaning are near-copies: show the better-ranked one.
NEAR_COPY = 0.95


@dataclass(frozen=True)
class FusionParams:
    """How rankings are combined; the evaluation script varies these to tune them."""

    rrf_k: int = RRF_K
    dense_weight: float = DENSE_WEIGHT
    lexical_weight: float = LEXICAL_WEIGHT
    near_copy: float = NEAR_COPY


Match = Literal["strong", "related", "weak"]


@dataclass(frozen=True)
class RankingParams:
    """The shipped ranking's constants (see the module's account), chosen for the shipped model
    on the tuning half of the judged briefs (evaluation/briefs.jsonl, "half": "tune"; 23 NASA
    and 6 demo briefs): a grid of 500 settings, nDCG@10 over the NASA tune briefs. Without
    feedback the chosen setting gave 0.561 (plain 0.632, mismatched 0.474, other sectors
    0.403, demo 0.639); without passages 0.556; BM25 weight 0.2: 0.537, 0.45: 0.547; BM25
    squashed per bank instead of per brief term 0.531; BM25 alone 0.451, dense alone 0.462.
    Feedback that only widens the candidates (all scored against the brief) added nothing
    (0.561); scoring every candidate against the moved vector, as shipped, gives 0.588.

    Through `scripts/eval_retrieval.py` (the API, baselines in the same run), nDCG@10:
    tune half 0.588 (plain 0.648, mismatched 0.521, other sectors 0.445, demo 0.663) against
    textbook RRF 0.558 (0.632, 0.482, 0.363, 0.684): +0.030 [-0.006, +0.069]; held-out half,
    run once after the constants were fixed, 0.540 (plain 0.608, mismatched 0.414, other
    sectors 0.379, demo 0.652) against RRF 0.508 (0.590, 0.376, 0.264, 0.625), BM25 0.470,
    dense 0.435: +0.032 [+0.003, +0.059] over RRF, the best baseline, and above every baseline
    on every subset. Without feedback the held-out half gave 0.511 (a tie with RRF)."""

    # The dense figure: (1 - passage_weight) * whole-lesson cosine + passage_weight * the best
    # passage's (a lesson without passages counts its whole cosine twice).
    passage_weight: float = 0.3
    # The fused score: (1 - lexical_weight) * dense + lexical_weight * bm25 / (bm25 + half).
    lexical_weight: float = 0.3
    lexical_half: float = 5.0
    # Whether `half` is per query term: BM25 sums over the brief's terms, so a long brief
    # matching two common words scores as much as a short one matching all of its own.
    lexical_per_term: bool = True
    # Candidates the dense side hands over (BM25 hands over 5 per result, at least 50).
    dense_candidates: int = 100
    # Pseudo-relevance feedback on the dense side (`retrieval.feedback`): the brief's vector
    # moved toward the mean of the best `prf_depth` first-pass lessons by `prf_weight` (0: off)
    # finds more candidates, and every candidate is scored against it; only when the first
    # pass found a lesson at least `related`. A stored BAR keeps what it needs to score its
    # lessons again with feedback from the lessons a later reader may see.
    prf_depth: int = 3
    prf_weight: float = 0.7
    # Bands of the fused score: at least `strong` is a strong match, at least `related` related.
    # Feedback raises the scores of lessons like the best ones, so the bands are measured with
    # it: on the tune half's top tens (NASA and demo), of the results scoring >= 0.45, 83% were
    # judged relevant and 56% worth reading before starting (grade 2; >= 0.50: 90% and 75%;
    # 0.40..0.45: 52% and 29%); in 0.30..0.35, 46% relevant; in 0.25..0.30, 6%: below 0.30 a
    # result is a guess.
    strong: float = 0.45
    related: float = 0.30
    # Similar lessons: whole-lesson cosine at least this. Of pairs of lessons that graders
    # found worth reading for the same tune brief, against pairs of one such and one not,
    # pairs at cosine >= 0.55 are alike more often than not (53%; 40% at 0.50, 23% at 0.40).
    similar: float = 0.55
    near_copy: float = NEAR_COPY

    @classmethod
    def for_model(cls, model: str) -> RankingParams:
        """The constants measured for `model`. Cosines mean different things under different
        models, so for any model not measured nothing is called strong or cut off as weak,
        and similar lessons have no floor."""
        if model == SHIPPED_MODEL:
            return cls()
        return cls(strong=math.inf, related=-math.inf, similar=-math.inf)

    def band(self, score: float) -> Match:
        if score >= self.strong:
            return "strong"
        return "related" if score >= self.related else "weak"


@dataclass
class Fused:
    lesson_id: int
    fused: float = 0.0
    dense: float | None = None
    dense_rank: int | None = None
    lexical: float | None = None
    lexical_rank: int | None = None
    hidden_copies: list[int] = field(default_factory=list)
    # The shipped ranking's figures: the best passage's cosine (None without passages) and
    # which passage it was, and the band of `fused`.
    passage: float | None = None
    passage_index: int | None = None
    match: Match | None = None
    # The brief's cosine to each passage (None without passages): with `dense`, what a stored
    # BAR needs to score the lesson again with other feedback (`retrieval.feedback`).
    passage_cosines: list[float] | None = None


@dataclass(frozen=True)
class Candidate:
    """One lesson's figures for a brief: cosines against the brief's vector (whole lesson,
    each passage) and its BM25 score (None when BM25 did not return it); with feedback, the
    same cosines against the moved vector (`retrieval.feedback`), which then set its score."""

    lesson_id: int
    whole: float
    passages: Vectors | None  # cosine of each passage, None for a lesson without passages
    lexical: float | None
    dense_rank: int | None = None
    lexical_rank: int | None = None
    moved_whole: float | None = None
    moved_passages: npt.NDArray[np.floating[Any]] | None = None


def dense_figure(candidate: Candidate, params: RankingParams) -> float:
    """The dense side of the score: against the moved vector when there is feedback."""
    whole = candidate.whole if candidate.moved_whole is None else candidate.moved_whole
    passages = candidate.passages
    if candidate.moved_whole is not None:
        passages = candidate.moved_passages
    if passages is None or not len(passages):
        return whole
    best = float(passages.max())
    return (1 - params.passage_weight) * whole + params.passage_weight * best


def lexical_figure(bm25: float | None, params: RankingParams, terms: int = 1) -> float:
    if not bm25 or bm25 <= 0:
        return 0.0
    half = params.lexical_half * (max(terms, 1) if params.lexical_per_term else 1)
    return bm25 / (bm25 + half)


def combine(candidates: Sequence[Candidate], params: RankingParams, terms: int = 1) -> list[Fused]:
    """Each candidate scored on the absolute scale (see the module's account), best first; ties
    go to the earlier candidate. `terms`: how many terms the brief gave BM25."""
    scored = []
    for candidate in candidates:
        dense = dense_figure(candidate, params)
        fused = (1 - params.lexical_weight) * dense + params.lexical_weight * lexical_figure(
            candidate.lexical, params, terms
        )
        has_passages = candidate.passages is not None and len(candidate.passages) > 0
        scored.append(
            Fused(
                lesson_id=candidate.lesson_id,
                fused=fused,
                dense=candidate.whole,
                dense_rank=candidate.dense_rank,
                lexical=candidate.lexical,
                lexical_rank=candidate.lexical_rank,
                passage=float(candidate.passages.max()) if has_passages else None,  # type: ignore[union-attr]
                passage_index=int(candidate.passages.argmax()) if has_passages else None,  # type: ignore[union-attr]
                match=params.band(fused),
                passage_cosines=[float(c) for c in candidate.passages]  # type: ignore[union-attr]
                if has_passages
                else None,
            )
        )
    return sorted(scored, key=lambda f: -f.fused)


def reciprocal_rank_fusion(
    dense: Sequence[tuple[int, float]],
    lexical: Sequence[tuple[int, float]],
    *,
    k: int = RRF_K,
    dense_weight: float = DENSE_WEIGHT,
    lexical_weight: float = LEXICAL_WEIGHT,
) -> list[Fused]:
    """Each list's items scored weight / (k + rank), summed; best first (ties: dense order)."""
    fused: dict[int, Fused] = {}
    for rank, (lesson_id, score) in enumerate(dense, start=1):
        item = fused.setdefault(lesson_id, Fused(lesson_id))
        item.dense, item.dense_rank = score, rank
        item.fused += dense_weight / (k + rank)
    for rank, (lesson_id, score) in enumerate(lexical, start=1):
        item = fused.setdefault(lesson_id, Fused(lesson_id))
        item.lexical, item.lexical_rank = score, rank
        item.fused += lexical_weight / (k + rank)
    return sorted(fused.values(), key=lambda f: -f.fused)


def diversify(
    ranked: list[Fused],
    vectors: Callable[[list[int]], Vectors],
    limit: int,
    *,
    threshold: float = NEAR_COPY,
) -> list[Fused]:
    """The first `limit` items, skipping any that is a near-copy of one already kept (the
    kept one lists the copies it stands for, so nothing is silently lost)."""
    if not ranked:
        return []
    pool = ranked[: limit * 3]
    matrix = vectors([item.lesson_id for item in pool])
    kept: list[int] = []
    for i, item in enumerate(pool):
        if kept:
            similar = matrix[kept] @ matrix[i]
            best = int(np.argmax(similar))
            if similar[best] >= threshold:
                pool[kept[best]].hidden_copies.append(item.lesson_id)
                continue
        kept.append(i)
        if len(kept) == limit:
            break
    return [pool[i] for i in kept]
