"""The retriever's bookkeeping (what gets embedded, when the index refreshes, filtering before
ranking). Ranking quality with the real model is tested in test_bar_model.py."""

from __future__ import annotations

import sqlite3
import tracemalloc

import numpy as np
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from lessons.accounts import access
from lessons.capture import service as capture
from lessons.catalogue import service as catalogue
from lessons.curation import lifecycle
from lessons.schemas import LessonIn, LessonPatch
from lessons.storage.models import LessonEmbedding, LessonStatus
from retrieval import service
from retrieval.embedder import HASHING, HashingEmbedder
from retrieval.explain import explain
from retrieval.service import Mode, Retriever


class CountingEmbedder(HashingEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.texts = 0

    def encode(self, texts: list[str]):  # type: ignore[no-untyped-def]
        self.texts += len(texts)
        return super().encode(texts)


def _add(session: Session, title: str, **kw: object) -> object:
    status = kw.pop("status", LessonStatus.VALIDATED)
    return capture.add_lesson(
        session,
        data=LessonIn(title=title, **kw),
        project=None,
        review=None,
        author=None,  # type: ignore[arg-type]
        actor="t",
        status=status,  # type: ignore[arg-type]
    )


def test_sync_embeds_once_and_again_only_when_text_changes(engine: Engine) -> None:
    embedder = CountingEmbedder()
    retriever = Retriever(embedder)
    with Session(engine) as session:
        lesson = _add(session, "Order fridges early", observation="Fridges came late.")
        _add(session, "Brief councillors early")
        assert retriever.sync(session) == 2
        assert retriever.sync(session) == 0
        lifecycle.transition(session, lesson=lesson, to=LessonStatus.ACTIONED, actor="t")  # type: ignore[arg-type]
        assert retriever.sync(session) == 0  # a status change is not a text change
        catalogue.update_lesson(  # type: ignore[arg-type]
            session, lesson=lesson, patch=LessonPatch(insight="Lead time."), by_curator=True
        )
        assert retriever.sync(session) == 1
        session.commit()
    # Each lesson and its one sentence (the title, for the lesson without a body), then the
    # edited lesson and its two sentences again.
    assert embedder.texts == 2 * 2 + 3
    # A new process with the same model finds every vector already stored.
    fresh = Retriever(CountingEmbedder())
    with Session(engine) as session:
        assert fresh.sync(session) == 0
        fresh.refresh(session)
    assert len(fresh.index) == 2


def test_model_change_re_embeds(engine: Engine) -> None:
    with Session(engine) as session:
        _add(session, "Order fridges early")
        Retriever(HashingEmbedder(dim=64)).sync(session)
        other = HashingEmbedder(dim=32)
        other.name = "another-model"
        assert Retriever(other).sync(session) == 1
        rows = session.exec(select(LessonEmbedding)).all()
        assert [(r.model, r.dim) for r in rows] == [("another-model", 32)]


def test_refresh_sees_lessons_added_by_another_session(engine: Engine) -> None:
    retriever = Retriever(HashingEmbedder())
    with Session(engine) as session:
        retriever.refresh(session)
        assert len(retriever.index) == 0
    with Session(engine) as writer:  # e.g. a CLI import while the app serves
        lesson = _add(writer, "Sandbags must be pre-positioned before the flood season")
        Retriever(HashingEmbedder()).embed_lessons(writer, [lesson])  # type: ignore[list-item]
        writer.commit()
    with Session(engine) as session:
        hits = retriever.search(session, "sandbags flood", viewer=access.STAFF)
    assert [h.lesson.title for h in hits] == [
        "Sandbags must be pre-positioned before the flood season"
    ]


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_restricted_lesson_that_would_rank_first_is_never_returned(
    engine: Engine, mode: Mode
) -> None:
    retriever = Retriever(HashingEmbedder())
    with Session(engine) as session:
        _add(session, "Vaccine fridges cold chain procurement", sensitivity="restricted")
        _add(session, "Vaccine outreach volunteers", sensitivity="internal")
        _add(session, "Vaccine outreach radio", sensitivity="public")
        retriever.sync(session)
        session.commit()
        query = "vaccine fridges cold chain procurement"

        def titles(viewer: access.Viewer) -> list[str]:
            hits = retriever.search(session, query, viewer=viewer, mode=mode)
            return [h.lesson.title for h in hits]

        staff, public, curator = titles(access.STAFF), titles(access.PUBLIC), titles(access.CURATOR)
    assert "Vaccine fridges cold chain procurement" not in staff
    assert public == ["Vaccine outreach radio"]
    assert curator[0] == "Vaccine fridges cold chain procurement"


def test_search_defaults_to_trusted_statuses(engine: Engine) -> None:
    retriever = Retriever(HashingEmbedder())
    with Session(engine) as session:
        _add(session, "Fresh fridge lesson", status=LessonStatus.IDENTIFIED)
        _add(session, "Rejected fridge lesson", status=LessonStatus.REJECTED)
        _add(session, "Validated fridge lesson")
        retriever.sync(session)
        titles = [h.lesson.title for h in retriever.search(session, "fridge", viewer=access.STAFF)]
    assert titles == ["Validated fridge lesson"]


def test_similar_excludes_the_lesson_itself(engine: Engine) -> None:
    retriever = Retriever(HashingEmbedder())
    with Session(engine) as session:
        first = _add(session, "Order fridges early for the vaccine campaign")
        _add(session, "Order vaccine fridges early")
        retriever.sync(session)
        hits = retriever.similar(session, first, viewer=access.STAFF)  # type: ignore[arg-type]
    assert [h.lesson.title for h in hits] == ["Order vaccine fridges early"]


def test_hybrid_components_and_near_copies_are_reported(engine: Engine) -> None:
    retriever = Retriever(HashingEmbedder())
    with Session(engine) as session:
        _add(session, "Order vaccine fridges early", observation="Fridges came late.")
        _add(session, "Order vaccine fridges early.", observation="Fridges came late!")
        _add(session, "Train the cold chain technicians", observation="Fridges broke.")
        retriever.sync(session)
        hits = retriever.search(session, "vaccine fridges late", viewer=access.STAFF)
    assert len(hits) == 2  # the two copies fold into one result
    first = hits[0].components
    assert first.dense_rank is not None and first.lexical_rank is not None
    assert len(first.hidden_copies) == 1
    assert hits[0].score == pytest.approx(first.fused, abs=1e-5)


def test_refresh_drops_deleted_lessons_from_the_index(engine: Engine) -> None:
    retriever = Retriever(HashingEmbedder())
    with Session(engine) as session:
        doomed = _add(session, "Short-lived lesson")
        _add(session, "Long-lived lesson")
        retriever.sync(session)
        retriever.refresh(session)
        assert len(retriever.index) == 2
        session.delete(doomed)
        session.commit()
        retriever.refresh(session)
    assert len(retriever.index) == 1


def test_index_load_streams_stored_vectors_in_batches(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At start-up every stored vector is read into the index; they are read a batch at a time,
    never all held as Python objects at once (a million lessons would take gigabytes)."""
    n, dim = 6000, 256
    rng = np.random.default_rng(5)
    vectors = rng.standard_normal((n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    # Vectors alone, as raw rows: the index load reads nothing else.
    con = sqlite3.connect(engine.url.database or "")
    con.execute("PRAGMA foreign_keys=OFF")
    con.executemany(
        "INSERT INTO lesson_embedding (lesson_id, model, dim, content_hash, vector, updated_at) "
        "VALUES (?, ?, ?, '', ?, '2026-01-01 00:00:00.000000')",
        [(i + 1, HASHING, dim, vectors[i].tobytes()) for i in range(n)],
    )
    con.commit()
    con.close()
    monkeypatch.setattr(service, "_LOAD_BATCH", 100)
    retriever = Retriever(HashingEmbedder(dim))
    with Session(engine) as session:
        tracemalloc.start()
        try:
            retriever.refresh(session)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert len(retriever.index) == n
    assert np.allclose(retriever.index.vectors([1, n]), vectors[[0, n - 1]], atol=1e-3)
    # Buffered, the 6 MB of vector bytes alone would be traced; streamed, about one batch is.
    assert peak < n * dim * 4 / 3, peak


def test_a_refresh_while_the_brief_is_embedded_does_not_use_a_stale_mask(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dense side runs in a worker; when another request refreshes the index meanwhile
    (rows added, so the mask taken before no longer lines up), it is ranked again afresh."""
    retriever = Retriever(HashingEmbedder())
    with Session(engine) as session:
        first = _add(session, "Order fridges early", observation="Fridges came late.")
        retriever.sync(session)
        session.commit()
        assert len(retriever.search(session, "fridges", viewer=access.STAFF)) == 1
    embed, mask_of = retriever.embed_query, retriever.index.mask_of
    added: list[int] = []
    masks: list[int] = []

    def embed_while_another_request_adds_a_lesson(text: str) -> np.ndarray:
        if not added:
            with Session(engine) as other:
                later = _add(other, "Fridges need a spare thermometer")
                retriever.sync(other)
                other.commit()
                retriever.refresh(other)
                added.append(later.id)  # type: ignore[attr-defined]
        return embed(text)

    def recorded(allowed: np.ndarray) -> np.ndarray:
        masks.append(len(retriever.index))
        return mask_of(allowed)

    monkeypatch.setattr(retriever, "embed_query", embed_while_another_request_adds_a_lesson)
    monkeypatch.setattr(retriever.index, "mask_of", recorded)
    with Session(engine) as session:
        hits = retriever.search(session, "fridges", viewer=access.STAFF, mode="dense")
        assert added and len(retriever.index) == 2
        # The worker made its mask again, for the grown index. The new lesson is not among
        # the hits: this search's transaction began before it was committed.
        assert masks[-1] == 2
        assert [h.lesson.id for h in hits] == [first.id]  # type: ignore[attr-defined]
        session.rollback()
        # A search begun after it finds both.
        found = retriever.search(session, "fridges", viewer=access.STAFF, mode="dense")
    assert {h.lesson.id for h in found} == {first.id, *added}  # type: ignore[attr-defined]


def test_a_search_in_an_older_snapshot_keeps_the_newer_index(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request whose transaction began before another request refreshed the index neither
    reloads the index back to its snapshot nor leaves its masks for newer requests."""
    retriever = Retriever(HashingEmbedder())
    with Session(engine) as session:
        first_id = _add(session, "Order fridges early", observation="Fridges came late.").id  # type: ignore[attr-defined]
        retriever.sync(session)
        session.commit()
    loads: list[int] = []
    load = retriever._load
    monkeypatch.setattr(retriever, "_load", lambda *a: loads.append(1) or load(*a))
    with Session(engine) as old:
        assert len(retriever.search(old, "fridges", viewer=access.STAFF)) == 1  # loads once
        with Session(engine) as other:
            later_id = _add(other, "Fridges need a spare thermometer").id  # type: ignore[attr-defined]
            retriever.sync(other)
            other.commit()
            assert len(retriever.search(other, "fridges", viewer=access.STAFF)) == 2
        assert len(loads) == 2 and len(retriever.index) == 2
        hits = retriever.search(old, "fridges", viewer=access.STAFF)  # the older snapshot
        assert [h.lesson.id for h in hits] == [first_id]
        assert len(loads) == 2 and len(retriever.index) == 2  # nothing reloaded
    with Session(engine) as new:
        found = retriever.search(new, "fridges", viewer=access.STAFF)
    assert {h.lesson.id for h in found} == {first_id, later_id}


# A lesson whose first sentence shares the brief's words and whose second says what the brief
# means in other words.
_COLD_CHAIN = (
    "Transport to the remote clinics was booked by the district office. "
    "Vaccines spoiled because the cooler boxes lost their temperature on long drives."
)
_COLD_BRIEF = "jabs going bad from heat on the trip to the clinics"


def test_a_paraphrased_brief_is_explained_by_the_sentence_closest_in_meaning(
    engine: Engine, real_embedder: object
) -> None:
    with Session(engine) as session:
        _add(session, "Cooler boxes on long drives", observation=_COLD_CHAIN)
        retriever = Retriever(real_embedder)  # type: ignore[arg-type]
        retriever.sync(session)
        [hit] = retriever.search(session, _COLD_BRIEF, viewer=access.CURATOR, limit=1)
    assert hit.why.best_sentence.startswith("Vaccines spoiled")
    # Shared words alone would have shown the other sentence.
    assert explain(hit.lesson, _COLD_BRIEF).best_sentence.startswith("Transport")


def test_the_sentence_shown_does_not_change_when_other_lessons_arrive(
    engine: Engine, real_embedder: object
) -> None:
    retriever = Retriever(real_embedder)  # type: ignore[arg-type]
    with Session(engine) as session:
        lesson = _add(session, "Cooler boxes on long drives", observation=_COLD_CHAIN)
        retriever.sync(session)
        before = _shown_for(retriever, session, lesson.id)  # type: ignore[attr-defined]
        for n in range(12):
            _add(
                session,
                f"Cold chain note {n}",
                observation=f"Cooler boxes kept doses cold on drive {n}. The clinics were remote.",
            )
        retriever.sync(session)
        after = _shown_for(retriever, session, lesson.id)  # type: ignore[attr-defined]
    assert before == after


def _shown_for(retriever: Retriever, session: Session, lesson_id: int) -> str:
    hits = retriever.search(session, _COLD_BRIEF, viewer=access.CURATOR, limit=20)
    return next(h.why.best_sentence for h in hits if h.lesson.id == lesson_id)


def test_explaining_results_runs_the_model_on_the_brief_alone(engine: Engine) -> None:
    embedder = CountingEmbedder()
    retriever = Retriever(embedder)
    with Session(engine) as session:
        for n in range(15):
            _add(session, f"Fridges {n}", observation=f"Fridges came late {n}. Order early.")
        retriever.sync(session)
        embedder.texts = 0
        hits = retriever.search(session, "fridges late", viewer=access.CURATOR, limit=10)
    assert len(hits) == 10
    assert embedder.texts == 1  # the brief; every sentence vector was stored at sync
