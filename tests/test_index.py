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


def test_search_only_looks_at_allowed_ids() -> None:
    index = VectorIndex(2)
    index.upsert([1, 2], np.vstack([_unit(1, 0), _unit(0, 1)]))
    hits = index.search(_unit(1, 0), 5, allowed=np.asarray([2], dtype=np.int64))
    assert [i for i, _ in hits] == [2]
    assert index.search(_unit(1, 0), 5, allowed=np.asarray([], dtype=np.int64)) == []


def test_upsert_replaces_and_remove_forgets() -> None:
    index = VectorIndex(2)
    index.upsert([1, 2], np.vstack([_unit(1, 0), _unit(0, 1)]))
    index.upsert([1], _unit(0, 1)[None, :])
    assert len(index) == 2
    assert np.allclose(index.vector(1), _unit(0, 1))  # type: ignore[arg-type]
    index.remove(1)
    assert 1 not in index and len(index) == 1
    assert [i for i, _ in index.search(_unit(0, 1), 5)] == [2]


def test_search_k_larger_than_index_and_empty_index() -> None:
    assert VectorIndex(2).search(_unit(1, 0), 3) == []
    index = VectorIndex(2)
    index.upsert([7], _unit(1, 0)[None, :])
    assert [i for i, _ in index.search(_unit(1, 0), 10)] == [7]
