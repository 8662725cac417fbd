"""Reading SQLite FTS5's index directly, for BM25: its own records of lesson count and
lengths, its postings, and its tokenizer (through a scratch table in the connection's temp
schema), straight from the driver where rows are many."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import Connection

from lessons.storage.fulltext import COLUMNS, TOKENIZE
from retrieval.bm25 import Corpus, Ids

_KEPT_TERMS = 100_000  # query words' index terms kept (`index_terms`)
_TERMS: dict[str, str] = {}
_TERMS_LOCK = threading.Lock()
_SCRATCH = "temp.lesson_fts_scratch"
_SCRATCH_TERMS = "temp.lesson_fts_scratch_terms"
_AVERAGES_ROWID = 1  # FTS5 keeps its row count and per-column token totals in this record


def varints(blob: bytes) -> list[int]:
    """SQLite's variable-length integers, as FTS5 stores sizes and totals."""
    values, i = [], 0
    while i < len(blob):
        value = 0
        for byte_index in range(9):
            byte = blob[i]
            i += 1
            if byte_index == 8:  # the ninth byte carries eight bits
                value = (value << 8) | byte
                break
            value = (value << 7) | (byte & 0x7F)
            if not byte & 0x80:
                break
        values.append(value)
    return values


def corpus(connection: Connection) -> Corpus:
    """Lessons in the full-text index and their average length, from FTS5's own record."""
    blob = connection.exec_driver_sql(
        "SELECT block FROM lesson_fts_data WHERE id = ?", (_AVERAGES_ROWID,)
    ).scalar()
    if not blob:
        return Corpus(0, 0.0)
    rows, *column_tokens = varints(blob)
    return Corpus(rows, sum(column_tokens) / rows if rows else 0.0)


def _quoted(term: str) -> str:
    return f'"{term}"'


def _ensure_scratch(connection: Connection) -> None:
    """A contentless FTS5 table (and its term listing) private to this connection."""
    connection.exec_driver_sql(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {_SCRATCH} USING fts5("
        f"{', '.join(COLUMNS)}, content='', tokenize='{TOKENIZE}')"
    )
    connection.exec_driver_sql(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {_SCRATCH_TERMS} "
        "USING fts5vocab(temp, lesson_fts_scratch, instance)"
    )


def _clear_scratch(connection: Connection) -> None:
    connection.exec_driver_sql(f"INSERT INTO {_SCRATCH}(lesson_fts_scratch) VALUES ('delete-all')")


def index_terms(connection: Connection, words: Sequence[str]) -> list[str]:
    """Each word as the index stores it (stemmed, folded), through the index's tokenizer.
    The words must be single tokens: plain letters and digits. A word's term depends on the
    tokenizer alone (TOKENIZE), so each is kept once found: three statements a query were a
    third of ranking from memory."""
    with _TERMS_LOCK:
        kept = [_TERMS.get(w) for w in words]
    if all(t is not None for t in kept):
        return [t for t in kept if t is not None]
    terms = _tokenized_words(connection, words)
    with _TERMS_LOCK:
        if len(_TERMS) > _KEPT_TERMS:
            _TERMS.clear()
        _TERMS.update(zip(words, terms, strict=True))
    return terms


def _tokenized_words(connection: Connection, words: Sequence[str]) -> list[str]:
    if not words:
        return []
    _ensure_scratch(connection)
    _clear_scratch(connection)
    connection.exec_driver_sql(
        f"INSERT INTO {_SCRATCH}(rowid, title) VALUES (1, ?)", (" ".join(words),)
    )
    terms = [
        str(term)
        for (term,) in connection.exec_driver_sql(
            f"SELECT term FROM {_SCRATCH_TERMS} ORDER BY offset"
        )
    ]
    _clear_scratch(connection)
    if len(terms) != len(words):  # a word that is not one token: never expected
        raise ValueError(f"words do not tokenize one to one: {list(words)} -> {terms}")
    return terms


def _matching(connection: Connection, expression: str) -> int:
    """How many lessons match the FTS5 expression."""
    count = connection.exec_driver_sql(
        "SELECT count(*) FROM lesson_fts WHERE lesson_fts MATCH ?", (expression,)
    ).scalar()
    return int(count or 0)


def _rows(connection: Connection, sql: str, params: Sequence[object]) -> list[Any]:
    """Straight from the driver's cursor: these statements return tens of thousands of rows,
    and a result row object each would cost more than the query itself."""
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql, params)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _rowids(connection: Connection, expression: str, limit: int) -> Ids:
    found = _column(
        connection,
        "SELECT group_concat(rowid) FROM "
        "(SELECT rowid FROM lesson_fts WHERE lesson_fts MATCH ? LIMIT ?)",
        (expression, limit),
    )
    found.sort()  # FTS5 answers in rowid order already; membership tests rely on it
    return found


def _column(connection: Connection, sql: str, params: Sequence[object]) -> Ids:
    """The one value `sql` returns, a comma-separated list of ids (group_concat), as an
    array: a row per posting through the driver costs five times the query (59,000
    postings: 73 ms against 13 ms)."""
    return _columns(connection, sql, params, (np.int64,))[0]


def _columns(
    connection: Connection, sql: str, params: Sequence[object], types: Sequence[type]
) -> list[np.ndarray]:
    """`_column` for a row of several lists, each of its type."""
    row = _rows(connection, sql, params)[0]
    return [np.fromstring(v or "", dtype=t, sep=",") for v, t in zip(row, types, strict=True)]


def _lengths(connection: Connection, ids: Ids) -> np.ndarray:
    """Each lesson's length in tokens, all columns, from FTS5's own record of it (0 for a
    lesson it does not hold)."""
    marks = ", ".join("?" * len(ids))
    rows = _rows(
        connection, f"SELECT id, sz FROM lesson_fts_docsize WHERE id IN ({marks})", ids.tolist()
    )
    lengths = np.zeros(len(ids))
    if rows:
        found = np.fromiter((i for i, _ in rows), np.int64, count=len(rows))
        sizes = column_sizes(b"".join(blob for _, blob in rows)).reshape(len(rows), -1)
        order = np.argsort(ids)  # `ids` come in rank order
        lengths[order[np.searchsorted(ids[order], found)]] = sizes.sum(axis=1)
    return lengths


def column_sizes(blob: bytes) -> np.ndarray:
    """`varints` for many at once, none over 8 bytes (FTS5's sizes never come near)."""
    data = np.frombuffer(blob, np.uint8)
    if not len(data):
        return np.empty(0, np.int64)
    ends = np.flatnonzero(data < 0x80)  # the last byte of each value
    starts = np.concatenate(([0], ends[:-1] + 1))
    owner_end = np.repeat(ends, ends - starts + 1)
    shift = 7 * (owner_end - np.arange(len(data)))
    parts = (data & 0x7F).astype(np.int64) << shift
    return np.add.reduceat(parts, starts)
