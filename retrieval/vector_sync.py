"""Embedding lessons and storing their vectors: which lessons are stale (whole text, passages,
sentences) and writing what the model made of them back to the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
from sqlalchemy.orm import selectinload
from sqlmodel import Session, SQLModel, col, select
from tqdm import tqdm

from lessons.storage.models import Lesson, LessonEmbedding, LessonPassages, LessonSentences, utcnow
from retrieval.embedder import Vectors
from retrieval.text import (
    body_sentences,
    content_hash,
    lesson_text,
    passages,
    passages_hash,
    sentences_hash,
)

_Row = TypeVar("_Row", LessonEmbedding, LessonPassages, LessonSentences)


@dataclass(frozen=True)
class Pending:
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


def load_lessons(session: Session, ids: list[int]) -> list[Lesson]:
    return list(
        session.exec(
            select(Lesson).where(col(Lesson.id).in_(ids)).options(selectinload(Lesson.tag_links))  # type: ignore[arg-type]
        )
    )


def progress(total: int, show: bool) -> tqdm[Any]:
    return tqdm(total=total, desc="Embedding lessons", unit="lesson", disable=not show)


def stale_ids(session: Session, model: str) -> list[int]:
    stale = select(Lesson.id).where(
        ~col(Lesson.id).in_(select(LessonEmbedding.lesson_id).where(LessonEmbedding.model == model))
    )
    ids = [i for i in session.exec(stale) if i is not None]
    without_passages = select(Lesson.id).where(
        ~col(Lesson.id).in_(select(LessonPassages.lesson_id).where(LessonPassages.model == model))
    )
    missing = [i for i in session.exec(without_passages) if i is not None]
    without_sentences = select(Lesson.id).where(
        ~col(Lesson.id).in_(select(LessonSentences.lesson_id).where(LessonSentences.model == model))
    )
    missing += [i for i in session.exec(without_sentences) if i is not None]
    return list(dict.fromkeys(ids + missing + changed_text_ids(session, model)))


def changed_text_ids(session: Session, model: str) -> list[int]:
    """Lessons edited after their vector was stored (their hash may no longer match)."""
    query = (
        select(Lesson.id)
        .join(LessonEmbedding, col(LessonEmbedding.lesson_id) == col(Lesson.id))
        .where(
            LessonEmbedding.model == model,
            col(Lesson.updated_at) > col(LessonEmbedding.updated_at),
        )
    )
    return [i for i in session.exec(query) if i is not None]


def pending(session: Session, lessons: list[Lesson], model: str, max_words: int) -> list[Pending]:
    """The lessons whose stored vector is missing, from another model or for old text."""
    if not lessons:
        return []
    ids = [le.id for le in lessons]
    digests = _hashes(session, LessonEmbedding, ids)
    passage_digests = _hashes(session, LessonPassages, ids)
    sentence_digests = _hashes(session, LessonSentences, ids)
    todo = []
    for lesson in lessons:
        assert lesson.id is not None
        text = lesson_text(lesson)
        digest = content_hash(model, text)
        whole = digests.get(lesson.id) != digest
        # The passages' hash also names how they are cut: a new cut re-embeds them.
        cut = passages_hash(model, max_words, text)
        stale_passages = passage_digests.get(lesson.id) != cut
        split = sentences_hash(model, text)
        stale_sentences = sentence_digests.get(lesson.id) != split
        if whole or stale_passages or stale_sentences:
            pieces = passages(lesson, max_words) if stale_passages else None
            said = body_sentences(lesson) if stale_sentences else None
            todo.append(Pending(lesson.id, text, digest, whole, pieces, cut, said, split))
    return todo


def _hashes(
    session: Session,
    table: type[LessonEmbedding] | type[LessonPassages] | type[LessonSentences],
    ids: list[int | None],
) -> dict[int, str]:
    """Each lesson's stored content hash in `table`, by lesson id."""
    return dict(
        session.exec(
            select(table.lesson_id, table.content_hash).where(col(table.lesson_id).in_(ids))
        ).all()
    )


def store(session: Session, todo: list[Pending], vectors: Vectors, model: str, dim: int) -> None:
    """`vectors` (every stale text of `todo`, in order, as `Pending.texts`) written to each
    lesson's rows: sentences, passages and whole-lesson vector, whichever were stale."""
    ids = [p.lesson_id for p in todo]
    stored = _stored_rows(session, LessonEmbedding, ids)
    present = set(session.exec(select(Lesson.id).where(col(Lesson.id).in_(ids))))
    stored_passages = _stored_rows(session, LessonPassages, ids)
    stored_sentences = _stored_rows(session, LessonSentences, ids)
    now = utcnow()
    at = 0
    for pending in todo:
        rows = vectors[at : at + len(pending.texts())]
        at += len(pending.texts())
        if pending.lesson_id not in present:  # purged while the model worked
            continue
        if pending.sentences is not None:
            session.add(_sentences_row(stored_sentences, pending, rows, model, now))
        if pending.passages is not None:
            session.add(_passages_row(stored_passages, pending, rows, model, now))
        if pending.whole:
            session.add(_whole_row(stored, pending, rows[0], model, dim, now))
    session.flush()


def whole_vectors(todo: list[Pending], vectors: Vectors) -> tuple[list[int], Vectors]:
    """The whole-lesson vectors among `vectors` (as `store` reads them): (lesson ids, rows)."""
    ids, rows, at = [], [], 0
    for pending in todo:
        if pending.whole:
            ids.append(pending.lesson_id)
            rows.append(at)
        at += len(pending.texts())
    return ids, vectors[rows]


def _stored_rows(session: Session, table: type[_Row], ids: list[int]) -> dict[int, _Row]:
    """The rows of `table` already stored for `ids`, by lesson id."""
    return {
        row.lesson_id: row
        for row in session.exec(select(table).where(col(table.lesson_id).in_(ids)))
    }


def _sentences_row(
    stored: dict[int, LessonSentences],
    pending: Pending,
    rows: Vectors,
    model: str,
    now: datetime,
) -> SQLModel:
    """The lesson's sentence vectors (the last of its rows), as int8."""
    assert pending.sentences is not None
    own = rows[len(rows) - len(pending.sentences) :]
    said = stored.get(pending.lesson_id) or LessonSentences(
        lesson_id=pending.lesson_id, model=model, content_hash=""
    )
    return _filled(said, model, pending.sentences_digest, len(own), int8_rows(own).tobytes(), now)


def _passages_row(
    stored: dict[int, LessonPassages],
    pending: Pending,
    rows: Vectors,
    model: str,
    now: datetime,
) -> SQLModel:
    """The lesson's passage vectors (after its whole-lesson row when that is stale), as float16."""
    first = 1 if pending.whole else 0
    own = rows[first : first + len(pending.passages or [])]
    kept = stored.get(pending.lesson_id) or LessonPassages(
        lesson_id=pending.lesson_id, model=model, content_hash=""
    )
    return _filled(
        kept, model, pending.passages_digest, len(own), own.astype(np.float16).tobytes(), now
    )


def _filled(
    row: LessonPassages | LessonSentences,
    model: str,
    digest: str,
    count: int,
    vectors: bytes,
    now: datetime,
) -> SQLModel:
    """`row` holding `count` vectors of `model` for the text hashed as `digest`."""
    row.model, row.content_hash = model, digest
    row.count = count
    row.vectors = vectors
    row.updated_at = now
    return row


def _whole_row(
    stored: dict[int, LessonEmbedding],
    pending: Pending,
    vector: Vectors,
    model: str,
    dim: int,
    now: datetime,
) -> SQLModel:
    """The lesson's whole-text vector, as float32."""
    row = stored.get(pending.lesson_id) or LessonEmbedding(
        lesson_id=pending.lesson_id,
        model=model,
        dim=dim,
        content_hash="",
        vector=b"",
    )
    row.model, row.dim, row.content_hash = model, dim, pending.digest
    row.vector = vector.astype(np.float32).tobytes()
    row.updated_at = now
    return row


def int8_rows(vectors: Vectors) -> npt.NDArray[np.int8]:
    """Each row scaled so its largest component is 127, then rounded: a quarter of float32's
    size, and the row's direction (all a cosine reads, once renormalised) barely moved."""
    peak = np.maximum(np.abs(vectors).max(axis=1, keepdims=True), 1e-12)
    scaled: npt.NDArray[np.int8] = np.round(vectors / peak * 127).astype(np.int8)
    return scaled
