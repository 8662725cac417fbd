"""The retriever: the one facade callers use. Embeds and stores lessons' vectors
(`retrieval.vector_sync`) and ranks lessons for a text (the ranking's steps:
`retrieval.ranking`; hits and their explanations: `retrieval.hits`) through the search backend
of the session's database (`retrieval.backends`): on SQLite it keeps the in-memory vector index
in step with the stored vectors and decides which index rows a viewer may see; on PostgreSQL
the database answers every query and the process holds nothing that could go stale."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from lessons.accounts.access import Viewer, visible_lesson_ids
from lessons.schemas import SearchFilters
from lessons.storage import changes
from lessons.storage.db import transaction
from lessons.storage.models import Lesson, LessonEmbedding
from retrieval import hits, lexical, ranking, vector_sync
from retrieval.backends import SearchBackend
from retrieval.backends.memory import InMemorySearch
from retrieval.backends.postgres import PostgresSearch
from retrieval.embedder import Embedder, Vectors
from retrieval.explain import has_words
from retrieval.fusion import Fused, FusionParams, RankingParams
from retrieval.hits import Hit
from retrieval.index import Ids, Mask, VectorIndex
from retrieval.ranking import Mode, Ranking
from retrieval.text import chunks, lesson_text
from retrieval.vector_sync import Pending, int8_rows, load_lessons

__all__ = ["Hit", "Mode", "Ranking", "Retriever", "int8_rows"]

# Transactions may commit out of order; re-reading this far back on a refresh catches rows
# stamped before the newest one we saw but committed after it.
_REFRESH_OVERLAP = timedelta(minutes=10)
# How many candidates each ranker hands to fusion, per result asked for (and at least).
_CANDIDATES_PER_RESULT = 5
_MIN_CANDIDATES = 50
_MASK_CACHE = 64
# Stored vectors read and indexed at a time when the index loads.
_LOAD_BATCH = 20_000


@dataclass(frozen=True)
class Access:
    """Lessons a viewer may see under some filters: their ids, sorted, and the index rows."""

    ids: Ids
    mask: Mask


def _statuses_only(filters: SearchFilters | None) -> SearchFilters | None:
    return SearchFilters(status=filters.status) if filters and filters.status else None


class Retriever:
    """One per process. Vectors live in the database; the index is a cache of them."""

    def __init__(
        self,
        embedder: Embedder,
        fusion: FusionParams | None = None,
        ranking: RankingParams | None = None,
    ) -> None:
        """`fusion` asks for reciprocal rank fusion instead of the shipped ranking (the
        baselines measured against it); `ranking` sets the shipped ranking's constants."""
        self.embedder = embedder
        self.fusion = fusion
        self.ranking = ranking or RankingParams.for_model(embedder.name)
        self.index = VectorIndex(embedder.dim)
        # Requests run in threads: one refreshes the index while another searches it. The lock
        # covers the index, its masks and its version; embedding and SQL stay outside it.
        self._lock = threading.RLock()
        self._version: tuple[object, ...] | None = None
        # Whether the transaction that last refreshed (under the lock) sees the index's version.
        self._current = False
        self._newest: datetime | None = None
        # Which index rows each (viewer, filters) may see, valid until lessons change.
        self._masks: OrderedDict[str, Access] = OrderedDict()
        self._memory = InMemorySearch(self)
        self._postgres = PostgresSearch(embedder.name, embedder.dim)

    @property
    def model(self) -> str:
        return self.embedder.name

    def backend(self, session: Session) -> SearchBackend:
        """The search backend for the session's database (`retrieval.backends`)."""
        return self._backend_of(session.get_bind().dialect.name)

    def _backend_of(self, dialect: str) -> SearchBackend:
        if dialect == "postgresql":
            return self._postgres
        return self._memory

    def embed_query(self, text: str) -> Vectors:
        """A brief of any length as one unit vector: chunks the model reads whole, pooled."""
        pieces = chunks(text, getattr(self.embedder, "max_words", 150))
        vectors = self.embedder.encode(pieces)
        pooled = vectors.mean(axis=0)
        norm = float(np.linalg.norm(pooled))
        unit: Vectors = (pooled / norm if norm else pooled).astype(np.float32)
        return unit

    def embed_lessons(self, session: Session, lessons: Iterable[Lesson]) -> int:
        """Store vectors for lessons whose text or model changed; returns how many were embedded."""
        todo = self._pending(session, list(lessons))
        if todo:
            self._store(session, todo, self._encode(todo))
        return len(todo)

    def _encode(self, todo: list[Pending]) -> Vectors:
        """Every stale text of `todo` in one call (the model sorts a call's texts by length,
        so long passages and short lessons batch with their like)."""
        return self.embedder.encode([text for pending in todo for text in pending.texts()])

    def sync(self, session: Session, *, progress: bool = False, batch_size: int = 64) -> int:
        """Embed every lesson without a current vector (start-up), in the caller's transaction."""
        ids = self._stale_ids(session)
        done = 0
        with vector_sync.progress(len(ids), progress) as bar:
            for start in range(0, len(ids), batch_size):
                batch = load_lessons(session, ids[start : start + batch_size])
                done += self.embed_lessons(session, batch)
                bar.update(len(batch))
        return done

    def sync_committed(
        self,
        engine: Engine,
        *,
        ids: list[int] | None = None,
        progress: bool = False,
        batch_size: int = 64,
    ) -> int:
        """As `sync` (or for just `ids`, e.g. lessons a request has committed), but each batch
        commits, and the model runs outside any transaction: an import, a reindex or a busy
        server never holds the write lock while the model works, and a run that is stopped
        keeps what it stored (the next start-up or `reindex` does the rest)."""
        if ids is None:
            with transaction(engine) as session:
                ids = self._stale_ids(session)
            self._backend_of(engine.dialect.name).prepare(engine)
        done = 0
        with vector_sync.progress(len(ids), progress) as bar:
            for start in range(0, len(ids), batch_size):
                with transaction(engine) as session:
                    batch = load_lessons(session, ids[start : start + batch_size])
                    todo = self._pending(session, batch)
                if todo:
                    vectors = self._encode(todo)
                    with transaction(engine, write=True) as session:
                        self._store(session, todo, vectors)
                done += len(todo)
                bar.update(min(batch_size, len(ids) - start))
        return done

    def _stale_ids(self, session: Session) -> list[int]:
        return vector_sync.stale_ids(session, self.model)

    def _pending(self, session: Session, lessons: list[Lesson]) -> list[Pending]:
        """The lessons whose stored vector is missing, from another model or for old text."""
        return vector_sync.pending(session, lessons, self.model, self._max_words)

    @property
    def _max_words(self) -> int:
        return int(getattr(self.embedder, "max_words", 150))

    def _store(self, session: Session, todo: list[Pending], vectors: Vectors) -> None:
        vector_sync.store(session, todo, vectors, self.model, self.embedder.dim)
        ids, whole = vector_sync.whole_vectors(todo, vectors)
        self.backend(session).stored(session, ids, whole)

    def refresh(self, session: Session) -> None:
        """Bring what the search backend holds in the process up to date: on SQLite the
        in-memory index with stored vectors (one cheap read when nothing changed), and the
        full-text postings the lexical ranker holds in memory; on PostgreSQL nothing."""
        self.backend(session).refresh(session)

    @contextmanager
    def locked_index(self, session: Session) -> Iterator[VectorIndex]:
        """The index brought up to date and held still for the block: other threads'
        refreshes (which grow or replace it) wait until the block ends."""
        with self._lock:
            self._refresh(session)
            yield self.index

    def _refresh(self, session: Session) -> None:
        version = changes.version(session)
        # Masks may be cached only for the snapshot the index was loaded at.
        self._current = version == self._version
        if self._current or changes.older(version, self._version):
            # This transaction began before the index's last refresh: the index is newer than
            # it, and loading the older snapshot would throw that away (a whole reload when
            # rows were added since). Its masks come from its own snapshot's allowed ids.
            return
        of_model = LessonEmbedding.model == self.model
        every = select(
            LessonEmbedding.lesson_id, LessonEmbedding.vector, LessonEmbedding.updated_at
        ).where(of_model)
        stored = int(session.exec(select(func.count()).where(of_model)).one())
        # The index is about to change: until it has, no version matches it and no mask is
        # kept (a refresh that fails halfway must not leave old masks over new rows).
        self._version, self._current = None, False
        self._masks.clear()
        if self._newest is not None:  # load what changed since the last look
            self._load(
                session,
                every.where(col(LessonEmbedding.updated_at) >= self._newest - _REFRESH_OVERLAP),
            )
        if len(self.index) != stored:  # first load, or vectors were deleted: start afresh
            self.index = VectorIndex(self.embedder.dim)
            self.index.reserve(stored)
            self._newest = None
            self._load(session, every)
        self._version = version
        self._current = True

    def _load(self, session: Session, query: Any) -> None:
        batch = _LOAD_BATCH
        ids: list[int] = []
        blobs: list[bytes] = []
        # yield_per streams the rows: without it the ORM buffers the whole result first, every
        # vector as a bytes object (about 2.4 GB more at a million lessons).
        for lesson_id, blob, updated_at in session.exec(query.execution_options(yield_per=batch)):
            ids.append(lesson_id)
            blobs.append(blob)
            if self._newest is None or updated_at > self._newest:
                self._newest = updated_at
            if len(ids) == batch:
                self._upsert_blobs(ids, blobs)
                ids, blobs = [], []
        if ids:
            self._upsert_blobs(ids, blobs)

    def _upsert_blobs(self, ids: list[int], blobs: list[bytes]) -> None:
        vectors = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(ids), -1)
        self.index.upsert(ids, vectors)

    def _mask(self, session: Session, viewer: Viewer, filters: SearchFilters | None) -> Mask:
        """Index rows the viewer may see under the filters (see `_access`)."""
        return self._access(session, viewer, filters).mask

    def _access(self, session: Session, viewer: Viewer, filters: SearchFilters | None) -> Access:
        """The lessons the viewer may see under the filters, decided by SQL (the one rule for
        access), cached until lessons change."""
        key = json.dumps(
            [
                sorted(viewer.sensitivities),
                sorted(viewer.project_ids),
                viewer.is_curator,
                viewer.trusted_only,
                filters.model_dump(mode="json") if filters else None,
            ],
        )
        found = self._masks.get(key) if self._current else None
        if found is None:
            allowed = np.fromiter(session.exec(visible_lesson_ids(viewer, filters)), np.int64)
            allowed.sort()
            found = Access(allowed, self.index.mask_of(allowed))
            if self._current:
                self._masks[key] = found
                if len(self._masks) > _MASK_CACHE:
                    self._masks.popitem(last=False)
        else:
            self._masks.move_to_end(key)
        return found

    def search(
        self,
        session: Session,
        text: str,
        *,
        viewer: Viewer,
        filters: SearchFilters | None = None,
        limit: int = 10,
        mode: Mode = "hybrid",
        diverse: bool = True,
    ) -> list[Hit]:
        """Lessons the viewer may see, filtered first, then ranked against `text` (see
        `retrieval.fusion`), near-copies folded together. A text without a word to search on
        (punctuation, emoji, filler words) finds nothing."""
        return self.rank(
            session, text, viewer=viewer, filters=filters, limit=limit, mode=mode, diverse=diverse
        ).hits

    def rank(
        self,
        session: Session,
        text: str,
        *,
        viewer: Viewer,
        filters: SearchFilters | None = None,
        limit: int = 10,
        mode: Mode = "hybrid",
        diverse: bool = True,
    ) -> Ranking:
        """As `search`, with what a BAR keeps of the run's feedback (`Ranking.feedback`)."""
        if not has_words(text):
            return Ranking([])
        pool = max(_MIN_CANDIDATES, limit * _CANDIDATES_PER_RESULT)
        # The shipped ranking reads passages for more of the dense side's candidates: a lesson
        # whose whole vector ranks low may hold the passage that answers the brief.
        hybrid = mode == "hybrid" and self.fusion is None
        dense_pool = max(pool, self.ranking.dense_candidates) if hybrid else pool
        backend = self.backend(session)
        scope = backend.scope(session, viewer, filters)
        query, dense_hits, lexical_hits = ranking.both_sides(
            self, backend, session, text, mode, scope, (pool, dense_pool)
        )
        kept = None
        if hybrid and query is not None:
            terms = len(lexical.query_words(text))
            fused, kept = ranking.ranked(
                self,
                backend,
                session,
                query,
                dense_hits,
                lexical_hits,
                terms,
                lambda moved: backend.dense(session, moved, scope, dense_pool),
                limit,
            )
        else:  # one ranker alone, or the reciprocal rank fusion it is measured against
            fused = ranking.reciprocal(self.fusion, dense_hits, lexical_hits)
        if diverse and fused:
            fused = ranking.diversified(self, backend, session, fused, limit)
        return Ranking(self._hits(session, fused[:limit], text, viewer, filters, query), kept)

    def _snapshot(
        self, session: Session, viewer: Viewer, filters: SearchFilters | None
    ) -> tuple[Access, tuple[object, ...] | None, Ids]:
        """The index brought up to date; what the viewer may see in it under `filters`, the
        index's version then, and the ids BM25's statistics count."""
        with self._lock:
            self._refresh(session)
            access, version = self._access(session, viewer, filters), self._version
            # BM25's statistics count the viewer's lessons in the statuses searched, whatever
            # narrows the search further: a filter does not change a lesson's score.
            counted = self._access(session, viewer, _statuses_only(filters)).ids
        return access, version, counted

    def similar(
        self, session: Session, lesson: Lesson, *, viewer: Viewer, limit: int = 5
    ) -> list[Hit]:
        """Lessons closest in meaning to `lesson`, excluding itself, down to the similarity
        floor (`RankingParams.similar`): a list of lessons that are not alike says nothing.
        Dense only: the lesson's own words would make any lexical match trivially strong."""
        backend = self.backend(session)
        scope = backend.scope(session, viewer, None)
        found, vectors = backend.vectors(session, [lesson.id] if lesson.id is not None else [])
        vector = vectors[0] if found else self.embed_query(lesson_text(lesson))
        dense = backend.dense(session, vector, scope, limit, exclude=lesson.id)
        fused = [
            Fused(i, fused=score, dense=score, dense_rank=rank, match=self.ranking.band(score))
            for rank, (i, score) in enumerate(dense, start=1)
            if score >= self.ranking.similar
        ]
        return self._hits(session, fused, lesson_text(lesson), viewer, None, vector)

    def _hits(
        self,
        session: Session,
        ranked: list[Fused],
        text: str,
        viewer: Viewer,
        filters: SearchFilters | None,
        query: Vectors | None = None,
    ) -> list[Hit]:
        """`retrieval.hits.hits`: the ranked lessons the viewer may see, each explained."""
        return hits.hits(session, ranked, text, viewer, filters, self.model, query)
