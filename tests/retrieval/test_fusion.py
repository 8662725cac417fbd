from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest

from retrieval import feedback
from retrieval.fusion import Candidate, RankingParams, combine, diversify, reciprocal_rank_fusion


def test_rrf_sums_reciprocal_ranks_and_keeps_components() -> None:
    fused = reciprocal_rank_fusion(
        [(1, 0.9), (2, 0.8)], [(2, 7.0), (3, 5.0)], k=60, lexical_weight=1.0
    )
    assert [f.lesson_id for f in fused] == [2, 1, 3]
    top = fused[0]
    assert top.fused == pytest.approx(1 / 62 + 1 / 61)
    assert (top.dense_rank, top.lexical_rank, top.dense, top.lexical) == (2, 1, 0.8, 7.0)
    assert fused[2].dense is None and fused[2].lexical_rank == 2


def test_rrf_weights_shift_the_order() -> None:
    dense, lexical = [(1, 0.9), (2, 0.1)], [(2, 9.0), (1, 1.0)]
    assert reciprocal_rank_fusion(dense, lexical, lexical_weight=2.0)[0].lesson_id == 2
    assert reciprocal_rank_fusion(dense, lexical, dense_weight=2.0)[0].lesson_id == 1


def test_diversify_folds_near_copies_into_the_better_ranked() -> None:
    ranked = reciprocal_rank_fusion([(1, 0.9), (2, 0.89), (3, 0.5)], [])
    vectors = {1: [1.0, 0.0], 2: [0.999, 0.0447], 3: [0.0, 1.0]}

    def lookup(ids: list[int]) -> np.ndarray:
        rows = np.asarray([vectors[i] for i in ids], dtype=np.float32)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)

    kept = diversify(ranked, lookup, limit=3, threshold=0.95)
    assert [f.lesson_id for f in kept] == [1, 3]
    assert kept[0].hidden_copies == [2]
    assert [f.lesson_id for f in diversify(ranked, lookup, limit=3, threshold=1.01)] == [1, 2, 3]


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=-1, keepdims=True)


def test_feedback_in_closed_form_is_the_cosine_to_the_moved_brief() -> None:
    """A stored BAR scores its lessons again from the brief's cosines and the lessons' own
    vectors: that must be the cosine to the moved brief itself."""
    rng = np.random.default_rng(0)
    brief = _unit(rng.normal(size=16))
    lessons = feedback.exact(_unit(rng.normal(size=(6, 16))))
    formed_by = [feedback.Pooled(i, 0.5, float(lessons[i] @ brief)) for i in (0, 2)]
    centre = feedback.centre_of(formed_by, lessons[[0, 2]], weight=0.7)
    assert centre is not None
    moved = brief + 0.7 * lessons[[0, 2]].mean(axis=0)
    expected = lessons @ moved / np.linalg.norm(moved)
    assert feedback.moved(lessons @ brief, lessons, centre) == pytest.approx(expected, abs=1e-12)
    assert feedback.moved_query(brief, centre) == pytest.approx(_unit(moved), abs=1e-6)


def test_feedback_comes_from_the_best_lessons_the_reader_may_see_and_a_related_first() -> None:
    params = RankingParams(prf_depth=2, related=0.3)
    pool = [feedback.Pooled(i, score, 0.5) for i, score in ((7, 0.6), (8, 0.5), (9, 0.28))]
    assert [p.lesson_id for p in feedback.chosen(pool, params)] == [7, 8]
    assert [p.lesson_id for p in feedback.chosen(pool, params, lambda i: i != 7)] == [8, 9]
    # The best lesson this reader sees is not even related: no feedback at all.
    assert feedback.chosen(pool, params, lambda i: i == 9) == []
    assert feedback.chosen(pool, replace(params, prf_weight=0.0)) == []


def test_feedback_sets_the_score_and_leaves_the_briefs_own_figures_shown() -> None:
    """The score is against the moved brief; the cosines shown (whole lesson, best passage,
    the passage explained) stay the brief's own, which no other lesson changes."""
    params = RankingParams(lexical_weight=0.0, passage_weight=0.5)
    plain = Candidate(1, whole=0.2, passages=np.asarray([0.1, 0.4], np.float32), lexical=None)
    moved = replace(plain, moved_whole=0.5, moved_passages=np.asarray([0.7, 0.3]))
    [first], [again] = combine([plain], params), combine([moved], params)
    assert first.fused == pytest.approx(0.3) and again.fused == pytest.approx(0.6)
    assert (again.dense, again.passage, again.passage_index) == (0.2, pytest.approx(0.4), 1)
    assert again.passage_cosines == pytest.approx([0.1, 0.4])


def test_what_a_bar_keeps_of_feedback_is_plain_json_and_gives_back_its_constants() -> None:
    """Kept as JSON in the database (PostgreSQL's JSON has no Infinity, the bands of a model
    not measured are infinite): read back, the constants are those the BAR ran with."""
    params = RankingParams.for_model("some-other-model")
    kept = feedback.record([feedback.Pooled(3, 0.5, 0.4)], params, terms=4)
    again = json.loads(json.dumps(kept, allow_nan=False))
    assert again["pool"] == [[3, 0.5, 0.4]] and again["terms"] == 4
    read = feedback._params(again["params"])
    assert (read.strong, read.related) == (math.inf, -math.inf)
    assert (read.prf_weight, read.prf_depth, read.lexical_half) == (0.7, 3, params.lexical_half)
