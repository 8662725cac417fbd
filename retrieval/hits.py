"""Ranked lessons loaded and explained: each hit with the sentence closest in meaning to the
brief (`retrieval.explain` says how an explanation reads)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlmodel import Session, col, select

from lessons.accounts.access import Viewer, visible_lessons
from lessons.schemas import SearchFilters
from lessons.storage.models import Lesson, LessonSentences
from retrieval.embedder import Vectors
from retrieval.explain import Closest, Explanation, explain
from retrieval.fusion import Fused
from retrieval.text import body_sentences, lesson_text, sentences_hash


@dataclass(frozen=True)
class Hit:
    lesson: Lesson
    score: float
    why: Explanation
    components: Fused


def hits(
    session: Session,
    ranked: Sequence[Fused],
    text: str,
    viewer: Viewer,
    filters: SearchFilters | None,
    model: str,
    query: Vectors | None = None,
) -> list[Hit]:
    """Load the ranked lessons, checking access once more in SQL: the masks are a cache,
    and a lesson that changed since must not slip through. Each is explained by its
    sentence closest in meaning to the brief (`closest_sentences`)."""
    if not ranked:
        return []
    ids = [f.lesson_id for f in ranked]
    by_id = {
        lesson.id: lesson
        for lesson in session.exec(visible_lessons(viewer, filters).where(col(Lesson.id).in_(ids)))
    }
    picks = closest_sentences(session, by_id, query, model) if query is not None else {}
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


def closest_sentences(
    session: Session,
    lessons: dict[int | None, Lesson],
    query: Vectors,
    model: str,
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
            LessonSentences.model == model,
        )
    ).all()
    q = np.asarray(query, dtype=np.float32)
    found: dict[int, tuple[Closest, list[str]]] = {}
    for lesson_id, digest, count, blob in rows:
        lesson = lessons.get(lesson_id)
        if lesson is None:
            continue
        among = body_sentences(lesson)
        current = digest == sentences_hash(model, lesson_text(lesson))
        if not current or count != len(among) or len(blob) != count * len(q):
            continue
        matrix = np.frombuffer(blob, dtype=np.int8).reshape(count, -1).astype(np.float32)
        scores = (matrix @ q) / np.maximum(np.linalg.norm(matrix, axis=1), 1e-9)
        found[lesson_id] = (_chosen(int(np.argmax(scores))), among)
    return found


def _chosen(pick: int) -> Closest:
    """A `Closest` that has already chosen."""
    return lambda _candidates: pick
