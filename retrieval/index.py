"""The in-memory vector index: unit vectors in float16, scored with torch.

Why float16 and torch: torch is already loaded for the model, its float16 matrix-vector
product is faster on these CPUs than numpy's float32 one (numpy has no fast float16 path),
and float16 halves memory, so a million 384-d lessons take 768 MB. A float16 score is only
good to about 3e-4, finer than the gaps between near-copies in a large bank, so `search` ranks
every row in float16 and then re-scores its shortlist in float32: recall@10 against exact
float32 search (measured by `scripts/bench_search.py`) is lost only on ties closer than the
float16 storage itself can tell apart.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import torch

from retrieval.embedder import Vectors

Ids = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]

# Rows beyond k that the float16 pass hands to the float32 re-scoring: enough to hold every
# row whose float16 score is within rounding of the k-th best.
_RESCORE_MARGIN = 64


class VectorIndex:
    """Rows of unit vectors keyed by lesson id; cosine similarity is a dot product."""

    def __init__(self, dim: int, capacity: int = 1024) -> None:
        self.dim = dim
        # Rows past `_size` are never read, so they need no zero-filling.
        self._matrix = torch.empty((capacity, dim), dtype=torch.float16)
        self._ids: Ids = np.empty(capacity, dtype=np.int64)
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
        matrix = torch.empty((rows, self.dim), dtype=torch.float16)
        matrix[: self._size] = self._matrix[: self._size]
        ids = np.empty(rows, dtype=np.int64)
        ids[: self._size] = self._ids[: self._size]
        self._matrix, self._ids = matrix, ids

    def upsert(self, ids: list[int], vectors: Vectors) -> None:
        """Add or replace vectors."""
        # torch.tensor copies: the vectors may be a read-only view of database bytes.
        block = torch.tensor(np.asarray(vectors), dtype=torch.float16)
        new = [lesson_id for lesson_id in ids if lesson_id not in self._row]
        if self._size + len(new) > len(self._ids):
            self.reserve(max(self._size + len(new), 2 * len(self._ids)))
        if len(new) == len(ids) and len(set(ids)) == len(ids):
            # All new, as in a load at start-up: append them as one block.
            start, end = self._size, self._size + len(ids)
            self._row.update(zip(ids, range(start, end), strict=True))
            self._ids[start:end] = ids
            self._matrix[start:end] = block
            self._size = end
            return
        rows = []
        for lesson_id in ids:
            row = self._row.get(lesson_id)
            if row is None:
                row = self._row[lesson_id] = self._size
                self._ids[row] = lesson_id
                self._size += 1
            rows.append(row)
        self._matrix[rows] = block

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
        vector: Vectors = self._matrix.numpy()[row].astype(np.float32)
        return vector

    def vectors(self, ids: list[int]) -> Vectors:
        rows = [self._row[i] for i in ids]
        vectors: Vectors = self._matrix.numpy()[rows].astype(np.float32)
        return vectors

    def scores(self, query: Vectors) -> torch.Tensor:
        """Cosine of every row against `query` (float32, one per row)."""
        q = torch.tensor(np.asarray(query), dtype=torch.float16)
        return (self._matrix[: self._size] @ q).to(torch.float32)

    def search(
        self, query: Vectors, k: int, *, mask: Mask | None = None
    ) -> list[tuple[int, float]]:
        """The k best (lesson id, cosine) pairs among rows where `mask` is true."""
        size = self._size
        if size == 0 or k <= 0:
            return []
        q = np.asarray(query, dtype=np.float32)
        # The product over every row runs in torch (its float16 kernel, on all cores), and the
        # selection in one torch.topk over the float16 scores (a quarter of numpy's
        # argpartition time at 1M rows). The small steps around them are numpy on one
        # thread: as torch ops each would be another parallel region, and on a busy machine
        # every one of those waits for a second core.
        scores = (self._matrix[:size] @ torch.tensor(q, dtype=torch.float16)).numpy()
        if mask is not None:
            np.copyto(scores, -np.inf, where=~mask[:size])
        shortlist = min(size, k + max(k, _RESCORE_MARGIN))
        top = torch.topk(torch.from_numpy(scores), shortlist, sorted=False)
        rows = top.indices.numpy()[top.values.numpy() > -np.inf]
        rows.sort()  # ties in the float32 re-score go to the earlier row, whatever topk did
        exact = self._matrix.numpy()[rows].astype(np.float32) @ q
        best = np.argsort(-exact, kind="stable")[:k]
        return [
            (int(lesson_id), float(score))
            for lesson_id, score in zip(self._ids[rows[best]], exact[best], strict=True)
        ]

    def mask_of(self, allowed: Ids) -> Mask:
        """Rows whose lesson id is in `allowed`."""
        return np.isin(self.ids, allowed)
