"""Where the backends differ in search: one interface (`SearchBackend`), two answers to it.

SQLite (`retrieval.backends.memory`): vectors in an in-memory index kept in step with the
database, BM25 over FTS5's index. PostgreSQL (`retrieval.backends.postgres`): the database
answers every query (pgvector's HNSW index, a tsvector with its GIN index), nothing held in the
process. The retriever picks one by the session's database (`Retriever.backend`); the ranking
(`retrieval.ranking`: fusion, feedback, bands, explanations) is the same code on both."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy import Engine
from sqlmodel import Session

from lessons.accounts.access import Viewer
from lessons.schemas import SearchFilters
from retrieval.embedder import Vectors


class SearchBackend(Protocol):
    """What the ranking needs of a database's search. A scope is what a search may look at
    (the lessons a viewer may see under some filters), as the backend represents it."""

    # Whether `dense` may run off the session's thread (with no session), beside the lexical
    # side's SQL.
    concurrent_dense: bool

    def prepare(self, engine: Engine) -> None:
        """Make stored vectors searchable (start-up, after embedding)."""

    def refresh(self, session: Session) -> None:
        """Bring whatever the process holds up to date with the database."""

    def scope(self, session: Session, viewer: Viewer, filters: SearchFilters | None) -> Any: ...

    def dense(
        self,
        session: Session | None,
        query: Vectors,
        scope: Any,
        k: int,
        *,
        exclude: int | None = None,
    ) -> list[tuple[int, float]]:
        """The `k` lessons nearest `query` in the scope: (id, cosine), nearest first."""
        ...

    def lexical(
        self, session: Session, text: str, scope: Any, limit: int
    ) -> list[tuple[int, float]]:
        """BM25 of the best `limit` lessons in the scope matching `text`, best first."""
        ...

    def vectors(self, session: Session, ids: Sequence[int]) -> tuple[list[int], Vectors]:
        """The whole-lesson vectors of those of `ids` that have one (as float16 holds them),
        in the order asked: (their ids, their vectors)."""
        ...

    def stored(self, session: Session, ids: Sequence[int], vectors: Vectors) -> None:
        """The lessons' whole-lesson vectors have just been written (as bytes)."""
