"""An in-memory matrix of normalised vectors answering top-k by cosine."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from retrieval.embedder import Vectors

Ids = npt.NDArray[np.int64]


class VectorIndex:
    """Rows of unit vectors keyed by lesson id; cosine similarity is a dot product."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._ids: Ids = np.zeros(0, dtype=np.int64)
        self._matrix: Vectors = np.zeros((0, dim), dtype=np.float32)
        self._row: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self._row)

    def __contains__(self, lesson_id: int) -> bool:
        return lesson_id in self._row

    def upsert(self, ids: list[int], vectors: Vectors) -> None:
        """Add or replace vectors, in one reallocation for the new ones."""
        new_ids, new_rows = [], []
        for lesson_id, vector in zip(ids, vectors, strict=True):
            row = self._row.get(lesson_id)
            if row is None:
                new_ids.append(lesson_id)
                new_rows.append(vector)
            else:
                self._matrix[row] = vector
        if new_ids:
            start = len(self._ids)
            self._ids = np.concatenate([self._ids, np.asarray(new_ids, dtype=np.int64)])
            self._matrix = np.vstack([self._matrix, np.asarray(new_rows, dtype=np.float32)])
            self._row.update({lesson_id: start + i for i, lesson_id in enumerate(new_ids)})

    def remove(self, lesson_id: int) -> None:
        row = self._row.pop(lesson_id, None)
        if row is None:
            return
        self._ids = np.delete(self._ids, row)
        self._matrix = np.delete(self._matrix, row, axis=0)
        self._row = {int(i): r for r, i in enumerate(self._ids)}

    def vector(self, lesson_id: int) -> Vectors | None:
        row = self._row.get(lesson_id)
        return None if row is None else self._matrix[row]

    def search(
        self, query: Vectors, k: int, *, allowed: Ids | None = None
    ) -> list[tuple[int, float]]:
        """The k best (lesson id, cosine) pairs, looking only at `allowed` ids when given."""
        if allowed is not None:
            rows = np.flatnonzero(np.isin(self._ids, allowed))
            ids, matrix = self._ids[rows], self._matrix[rows]
        else:
            ids, matrix = self._ids, self._matrix
        if len(ids) == 0 or k <= 0:
            return []
        scores = matrix @ query.astype(np.float32)
        k = min(k, len(ids))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(ids[i]), float(scores[i])) for i in top]
