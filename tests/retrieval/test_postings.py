"""The full-text postings held in memory (retrieval.postings): exact BM25 to the bit against
FTS5 read per query, kept in step with every kind of change, and the viewer's own statistics."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, delete

from lessons.accounts import access
from lessons.catalogue import service as catalogue
from lessons.schemas import LessonPatch
from lessons.storage import changes
from lessons.storage.models import Lesson, LessonTag, Sensitivity
from retrieval import bm25, bm25_caches, bm25_exact, lexical, postings
from tests.retrieval.test_bm25 import QUERIES, VIEWERS, _add, _direct_bm25, _mixed_bank, _search

READ_ALL = postings.read_all
MORE = [*QUERIES, "zeppelin", "blanket thermal", "harness connector battery software review"]


def _read_per_query(session: Session, query: str, viewer: access.Viewer) -> list:
    """Exact BM25 read from FTS5 for this query alone (every match scored)."""
    return lexical.search(
        session,
        query,
        allowed=access.visible_lesson_ids(viewer),
        limit=200,
        exact_limit=2**62,
    )


def _agrees(session: Session) -> None:
    for viewer in VIEWERS.values():
        for query in MORE:
            found = _search(session, query, viewer, limit=200)
            assert found == _read_per_query(session, query, viewer), query


def _held(session: Session) -> postings.Postings:
    held = bm25_exact.in_memory(session.connection(), changes.version(session))
    assert held is not None
    return held


def _fresh(session: Session) -> dict[str, tuple[list[int], list[float]]]:
    """Every term's postings read whole from the index now."""
    lengths, _ = bm25_caches._lengths_by_id.get(session.connection(), changes.version(session))
    made = READ_ALL(session.connection(), bm25.WEIGHTS, lengths, None)
    return {t: (lambda p: (p[0].tolist(), p[1].tolist()))(made.of(t)) for t in made.terms}


def _as_lists(held: postings.Postings, terms: list[str]) -> dict:
    return {t: (held.of(t)[0].tolist(), held.of(t)[1].tolist()) for t in terms}


def test_ranking_from_memory_is_fts5s_exact_ranking_to_the_bit(engine: Engine) -> None:
    with Session(engine) as session:
        _mixed_bank(session)
        _agrees(session)
        for name, viewer in VIEWERS.items():
            for query in QUERIES:
                want = _direct_bm25(session, query, viewer)
                found = dict(_search(session, query, viewer, limit=200))
                assert found.keys() == want.keys(), (name, query)
                assert found == pytest.approx(want, rel=1e-9)


def test_a_limit_keeps_the_best_and_breaks_ties_to_the_older_lesson(engine: Engine) -> None:
    with Session(engine) as session:
        for _ in range(6):  # identical lessons: identical scores
            _add(session, "Valve sensor", "valve")
        _mixed_bank(session)
        for limit in (1, 3, 5, 7, 40):
            for query in MORE:
                whole = _search(session, query, access.CURATOR, limit=200)
                assert _search(session, query, access.CURATOR, limit=limit) == whole[:limit]


def test_postings_follow_edits_tags_deletes_and_new_lessons(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each change is read for the lessons it touched (no second whole read), and the result
    equals a whole read of the index at that moment and FTS5's exact ranking."""
    whole_reads: list[int] = []
    monkeypatch.setattr(
        postings, "read_all", lambda *a, **k: whole_reads.append(1) or READ_ALL(*a, **k)
    )
    monkeypatch.setattr(postings, "_REBUILD_SHARE", 0.5)  # a small bank: a lesson is 1%
    # Lessons edited in the last minute are read again (clocks): the bank was made just now.
    monkeypatch.setattr(postings, "_OVERLAP", timedelta(0))
    with Session(engine) as session:
        _mixed_bank(session, n=120)
        _agrees(session)
        assert len(whole_reads) == 1
        ids = sorted(i for i in session.exec(access.visible_lesson_ids(access.CURATOR)) if i)
        lesson = session.get(Lesson, ids[3])
        assert lesson is not None
        steps = [
            lambda: catalogue.update_lesson(
                session,
                lesson=lesson,
                patch=LessonPatch(title="Zeppelin blanket", observation="zeppelin " * 7),
                by_curator=True,
            ),
            lambda: catalogue.update_lesson(  # same length, other words
                session,
                lesson=lesson,
                patch=LessonPatch(title="Harness battery", observation="thermal " * 7),
                by_curator=True,
            ),
            lambda: catalogue.update_lesson(
                session, lesson=lesson, patch=LessonPatch(tags=["zeppelin-ops"]), by_curator=True
            ),
            lambda: _add(session, "Zeppelin valve", "zeppelin valve sensor", tags=["zeppelin"]),
            lambda: _delete(session, ids[5]),
        ]
        for step in steps:
            step()
            session.commit()
            _agrees(session)
            held = _held(session)
            assert _as_lists(held, list(_fresh(session))) == _fresh(session)
        assert len(whole_reads) == 1


def _delete(session: Session, lesson_id: int) -> None:
    session.exec(delete(LessonTag).where(LessonTag.lesson_id == lesson_id))  # type: ignore[call-overload]
    session.exec(delete(Lesson).where(Lesson.id == lesson_id))  # type: ignore[call-overload]


def test_many_changes_read_the_index_whole_again(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postings, "_REBUILD_SHARE", 0.0)
    with Session(engine) as session:
        _mixed_bank(session)
        before = _held(session)
        _add(session, "Zeppelin", "zeppelin")
        session.commit()
        after = _held(session)
        assert after.ids is not before.ids and not after.extra and not len(after.changed)
        _agrees(session)


def test_a_hidden_lesson_moves_no_statistic_read_from_memory(engine: Engine) -> None:
    """Scores and the viewer's document frequencies are the visible lessons' own: a
    restricted lesson full of the words changes nothing staff or anonymous get."""
    with Session(engine) as session:
        _mixed_bank(session)
        before = {(v, q): _search(session, q, VIEWERS[v]) for v in VIEWERS for q in MORE}
        text = " ".join(MORE)
        _add(session, "Zeppelin valve sensor", text * 2, sensitivity=Sensitivity.RESTRICTED)
        session.commit()
        held = _held(session)
        assert held.of("zeppelin")[0].size  # the index holds it: only the viewer's view hides it
        after = {(v, q): _search(session, q, VIEWERS[v]) for v in VIEWERS for q in MORE}
        assert after == before
        assert _search(session, "zeppelin", access.STAFF) == []


def test_an_older_snapshot_reads_fts5_instead(engine: Engine) -> None:
    with Session(engine) as session:
        _mixed_bank(session)
        version = changes.version(session)
        assert bm25_exact.in_memory(session.connection(), version) is not None
        _add(session, "Zeppelin", "zeppelin")
        session.commit()
        assert bm25_exact.in_memory(session.connection(), changes.version(session)) is not None
        assert bm25_exact.in_memory(session.connection(), version) is None
        _agrees(session)


def test_per_lesson_merges_a_terms_hits_by_lesson() -> None:
    ids, counts = postings._per_lesson(
        np.array([3, 3, 7, 9, 9, 9], np.int64), np.array([4, 1, 2, 1, 1, 2], np.int64)
    )
    assert ids.tolist() == [3, 7, 9] and counts.tolist() == [5, 2, 4]


def test_a_bulk_change_is_read_whole_not_lesson_by_lesson(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Session(engine) as session:
        _mixed_bank(session, n=20)
        assert _held(session).terms
        _mixed_bank(session, n=40, seed=9)  # twice the bank: far past the share
        session.commit()
        monkeypatch.setattr(
            bm25_exact, "_tokenized", lambda *a: pytest.fail("tokenized one by one")
        )
        held = _held(session)
        assert not held.extra and not len(held.changed)
        _agrees(session)
