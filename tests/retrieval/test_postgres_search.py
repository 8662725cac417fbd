"""Search on a real PostgreSQL with pgvector (migration 0012, `retrieval.backends.postgres`):
lexical matches in hybrid search, the full-text rows kept in step by the database, access
filtered inside the SQL even where HNSW's candidate list is full of hidden lessons, and two
processes seeing each other's lessons without a restart."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from lessons.accounts import access
from lessons.capture import service as capture
from lessons.schemas import LessonIn
from lessons.storage.db import make_engine, transaction
from lessons.storage.models import Lesson, LessonEmbedding, LessonStatus, Sensitivity
from retrieval.backends import postgres
from retrieval.embedder import HashingEmbedder
from retrieval.service import Retriever

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_url)
    yield engine
    engine.dispose()


def _add(session: Session, title: str, **kw: object) -> Lesson:
    status = kw.pop("status", LessonStatus.VALIDATED)
    return capture.add_lesson(
        session,
        data=LessonIn(title=title, **kw),  # type: ignore[arg-type]
        project=None,
        review=None,
        author=None,
        actor="t",
        status=status,  # type: ignore[arg-type]
    )


def test_hybrid_search_on_postgres_finds_lessons_by_their_words(pg_engine: Engine) -> None:
    """On PostgreSQL hybrid search used to be dense search alone (the lexical side returned
    nothing): a lesson sharing the brief's rare word must come back with a BM25 score."""
    retriever = Retriever(HashingEmbedder())
    with transaction(pg_engine, write=True) as session:
        wanted = _add(
            session,
            "Cryogenic valves froze during the countdown",
            observation="The valves iced over.",
        )
        for n in range(8):
            _add(session, f"Schedule slipped in phase {n}", observation="Reviews came late.")
    retriever.sync_committed(pg_engine)
    with transaction(pg_engine) as session:
        hits = retriever.search(session, "cryogenic valve icing", viewer=access.STAFF)
        lexical = retriever.search(
            session, "cryogenic valve icing", viewer=access.STAFF, mode="lexical"
        )
    by_id = {h.lesson.id: h.components for h in hits}
    assert wanted.id in by_id
    assert (by_id[wanted.id].lexical or 0) > 0 and by_id[wanted.id].lexical_rank == 1
    assert [h.lesson.id for h in lexical] == [wanted.id]


def test_postgres_bm25_matches_sqlite_bm25(pg_engine: Engine, engine: Engine) -> None:
    """The same lessons score alike on both backends (FTS5's formula and field weights; the
    words here stem alike under Porter and PostgreSQL's English stemmer)."""
    lessons = [
        ("Pump seals leaked under pressure", "Seals were the wrong grade.", ["pumps"]),
        ("Leaked telemetry hid a fault", "The pump fault went unseen.", ["telemetry"]),
        ("Crew training before launch", "Training ran late; pressure built.", ["training"]),
        ("Seal inspections", "Inspect every seal before the pressure test.", ["seals"]),
    ]
    scores = {}
    for name, bank in (("postgres", pg_engine), ("sqlite", engine)):
        retriever = Retriever(HashingEmbedder())
        with transaction(bank, write=True) as session:
            for title, observation, tags in lessons:
                _add(session, title, observation=observation, tags=tags)
        retriever.sync_committed(bank)
        with transaction(bank) as session:
            retriever.refresh(session)
            hits = retriever.search(
                session, "seal pressure pump", viewer=access.STAFF, mode="lexical"
            )
        scores[name] = [(h.lesson.title, round(h.components.lexical or 0, 6)) for h in hits]
    assert scores["postgres"] == scores["sqlite"]
    assert len(scores["postgres"]) == 4


def test_hidden_lessons_move_no_bm25_score(pg_engine: Engine) -> None:
    """BM25's statistics are the viewer's own: restricted lessons holding the word, added
    later, change nothing a staff member is shown."""
    retriever = Retriever(HashingEmbedder())
    with transaction(pg_engine, write=True) as session:
        _add(session, "Antenna deployment jammed", observation="A hinge bound.")
        _add(session, "Launch slipped", observation="Weather.")
    retriever.sync_committed(pg_engine)
    with transaction(pg_engine) as session:
        before = retriever.search(session, "antenna hinge", viewer=access.STAFF, mode="lexical")
    with transaction(pg_engine, write=True) as session:
        for n in range(5):
            _add(session, f"Antenna {n}", sensitivity=Sensitivity.RESTRICTED)
    retriever.sync_committed(pg_engine)
    with transaction(pg_engine) as session:
        after = retriever.search(session, "antenna hinge", viewer=access.STAFF, mode="lexical")
        curator = retriever.search(session, "antenna hinge", viewer=access.CURATOR, mode="lexical")
    assert len(before) == 1
    assert [(h.lesson.id, h.components.lexical) for h in after] == [
        (h.lesson.id, h.components.lexical) for h in before
    ]
    assert len(curator) == 6


def test_full_text_rows_are_kept_in_step_by_the_database(pg_engine: Engine) -> None:
    def document(session: Session, lesson_id: int | None) -> str | None:
        return (
            session.connection()
            .exec_driver_sql(
                "SELECT document::text FROM lesson_search WHERE lesson_id = %(i)s", {"i": lesson_id}
            )
            .scalar()
        )

    with transaction(pg_engine, write=True) as session:
        lesson = _add(session, "Valves froze", observation="Heaters failed.", tags=["cold-soak"])
        found = document(session, lesson.id)
        assert found is not None
        assert "'valv':1A" in found and "'heater':3" in found  # title A, body D (unlabelled)
        assert "'cold':5B" in found and "'soak':6B" in found  # tags B
        # Any writer, the app or not: plain SQL here.
        session.flush()
        run = session.connection().exec_driver_sql
        run("UPDATE lesson SET title = 'Pumps stalled' WHERE id = %(i)s", {"i": lesson.id})
        run("DELETE FROM lesson_tag WHERE lesson_id = %(i)s", {"i": lesson.id})
        edited = document(session, lesson.id) or ""
        assert "'pump':1A" in edited and "valv" not in edited and "cold" not in edited
        run("INSERT INTO lesson_tag (lesson_id, tag) VALUES (%(i)s, 'ice')", {"i": lesson.id})
        assert "'ice':5B" in (document(session, lesson.id) or "")
        run("DELETE FROM lesson WHERE id = %(i)s", {"i": lesson.id})
        assert document(session, lesson.id) is None


def _vector(rng: np.random.Generator, near: np.ndarray | None = None, spread: float = 1.0):
    """A unit 384-d vector (the HNSW index's dimension), near `near` when given."""
    v = rng.normal(size=384).astype(np.float32)
    if near is not None:
        v = near + spread * v / np.sqrt(384)
    return (v / np.linalg.norm(v)).astype(np.float32)


def test_filtered_hnsw_search_returns_k_visible_lessons_when_hidden_ones_are_nearer(
    pg_engine: Engine,
) -> None:
    """Many restricted lessons nearer the query than any visible one: the HNSW index's
    candidate list (ef_search) holds only hidden lessons, yet the search returns k visible
    lessons and no hidden one ever leaves the database."""
    rng = np.random.default_rng(3)
    query = _vector(rng)
    model = "hnsw-test"
    with transaction(pg_engine, write=True) as session:
        rows = []
        for n in range(400):
            hidden = n < 300
            lesson = _add(
                session,
                f"Lesson {n}",
                sensitivity=Sensitivity.RESTRICTED if hidden else Sensitivity.PUBLIC,
            )
            vector = _vector(rng, query, 0.3) if hidden else _vector(rng, query, 3.0)
            rows.append(
                LessonEmbedding(
                    lesson_id=lesson.id or 0,
                    model=model,
                    dim=384,
                    content_hash="x",
                    vector=vector.tobytes(),
                )
            )
        session.add_all(rows)
        session.flush()
        assert postgres.fill_missing_vectors(session) == 400
        visible = {
            i
            for (i,) in session.connection().exec_driver_sql(
                "SELECT id FROM lesson WHERE sensitivity = 'public'"
            )
        }
    backend = postgres.PostgresSearch(model, 384, ef_search=10)
    with transaction(pg_engine) as session:
        scope = backend.scope(session, access.STAFF, None)
        plan = "\n".join(
            row[0]
            for row in session.connection().exec_driver_sql(
                "EXPLAIN SELECT lesson_id FROM lesson_embedding WHERE dim = 384 "
                "ORDER BY embedding::vector(384) <=> %(q)s::vector(384) LIMIT 10",
                {"q": postgres.vector_literal(query)},
            )
        )
        found = backend.dense(session, query, scope, 10)
        # pgvector's iterative scan alone finds them, without the exact fallback.
        indexed = backend._nearest(session, query, scope, 10, None, indexed=True)
        curator = backend.dense(session, query, backend.scope(session, access.CURATOR, None), 10)
    assert "ix_lesson_embedding_hnsw" in plan
    assert len(found) == 10
    assert indexed == found
    assert {i for i, _ in found} <= visible
    exact = sorted(visible, key=lambda i: -float(_stored(pg_engine, i) @ query))[:10]
    assert len(set(exact) & {i for i, _ in found}) >= 9  # approximate, and nearly exact
    assert not {i for i, _ in curator} & visible  # the curator's nearest are the hidden ones


def _stored(engine: Engine, lesson_id: int) -> np.ndarray:
    with Session(engine) as session:
        row = session.get(LessonEmbedding, lesson_id)
        assert row is not None
        return np.frombuffer(row.vector, np.float32)


_OTHER_PROCESS = """
import sys
from lessons.storage.db import make_engine, transaction
from lessons.capture import service as capture
from lessons.schemas import LessonIn
from lessons.storage.models import LessonStatus
from retrieval.embedder import HashingEmbedder
from retrieval.service import Retriever

engine = make_engine(sys.argv[1])
with transaction(engine, write=True) as session:
    lesson = capture.add_lesson(
        session, data=LessonIn(title="Flywheel bearings overheated on the test stand"),
        project=None, review=None, author=None, actor="other", status=LessonStatus.VALIDATED,
    )
    lesson_id = lesson.id
Retriever(HashingEmbedder()).sync_committed(engine, ids=[lesson_id])
print(lesson_id)
"""


def test_two_processes_see_each_others_new_lessons_without_restart(
    pg_engine: Engine, pg_url: str
) -> None:
    retriever = Retriever(HashingEmbedder())
    with transaction(pg_engine, write=True) as session:
        _add(session, "Launch slipped for weather")
    retriever.sync_committed(pg_engine)
    with transaction(pg_engine) as session:
        retriever.refresh(session)
        before = retriever.search(session, "flywheel bearings", viewer=access.STAFF)
        assert [h.lesson.title for h in before] == ["Launch slipped for weather"]
    made = subprocess.run(
        [sys.executable, "-c", _OTHER_PROCESS, pg_url],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        timeout=120,
        check=True,
    )
    new_id = int(made.stdout.split()[-1])
    with transaction(pg_engine) as session:
        hybrid = retriever.search(session, "flywheel bearings", viewer=access.STAFF)
        dense = retriever.search(session, "flywheel bearings", viewer=access.STAFF, mode="dense")
    assert hybrid and hybrid[0].lesson.id == new_id
    assert hybrid[0].components.lexical is not None
    assert dense and dense[0].lesson.id == new_id


def test_migration_0012_adds_only_search_own_objects_to_the_models_schema(
    pg_engine: Engine,
) -> None:
    """What migration 0012 adds on PostgreSQL (full-text tables, the pgvector column, their
    indexes) is search's own, left out when the schema is compared with the models."""
    import pgvector.sqlalchemy  # noqa: F401  (PostgreSQL's vector type, read back)
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    from lessons.storage import fulltext

    with pg_engine.connect() as connection:
        names = {
            row[0]
            for row in connection.exec_driver_sql(
                "SELECT indexname FROM pg_indexes WHERE indexname IN "
                "('ix_lesson_embedding_hnsw', 'ix_lesson_access', 'ix_lesson_term_term')"
            )
        }
        context = MigrationContext.configure(
            connection,
            opts={
                "include_name": lambda name, type_, parents: (
                    not fulltext.is_own(name, type_, parents)
                )
            },
        )
        diff = compare_metadata(context, SQLModel.metadata)
    assert len(names) == 3
    own = ("lesson_search", "lesson_term", "embedding", "ix_lesson_")
    assert [change for change in diff if any(name in str(change) for name in own)] == []
