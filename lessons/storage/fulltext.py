"""The full-text index of lessons, kept in step by the database itself.

On SQLite it is an FTS5 table (`lesson_fts`, Porter-stemmed) filled by triggers on `lesson`
and `lesson_tag`, so every insert, edit and delete, from any code path or process, reaches it
in the same transaction. The table and triggers are created by migration 0002, whose SQL is
written out in it (a migration never calls live code); a later migration that rebuilds the
`lesson` table in batch mode drops the triggers and must create them again the same way.

On PostgreSQL it is `lesson_search`: a tsvector per lesson (English stems; title, tags and body
labelled A, B and D so BM25 can weigh them as FTS5 does) with a GIN index, and each lesson's
length in tokens, filled by triggers on the same two tables, and its postings (`lesson_term`:
each stem's weighted count in each lesson) written from it by the same triggers (migration
0012).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Porter stems on Unicode words, accents removed, as the index was made (migration 0002);
# anything that tokenizes text for this index (the lexical ranker's scratch table) must use
# the same.
TOKENIZE = "porter unicode61 remove_diacritics 2"
COLUMNS = ("title", "body", "tags")


# On PostgreSQL (migration 0012): the full-text tables, the pgvector column and its index, and
# the index BM25 counts a viewer's lessons from.
_POSTGRES_TABLES = ("lesson_search", "lesson_term")
_POSTGRES_OWN = {
    ("column", "lesson_embedding", "embedding"),
    ("index", "lesson_embedding", "ix_lesson_embedding_hnsw"),
    ("index", "lesson", "ix_lesson_access"),
}


def is_own_table(name: str | None) -> bool:
    """The FTS5 table and its shadow tables, and PostgreSQL's full-text table: search's own,
    which the models do not describe."""
    return bool(name) and (str(name).startswith("lesson_fts") or name in _POSTGRES_TABLES)


def is_own(name: str | None, type_: str, parents: Mapping[Any, str | None]) -> bool:
    """Whether a schema object is search's own (`is_own_table`, the pgvector column and its
    index), left out when the schema is compared with the models."""
    if type_ == "table":
        return is_own_table(name)
    return (type_, parents.get("table_name"), name) in _POSTGRES_OWN
