"""The full-text index of lessons, kept in step by the database itself.

On SQLite it is an FTS5 table (`lesson_fts`, Porter-stemmed) filled by triggers on `lesson`
and `lesson_tag`, so every insert, edit and delete, from any code path or process, reaches it
in the same transaction. The table and triggers are created by migration 0002, whose SQL is
written out in it (a migration never calls live code); a later migration that rebuilds the
`lesson` table in batch mode drops the triggers and must create them again the same way.
"""

from __future__ import annotations

# Porter stems on Unicode words, accents removed, as the index was made (migration 0002);
# anything that tokenizes text for this index (the lexical ranker's scratch table) must use
# the same.
TOKENIZE = "porter unicode61 remove_diacritics 2"
COLUMNS = ("title", "body", "tags")


def is_own_table(name: str | None) -> bool:
    """The FTS5 table and its shadow tables, which the models do not describe."""
    return bool(name) and str(name).startswith("lesson_fts")
