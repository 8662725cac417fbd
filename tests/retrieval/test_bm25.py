"""BM25 for large banks (retrieval.bm25_bounded) and the viewer's own statistics
(retrieval.bm25, bm25_caches, fts5_index): the same scores as FTS5's bm25(), over a bounded set
of candidates, and never a lesson the viewer may not see."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from lessons.accounts import access
from lessons.capture import service as capture
from lessons.catalogue import service as catalogue
from lessons.schemas import LessonIn, LessonPatch
from lessons.storage.models import Lesson, LessonStatus, Sensitivity
from retrieval import bm25_bounded, bm25_caches, fts5_index, lexical
from tests.databases import sqlite_only

pytestmark = sqlite_only("BM25 read from SQLite FTS5's own tables")

WORDS = [
    "valve",
    "thruster",
    "harness",
    "connector",
    "battery",
    "software",
    "review",
    "fault",
    "test",
    "vacuum",
    "chamber",
    "contamination",
    "propellant",
    "loading",
    "torque",
    "fastener",
    "sensor",
    "calibration",
    "schedule",
    "margin",
    "procurement",
    "vendor",
    "drawing",
    "change",
    "board",
    "anomaly",
    "telemetry",
    "redundancy",
    "thermal",
    "blanket",
]
QUERIES = [
    "valve contamination during propellant loading",
    "Thruster valves and connectors; the valve's torque",  # forms of one term, an apostrophe
    "fault test of redundancy in the vacuum chamber " * 3,
    "procurement vendor drawing change board schedule margin anomaly telemetry",
    "sensor",
]


def _add(session: Session, title: str, body: str = "", **kw: object) -> Lesson:
    return capture.add_lesson(
        session,
        data=LessonIn(title=title, observation=body, **kw),
        project=None,
        review=None,
        author=None,
        actor="t",
        status=LessonStatus.VALIDATED,
    )


def _bank(session: Session, n: int = 80, seed: int = 3) -> None:
    rng = random.Random(seed)
    for _ in range(n):
        title = " ".join(rng.choices(WORDS, k=rng.randint(2, 5)))
        body = " ".join(rng.choices(WORDS, k=rng.randint(5, 60)))
        _add(session, title.capitalize(), body, tags=rng.sample(["ops", "test-rig", "supply"], 1))


def _search(
    session: Session,
    query: str,
    viewer: access.Viewer = access.CURATOR,
    *,
    limit: int = 20,
    allowed_ids: np.ndarray | None = None,
) -> list[tuple[int, float]]:
    allowed = access.visible_lesson_ids(viewer)
    return lexical.search(session, query, allowed=allowed, limit=limit, allowed_ids=allowed_ids)


def _bounded(monkeypatch: pytest.MonkeyPatch, *, postings: int, scored: int) -> None:
    monkeypatch.setattr(lexical, "IN_MEMORY", False)  # FTS5 read per query, as on PostgreSQL
    monkeypatch.setattr(lexical, "EXACT_LIMIT", 0)
    monkeypatch.setattr(bm25_bounded, "CANDIDATE_POSTINGS", postings)
    monkeypatch.setattr(bm25_bounded, "SCORED_PER_RESULT", scored)


@pytest.mark.parametrize("query", QUERIES)
def test_scores_are_fts5s_own_when_every_match_is_a_candidate(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, query: str
) -> None:
    with Session(engine) as session:
        _bank(session)
        exact = _search(session, query)
        _bounded(monkeypatch, postings=10_000, scored=100)
        bounded = _search(session, query)
    assert exact, query
    assert [i for i, _ in bounded] == [i for i, _ in exact]
    assert [s for _, s in bounded] == pytest.approx([s for _, s in exact], rel=1e-12)


def test_a_tight_budget_still_returns_exact_scores_for_what_it_finds(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Few postings read (the narrowing to lessons holding the rarest terms together, too):
    fewer lessons may be found, but each with its exact score, best first."""
    with Session(engine) as session:
        _bank(session)
        for query in QUERIES:
            exact = dict(_search(session, query, limit=80))
            for postings in (1, 15):
                _bounded(monkeypatch, postings=postings, scored=2)
                found = _search(session, query)
                monkeypatch.undo()
                assert found, (query, postings)
                for lesson_id, score in found:
                    assert score == pytest.approx(exact[lesson_id], rel=1e-12)
                assert [s for _, s in found] == sorted((s for _, s in found), reverse=True)


def test_each_term_counts_once_whatever_forms_the_query_uses(engine: Engine) -> None:
    with Session(engine) as session:
        _bank(session)
        assert _search(session, "valves valve VALVE valve's") == _search(session, "valve")


def test_a_hidden_best_match_never_comes_back(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Session(engine) as session:
        _bank(session)
        secret = _add(
            session, "Zeppelin valve contamination", "valve", sensitivity=Sensitivity.RESTRICTED
        )
        query = "zeppelin valve contamination"
        for postings in (10_000, 3):
            _bounded(monkeypatch, postings=postings, scored=4)
            assert _search(session, query, access.CURATOR)[0][0] == secret.id
            staff = _search(session, query, access.STAFF)
            # With the viewer's ids known up front, or only checked in SQL at the end.
            ids = sorted(
                i for i in session.exec(access.visible_lesson_ids(access.STAFF)) if i is not None
            )
            known = _search(session, query, access.STAFF, allowed_ids=np.array(ids, np.int64))
            assert staff and known
            assert secret.id not in {i for i, _ in staff} | {i for i, _ in known}
            monkeypatch.undo()


def test_corpus_statistics_are_fts5s(engine: Engine) -> None:
    with Session(engine) as session:
        _bank(session, n=30)
        connection = session.connection()
        stats = fts5_index.corpus(connection)
        lengths = [
            sum(fts5_index.varints(blob))
            for (blob,) in connection.exec_driver_sql("SELECT sz FROM lesson_fts_docsize")
        ]
    assert stats.lessons == 30 == len(lengths)
    assert stats.average_length == pytest.approx(sum(lengths) / 30)


def test_varints_read_sqlites_encoding() -> None:
    assert fts5_index.varints(bytes([0x05, 0x81, 0x00, 0xFF, 0x7F])) == [5, 128, 16383]
    nine = bytes([0xFF] * 8 + [0x01])  # the ninth byte carries eight bits
    assert fts5_index.varints(nine) == [(2**56 - 1) << 8 | 1]


def test_column_sizes_read_many_varints_at_once() -> None:
    values = [0, 1, 127, 128, 300, 16383, 16384, 2**40 + 5]
    blob = b""
    for value in values:  # SQLite's encoding, most significant group first
        groups = [value & 0x7F]
        value >>= 7
        while value:
            groups.append(0x80 | (value & 0x7F))
            value >>= 7
        blob += bytes(reversed(groups))
    assert fts5_index.varints(blob) == values
    assert fts5_index.column_sizes(blob).tolist() == values


def test_index_terms_are_the_indexs_own_stems(engine: Engine) -> None:
    with Session(engine) as session:
        terms = fts5_index.index_terms(session.connection(), ["valves", "Connectors", "loading"])
    assert terms == ["valv", "connector", "load"]


def test_a_new_word_is_found_at_once_however_little_the_bank_changed(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counts of rare terms are never kept: a word counted as absent, then given to a lesson
    by an edit (the bank's size unchanged), is found by the next search."""
    with Session(engine) as session:
        _bank(session, n=40)
        _bounded(monkeypatch, postings=10_000, scored=4)
        before = _search(session, "zeppelin valve")  # zeppelin counted: in no lesson
        lesson = session.get(Lesson, 7)
        assert lesson is not None
        catalogue.update_lesson(
            session, lesson=lesson, patch=LessonPatch(title="Zeppelin mast"), by_curator=True
        )
        assert before[0][0] != 7
        assert _search(session, "zeppelin valve")[0][0] == 7


def test_common_terms_counts_are_kept_while_the_bank_barely_changes(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bm25_bounded, "CANDIDATE_POSTINGS", 5)  # "common": in more than 5 lessons
    with Session(engine) as session:
        _bank(session, n=30)
        connection = session.connection()
        size = fts5_index.corpus(connection).lessons
        counted = bm25_caches.frequencies.get(connection, size, ["valve", "zeppelin"])
        assert counted["valve"] > 5 and counted["zeppelin"] == 0
        _add(session, "Zeppelin valve", "zeppelin valve")
        # Within the drift allowed: the common count is the kept one, the rare one is fresh.
        again = bm25_caches.frequencies.get(connection, size, ["valve", "zeppelin"])
        assert again == {"valve": counted["valve"], "zeppelin": 1}
        # Beyond it (one lesson in 31 is over 0.1%), everything is counted again.
        grown = bm25_caches.frequencies.get(connection, size + 1, ["valve"])
        assert grown["valve"] == counted["valve"] + 1


# --- the viewer's own statistics (issue 11 item 3) ------------------------------------------------

VIEWERS = {"staff": access.STAFF, "anonymous": access.PUBLIC}
SENSITIVITIES = [Sensitivity.PUBLIC, Sensitivity.INTERNAL, Sensitivity.RESTRICTED]


def _mixed_bank(session: Session, n: int = 80, seed: int = 5) -> None:
    """As `_bank`, each lesson public, internal or restricted."""
    rng = random.Random(seed)
    for _ in range(n):
        title = " ".join(rng.choices(WORDS, k=rng.randint(2, 5)))
        body = " ".join(rng.choices(WORDS, k=rng.randint(5, 60)))
        _add(session, title.capitalize(), body, sensitivity=rng.choice(SENSITIVITIES))


def _direct_bm25(session: Session, query: str, viewer: access.Viewer) -> dict[int, float]:
    """BM25 written out from FTS5's documentation over the lessons `viewer` may see, read
    straight from the index: k1 1.2, b 0.75, title / body / tags weighed 4 / 1 / 2; IDF
    log((N - n + 0.5) / (n + 0.5)), or 1e-6 where that is not positive."""
    connection = session.connection()
    visible = {i for i in session.exec(access.visible_lesson_ids(viewer)) if i is not None}
    terms = set(fts5_index.index_terms(connection, lexical.query_words(query)))
    connection.exec_driver_sql(
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.direct USING fts5vocab(main, lesson_fts, instance)"
    )
    weight = {"title": 4.0, "body": 1.0, "tags": 2.0}
    f: dict[int, dict[str, float]] = {}
    for term, doc, column in connection.exec_driver_sql("SELECT term, doc, col FROM temp.direct"):
        if term in terms and doc in visible:
            f.setdefault(doc, {}).setdefault(term, 0.0)
            f[doc][term] += weight[column]
    length = {
        doc: sum(fts5_index.varints(blob))
        for doc, blob in connection.exec_driver_sql("SELECT id, sz FROM lesson_fts_docsize")
        if doc in visible
    }
    n, average = len(visible), sum(length.values()) / len(visible)
    df = {t: sum(1 for counts in f.values() if t in counts) for t in terms}
    idf = {t: math.log((n - df[t] + 0.5) / (df[t] + 0.5)) for t in terms}
    idf = {t: v if v > 0 else 1e-6 for t, v in idf.items()}
    return {
        doc: sum(
            idf[t] * c * 2.2 / (c + 1.2 * (1 - 0.75 + 0.75 * length[doc] / average))
            for t, c in counts.items()
        )
        for doc, counts in f.items()
    }


@pytest.mark.parametrize("ranker", ["memory", "exact", "bounded"])
@pytest.mark.parametrize("viewer", VIEWERS)
def test_scores_are_bm25_over_the_lessons_the_viewer_may_see(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, ranker: str, viewer: str
) -> None:
    with Session(engine) as session:
        _mixed_bank(session)
        if ranker == "exact":  # FTS5 read per query
            monkeypatch.setattr(lexical, "IN_MEMORY", False)
        if ranker == "bounded":
            _bounded(monkeypatch, postings=10_000, scored=100)
        for query in QUERIES:
            want = _direct_bm25(session, query, VIEWERS[viewer])
            found = _search(session, query, VIEWERS[viewer], limit=200)
            assert found, query
            assert {i for i, _ in found} == set(want), query
            for lesson_id, score in found:
                assert score == pytest.approx(want[lesson_id], rel=1e-9), (query, lesson_id)


@pytest.mark.parametrize("postings", [10_000, 3])
def test_a_hidden_lesson_holding_the_words_moves_no_score(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, postings: int
) -> None:
    """A restricted lesson (and, for anonymous, an internal one) full of the query's words
    changes no score or rank a contributor or an anonymous visitor gets, on either path (3
    postings: the bounded ranker narrowed to the rarest terms together)."""
    with Session(engine) as session:
        _mixed_bank(session)
        if postings < 10_000:
            _bounded(monkeypatch, postings=postings, scored=4)
        before = {(v, q): _search(session, q, VIEWERS[v]) for v in VIEWERS for q in QUERIES}
        text = " ".join(QUERIES)
        _add(session, "Valve valve thruster", text, sensitivity=Sensitivity.RESTRICTED)
        _add(session, "Sensor valve", text * 3, sensitivity=Sensitivity.RESTRICTED)
        after = {(v, q): _search(session, q, VIEWERS[v]) for v in VIEWERS for q in QUERIES}
        assert after == before
        _add(session, "Sensor valve", text, sensitivity=Sensitivity.INTERNAL)
        for query in QUERIES:
            key = ("anonymous", query)
            assert _search(session, query, access.PUBLIC) == before[key]
            assert _search(session, query, access.STAFF) != before[("staff", query)]


def test_a_viewer_who_sees_every_lesson_gets_fts5s_own_bm25(engine: Engine) -> None:
    with Session(engine) as session:
        _mixed_bank(session)
        connection = session.connection()
        for query in QUERIES:
            expression = " OR ".join(
                f'"{t}"'
                for t in dict.fromkeys(
                    fts5_index.index_terms(connection, lexical.query_words(query))
                )
            )
            fts5 = dict(
                connection.exec_driver_sql(
                    "SELECT rowid, -bm25(lesson_fts, 4.0, 1.0, 2.0) FROM lesson_fts "
                    "WHERE lesson_fts MATCH ?",
                    (expression,),
                ).all()
            )
            found = dict(_search(session, query, access.CURATOR, limit=200))
            assert found.keys() == fts5.keys()
            for lesson_id, score in found.items():
                assert score == pytest.approx(fts5[lesson_id], rel=1e-9)


def test_a_filter_narrows_the_lessons_not_their_scores(engine: Engine) -> None:
    """With the viewer's whole collection counted, a filtered search gives each lesson the
    score the unfiltered one gives it."""
    with Session(engine) as session:
        _mixed_bank(session)
        every = sorted(i for i in session.exec(access.visible_lesson_ids(access.STAFF)) if i)
        counted = np.array(every, np.int64)
        narrowed = counted[::2]
        for query in QUERIES:
            whole = dict(_search(session, query, access.STAFF, limit=200))
            found = lexical.search(
                session,
                query,
                allowed=access.visible_lesson_ids(access.STAFF),
                limit=200,
                allowed_ids=narrowed,
                collection_ids=counted,
            )
            assert found and {i for i, _ in found} <= set(narrowed.tolist())
            assert {i: whole[i] for i, _ in found} == dict(found)


@pytest.mark.parametrize("ranker", ["memory", "exact", "bounded"])
def test_statistics_follow_an_edit_at_once(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, ranker: str
) -> None:
    """The viewer's statistics are kept with their allowed ids, but only for one snapshot of
    the lessons: an edit that lengthens a lesson and gives it a new word, searched with the
    same ids array, is counted by the next search."""
    with Session(engine) as session:
        _mixed_bank(session)
        if ranker == "exact":  # FTS5 read per query
            monkeypatch.setattr(lexical, "IN_MEMORY", False)
        if ranker == "bounded":
            _bounded(monkeypatch, postings=10_000, scored=100)
        ids = np.array(
            sorted(i for i in session.exec(access.visible_lesson_ids(access.STAFF)) if i),
            np.int64,
        )
        query = "zeppelin valve sensor"
        assert _search(session, query, access.STAFF, allowed_ids=ids)
        lesson = session.get(Lesson, int(ids[0]))
        assert lesson is not None
        patch = LessonPatch(observation="Zeppelin valve sensor " + "margin " * 200)
        catalogue.update_lesson(session, lesson=lesson, patch=patch, by_curator=True)
        want = _direct_bm25(session, query, access.STAFF)
        found = dict(_search(session, query, access.STAFF, limit=200, allowed_ids=ids))
        assert found.keys() == want.keys() and lesson.id in found
        assert found == pytest.approx(want, rel=1e-9)


def test_hidden_lessons_do_not_choose_the_ranking_path(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Which path ranks (exact, or bounded candidates) is decided by the viewer's counts: a
    bank larger than the limit only through hidden lessons is ranked exactly for staff."""
    with Session(engine) as session:
        _mixed_bank(session)
        staff = len([i for i in session.exec(access.visible_lesson_ids(access.STAFF))])
        monkeypatch.setattr(lexical, "IN_MEMORY", False)  # the paths that read FTS5 per query
        monkeypatch.setattr(lexical, "EXACT_LIMIT", staff)
        bounded: list[int] = []
        candidates = bm25_bounded.candidates
        monkeypatch.setattr(
            bm25_bounded, "candidates", lambda *a, **k: bounded.append(1) or candidates(*a, **k)
        )
        assert _search(session, "valve sensor", access.STAFF)
        assert not bounded
        assert _search(session, "valve sensor", access.CURATOR)
        assert bounded  # the curator sees more than the limit


def test_an_empty_bank_finds_nothing(engine: Engine) -> None:
    with Session(engine) as session:
        assert _search(session, "valve") == []
        _add(session, "Gate valve", "", sensitivity=Sensitivity.RESTRICTED)
        assert _search(session, "valve", access.STAFF) == []
