"""Every pair of close lesson vectors in the bank, found blockwise and kept up to date.

This is the expensive half of finding duplicates (all pairs: O(n^2) products), done with
torch in blocks so memory stays at one block by the bank's size, and then only for lessons
whose vector changed. `retrieval.duplicates` applies access, status and the advice check.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import torch
from sqlmodel import Session, select

from lessons.storage import changes
from lessons.storage.models import LessonEmbedding

if TYPE_CHECKING:
    from retrieval.service import Retriever

Ids = npt.NDArray[np.int64]
Scores = npt.NDArray[np.float32]
# Rows scored per block: a 512 x 100k float32 block of scores is 200 MB before it is
# thresholded.
BLOCK = 512


def pairs_above(
    vectors: Scores, threshold: float, *, others: Scores | None = None, block: int = BLOCK
) -> tuple[Ids, Ids, Scores]:
    """Row pairs (i, j) whose cosine is at least `threshold`, with the cosine.

    Without `others`: pairs within `vectors`, i < j (the upper triangle, each pair once).
    With `others`: every (row of `vectors`, row of `others`) pair. Blockwise, so memory stays
    at `block` rows by all columns whatever the bank's size.
    """
    left = torch.from_numpy(np.ascontiguousarray(vectors, dtype=np.float32))
    right = left if others is None else torch.from_numpy(np.ascontiguousarray(others, np.float32))
    found_i: list[Ids] = []
    found_j: list[Ids] = []
    found_s: list[Scores] = []
    for start in range(0, left.shape[0], block):
        stop = min(start + block, left.shape[0])
        # Within one matrix, a block only needs the columns from its own first row on.
        first_col = start if others is None else 0
        scores = left[start:stop] @ right[first_col:].T
        rows, cols = torch.nonzero(scores >= threshold, as_tuple=True)
        i = rows.numpy().astype(np.int64) + start
        j = cols.numpy().astype(np.int64) + first_col
        s = scores[rows, cols].numpy().astype(np.float32)
        if others is None:
            keep = j > i
            i, j, s = i[keep], j[keep], s[keep]
        found_i.append(i)
        found_j.append(j)
        found_s.append(s)
    if not found_i:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float32)
    return np.concatenate(found_i), np.concatenate(found_j), np.concatenate(found_s)


class PairCache:
    """Every pair of stored lesson vectors at or above `floor`, kept in step with the bank.

    The first use scores all pairs (blockwise: O(n^2) work, O(block x n) memory); after that
    only lessons whose vector changed are scored again, against all the others, so a curator
    opening the list after one new review waits for a few rows, not the whole bank. Access
    and status are applied when the list is read (`pairs`), never stored: one cache serves
    every viewer. One per process (the app keeps it).
    """

    def __init__(self, floor: float) -> None:
        self.floor = floor
        self._lock = threading.Lock()
        self._version: tuple[object, ...] | None = None
        self._model = ""
        self._hashes: dict[int, str] = {}
        self._a: Ids = np.empty(0, np.int64)
        self._b: Ids = np.empty(0, np.int64)
        self._s: Scores = np.empty(0, np.float32)

    def __len__(self) -> int:
        return len(self._s)

    def update(self, session: Session, retriever: Retriever) -> int:
        """Score what changed since the last call; returns how many lessons were scored."""
        with self._lock:
            version = changes.version(session)
            if version == self._version and retriever.model == self._model:
                return 0
            if retriever.model != self._model:
                self._hashes, self._model = {}, retriever.model
                self._a, self._b, self._s = self._a[:0], self._b[:0], self._s[:0]
            stored = dict(
                session.exec(
                    select(LessonEmbedding.lesson_id, LessonEmbedding.content_hash).where(
                        LessonEmbedding.model == retriever.model
                    )
                ).all()
            )
            with retriever.locked_index(session) as index:
                present = set(index.ids.tolist())
                changed = [
                    i for i, h in stored.items() if self._hashes.get(i) != h and i in present
                ]
                gone = (set(self._hashes) - set(stored)) | set(changed)
                every = [i for i in stored if i in present]
                fresh = index.vectors(changed) if changed else None
                full = index.vectors(every) if changed else None
            self._drop(gone)
            if fresh is not None and full is not None:
                self._add(changed, fresh, every, full, first=not self._hashes)
            self._hashes = {i: stored[i] for i in every}
            self._version = version
            return len(changed)

    def _drop(self, ids: set[int]) -> None:
        if not ids or not len(self._s):
            return
        gone = np.fromiter(ids, np.int64)
        keep = ~(np.isin(self._a, gone) | np.isin(self._b, gone))
        self._a, self._b, self._s = self._a[keep], self._b[keep], self._s[keep]

    def _add(
        self, changed: list[int], fresh: Scores, every: list[int], full: Scores, *, first: bool
    ) -> None:
        changed_ids = np.asarray(changed, np.int64)
        every_ids = np.asarray(every, np.int64)
        if first:  # nothing scored yet: the upper triangle once
            i, j, s = pairs_above(full, self.floor)
            a, b = every_ids[i], every_ids[j]
        else:  # changed rows against every row; a pair of two changed rows turns up twice
            i, j, s = pairs_above(fresh, self.floor, others=full)
            a, b = changed_ids[i], every_ids[j]
            keep = a != b
            a, b, s = a[keep], b[keep], s[keep]
        low, high = np.minimum(a, b), np.maximum(a, b)
        if not first:
            _, unique = np.unique(np.stack([low, high]), axis=1, return_index=True)
            low, high, s = low[unique], high[unique], s[unique]
        self._a = np.concatenate([self._a, low])
        self._b = np.concatenate([self._b, high])
        self._s = np.concatenate([self._s, s])

    def pairs(self, allowed: Ids, threshold: float) -> tuple[Ids, Ids, Scores]:
        """Pairs of `allowed` lessons at or above `threshold`, best first (ties: lower ids)."""
        with self._lock:
            keep = (self._s >= threshold) & np.isin(self._a, allowed) & np.isin(self._b, allowed)
            a, b, s = self._a[keep], self._b[keep], self._s[keep]
        order = np.lexsort((b, a, -s))
        return a[order], b[order], s[order]
