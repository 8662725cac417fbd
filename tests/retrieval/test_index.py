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


def test_search_matches_exact_float32_search_under_a_mask() -> None:
    rng = np.random.default_rng(11)
    vectors = rng.standard_normal((3000, 48)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = list(range(100, 3100))
    index = VectorIndex(48)
    index.upsert(ids, vectors)
    allowed = np.asarray(ids[::3], dtype=np.int64)
    mask = index.mask_of(allowed)
    # The ranking is exact over the stored vectors: float16, re-scored in float32.
    stored = vectors.astype(np.float16).astype(np.float32)
    for query in vectors[:20]:
        exact = stored @ query
        exact[~mask] = -np.inf
        expected = [ids[row] for row in np.argsort(-exact, kind="stable")[:25]]
        hits = index.search(query, 25, mask=mask)
        assert [i for i, _ in hits] == expected
        assert set(i for i, _ in hits) <= set(allowed.tolist())
        # Scores are float32 cosines of the stored (float16) vectors, in descending order.
        scores = [s for _, s in hits]
        assert scores == sorted(scores, reverse=True)
        assert np.allclose(scores, exact[np.argsort(-exact, kind="stable")[:25]], atol=2e-3)


def test_fewer_visible_rows_than_k_returns_only_those() -> None:
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((200, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = VectorIndex(8)
    index.upsert(list(range(200)), vectors)
    mask = index.mask_of(np.asarray([5, 50, 150], dtype=np.int64))
    hits = index.search(vectors[0], 10, mask=mask)
    assert sorted(i for i, _ in hits) == [5, 50, 150]


def test_equal_vectors_come_back_in_row_order() -> None:
    index = VectorIndex(2)
    index.upsert([9, 4, 7], np.vstack([_unit(1, 0)] * 3))
    for _ in range(3):
        assert [i for i, _ in index.search(_unit(1, 0), 3)] == [9, 4, 7]


def test_search_accepts_read_only_and_float64_queries() -> None:
    index = VectorIndex(2)
    index.upsert([1, 2], np.vstack([_unit(1, 0), _unit(0, 1)]))
    read_only = np.frombuffer(_unit(0, 1).tobytes(), dtype=np.float32)
    assert not read_only.flags.writeable
    assert index.search(read_only, 1)[0][0] == 2
    assert index.search(_unit(1, 0).astype(np.float64), 1)[0][0] == 1
    assert np.allclose(index.vectors([2, 1]), np.vstack([_unit(0, 1), _unit(1, 0)]))
