"""Search on PostgreSQL: the database answers every query, nothing is held in the process.

Dense: the `pgvector` column `lesson_embedding.embedding` (migration 0012), nearest first by its
HNSW index (cosine), with the access rule in the same statement's WHERE, so no row a viewer may
not see ever leaves the database. pgvector's iterative index scan keeps walking the graph until
`k` rows pass the filter (a restricted lesson nearer than every visible one never crowds the
visible ones out of the candidate list); when even that comes back short (a filter that very
few lessons pass), the same statement is run exactly, without the index.

Lexical: BM25 as the SQLite path computes it (`retrieval.bm25`: FTS5's formula, its k1 and b,
its field weights 4/2/1 for title/tags/body), from the postings of the `lesson_search` tsvector
(`lesson_term`: each stem's count in each lesson, its hits weighed by field; migration 0012,
kept in step by triggers), with every statistic the viewer's own: the lesson count, average
length and per-term document frequencies are counted in the statement over the lessons the
viewer may see, so a hidden lesson moves no score. What differs from
FTS5 is the tokenizer: PostgreSQL's English snowball stemmer and stopword list instead of the
Porter stemmer (measured by scripts/eval_retrieval.py --postgres on the judged briefs).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np
from sqlalchemy import Engine
from sqlmodel import Session

from lessons.accounts.access import Viewer, visible_lesson_ids
from lessons.schemas import SearchFilters
from lessons.storage.db import transaction
from retrieval.bm25 import K1, B
from retrieval.embedder import Vectors
from retrieval.lexical import query_words

# The dimension the HNSW index covers (the shipped model's); other models are searched exactly.
INDEXED_DIM = 384
# How far the HNSW search looks (pgvector's hnsw.ef_search): at least the candidates asked for.
# Recall@10 against exact search by scripts/bench_search.py --database-url.
EF_SEARCH = 100
# Rows written at a time when vectors are filled in from their stored bytes.
_FILL_BATCH = 2_000


@dataclass(frozen=True)
class Scope:
    """What a search may look at, as SQL decides it: the lessons the viewer may see under the
    filters (`allowed`), and those whose statistics BM25 counts (`counted`: under the
    statuses searched alone, so a filter does not change a lesson's score)."""

    viewer: Viewer
    filters: SearchFilters | None
    counted_filters: SearchFilters | None


def vector_literal(vector: Vectors) -> str:
    """A vector as pgvector's text form (float32 values written exactly)."""
    return "[" + ",".join(map(repr, np.asarray(vector, np.float32).tolist())) + "]"


def _compiled(
    session: Session, viewer: Viewer, filters: SearchFilters | None
) -> tuple[str, dict[str, Any]]:
    """The access rule (`visible_lesson_ids`: the one rule, whichever backend) as SQL text over
    `lesson`, with its parameters as the driver takes them."""
    condition = visible_lesson_ids(viewer, filters).whereclause
    if condition is None:
        return "true", {}
    compiled = condition.compile(
        dialect=session.get_bind().dialect, compile_kwargs={"render_postcompile": True}
    )
    params = {k: v.value if isinstance(v, Enum) else v for k, v in compiled.params.items()}
    return str(compiled), params


def _prefixed(where: str, params: dict[str, Any], prefix: str) -> tuple[str, dict[str, Any]]:
    """The same condition with its parameters renamed, to sit beside another in a statement."""
    renamed = {}
    for name in sorted(params, key=len, reverse=True):
        where = where.replace(f"%({name})s", f"%({prefix}{name})s")
        renamed[prefix + name] = params[name]
    return where, renamed


class PostgresSearch:
    """The search backend on PostgreSQL (`retrieval.backends.SearchBackend`)."""

    # The dense side reads through the session, so it runs on the session's thread.
    concurrent_dense = False

    def __init__(self, model: str, dim: int, ef_search: int = EF_SEARCH) -> None:
        self.model = model
        self.dim = dim
        self.ef_search = ef_search

    def prepare(self, engine: Engine) -> None:
        """Fill in the pgvector column where only bytes are stored (a bank copied in)."""
        with transaction(engine, write=True) as session:
            fill_missing_vectors(session)

    def refresh(self, session: Session) -> None:
        """Nothing is held in the process: nothing to bring up to date."""

    def scope(self, session: Session, viewer: Viewer, filters: SearchFilters | None) -> Scope:
        counted = SearchFilters(status=filters.status) if filters and filters.status else None
        return Scope(viewer, filters, counted)

    def stored(self, session: Session, ids: Sequence[int], vectors: Vectors) -> None:
        """Write the lessons' new vectors to the pgvector column (their bytes are written)."""
        if not len(ids):
            return
        session.flush()
        session.connection().exec_driver_sql(
            "UPDATE lesson_embedding SET embedding = %(v)s::vector WHERE lesson_id = %(i)s",
            [{"i": int(i), "v": vector_literal(v)} for i, v in zip(ids, vectors, strict=True)],
        )

    # --- Dense ---------------------------------------------------------------------------------

    def dense(
        self,
        session: Session | None,
        query: Vectors,
        scope: Scope,
        k: int,
        *,
        exclude: int | None = None,
    ) -> list[tuple[int, float]]:
        """The `k` lessons nearest `query` (id, cosine) among those the scope allows."""
        if k <= 0:
            return []
        assert session is not None, "PostgreSQL answers dense search through the session"
        indexed = len(query) == INDEXED_DIM
        found = self._nearest(session, query, scope, k, exclude, indexed=indexed)
        if indexed and len(found) < k:
            # The index scan gave up before finding k visible rows (pgvector stops after
            # hnsw.max_scan_tuples): the filter is narrow, so an exact scan of it is cheap.
            found = self._nearest(session, query, scope, k, exclude, indexed=False)
        return found

    def _nearest(
        self,
        session: Session,
        query: Vectors,
        scope: Scope,
        k: int,
        exclude: int | None,
        *,
        indexed: bool,
    ) -> list[tuple[int, float]]:
        where, params = _compiled(session, scope.viewer, scope.filters)
        # The index is on the column cast to its dimension; the bare column is never indexed,
        # so the exact scan names it bare.
        column = f"e.embedding::vector({INDEXED_DIM})" if indexed else "e.embedding"
        vector = f"%(query)s::vector({INDEXED_DIM})" if indexed else "%(query)s::vector"
        conditions = ["e.model = %(model)s", "e.embedding IS NOT NULL", f"({where})"]
        if indexed:
            conditions.append(f"e.dim = {INDEXED_DIM}")
        else:
            conditions.append("vector_dims(e.embedding) = %(dim)s")
        if exclude is not None:
            conditions.append("e.lesson_id <> %(exclude)s")
        connection = session.connection()
        if indexed:
            connection.exec_driver_sql(
                "SELECT set_config('hnsw.ef_search', %(ef)s, true), "
                "set_config('hnsw.iterative_scan', 'relaxed_order', true)",
                {"ef": str(max(self.ef_search, k))},
            )
        # Relaxed order: the index may hand rows back slightly out of order; sorted again here.
        rows = connection.exec_driver_sql(
            "SELECT lesson_id, 1 - distance FROM ("
            f" SELECT e.lesson_id, {column} <=> {vector} AS distance"
            " FROM lesson_embedding e JOIN lesson ON lesson.id = e.lesson_id"
            f" WHERE {' AND '.join(conditions)}"
            f" ORDER BY {column} <=> {vector} LIMIT %(k)s"
            ") nearest ORDER BY distance, lesson_id",
            {
                **params,
                "query": vector_literal(query),
                "model": self.model,
                "dim": len(query),
                "exclude": exclude,
                "k": k,
            },
        ).all()
        return [(int(i), float(cosine)) for i, cosine in rows]

    def vectors(self, session: Session, ids: Sequence[int]) -> tuple[list[int], Vectors]:
        """The lessons' stored whole-lesson vectors, rounded to float16 as the SQLite path's
        index holds them (so both backends score a candidate alike); lessons without one are
        left out. Returns (ids found, in the order asked; their vectors)."""
        if not ids:
            return [], np.zeros((0, self.dim), np.float32)
        rows: dict[int, bytes] = dict(
            session.connection()
            .exec_driver_sql(
                "SELECT lesson_id, vector FROM lesson_embedding "
                "WHERE lesson_id = ANY(%(ids)s) AND model = %(model)s AND embedding IS NOT NULL",
                {"ids": [int(i) for i in ids], "model": self.model},
            )
            .all()
        )
        present = [int(i) for i in ids if i in rows]
        if not present:
            return [], np.zeros((0, self.dim), np.float32)
        matrix = np.frombuffer(b"".join(rows[i] for i in present), np.float32)
        matrix = matrix.reshape(len(present), -1).astype(np.float16).astype(np.float32)
        return present, matrix

    # --- Lexical -------------------------------------------------------------------------------

    def lexical(
        self, session: Session, text: str, scope: Scope, limit: int
    ) -> list[tuple[int, float]]:
        """BM25 of the best `limit` lessons the scope allows holding any of the text's words
        (`lexical.query_words`, as on SQLite; see the module's account), best first, ties to
        the older lesson."""
        connection = session.connection()
        terms = self._terms(session, query_words(text))
        if not terms:
            return []
        allowed, allowed_params = _prefixed(
            *_compiled(session, scope.viewer, scope.filters), "allowed_"
        )
        counted, counted_params = _prefixed(
            *_compiled(session, scope.viewer, scope.counted_filters), "counted_"
        )
        rows = connection.exec_driver_sql(
            f"""
            WITH collection AS (
                SELECT count(*)::float8 AS lessons, coalesce(avg(s.length), 0)::float8 AS average
                FROM lesson_search s JOIN lesson ON lesson.id = s.lesson_id
                WHERE {counted}
            ),
            hits AS MATERIALIZED (
                SELECT p.lesson_id, p.length, p.term AS lexeme, p.f, ({allowed}) AS allowed
                FROM lesson_term p JOIN lesson ON lesson.id = p.lesson_id
                WHERE p.term = ANY(%(terms)s) AND ({counted})
            ),
            frequency AS (
                SELECT h.lexeme, greatest(ln((c.lessons - count(*) + 0.5) / (count(*) + 0.5)),
                                          0) AS idf
                FROM hits h CROSS JOIN collection c GROUP BY h.lexeme, c.lessons
            )
            SELECT h.lesson_id,
                   sum((CASE WHEN q.idf > 0 THEN q.idf ELSE 1e-6 END) * h.f * ({K1} + 1)
                       / (h.f + {K1} * (1 - {B} + {B} * h.length / nullif(c.average, 0))))
                       AS score
            FROM hits h JOIN frequency q USING (lexeme) CROSS JOIN collection c
            WHERE h.allowed
            GROUP BY h.lesson_id
            ORDER BY score DESC, h.lesson_id
            LIMIT %(limit)s
            """,
            {
                **allowed_params,
                **counted_params,
                "terms": terms,
                "limit": limit,
            },
        ).all()
        return [(int(i), float(score)) for i, score in rows if score is not None]

    def _terms(self, session: Session, words: Sequence[str]) -> list[str]:
        """The words as the index stores them (English stems), each once, in the words' order
        (a stopword has none)."""
        if not words:
            return []
        rows = (
            session.connection()
            .exec_driver_sql(
                "SELECT t.lexeme FROM unnest(%(words)s::text[]) WITH ORDINALITY w(word, n)"
                " CROSS JOIN LATERAL unnest(to_tsvector('english', w.word)) t"
                " ORDER BY w.n, t.lexeme",
                {"words": list(words)},
            )
            .all()
        )
        return list(dict.fromkeys(str(lexeme) for (lexeme,) in rows))


def fill_missing_vectors(session: Session) -> int:
    """Copy stored vector bytes into the pgvector column where it is empty (rows written by
    anything but the retriever, e.g. a bank copied in); returns how many were filled."""
    connection = session.connection()
    filled = 0
    while True:
        rows = connection.exec_driver_sql(
            "SELECT lesson_id, vector FROM lesson_embedding WHERE embedding IS NULL "
            "ORDER BY lesson_id LIMIT %(n)s",
            {"n": _FILL_BATCH},
        ).all()
        if not rows:
            return filled
        connection.exec_driver_sql(
            "UPDATE lesson_embedding SET embedding = %(v)s::vector WHERE lesson_id = %(i)s",
            [{"i": i, "v": vector_literal(np.frombuffer(blob, np.float32))} for i, blob in rows],
        )
        filled += len(rows)
