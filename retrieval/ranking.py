"""The steps of a search's ranking (`Retriever.rank` runs them): the dense and lexical rankers
run side by side, then the shipped ranking's candidates scored on one scale with a feedback
second pass, or reciprocal rank fusion alone, then near-copies folded together."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt
from sqlmodel import Session

from retrieval import feedback
from retrieval.embedder import Vectors
from retrieval.fusion import (
    Candidate,
    Fused,
    FusionParams,
    combine,
    diversify,
    reciprocal_rank_fusion,
)
from retrieval.hits import Hit

if TYPE_CHECKING:
    from retrieval.backends import SearchBackend
    from retrieval.service import Retriever

Mode = Literal["hybrid", "dense", "lexical"]
# Dense sides of searches, run beside their lexical sides (see `both_sides`).
_DENSE_WORKERS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="dense")


@dataclass(frozen=True)
class Ranking:
    """A search's hits, and what a BAR keeps of its feedback (`feedback.record`; None when the
    shipped ranking did not run)."""

    hits: list[Hit]
    feedback: dict[str, Any] | None = None


def both_sides(
    retriever: Retriever,
    backend: SearchBackend,
    session: Session,
    text: str,
    mode: Mode,
    scope: Any,
    pools: tuple[int, int],
) -> tuple[Vectors | None, list[tuple[int, float]], list[tuple[int, float]]]:
    """The brief's vector and the dense side's hits (None and none when `mode` leaves it
    out), and the lexical side's hits, among the lessons `scope` allows. `pools`: how many
    candidates the lexical and the dense side hand on."""
    pool, dense_pool = pools
    lexical_hits: list[tuple[int, float]] = []
    # The dense side (the model reading the brief, then the index when the backend's needs no
    # session) runs in a worker while this thread runs the lexical side's SQL: both spend most
    # of their time outside the GIL, so on two cores the slower side sets the time, not the sum.
    dense_side = (
        _DENSE_WORKERS.submit(dense, retriever, backend, text, scope, dense_pool)
        if mode in ("hybrid", "dense")
        else None
    )
    dense_hits: list[tuple[int, float]] | None = []
    try:
        if mode in ("hybrid", "lexical"):
            lexical_hits = backend.lexical(session, text, scope, pool)
    finally:
        query, dense_hits = dense_side.result() if dense_side is not None else (None, [])
    if query is not None and dense_hits is None:  # the backend reads through the session
        dense_hits = backend.dense(session, query, scope, dense_pool)
    return query, dense_hits or [], lexical_hits


def dense(
    retriever: Retriever, backend: SearchBackend, text: str, scope: Any, pool: int
) -> tuple[Vectors, list[tuple[int, float]] | None]:
    """The brief's vector and, when the backend can search off the session's thread, the
    `pool` nearest lessons among those `scope` allows (None otherwise)."""
    query = retriever.embed_query(text)
    if not backend.concurrent_dense:
        return query, None
    return query, backend.dense(None, query, scope, pool)


def ranked(
    retriever: Retriever,
    backend: SearchBackend,
    session: Session,
    query: Vectors,
    dense_hits: list[tuple[int, float]],
    lexical_hits: list[tuple[int, float]],
    terms: int,
    more: Callable[[Vectors], list[tuple[int, float]]],
    limit: int,
) -> tuple[list[Fused], dict[str, Any]]:
    """Both rankers' candidates scored on one scale (`fusion.combine`), with their passages
    read from the database (never held for the whole bank); then, with feedback, the
    vector moved toward the best of them (`retrieval.feedback`) finds more candidates
    (`more`), and every candidate is scored against it. Also returns what a BAR keeps to
    score its lessons again for a reader who may see fewer of them."""
    params = retriever.ranking
    read: dict[int, Any] = {}  # passages read by the first pass, kept for the second
    found = candidates(retriever, backend, session, query, dense_hits, lexical_hits, read=read)
    first = combine(found, params, terms)
    by_id = {c.lesson_id: c for c in found}
    pool = [
        feedback.Pooled(f.lesson_id, f.fused, by_id[f.lesson_id].whole)
        for f in first[: max(limit, params.prf_depth)]
    ]
    kept = feedback.record(pool, params, terms)
    best = feedback.chosen(pool, params)
    if not best:
        return first, kept
    _, vectors = backend.vectors(session, [p.lesson_id for p in best])
    centre = feedback.centre_of(best, feedback.exact(vectors), params.prf_weight)
    assert centre is not None
    seen = {i for i, _ in dense_hits}
    widened = dense_hits + [
        (i, s) for i, s in more(feedback.moved_query(query, centre)) if i not in seen
    ]
    found = candidates(retriever, backend, session, query, widened, lexical_hits, centre, read)
    return combine(found, params, terms), kept


def candidates(
    retriever: Retriever,
    backend: SearchBackend,
    session: Session,
    query: Vectors,
    dense_hits: list[tuple[int, float]],
    lexical_hits: list[tuple[int, float]],
    centre: feedback.Centre | None = None,
    read: dict[int, Any] | None = None,
) -> list[Candidate]:
    """Every lesson either ranker found, with its cosines against `query` (whole lesson
    and each passage), against the moved vector too when there is feedback (`centre`),
    and its BM25 score. Lessons without a vector yet are left out. `read`: passages
    already read in this transaction, by lesson id (None for a lesson without), filled
    with what is read here."""
    dense_rank = {i: rank for rank, (i, _) in enumerate(dense_hits, start=1)}
    lexical = {i: (rank, score) for rank, (i, score) in enumerate(lexical_hits, start=1)}
    ids = list(dict.fromkeys([i for i, _ in dense_hits] + [i for i, _ in lexical_hits]))
    ids, vectors = backend.vectors(session, ids)
    whole = vectors @ query if ids else np.zeros(0, np.float32)
    stored = _stored_passages(session, ids, read, retriever.model)
    q = np.asarray(query, dtype=np.float32)
    return [
        feedback.with_feedback(
            Candidate(
                lesson_id=i,
                whole=float(cosine),
                passages=(stored[i].astype(np.float32) @ q).astype(np.float32)
                if i in stored
                else None,
                lexical=lexical[i][1] if i in lexical else None,
                dense_rank=dense_rank.get(i),
                lexical_rank=lexical[i][0] if i in lexical else None,
            ),
            feedback.exact(vector) if centre is not None else None,
            feedback.exact(stored[i]) if centre is not None and i in stored else None,
            centre,
        )
        for i, cosine, vector in zip(ids, whole, vectors, strict=True)
    ]


def _stored_passages(
    session: Session, ids: list[int], read: dict[int, Any] | None, model: str
) -> dict[int, npt.NDArray[np.float16]]:
    """`feedback.stored_passages`, reading only lessons not in `read` (then kept there)."""
    if read is None:
        return feedback.stored_passages(session, ids, model)
    missing = [i for i in ids if i not in read]
    found = feedback.stored_passages(session, missing, model)
    read.update({i: found.get(i) for i in missing})
    return {i: read[i] for i in ids if read[i] is not None}


def reciprocal(
    fusion: FusionParams | None,
    dense_hits: list[tuple[int, float]],
    lexical_hits: list[tuple[int, float]],
) -> list[Fused]:
    """One ranker alone, or the reciprocal rank fusion the shipped ranking is measured against."""
    rrf = fusion or FusionParams()
    return reciprocal_rank_fusion(
        dense_hits,
        lexical_hits,
        k=rrf.rrf_k,
        dense_weight=rrf.dense_weight,
        lexical_weight=rrf.lexical_weight,
    )


def diversified(
    retriever: Retriever, backend: SearchBackend, session: Session, fused: list[Fused], limit: int
) -> list[Fused]:
    """`fused` with near-copies folded together (lessons without a vector yet left out)."""
    present, matrix = backend.vectors(session, [f.lesson_id for f in fused])
    row = {lesson_id: at for at, lesson_id in enumerate(present)}
    return diversify(
        [f for f in fused if f.lesson_id in row],
        lambda ids: matrix[[row[i] for i in ids]],
        limit,
        threshold=retriever.ranking.near_copy,
    )
