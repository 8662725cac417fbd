"""The full-text index's postings held in memory, for exact BM25 without asking FTS5 per query.

At 100k lessons a query's terms have tens of thousands of postings each; reading them through
FTS5 per query (bm25(), fts5vocab, a scratch table to score candidates) cost most of a hybrid
search (about 170 ms of its 290, scripts/bench_search.py under load). Here every term's
postings are read once, from the FTS5 index's own tokens (fts5vocab 'instance', so stems and
counts are the index's, never a second tokenizer's), into CSR arrays: a term's sorted lesson
ids and each lesson's weighted count of it (a hit in a column weighs `bm25.WEIGHTS`).
`bm25_exact.exact` scores from them with the viewer's own statistics, every visible match,
exactly.

Kept in step as the vector index is: when the lessons' change counter moves, the lessons
changed since (new or gone from the index, a different length, or edited since the last look:
`Lesson.updated_at`, which every edit of text or tags sets) are tokenized again through a
scratch FTS5 table with the index's tokenizer and held beside the arrays, their old postings
masked; when those grow past a share of the whole, everything is read again. Nothing here
depends on SQLite beyond where the tokens come from: on PostgreSQL the same arrays can be
filled from its own tokens.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection

from lessons.storage import changes
from lessons.storage.fulltext import COLUMNS

Ids = npt.NDArray[np.int64]
# Changed lessons' postings held beside the arrays, at most this share of all postings (and
# changed lessons at most this share of all lessons) before everything is read again.
_REBUILD_SHARE = 0.05
# Edits seen again after the last look: timestamps come from several processes' clocks.
_OVERLAP = timedelta(seconds=60)
_INSTANCES = "temp.lesson_fts_all_instances"
_ROWS = "temp.lesson_fts_all_rows"
# The current postings of the given lessons, as `Postings.extra` holds them.
Tokenize = Callable[[Connection, Ids], dict[str, tuple[Ids, np.ndarray]]]


def _weight_sql(weights: Sequence[float]) -> str:
    """An SQL expression giving a hit's weight from its column's name."""
    cases = " ".join(
        f"WHEN '{name}' THEN {int(w)}" for name, w in zip(COLUMNS, weights, strict=True)
    )
    return f"CASE col {cases} ELSE 0 END"


@dataclass
class Postings:
    """Every term's lessons (ascending) and weighted counts, CSR-style, plus the lessons
    changed since the arrays were read (`changed`: their postings in the arrays are stale;
    `extra`: their current postings, term -> (ids, counts))."""

    terms: dict[str, int]
    offsets: npt.NDArray[np.int64]
    ids: npt.NDArray[np.uint32]
    counts: npt.NDArray[np.uint16] | npt.NDArray[np.uint32]
    lengths: np.ndarray  # each lesson's length by id when last looked at, to spot changes
    newest: datetime | None  # latest Lesson.updated_at seen
    version: object
    changed: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, bool))
    extra: dict[str, tuple[Ids, np.ndarray]] = field(default_factory=dict)

    def of(self, term: str) -> tuple[Ids, np.ndarray]:
        """(lessons holding the index term, ascending; its weighted count in each)."""
        row = self.terms.get(term)
        if row is None:
            ids, counts = np.empty(0, np.int64), np.empty(0)
        else:
            start, end = self.offsets[row], self.offsets[row + 1]
            ids = self.ids[start:end].astype(np.int64)
            counts = self.counts[start:end].astype(np.float64)
        if not len(self.changed) and term not in self.extra:
            return ids, counts
        if len(self.changed):
            inside = ids < len(self.changed)
            keep = np.ones(len(ids), bool)
            keep[inside] = ~self.changed[ids[inside]]
            ids, counts = ids[keep], counts[keep]
        if term in self.extra:
            more_ids, more = self.extra[term]
            ids, counts = np.concatenate([ids, more_ids]), np.concatenate([counts, more])
            order = np.argsort(ids, kind="stable")
            ids, counts = ids[order], counts[order]
        return ids, counts

    def extra_postings(self) -> int:
        return sum(len(ids) for ids, _ in self.extra.values())


def read_all(
    connection: Connection,
    weights: Sequence[float],
    lengths: np.ndarray,
    version: object,
) -> Postings:
    """Every posting of the index, from its own tokens (one pass over fts5vocab 'instance',
    grouped by term: ids and weights come back as text lists, parsed by numpy), into arrays
    sized first from fts5vocab 'row' (so the peak is the arrays, not twice them)."""
    newest = _newest(connection)
    for kind, table in (("instance", _INSTANCES), ("row", _ROWS)):
        connection.exec_driver_sql(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {table} USING fts5vocab(main, lesson_fts, {kind})"
        )
    total = int(connection.exec_driver_sql(f"SELECT sum(doc) FROM {_ROWS}").scalar() or 0)
    ids = np.empty(total, np.uint32)
    counts: npt.NDArray[np.uint16] | npt.NDArray[np.uint32] = np.empty(total, np.uint16)
    terms: dict[str, int] = {}
    offsets = [0]
    cursor = connection.connection.cursor()
    try:
        cursor.execute(
            f"SELECT term, group_concat(doc), group_concat({_weight_sql(weights)}) "
            f"FROM {_INSTANCES} GROUP BY term"
        )
        for term, docs, hits in iter(cursor.fetchone, None):  # a term at a time
            lessons, weighted = _per_lesson(
                np.fromstring(docs, dtype=np.int64, sep=","),
                np.fromstring(hits, dtype=np.int64, sep=","),
            )
            start, end = offsets[-1], offsets[-1] + len(lessons)
            if weighted.max() >= 2**16 and counts.dtype == np.uint16:
                counts = counts.astype(np.uint32)  # never met: a word 16k times in a lesson
            ids[start:end], counts[start:end] = lessons, weighted  # whole numbers (WEIGHTS)
            terms[str(term)] = len(offsets) - 1
            offsets.append(end)
    finally:
        cursor.close()
    assert offsets[-1] == total, "fts5vocab's row and instance tables disagree"
    return Postings(
        terms,
        np.asarray(offsets, np.int64),
        ids,
        counts,
        lengths.copy(),
        newest,
        version,
    )


def _per_lesson(docs: Ids, hits: npt.NDArray[np.int64]) -> tuple[Ids, npt.NDArray[np.int64]]:
    """One hit a row (lesson, weight) to one row a lesson, ascending (weights summed)."""
    if len(docs) > 1 and (np.diff(docs) < 0).any():  # fts5vocab lists a term by lesson
        order = np.argsort(docs, kind="stable")
        docs, hits = docs[order], hits[order]
    starts = np.flatnonzero(np.concatenate(([True], docs[1:] != docs[:-1])))
    return docs[starts], np.add.reduceat(hits, starts)


def _older(version: object, than: object) -> bool:
    """Whether `version` (lessons.storage.changes.version) comes from a snapshot before `than`'s."""
    return isinstance(version, tuple) and isinstance(than, tuple) and changes.older(version, than)


def _newest(connection: Connection) -> datetime | None:
    value = connection.exec_driver_sql("SELECT max(updated_at) FROM lesson").scalar()
    return _as_datetime(value)


def _as_datetime(value: object) -> datetime | None:
    if value is None:
        return None
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def changed_lessons(connection: Connection, kept: Postings, lengths: np.ndarray) -> Ids:
    """Lessons whose postings may differ from `kept`'s: in or out of the index since, of
    another length, or edited since its last look (with `_OVERLAP` for clocks)."""
    size = max(len(lengths), len(kept.lengths))
    now, then = np.zeros(size), np.zeros(size)  # 0: not in the index
    now[: len(lengths)] = lengths
    then[: len(kept.lengths)] = kept.lengths
    moved = np.flatnonzero(now != then)
    edited: list[int] = []
    if kept.newest is not None:
        since = (kept.newest - _OVERLAP).isoformat(sep=" ")
        edited = [
            int(i)
            for (i,) in connection.exec_driver_sql(
                "SELECT id FROM lesson WHERE updated_at >= ?", (since,)
            )
        ]
    return np.union1d(moved, np.asarray(edited, np.int64)).astype(np.int64)


class PostingsCache:
    """One `Postings` per database, brought up to date when lessons change (see the module's
    account); None for a snapshot older than the one kept (the caller reads FTS5 instead)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_database: dict[str, Postings] = {}

    def get(
        self,
        connection: Connection,
        version: object,
        lengths: np.ndarray,
        weights: Sequence[float],
        tokenize: Tokenize,
    ) -> Postings | None:
        key = str(connection.engine.url)
        with self._lock:
            kept = self._by_database.get(key)
            if kept is not None and kept.version == version:
                return kept
            if kept is not None and _older(version, kept.version):
                return None
            if kept is None:
                made = read_all(connection, weights, lengths, version)
            else:
                made = self._updated(connection, kept, version, lengths, weights, tokenize)
            self._by_database[key] = made
            return made

    def _updated(
        self,
        connection: Connection,
        kept: Postings,
        version: object,
        lengths: np.ndarray,
        weights: Sequence[float],
        tokenize: Tokenize,
    ) -> Postings:
        newest = _newest(connection)
        lessons = changed_lessons(connection, kept, lengths)
        if len(lessons) > _REBUILD_SHARE * max(int(np.count_nonzero(lengths)), 1):
            return read_all(connection, weights, lengths, version)  # a bulk change: read once
        top = int(lessons.max()) + 1 if len(lessons) else 0
        changed = np.zeros(max(len(kept.changed), top), bool)
        changed[: len(kept.changed)] = kept.changed
        changed[lessons] = True
        extra = {
            term: (ids[keep], counts[keep])
            for term, (ids, counts) in kept.extra.items()
            if (keep := ~np.isin(ids, lessons)).any()
        }
        indexed = lessons[lessons < len(lengths)]
        indexed = indexed[lengths[indexed] > 0]
        for term, (ids, counts) in tokenize(connection, indexed).items():
            old_ids, old = extra.get(term, (np.empty(0, np.int64), np.empty(0)))
            both, f = np.concatenate([old_ids, ids]), np.concatenate([old, counts])
            order = np.argsort(both, kind="stable")
            extra[term] = (both[order], f[order])
        made = Postings(
            kept.terms,
            kept.offsets,
            kept.ids,
            kept.counts,
            lengths.copy(),
            newest if newest is not None else kept.newest,
            version,
            changed,
            extra,
        )
        if made.extra_postings() > _REBUILD_SHARE * max(len(kept.ids), 1):
            return read_all(connection, weights, lengths, version)
        return made

    def clear(self) -> None:
        with self._lock:
            self._by_database.clear()


postings = PostingsCache()
