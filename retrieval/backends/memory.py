"""Search on SQLite: the retriever's in-memory vector index (kept in step with the stored vectors
by `Retriever.refresh`, its access masks cached until lessons change) and BM25 over FTS5's
index (`retrieval.lexical`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import Engine
from sqlmodel import Session

from lessons.accounts.access import Viewer, visible_lesson_ids
from lessons.schemas import SearchFilters
from retrieval import lexical
from retrieval.embedder import Vectors

if TYPE_CHECKING:
    from retrieval.index import Ids
    from retrieval.service import Access, Retriever


@dataclass(frozen=True)
class Snapshot:
    """The lessons a viewer may see under the filters as the index held them (`access`, at
    the index's `version`), and the ids BM25's statistics count."""

    viewer: Viewer
    filters: SearchFilters | None
    access: Access
    version: tuple[object, ...] | None
    counted: Ids


class InMemorySearch:
    """The search backend on SQLite (`retrieval.backends.SearchBackend`)."""

    # The index needs no session: the dense side runs in a worker beside the lexical SQL.
    concurrent_dense = True

    def __init__(self, retriever: Retriever) -> None:
        self.retriever = retriever

    def prepare(self, engine: Engine) -> None:
        """The stored bytes are what the index loads: nothing to prepare."""

    def refresh(self, session: Session) -> None:
        """The index brought up to date, and the full-text postings held in memory."""
        with self.retriever._lock:
            self.retriever._refresh(session)
        lexical.prepare(session)

    def scope(self, session: Session, viewer: Viewer, filters: SearchFilters | None) -> Snapshot:
        access, version, counted = self.retriever._snapshot(session, viewer, filters)
        return Snapshot(viewer, filters, access, version, counted)

    def dense(
        self,
        session: Session | None,
        query: Vectors,
        scope: Snapshot,
        k: int,
        *,
        exclude: int | None = None,
    ) -> list[tuple[int, float]]:
        """When the index has been refreshed since `scope` was taken, its rows (and so the
        mask) may differ: the mask is made again from the allowed ids, for the index as it
        now is."""
        retriever = self.retriever
        with retriever._lock:
            index = retriever.index
            current = retriever._version == scope.version
            mask = scope.access.mask if current else index.mask_of(scope.access.ids)
            if exclude is not None:
                mask = mask & (index.ids != exclude)
            return index.search(query, k, mask=mask)

    def lexical(
        self, session: Session, text: str, scope: Snapshot, limit: int
    ) -> list[tuple[int, float]]:
        return lexical.search(
            session,
            text,
            allowed=visible_lesson_ids(scope.viewer, scope.filters),
            limit=limit,
            allowed_ids=scope.access.ids,
            collection_ids=scope.counted,
        )

    def vectors(self, session: Session, ids: Sequence[int]) -> tuple[list[int], Vectors]:
        with self.retriever._lock:
            index = self.retriever.index
            present = [int(i) for i in ids if i in index]
            if not present:
                return [], np.zeros((0, index.dim), np.float32)
            return present, index.vectors(present)

    def stored(self, session: Session, ids: Sequence[int], vectors: Vectors) -> None:
        """The index reads the stored bytes at its next refresh."""
