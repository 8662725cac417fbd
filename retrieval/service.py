"""The retriever: keeps lesson vectors in step with the database and ranks lessons for a text."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from sqlalchemy import Engine, func
from sqlalchemy.orm import selectinload
from sqlmodel import Session, col, select
from tqdm import tqdm

from lessons.accounts.access import Viewer, visible_lesson_ids, visible_lessons
from lessons.schemas import SearchFilters
from lessons.storage import changes
from lessons.storage.db import transaction
from lessons.storage.models import Lesson, LessonEmbedding, LessonPassages, LessonSentences, utcnow
from retrieval import feedback, lexical
from retrieval.embedder import Embedder, Vectors
from retrieval.explain import Closest, Explanation, explain, has_words
from retrieval.fusion import (
    Candidate,
    Fused,
    FusionParams,
    RankingParams,
    combine,
    diversify,
    reciprocal_rank_fusion,
)
from retrieval.index import Ids, Mask, VectorIndex
from retrieval.text import (
    body_sentences,
    chunks,
    content_hash,
    lesson_text,
    passages,
    passages_hash,
    sentences_hash,
)

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
class Ranking:
    """A search's hits, and what a BAR keeps of its feedback (`feedback.record`; None when the
    shipped ranking did not run)."""

    hits: list[Hit]
    feedback: dict[str, Any] | None = None


@dataclass(frozen=True)
class _Access:
    """Lessons a viewer may see under some filters: their ids, sorted, and the index rows."""

    ids: Ids
    mask: Mask


@dataclass(frozen=True)
class _Pending:
    """A lesson to embed: its id, the text the model reads and that text's hash; whether its
    whole-lesson vector is stale, and its passages and its sentences when those are (None
    when current)."""

    lesson_id: int
    text: str
    digest: str
    whole: bool = True
    passages: list[str] | None = None
    passages_digest: str = ""
    sentences: list[str] | None = None
    sentences_digest: str = ""

    def texts(self) -> list[str]:
        return ([self.text] if self.whole else []) + (self.passages or []) + (self.sentences or [])


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
            self._store(session, todo, self._encode(todo))
        return len(todo)

    def _encode(self, todo: list[_Pending]) -> Vectors:
        """Every stale text of `todo` in one call (the model sorts a call's texts by length,
        so long passages and short lessons batch with their like)."""
        return self.embedder.encode([text for pending in todo for text in pending.texts()])

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
                    vectors = self._encode(todo)
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
        without_passages = select(Lesson.id).where(
            ~col(Lesson.id).in_(
                select(LessonPassages.lesson_id).where(LessonPassages.model == self.model)
            )
        )
        missing = [i for i in session.exec(without_passages) if i is not None]
        without_sentences = select(Lesson.id).where(
            ~col(Lesson.id).in_(
                select(LessonSentences.lesson_id).where(LessonSentences.model == self.model)
            )
        )
        missing += [i for i in session.exec(without_sentences) if i is not None]
        return list(dict.fromkeys(ids + missing + self._changed_text_ids(session)))

    def _pending(self, session: Session, lessons: list[Lesson]) -> list[_Pending]:
        """The lessons whose stored vector is missing, from another model or for old text."""
        if not lessons:
            return []
        ids = [le.id for le in lessons]
        digests = dict(
            session.exec(
                select(LessonEmbedding.lesson_id, LessonEmbedding.content_hash).where(
                    col(LessonEmbedding.lesson_id).in_(ids)
                )
            ).all()
        )
        passage_digests = dict(
            session.exec(
                select(LessonPassages.lesson_id, LessonPassages.content_hash).where(
                    col(LessonPassages.lesson_id).in_(ids)
                )
            ).all()
        )
        sentence_digests = dict(
            session.exec(
                select(LessonSentences.lesson_id, LessonSentences.content_hash).where(
                    col(LessonSentences.lesson_id).in_(ids)
                )
            ).all()
        )
        todo = []
        for lesson in lessons:
            assert lesson.id is not None
            text = lesson_text(lesson)
            digest = content_hash(self.model, text)
            whole = digests.get(lesson.id) != digest
            # The passages' hash also names how they are cut: a new cut re-embeds them.
            cut = passages_hash(self.model, self._max_words, text)
            stale_passages = passage_digests.get(lesson.id) != cut
            split = sentences_hash(self.model, text)
            stale_sentences = sentence_digests.get(lesson.id) != split
            if whole or stale_passages or stale_sentences:
                pieces = passages(lesson, self._max_words) if stale_passages else None
                said = body_sentences(lesson) if stale_sentences else None
                todo.append(_Pending(lesson.id, text, digest, whole, pieces, cut, said, split))
        return todo

    @property
    def _max_words(self) -> int:
        return int(getattr(self.embedder, "max_words", 150))

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
        stored_passages = {
            row.lesson_id: row
            for row in session.exec(
                select(LessonPassages).where(
                    col(LessonPassages.lesson_id).in_([p.lesson_id for p in todo])
                )
            )
        }
        stored_sentences = {
            row.lesson_id: row
            for row in session.exec(
                select(LessonSentences).where(
                    col(LessonSentences.lesson_id).in_([p.lesson_id for p in todo])
                )
            )
        }
        now = utcnow()
        at = 0
        for pending in todo:
            rows = vectors[at : at + len(pending.texts())]
            at += len(pending.texts())
            if pending.lesson_id not in present:  # purged while the model worked
                continue
            own_passages = len(pending.passages or [])
            if pending.sentences is not None:
                said = stored_sentences.get(pending.lesson_id) or LessonSentences(
                    lesson_id=pending.lesson_id, model=self.model, content_hash=""
                )
                said.model, said.content_hash = self.model, pending.sentences_digest
                said.count = len(pending.sentences)
                said.vectors = int8_rows(rows[len(rows) - said.count :]).tobytes()
                said.updated_at = now
                session.add(said)
            if pending.passages is not None:
                kept = stored_passages.get(pending.lesson_id) or LessonPassages(
                    lesson_id=pending.lesson_id, model=self.model, content_hash=""
                )
                first = 1 if pending.whole else 0
                own = rows[first : first + own_passages]
                kept.model, kept.content_hash = self.model, pending.passages_digest
                kept.count = len(own)
                kept.vectors = own.astype(np.float16).tobytes()
                kept.updated_at = now
                session.add(kept)
            if not pending.whole:
                continue
            vector = rows[0]
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
        nothing changed), and the full-text postings the lexical ranker holds in memory."""
        with self._lock:
            self._refresh(session)
        lexical.prepare(session)

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
        lexical_hits: list[tuple[int, float]] = []
        with self._lock:
            self._refresh(session)
            access, version = self._access(session, viewer, filters), self._version
            # BM25's statistics count the viewer's lessons in the statuses searched, whatever
            # narrows the search further: a filter does not change a lesson's score.
            counted = self._access(session, viewer, _statuses_only(filters)).ids
        # The dense side (the model reading the brief, then the index) runs in a worker while
        # this thread runs the lexical side's SQL: both spend most of their time outside the
        # GIL, so on two cores the slower side sets the time, not the sum.
        dense = (
            _DENSE_WORKERS.submit(self._dense, text, access, version, dense_pool)
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
                    allowed_ids=access.ids,
                    collection_ids=counted,
                )
        finally:
            query, dense_hits = dense.result() if dense is not None else (None, [])
        kept = None
        if hybrid and query is not None:
            terms = len(lexical.query_words(text))
            fused, kept = self._ranked(
                session,
                query,
                dense_hits,
                lexical_hits,
                terms,
                lambda moved: self._more(moved, access, version, dense_pool),
                limit,
            )
        else:  # one ranker alone, or the reciprocal rank fusion it is measured against
            rrf = self.fusion or FusionParams()
            fused = reciprocal_rank_fusion(
                dense_hits,
                lexical_hits,
                k=rrf.rrf_k,
                dense_weight=rrf.dense_weight,
                lexical_weight=rrf.lexical_weight,
            )
        if diverse and fused:
            with self._lock:
                in_index = [f for f in fused if f.lesson_id in self.index]
                fused = diversify(
                    in_index, self.index.vectors, limit, threshold=self.ranking.near_copy
                )
        return Ranking(self._hits(session, fused[:limit], text, viewer, filters, query), kept)

    def _ranked(
        self,
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
        params = self.ranking
        read: dict[int, Any] = {}  # passages read by the first pass, kept for the second
        candidates = self._candidates(session, query, dense_hits, lexical_hits, read=read)
        first = combine(candidates, params, terms)
        by_id = {c.lesson_id: c for c in candidates}
        pool = [
            feedback.Pooled(f.lesson_id, f.fused, by_id[f.lesson_id].whole)
            for f in first[: max(limit, params.prf_depth)]
        ]
        kept = feedback.record(pool, params, terms)
        best = feedback.chosen(pool, params)
        if not best:
            return first, kept
        with self._lock:
            centre = feedback.centre_of(
                best,
                feedback.exact(self.index.vectors([p.lesson_id for p in best])),
                params.prf_weight,
            )
        assert centre is not None
        seen = {i for i, _ in dense_hits}
        widened = dense_hits + [
            (i, s) for i, s in more(feedback.moved_query(query, centre)) if i not in seen
        ]
        candidates = self._candidates(session, query, widened, lexical_hits, centre, read)
        return combine(candidates, params, terms), kept

    def _more(
        self, moved: Vectors, access: _Access, version: tuple[object, ...] | None, pool: int
    ) -> list[tuple[int, float]]:
        """The `pool` nearest lessons to the moved vector among those `access` allows."""
        with self._lock:
            mask = access.mask if self._version == version else self.index.mask_of(access.ids)
            return self.index.search(moved, pool, mask=mask)

    def _candidates(
        self,
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
        with self._lock:
            ids = [i for i in ids if i in self.index]
            vectors = (
                self.index.vectors(ids) if ids else np.zeros((0, self.embedder.dim), np.float32)
            )
        whole = vectors @ query if ids else np.zeros(0, np.float32)
        stored = self._stored_passages(session, ids, read)
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
        self, session: Session, ids: list[int], read: dict[int, Any] | None
    ) -> dict[int, npt.NDArray[np.float16]]:
        """`feedback.stored_passages`, reading only lessons not in `read` (then kept there)."""
        if read is None:
            return feedback.stored_passages(session, ids, self.model)
        missing = [i for i in ids if i not in read]
        found = feedback.stored_passages(session, missing, self.model)
        read.update({i: found.get(i) for i in missing})
        return {i: read[i] for i in ids if read[i] is not None}

    def _dense(
        self, text: str, access: _Access, version: tuple[object, ...] | None, pool: int
    ) -> tuple[Vectors, list[tuple[int, float]]]:
        """The brief's vector and the `pool` nearest lessons among those `access` allows. When
        the index has been refreshed since `access` was taken, its rows (and so the mask) may
        differ: the mask is made again from the allowed ids, for the index as it now is."""
        query = self.embed_query(text)
        with self._lock:
            mask = access.mask if self._version == version else self.index.mask_of(access.ids)
            return query, self.index.search(query, pool, mask=mask)

    def similar(
        self, session: Session, lesson: Lesson, *, viewer: Viewer, limit: int = 5
    ) -> list[Hit]:
        """Lessons closest in meaning to `lesson`, excluding itself, down to the similarity
        floor (`RankingParams.similar`): a list of lessons that are not alike says nothing.
        Dense only: the lesson's own words would make any lexical match trivially strong."""
        with self.locked_index(session) as index:
            vector = index.vector(lesson.id) if lesson.id is not None else None
        if vector is None:
            vector = self.embed_query(lesson_text(lesson))
        with self.locked_index(session) as index:
            mask = self._mask(session, viewer, None).copy()
            mask[index.ids == lesson.id] = False
            dense = index.search(vector, limit, mask=mask)
        fused = [
            Fused(i, fused=score, dense=score, dense_rank=rank, match=self.ranking.band(score))
            for rank, (i, score) in enumerate(dense, start=1)
            if score >= self.ranking.similar
        ]
        return self._hits(session, fused, lesson_text(lesson), viewer, None, vector)

    def _hits(
        self,
        session: Session,
        ranked: Sequence[Fused],
        text: str,
        viewer: Viewer,
        filters: SearchFilters | None,
        query: Vectors | None = None,
    ) -> list[Hit]:
        """Load the ranked lessons, checking access once more in SQL: the masks are a cache,
        and a lesson that changed since must not slip through. Each is explained by its
        sentence closest in meaning to the brief (`_closest_sentences`)."""
        if not ranked:
            return []
        ids = [f.lesson_id for f in ranked]
        by_id = {
            lesson.id: lesson
            for lesson in session.exec(
                visible_lessons(viewer, filters).where(col(Lesson.id).in_(ids))
            )
        }
        picks = self._closest_sentences(session, by_id, query) if query is not None else {}
        return [
            Hit(
                lesson=by_id[f.lesson_id],
                score=round(f.fused, 5),
                why=explain(by_id[f.lesson_id], text, *picks.get(f.lesson_id, (None, None))),
                components=f,
            )
            for f in ranked
            if f.lesson_id in by_id
        ]

    def _closest_sentences(
        self,
        session: Session,
        lessons: dict[int | None, Lesson],
        query: Vectors,
    ) -> dict[int, tuple[Closest, list[str]]]:
        """For each lesson whose sentence vectors are current: its sentences, and which of
        them is closest in meaning to `query` (the brief's own vector), by the vectors stored
        when the lesson was embedded (no model at query time). Among all its sentences, not
        only its best passage's: which passage ranked best may depend on feedback from other
        lessons, and the sentence shown depends on the lesson and the brief alone (never on
        other lessons or earlier searches). A lesson without current vectors is explained by
        shared words instead."""
        rows = session.exec(
            select(
                LessonSentences.lesson_id,
                LessonSentences.content_hash,
                LessonSentences.count,
                LessonSentences.vectors,
            ).where(
                col(LessonSentences.lesson_id).in_([i for i in lessons if i is not None]),
                LessonSentences.model == self.model,
            )
        ).all()
        q = np.asarray(query, dtype=np.float32)
        found: dict[int, tuple[Closest, list[str]]] = {}
        for lesson_id, digest, count, blob in rows:
            lesson = lessons.get(lesson_id)
            if lesson is None:
                continue
            among = body_sentences(lesson)
            current = digest == sentences_hash(self.model, lesson_text(lesson))
            if not current or count != len(among) or len(blob) != count * len(q):
                continue
            matrix = np.frombuffer(blob, dtype=np.int8).reshape(count, -1).astype(np.float32)
            scores = (matrix @ q) / np.maximum(np.linalg.norm(matrix, axis=1), 1e-9)
            found[lesson_id] = (_chosen(int(np.argmax(scores))), among)
        return found


def _chosen(pick: int) -> Closest:
    """A `Closest` that has already chosen."""
    return lambda _candidates: pick


def int8_rows(vectors: Vectors) -> npt.NDArray[np.int8]:
    """Each row scaled so its largest component is 127, then rounded: a quarter of float32's
    size, and the row's direction (all a cosine reads, once renormalised) barely moved."""
    peak = np.maximum(np.abs(vectors).max(axis=1, keepdims=True), 1e-12)
    scaled: npt.NDArray[np.int8] = np.round(vectors / peak * 127).astype(np.int8)
    return scaled
