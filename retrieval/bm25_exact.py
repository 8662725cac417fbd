"""BM25 of every visible match, exactly, by the viewer's own statistics (retrieval.bm25):
from the index's postings held in memory (retrieval.postings), or from FTS5 per query, for
queries whose terms are rare enough (retrieval.lexical chooses)."""

from __future__ import annotations

import threading

import numpy as np
from sqlalchemy import Connection

from lessons.storage.fulltext import COLUMNS
from retrieval.bm25 import K1, WEIGHTS, B, Collection, Corpus, Ids, _members
from retrieval.bm25_caches import _lengths_by_id
from retrieval.fts5_index import (
    _SCRATCH,
    _SCRATCH_TERMS,
    _clear_scratch,
    _ensure_scratch,
    _quoted,
    _rows,
    corpus,
)
from retrieval.postings import Postings, postings

_KEPT_COUNTS = 2_000_000  # lessons' weighted counts kept for exact ranking, all words
_MOST_BOUND = 5_000  # lessons tokenized a statement (each a bound variable)


def exact(
    connection: Connection,
    terms: dict[str, str],
    seen: Collection,
    limit: int,
    allowed_ids: Ids | None = None,
    held_in: Postings | None = None,
) -> list[tuple[int, float]]:
    """Every lesson of the viewer's collection holding any of `terms` (index term -> query
    word), or only those in `allowed_ids` (sorted; a filtered search) when given, scored by
    BM25 over the collection, as FTS5's bm25() with WEIGHTS would score it over a bank of only
    those lessons; the best `limit`, ties to the older lesson. Reads every posting of every
    term, from `held_in` (the index's postings in memory, `in_memory`) when given, else from
    FTS5: then for queries whose terms are rare enough."""
    if held_in is not None:
        return _exact_in_memory(held_in, terms, seen, limit, allowed_ids)
    held: list[tuple[Ids, np.ndarray]] = []
    whole = corpus(connection)
    for word in terms.values():
        ids, weighted = _counts_by_word.get(connection, word, whole, seen)
        shown = seen.holds(ids)
        held.append((ids[shown], weighted[shown]))
        seen.frequency[word] = int(np.count_nonzero(shown))
    lessons = np.unique(np.concatenate([ids for ids, _ in held])) if held else np.empty(0, np.int64)
    if allowed_ids is not None and len(lessons):
        lessons = lessons[_members(lessons, allowed_ids)[0]] if len(allowed_ids) else lessons[:0]
    if not len(lessons):
        return []
    norm = K1 * (1 - B + B * seen.lengths[lessons] / (seen.corpus.average_length or 1.0))
    total = np.zeros(len(lessons))
    for ids, f in held:  # in query order, as FTS5 sums its phrases
        idf = seen.corpus.idf(len(ids))
        found, rows = _members(ids, lessons)
        rows, f = rows[found], f[found]
        total[rows] += idf * f * (K1 + 1) / (f + norm[rows])
    best = np.lexsort((lessons, -total))[:limit]
    return list(zip(lessons[best].tolist(), total[best].tolist(), strict=True))


def _exact_in_memory(
    held_in: Postings,
    terms: dict[str, str],
    seen: Collection,
    limit: int,
    allowed_ids: Ids | None,
) -> list[tuple[int, float]]:
    """`exact` from postings in memory: the same sums in the same order (so the same
    scores to the bit), gathered in arrays by lesson id instead of over the union of the
    terms' lessons, whose sorting cost more than the scoring."""
    size = len(seen.visible)
    total, found = np.zeros(size), np.zeros(size, bool)
    average = seen.corpus.average_length or 1.0
    for term, word in terms.items():  # in query order, as FTS5 sums its phrases
        ids, f = held_in.of(term)
        ids, f = ids[ids < size], f[ids < size]
        shown = seen.visible[ids]
        ids, f = ids[shown], f[shown]
        seen.frequency[word] = len(ids)
        idf = seen.corpus.idf(len(ids))
        norm = K1 * (1 - B + B * seen.lengths[ids] / average)
        total[ids] += idf * f * (K1 + 1) / (f + norm)
        found[ids] = True
    if allowed_ids is not None:
        narrowed = np.zeros(size, bool)
        narrowed[allowed_ids[allowed_ids < size]] = True
        found &= narrowed
    lessons = np.flatnonzero(found)
    if len(lessons) > limit > 0:  # the best `limit` and any tied with the last of them
        scores = total[lessons]
        last = np.partition(scores, len(scores) - limit)[len(scores) - limit]
        lessons = lessons[scores >= last]
    best = np.lexsort((lessons, -total[lessons]))[:limit]
    return list(zip(lessons[best].tolist(), total[lessons[best]].tolist(), strict=True))


class _CountsCache:
    """Each query word's `_weighted_counts`, per database, until lessons change: a bank's
    briefs share many words, and FTS5 costs most of an exact search."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_database: dict[str, tuple[object, dict[str, tuple[Ids, np.ndarray]]]] = {}

    def get(
        self, connection: Connection, word: str, whole: Corpus, seen: Collection
    ) -> tuple[Ids, np.ndarray]:
        key = str(connection.engine.url)
        with self._lock:
            version, kept = self._by_database.get(key, (seen.version, {}))
            if version != seen.version:
                kept = {}
            self._by_database[key] = (seen.version, kept)
            found = kept.get(word)
        if found is None:
            found = _weighted_counts(connection, word, whole, seen.lengths)
            with self._lock:
                kept[word] = found
                # Bounded memory: the oldest words go first (2 M lessons' counts, 32 MB).
                while sum(len(ids) for ids, _ in kept.values()) > _KEPT_COUNTS and len(kept) > 1:
                    del kept[next(iter(kept))]
        return found


_counts_by_word = _CountsCache()


def _weighted_counts(
    connection: Connection, word: str, whole: Corpus, lengths: np.ndarray
) -> tuple[Ids, np.ndarray]:
    """Lessons holding the query word, sorted, and its count in each, a column's hits weighed
    by WEIGHTS: FTS5's bm25() of the word alone (over the whole index, `whole`; `lengths` by
    lesson id) solved for the count, s = idf f (k1 + 1) / (f + K) giving f = s K / (idf (k1 +
    1) - s). Twice as fast as counting the index's occurrences through fts5vocab; the weights
    are whole numbers, so the count is too, and rounding removes the floating-point error."""
    rows = _rows(
        connection,
        f"SELECT rowid, -bm25(lesson_fts, {', '.join(map(str, WEIGHTS))}) FROM lesson_fts "
        "WHERE lesson_fts MATCH ?",
        [_quoted(word)],
    )
    table = np.array(rows, dtype=np.float64).reshape(len(rows), 2)  # ids are exact below 2**53
    ids, score = table[:, 0].astype(np.int64), table[:, 1]
    norm = K1 * (1 - B + B * lengths[ids] / (whole.average_length or 1.0))
    counts = np.rint(score * norm / (whole.idf(len(ids)) * (K1 + 1) - score))
    order = np.argsort(ids, kind="stable")
    return ids[order], counts[order]


def in_memory(connection: Connection, version: object) -> Postings | None:
    """The index's postings in memory as of the snapshot `version` (lessons.storage.changes.version;
    read whole the first time, then brought up to date as lessons change:
    `retrieval.postings`); None when this transaction's snapshot is older than the one held."""
    lengths, _ = _lengths_by_id.get(connection, version)
    return postings.get(connection, version, lengths, WEIGHTS, _tokenized)


def _tokenized(connection: Connection, lessons: Ids) -> dict[str, tuple[Ids, np.ndarray]]:
    """The lessons' postings as the index holds them now (term -> ids ascending, weighted
    counts), through the scratch table's tokenizer, the index's own."""
    _ensure_scratch(connection)
    weight = dict(zip(COLUMNS, WEIGHTS, strict=True))
    found: dict[str, dict[int, float]] = {}
    for start in range(0, len(lessons), _MOST_BOUND):
        chunk = lessons[start : start + _MOST_BOUND].tolist()
        _clear_scratch(connection)
        try:
            connection.exec_driver_sql(
                f"INSERT INTO {_SCRATCH}(rowid, {', '.join(COLUMNS)}) "
                f"SELECT rowid, {', '.join(COLUMNS)} FROM main.lesson_fts "
                f"WHERE rowid IN ({', '.join('?' * len(chunk))})",
                tuple(chunk),
            )
            rows = _rows(
                connection,
                f"SELECT term, doc, col, count(*) FROM {_SCRATCH_TERMS} GROUP BY term, doc, col",
                (),
            )
        finally:
            _clear_scratch(connection)
        for term, doc, column, n in rows:
            counts = found.setdefault(str(term), {})
            counts[int(doc)] = counts.get(int(doc), 0.0) + weight[column] * n
    result: dict[str, tuple[Ids, np.ndarray]] = {}
    for term, counts in found.items():
        ids = np.fromiter(counts, np.int64, count=len(counts))
        order = np.argsort(ids)
        result[term] = (ids[order], np.fromiter(counts.values(), np.float64)[order])
    return result
