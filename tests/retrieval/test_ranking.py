"""The shipped ranking's mechanisms (hashing embedder): passage vectors kept with the lesson,
scores on one absolute scale, match bands, the floor for briefs without words, explanations
without filler words. Ranking quality with the real model is in test_bar_model.py; people
ranked by relevance in tests/lessons/bar/test_reading.py."""

from __future__ import annotations

import numpy as np
from sqlalchemy import Engine
from sqlmodel import Session, select

from lessons.accounts import access
from lessons.capture import service as capture
from lessons.catalogue import service as catalogue
from lessons.schemas import LessonIn, LessonPatch
from lessons.storage.models import Lesson, LessonPassages, LessonSentences, LessonStatus
from retrieval.embedder import HashingEmbedder, Vectors
from retrieval.explain import explain
from retrieval.fusion import Candidate, RankingParams, combine
from retrieval.service import Retriever
from tests.conftest import Client


class ShortWindowEmbedder(HashingEmbedder):
    """Reads 20 words whole, so ordinary lessons have passages; counts what it encodes."""

    def __init__(self) -> None:
        super().__init__()
        self.max_words = 20
        self.texts = 0

    def encode(self, texts: list[str]) -> Vectors:
        self.texts += len(texts)
        return super().encode(texts)


LONG = (
    "The warehouse team counted boxes every morning and logged them on paper sheets. "
    "Deliveries arrived at odd hours and drivers waited at the gate for a signature. "
    "Nobody owned the gate schedule so trucks queued along the road for hours. "
    "In the end the vaccine fridges arrived three weeks after the campaign start date."
)


def _add(session: Session, title: str, **kw: object) -> Lesson:
    return capture.add_lesson(
        session,
        data=LessonIn(title=title, **kw),  # type: ignore[arg-type]
        project=None,
        review=None,
        author=None,  # type: ignore[arg-type]
        actor="t",
        status=LessonStatus.VALIDATED,
    )


def test_long_lessons_keep_passage_vectors_that_a_restart_reuses(engine: Engine) -> None:
    embedder = ShortWindowEmbedder()
    with Session(engine) as session:
        long = _add(session, "Gate schedule", observation=LONG)
        _add(session, "Short one", observation="Fridges came late.")
        assert Retriever(embedder).sync(session) == 2
        rows = {r.lesson_id: r for r in session.exec(select(LessonPassages))}
        assert rows[long.id].count >= 3  # type: ignore[index]
        assert len(rows[long.id].vectors) == rows[long.id].count * embedder.dim * 2  # type: ignore[index]
        assert [r.count for i, r in rows.items() if i != long.id] == [0]
        long_id, pieces = long.id, rows[long.id].count  # type: ignore[index]
        said = {r.lesson_id: r for r in session.exec(select(LessonSentences))}
        assert said[long.id].count == 4  # type: ignore[index]  # one vector per sentence
        assert len(said[long.id].vectors) == 4 * embedder.dim  # type: ignore[index]  # int8
        sentences = sum(r.count for r in said.values())
        session.commit()
    encoded = embedder.texts
    restarted = ShortWindowEmbedder()
    with Session(engine) as session:
        assert Retriever(restarted).sync(session) == 0
        assert restarted.texts == 0
        again = session.get(Lesson, long_id)
        catalogue.update_lesson(  # type: ignore[arg-type]
            session, lesson=again, patch=LessonPatch(insight="Own the gate."), by_curator=True
        )
        assert Retriever(restarted).sync(session) == 1
        assert restarted.texts >= 4  # the lesson and its passages again
    assert encoded == 2 + pieces + sentences


def test_a_match_deep_in_a_long_lesson_counts_through_its_passage(engine: Engine) -> None:
    with Session(engine) as session:
        _add(session, "Gate schedule", observation=LONG)
        retriever = Retriever(ShortWindowEmbedder(), ranking=RankingParams())
        retriever.sync(session)
        brief = "vaccine fridges arrived weeks after the campaign start"
        [hit] = retriever.search(session, brief, viewer=access.CURATOR, limit=1)
        assert hit.components.passage is not None
        assert hit.components.passage > hit.components.dense + 0.2  # type: ignore[operator]
        assert "fridges" in hit.why.best_sentence  # sentences come from the best passage


def test_scores_are_absolute_so_a_ranker_finding_nothing_drags_nothing_down() -> None:
    params = RankingParams(passage_weight=0.5, lexical_weight=0.3, lexical_half=10.0)
    alone = combine([Candidate(1, whole=0.6, passages=None, lexical=None)], params)
    crowded = combine(
        [
            Candidate(1, whole=0.6, passages=None, lexical=None),
            Candidate(2, whole=0.1, passages=None, lexical=30.0),
        ],
        params,
    )
    assert alone[0].fused == next(f.fused for f in crowded if f.lesson_id == 1)
    assert alone[0].fused == 0.7 * 0.6
    deep = combine([Candidate(3, whole=0.2, passages=np.array([0.1, 0.8]), lexical=10.0)], params)
    assert deep[0].fused == 0.7 * (0.5 * 0.2 + 0.5 * 0.8) + 0.3 * 0.5
    assert deep[0].passage_index == 1


def test_bands_follow_the_score_shown() -> None:
    params = RankingParams(strong=0.5, related=0.35)
    ranked = combine(
        [Candidate(i, whole=w, passages=None, lexical=None) for i, w in enumerate([0.2, 0.9, 0.6])],
        RankingParams(lexical_weight=0.0, strong=0.5, related=0.35),
    )
    assert [f.fused for f in ranked] == sorted((f.fused for f in ranked), reverse=True)
    assert [f.match for f in ranked] == ["strong", "strong", "weak"]
    assert params.band(0.4) == "related"


def test_brief_without_words_finds_nothing(engine: Engine) -> None:
    with Session(engine) as session:
        _add(session, "Order fridges early", observation="Fridges came late.")
        retriever = Retriever(HashingEmbedder())
        retriever.sync(session)
        for junk in ("!!! ??? ### 🚑🚑🚑", "   ", "the and of to", "2024 !!!"):
            assert retriever.search(session, junk, viewer=access.CURATOR) == []
        assert retriever.search(session, "fridges", viewer=access.CURATOR)


def test_bar_refuses_a_brief_without_words_and_keeps_what_was_typed(client: Client) -> None:
    refused = client.post("/api/bar", json={"brief": "!!! ??? ### 🚑🚑🚑"})
    assert refused.status_code == 422
    assert refused.json()["error"]["fields"] == {"brief": "no words to search on"}
    page = client.post("/bar", data={"brief": "!!! ??? ### 🚑🚑🚑"})
    assert page.status_code == 422
    assert "no words to search on" in page.text
    assert "!!! ??? ### 🚑🚑🚑" in page.text  # nothing typed is lost


def test_explanations_share_no_filler_words() -> None:
    lesson = Lesson(
        title="Fridges",
        observation="Six people across the region never saw the fridges. Nobody checked.",
        insight="",
        recommendation="",
    )
    why = explain(lesson, "six people across the county, never nobody, fridges")
    assert why.matched_terms == ["fridges"]


def test_explanation_shows_the_sentence_closest_in_meaning() -> None:
    lesson = Lesson(
        title="Late fridges",
        observation="The fridges were late. Refrigerated storage for the doses arrived weeks "
        "after the start.",
        insight="",
        recommendation="",
    )
    # The brief shares a word with the first sentence only; meaning picks the second.
    why = explain(lesson, "fridges for the vaccine", closest=lambda sentences: 1)
    assert why.best_sentence.startswith("Refrigerated storage")
    assert explain(lesson, "fridges for the vaccine").best_sentence == "The fridges were late."
