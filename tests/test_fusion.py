from __future__ import annotations

import numpy as np
import pytest

from retrieval.fusion import diversify, reciprocal_rank_fusion


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
