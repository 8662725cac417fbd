"""The retriever: keeps lesson vectors in step with the database and ranks lessons for a text."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import func
from sqlalchemy.orm import selectinload
from sqlmodel import Session, col, select
from tqdm import tqdm

from lessons.access import Viewer, visible_lesson_ids
from lessons.models import Lesson, LessonEmbedding, utcnow
from lessons.schemas import SearchFilters
from retrieval.embedder import Embedder, Vectors
from retrieval.explain import Explanation, explain
from retrieval.index import VectorIndex
from retrieval.text import chunks, content_hash, lesson_text

# Transactions may commit out of order; re-reading this far back on a refresh catches rows
# stamped before the newest one we saw but committed after it.
_REFRESH_OVERLAP = timedelta(minutes=10)


@dataclass(frozen=True)
class Hit:
    lesson: Lesson
    score: float
    why: Explanation


class Retriever:
    """One per process. Vectors live in the database; the index is a cache of them."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self.index = VectorIndex(embedder.dim)
        self._seen: tuple[int, datetime | None] = (0, None)

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
        todo: list[tuple[Lesson, str, str]] = []
        stored = (
            {
                row.lesson_id: row
                for row in session.exec(
                    select(LessonEmbedding).where(
                        col(LessonEmbedding.lesson_id).in_([le.id for le in lessons])
                    )
                )
            }
            if lessons
            else {}
        )
        for lesson in lessons:
            text = lesson_text(lesson)
            digest = content_hash(self.model, text)
            row = stored.get(lesson.id)  # type: ignore[arg-type]
            if row is None or row.content_hash != digest:
                todo.append((lesson, text, digest))
        if not todo:
            return 0
        vectors = self.embedder.encode([text for _, text, _ in todo])
        now = utcnow()
        for (lesson, _, digest), vector in zip(todo, vectors, strict=True):
            assert lesson.id is not None
            row = stored.get(lesson.id) or LessonEmbedding(
                lesson_id=lesson.id,
                model=self.model,
                dim=self.embedder.dim,
                content_hash="",
                vector=b"",
            )
            row.model, row.dim, row.content_hash = self.model, self.embedder.dim, digest
            row.vector = vector.astype(np.float32).tobytes()
            row.updated_at = now
            session.add(row)
        session.flush()
        return len(todo)

    def sync(self, session: Session, *, progress: bool = False, batch_size: int = 64) -> int:
        """Embed every lesson without a current vector (start-up and `reindex`)."""
        stale = select(Lesson.id).where(
            ~col(Lesson.id).in_(
                select(LessonEmbedding.lesson_id).where(LessonEmbedding.model == self.model)
            )
        )
        ids = list(session.exec(stale))
        ids += list(self._changed_text_ids(session))
        done = 0
        with tqdm(
            total=len(ids), desc="Embedding lessons", unit="lesson", disable=not progress
        ) as bar:
            for start in range(0, len(ids), batch_size):
                batch = list(
                    session.exec(
                        select(Lesson)
                        .where(col(Lesson.id).in_(ids[start : start + batch_size]))
                        .options(selectinload(Lesson.tag_links))  # type: ignore[arg-type]
                    )
                )
                done += self.embed_lessons(session, batch)
                bar.update(len(batch))
        return done

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
        """Bring the in-memory index up to date with stored vectors (cheap when nothing changed)."""
        count, newest = session.exec(
            select(func.count(), func.max(LessonEmbedding.updated_at)).where(
                LessonEmbedding.model == self.model
            )
        ).one()
        if (count, newest) == self._seen:
            return
        query = select(LessonEmbedding.lesson_id, LessonEmbedding.vector).where(
            LessonEmbedding.model == self.model
        )
        seen_newest = self._seen[1]
        if seen_newest is not None and count >= len(self.index):
            query = query.where(col(LessonEmbedding.updated_at) >= seen_newest - _REFRESH_OVERLAP)
        else:
            self.index = VectorIndex(self.embedder.dim)
        ids, vectors = [], []
        for lesson_id, blob in session.exec(query):
            ids.append(lesson_id)
            vectors.append(np.frombuffer(blob, dtype=np.float32))
        if ids:
            self.index.upsert(ids, np.vstack(vectors))
        self._seen = (count, newest)

    def search(
        self,
        session: Session,
        text: str,
        *,
        viewer: Viewer,
        filters: SearchFilters | None = None,
        limit: int = 10,
    ) -> list[Hit]:
        """Lessons the viewer may see, filtered first, then ranked by meaning against `text`."""
        self.refresh(session)
        allowed = np.fromiter(
            session.exec(visible_lesson_ids(viewer, filters)),
            dtype=np.int64,
        )
        ranked = self.index.search(self.embed_query(text), limit, allowed=allowed)
        return self._hits(session, ranked, text)

    def similar(
        self, session: Session, lesson: Lesson, *, viewer: Viewer, limit: int = 5
    ) -> list[Hit]:
        """Lessons closest in meaning to `lesson`, excluding itself."""
        self.refresh(session)
        vector = self.index.vector(lesson.id) if lesson.id is not None else None
        if vector is None:
            vector = self.embed_query(lesson_text(lesson))
        allowed = np.fromiter(
            (i for i in session.exec(visible_lesson_ids(viewer)) if i != lesson.id),
            dtype=np.int64,
        )
        ranked = self.index.search(vector, limit, allowed=allowed)
        return self._hits(session, ranked, lesson_text(lesson))

    def _hits(self, session: Session, ranked: Sequence[tuple[int, float]], text: str) -> list[Hit]:
        if not ranked:
            return []
        by_id = {
            lesson.id: lesson
            for lesson in session.exec(
                select(Lesson).where(col(Lesson.id).in_([i for i, _ in ranked]))
            )
        }
        return [
            Hit(lesson=by_id[i], score=round(score, 4), why=explain(by_id[i], text))
            for i, score in ranked
            if i in by_id
        ]
