"""The in-memory vector index: unit vectors in float16, scored with torch.

Why float16 and torch: torch is already loaded for the model, its float16 matrix-vector
product is faster on these CPUs than numpy's float32 one (numpy has no fast float16 path),
and float16 halves memory, so a million 384-d lessons take 768 MB. The recall lost against
exact float32 search is measured by `scripts/bench_search.py`.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import torch

from retrieval.embedder import Vectors

Ids = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]


class VectorIndex:
    """Rows of unit vectors keyed by lesson id; cosine similarity is a dot product."""

    def __init__(self, dim: int, capacity: int = 1024) -> None:
        self.dim = dim
        self._matrix = torch.zeros((capacity, dim), dtype=torch.float16)
        self._ids: Ids = np.zeros(capacity, dtype=np.int64)
        self._size = 0
        self._row: dict[int, int] = {}

    def __len__(self) -> int:
        return self._size

    def __contains__(self, lesson_id: int) -> bool:
        return lesson_id in self._row

    @property
    def ids(self) -> Ids:
        """Lesson ids in row order (a view: do not keep it across changes)."""
        return self._ids[: self._size]

    def reserve(self, rows: int) -> None:
        """Make room for `rows` in all, so a bulk load allocates once."""
        if rows <= len(self._ids):
            return
        matrix = torch.zeros((rows, self.dim), dtype=torch.float16)
        matrix[: self._size] = self._matrix[: self._size]
        ids = np.zeros(rows, dtype=np.int64)
        ids[: self._size] = self._ids[: self._size]
        self._matrix, self._ids = matrix, ids

    def upsert(self, ids: list[int], vectors: Vectors) -> None:
        """Add or replace vectors."""
        new = [lesson_id for lesson_id in ids if lesson_id not in self._row]
        if self._size + len(new) > len(self._ids):
            self.reserve(max(self._size + len(new), 2 * len(self._ids)))
        rows = []
        for lesson_id in ids:
            row = self._row.get(lesson_id)
            if row is None:
                row = self._row[lesson_id] = self._size
                self._ids[row] = lesson_id
                self._size += 1
            rows.append(row)
        # torch.tensor copies: the vectors may be a read-only view of database bytes.
        self._matrix[rows] = torch.tensor(np.asarray(vectors), dtype=torch.float16)

    def remove(self, lesson_id: int) -> None:
        """Forget a lesson; the last row moves into its place."""
        row = self._row.pop(lesson_id, None)
        if row is None:
            return
        last = self._size - 1
        if row != last:
            moved = int(self._ids[last])
            self._matrix[row] = self._matrix[last]
            self._ids[row] = moved
            self._row[moved] = row
        self._size = last

    def vector(self, lesson_id: int) -> Vectors | None:
        row = self._row.get(lesson_id)
        if row is None:
            return None
        vector: Vectors = self._matrix[row].to(torch.float32).numpy()
        return vector

    def vectors(self, ids: list[int]) -> Vectors:
        rows = [self._row[i] for i in ids]
        vectors: Vectors = self._matrix[rows].to(torch.float32).numpy()
        return vectors

    def scores(self, query: Vectors) -> torch.Tensor:
        """Cosine of every row against `query` (float32, one per row)."""
        q = torch.tensor(np.asarray(query), dtype=torch.float16)
        return (self._matrix[: self._size] @ q).to(torch.float32)

    def search(
        self, query: Vectors, k: int, *, mask: Mask | None = None
    ) -> list[tuple[int, float]]:
        """The k best (lesson id, cosine) pairs among rows where `mask` is true."""
        if self._size == 0 or k <= 0:
            return []
        scores = self.scores(query)
        if mask is not None:
            scores[~torch.from_numpy(mask[: self._size])] = -torch.inf
        k = min(k, self._size)
        top = torch.topk(scores, k)
        return [
            (int(self._ids[row]), float(score))
            for score, row in zip(top.values.tolist(), top.indices.tolist(), strict=True)
            if score != -np.inf
        ]

    def mask_of(self, allowed: Ids) -> Mask:
        """Rows whose lesson id is in `allowed`."""
        return np.isin(self.ids, allowed)
