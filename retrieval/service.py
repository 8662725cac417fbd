"""The retriever: keeps lesson vectors in step with the database and ranks lessons for a text."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import numpy as np
from sqlalchemy import Engine, func
from sqlalchemy.orm import selectinload
from sqlmodel import Session, col, select
from tqdm import tqdm

from lessons import changes
from lessons.access import Viewer, visible_lesson_ids, visible_lessons
from lessons.db import transaction
from lessons.models import Lesson, LessonEmbedding, utcnow
from lessons.schemas import SearchFilters
from retrieval import lexical
from retrieval.embedder import Embedder, Vectors
from retrieval.explain import Explanation, explain
from retrieval.fusion import Fused, FusionParams, diversify, reciprocal_rank_fusion
from retrieval.index import Ids, Mask, VectorIndex
from retrieval.text import chunks, content_hash, lesson_text

# Transactions may commit out of order; re-reading this far back on a refresh catches rows
# stamped before the newest one we saw but committed after it.
_REFRESH_OVERLAP = timedelta(minutes=10)
# How many candidates each ranker hands to fusion, per result asked for (and at least).
_CANDIDATES_PER_RESULT = 5
_MIN_CANDIDATES = 50
_MASK_CACHE = 64
# Stored vectors read and indexed at a time when the index loads.
_LOAD_BATCH = 20_000

Mode = Literal["hybrid", "dense", "lexical"]
# Dense sides of searches, run beside their lexical sides (see `Retriever.search`).
_DENSE_WORKERS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="dense")


@dataclass(frozen=True)
class Hit:
    lesson: Lesson
    score: float
    why: Explanation
    components: Fused


@dataclass(frozen=True)
class _Access:
    """Lessons a viewer may see under some filters: their ids, sorted, and the index rows."""

    ids: Ids
    mask: Mask


@dataclass(frozen=True)
class _Pending:
    """A lesson to embed: its id, the text the model reads and that text's hash."""

    lesson_id: int
    text: str
    digest: str


def _load_lessons(session: Session, ids: list[int]) -> list[Lesson]:
    return list(
        session.exec(
            select(Lesson).where(col(Lesson.id).in_(ids)).options(selectinload(Lesson.tag_links))  # type: ignore[arg-type]
        )
    )


def _statuses_only(filters: SearchFilters | None) -> SearchFilters | None:
    return SearchFilters(status=filters.status) if filters and filters.status else None


def _progress(total: int, show: bool) -> tqdm[Any]:
    return tqdm(total=total, desc="Embedding lessons", unit="lesson", disable=not show)


class Retriever:
    """One per process. Vectors live in the database; the index is a cache of them."""

    def __init__(self, embedder: Embedder, fusion: FusionParams | None = None) -> None:
        self.embedder = embedder
        self.fusion = fusion or FusionParams()
        self.index = VectorIndex(embedder.dim)
        # Requests run in threads: one refreshes the index while another searches it. The lock
        # covers the index, its masks and its version; embedding and SQL stay outside it.
        self._lock = threading.RLock()
        self._version: tuple[object, ...] | None = None
        # Whether the transaction that last refreshed (under the lock) sees the index's version.
        self._current = False
        self._newest: datetime | None = None
        # Which index rows each (viewer, filters) may see, valid until lessons change.
        self._masks: OrderedDict[str, _Access] = OrderedDict()

    @property
    def model(self) -> str:
        return self.embedder.name

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
            self._store(session, todo, self.embedder.encode([p.text for p in todo]))
        return len(todo)

    def sync(self, session: Session, *, progress: bool = False, batch_size: int = 64) -> int:
        """Embed every lesson without a current vector (start-up), in the caller's transaction."""
        ids = self._stale_ids(session)
        done = 0
        with _progress(len(ids), progress) as bar:
            for start in range(0, len(ids), batch_size):
                batch = _load_lessons(session, ids[start : start + batch_size])
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
        done = 0
        with _progress(len(ids), progress) as bar:
            for start in range(0, len(ids), batch_size):
                with transaction(engine) as session:
                    batch = _load_lessons(session, ids[start : start + batch_size])
                    todo = self._pending(session, batch)
                if todo:
                    vectors = self.embedder.encode([p.text for p in todo])
                    with transaction(engine, write=True) as session:
                        self._store(session, todo, vectors)
                done += len(todo)
                bar.update(min(batch_size, len(ids) - start))
        return done

    def _stale_ids(self, session: Session) -> list[int]:
        stale = select(Lesson.id).where(
            ~col(Lesson.id).in_(
                select(LessonEmbedding.lesson_id).where(LessonEmbedding.model == self.model)
            )
        )
        ids = [i for i in session.exec(stale) if i is not None]
        return ids + self._changed_text_ids(session)

    def _pending(self, session: Session, lessons: list[Lesson]) -> list[_Pending]:
        """The lessons whose stored vector is missing, from another model or for old text."""
        if not lessons:
            return []
        digests = dict(
            session.exec(
                select(LessonEmbedding.lesson_id, LessonEmbedding.content_hash).where(
                    col(LessonEmbedding.lesson_id).in_([le.id for le in lessons])
                )
            ).all()
        )
        todo = []
        for lesson in lessons:
            assert lesson.id is not None
            text = lesson_text(lesson)
            digest = content_hash(self.model, text)
            if digests.get(lesson.id) != digest:
                todo.append(_Pending(lesson.id, text, digest))
        return todo

    def _store(self, session: Session, todo: list[_Pending], vectors: Vectors) -> None:
        stored = {
            row.lesson_id: row
            for row in session.exec(
                select(LessonEmbedding).where(
                    col(LessonEmbedding.lesson_id).in_([p.lesson_id for p in todo])
                )
            )
        }
        present = set(
            session.exec(select(Lesson.id).where(col(Lesson.id).in_([p.lesson_id for p in todo])))
        )
        now = utcnow()
        for pending, vector in zip(todo, vectors, strict=True):
            if pending.lesson_id not in present:  # purged while the model worked
                continue
            row = stored.get(pending.lesson_id) or LessonEmbedding(
                lesson_id=pending.lesson_id,
                model=self.model,
                dim=self.embedder.dim,
                content_hash="",
                vector=b"",
            )
            row.model, row.dim, row.content_hash = self.model, self.embedder.dim, pending.digest
            row.vector = vector.astype(np.float32).tobytes()
            row.updated_at = now
            session.add(row)
        session.flush()

    def _changed_text_ids(self, session: Session) -> list[int]:
        """Lessons edited after their vector was stored (their hash may no longer match)."""
        query = (
            select(Lesson.id)
            .join(LessonEmbedding, col(LessonEmbedding.lesson_id) == col(Lesson.id))
            .where(
                LessonEmbedding.model == self.model,
                col(Lesson.updated_at) > col(LessonEmbedding.updated_at),
            )
        )
        return [i for i in session.exec(query) if i is not None]

    def refresh(self, session: Session) -> None:
        """Bring the in-memory index up to date with stored vectors (one cheap read when
        nothing changed)."""
        with self._lock:
            self._refresh(session)

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

    def _access(self, session: Session, viewer: Viewer, filters: SearchFilters | None) -> _Access:
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
            found = _Access(allowed, self.index.mask_of(allowed))
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
        """Lessons the viewer may see, filtered first, then ranked against `text`: dense
        cosine and BM25 fused by reciprocal rank, near-copies folded together."""
        pool = max(_MIN_CANDIDATES, limit * _CANDIDATES_PER_RESULT)
        lexical_hits: list[tuple[int, float]] = []
        with self._lock:
            self._refresh(session)
            access, version = self._access(session, viewer, filters), self._version
            # BM25's statistics count the viewer's lessons in the statuses searched, whatever
            # narrows the search further: a filter does not change a lesson's score.
            counted = self._access(session, viewer, _statuses_only(filters)).ids
            # Of lessons the viewer may see: tells BM25 how to filter.
            share = np.count_nonzero(access.mask) / len(access.mask) if len(access.mask) else None
        # The dense side (the model reading the brief, then the index) runs in a worker while
        # this thread runs the lexical side's SQL: both spend most of their time outside the
        # GIL, so on two cores the slower side sets the time, not the sum.
        dense = (
            _DENSE_WORKERS.submit(self._dense, text, access, version, pool)
            if mode in ("hybrid", "dense")
            else None
        )
        try:
            if mode in ("hybrid", "lexical"):
                lexical_hits = lexical.search(
                    session,
                    text,
                    allowed=visible_lesson_ids(viewer, filters),
                    limit=pool,
                    share=share,
                    allowed_ids=access.ids,
                    collection_ids=counted,
                )
        finally:
            dense_hits = dense.result() if dense is not None else []
        fused = reciprocal_rank_fusion(
            dense_hits,
            lexical_hits,
            k=self.fusion.rrf_k,
            dense_weight=self.fusion.dense_weight,
            lexical_weight=self.fusion.lexical_weight,
        )
        if diverse and fused:
            with self._lock:
                in_index = [f for f in fused if f.lesson_id in self.index]
                fused = diversify(
                    in_index, self.index.vectors, limit, threshold=self.fusion.near_copy
                )
        return self._hits(session, fused[:limit], text, viewer, filters)

    def _dense(
        self, text: str, access: _Access, version: tuple[object, ...] | None, pool: int
    ) -> list[tuple[int, float]]:
        """The `pool` nearest lessons among those `access` allows. When the index has been
        refreshed since `access` was taken, its rows (and so the mask) may differ: the mask
        is made again from the allowed ids, for the index as it now is."""
        query = self.embed_query(text)
        with self._lock:
            mask = access.mask if self._version == version else self.index.mask_of(access.ids)
            return self.index.search(query, pool, mask=mask)

    def similar(
        self, session: Session, lesson: Lesson, *, viewer: Viewer, limit: int = 5
    ) -> list[Hit]:
        """Lessons closest in meaning to `lesson`, excluding itself (dense: the lesson's own
        words would make any lexical match trivially strong)."""
        with self.locked_index(session) as index:
            vector = index.vector(lesson.id) if lesson.id is not None else None
        if vector is None:
            vector = self.embed_query(lesson_text(lesson))
        with self.locked_index(session) as index:
            mask = self._mask(session, viewer, None).copy()
            mask[index.ids == lesson.id] = False
            dense = index.search(vector, limit, mask=mask)
        fused = reciprocal_rank_fusion(dense, [])
        return self._hits(session, fused, lesson_text(lesson), viewer, None)

    def _hits(
        self,
        session: Session,
        ranked: Sequence[Fused],
        text: str,
        viewer: Viewer,
        filters: SearchFilters | None,
    ) -> list[Hit]:
        """Load the ranked lessons, checking access once more in SQL: the masks are a cache,
        and a lesson that changed since must not slip through."""
        if not ranked:
            return []
        ids = [f.lesson_id for f in ranked]
        by_id = {
            lesson.id: lesson
            for lesson in session.exec(
                visible_lessons(viewer, filters).where(col(Lesson.id).in_(ids))
            )
        }
        return [
            Hit(
                lesson=by_id[f.lesson_id],
                score=round(f.fused, 5),
                why=explain(by_id[f.lesson_id], text),
                components=f,
            )
            for f in ranked
            if f.lesson_id in by_id
        ]
