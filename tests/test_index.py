from __future__ import annotations

import numpy as np

from retrieval.index import VectorIndex


def _unit(*values: float) -> np.ndarray:
    v = np.asarray(values, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_search_ranks_by_cosine() -> None:
    index = VectorIndex(3)
    index.upsert([1, 2, 3], np.vstack([_unit(1, 0, 0), _unit(1, 1, 0), _unit(0, 0, 1)]))
    hits = index.search(_unit(1, 0.1, 0), 3)
    assert [i for i, _ in hits] == [1, 2, 3]
    assert hits[0][1] > hits[1][1] > hits[2][1]


def test_search_only_looks_at_masked_rows() -> None:
    index = VectorIndex(2)
    index.upsert([1, 2], np.vstack([_unit(1, 0), _unit(0, 1)]))
    only_two = index.mask_of(np.asarray([2], dtype=np.int64))
    hits = index.search(_unit(1, 0), 5, mask=only_two)
    assert [i for i, _ in hits] == [2]
    nothing = index.mask_of(np.asarray([], dtype=np.int64))
    assert index.search(_unit(1, 0), 5, mask=nothing) == []


def test_float16_scores_stay_close_to_exact() -> None:
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((500, 64)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = VectorIndex(64)
    index.upsert(list(range(500)), vectors)
    query = vectors[3]
    exact = vectors @ query
    approx = index.scores(query).numpy()
    assert np.max(np.abs(exact - approx)) < 0.01
    assert index.search(query, 1)[0][0] == 3


def test_growth_keeps_every_vector() -> None:
    index = VectorIndex(2, capacity=2)
    for i in range(1, 11):
        index.upsert([i], _unit(1, i)[None, :])
    assert len(index) == 10
    assert np.allclose(index.vector(7), _unit(1, 7), atol=1e-3)  # type: ignore[arg-type]


def test_upsert_replaces_and_remove_forgets() -> None:
    index = VectorIndex(2)
    index.upsert([1, 2], np.vstack([_unit(1, 0), _unit(0, 1)]))
    index.upsert([1], _unit(0, 1)[None, :])
    assert len(index) == 2
    assert np.allclose(index.vector(1), _unit(0, 1), atol=1e-3)  # type: ignore[arg-type]
    index.remove(1)
    assert 1 not in index and len(index) == 1
    assert [i for i, _ in index.search(_unit(0, 1), 5)] == [2]


def test_search_k_larger_than_index_and_empty_index() -> None:
    assert VectorIndex(2).search(_unit(1, 0), 3) == []
    index = VectorIndex(2)
    index.upsert([7], _unit(1, 0)[None, :])
    assert [i for i, _ in index.search(_unit(1, 0), 10)] == [7]
