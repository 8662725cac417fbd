"""BM25 scored outside FTS5's `bm25()`, for banks too large for it to score every match.

FTS5's `bm25()` scores every lesson that matches any query term, about 7 microseconds each on
these machines; at a million lessons a four-word title matches most of them (3.4 s a query,
scripts/bench_search.py). Here the same formula, with the same statistics (lesson count,
average length, each term's document frequency), is applied to a bounded set of candidates:

1. Read how often each lesson holds each of the query's rarest terms, rarest first while
   their postings fit a budget, and which lessons hold any term, common ones too, in their
   title (titles are short, so these postings are few).
2. Score those lessons by BM25 from what was read, first as if every lesson were of average
   length, then, for a shortlist, with their real lengths.
3. Score the best of those exactly: their text goes through FTS5's own tokenizer (a scratch
   table in the connection's temp schema), so the counts are the index's own.

Scores equal `bm25()`'s to rounding for every lesson returned. What is approximate is which
lessons get that far: steps 1 and 2 do not know how often a lesson holds a common term outside
its title. The benchmark measures how often that changes the top ten against exact ranking,
and the evaluation what it does to ranking quality.

Every statistic is the viewer's own (`Collection`): lesson count, average length and document
frequencies come from the lessons the viewer may see, never from the whole index, so no score
shown changes when a hidden lesson holding a query term is added (FTS5's own bm25() counts
every lesson, which told a contributor how many hidden lessons hold a word). `exact` ranks
every visible match by those statistics when the query's postings are few; the bounded path
above uses the same ones.
"""

from __future__ import annotations

import math
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection

from lessons.storage.fulltext import COLUMNS, TOKENIZE
from retrieval.postings import Postings, postings

# FTS5's bm25() constants, and our column weights: a term in the title says more than one in
# the body, and a tag more than the body.
K1, B = 1.2, 0.75
WEIGHTS = (4.0, 1.0, 2.0)  # whole numbers: `_weighted_counts` relies on it
# Postings read to find candidates (about half a microsecond each, at a million lessons), and
# lessons scored exactly per result wanted (about 0.03 to 0.1 ms each, through the tokenizer).
# Chosen on the synthetic million-lesson bank (scripts/bench_search.py's queries): 20k and 6
# found 0.89 of the exact top ten at a 62 ms median; 35k and 2, 0.92 at 71 ms; 20k and 2,
# 0.79 at 53 ms. At 100k lessons each of these found all of it.
CANDIDATE_POSTINGS = 20_000
SCORED_PER_RESULT = 6
# When the viewer may see too few of the lessons found, read this many times more postings,
# at most this many times in all.
_BUDGET_GROWTH, _BUDGET_ROUNDS = 4, 3
# Lessons the first, rough pass hands to the second (see `_rough_best`).
_SHORTLIST = 1_000

Ids = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]
# Viewers' collections kept (see `_CollectionCache`).
_COLLECTIONS = 64
# Document frequencies are reused while the bank has changed size by less than this share,
# and for at most this long: an IDF moves by a fraction of a percent at most, and counting a
# common term's lessons again costs tens of milliseconds at a million lessons.
_DF_DRIFT = 0.001
_DF_MAX_AGE_S = 600.0
_KEPT_COUNTS = 2_000_000  # lessons' weighted counts kept for exact ranking, all words
_KEPT_POSTINGS = 8_000_000  # lesson ids kept, all terms together

_KEPT_TERMS = 100_000  # query words' index terms kept (`index_terms`)
_TERMS: dict[str, str] = {}
_TERMS_LOCK = threading.Lock()
_MOST_BOUND = 5_000  # lessons tokenized a statement (each a bound variable)
_SCRATCH = "temp.lesson_fts_scratch"
_SCRATCH_TERMS = "temp.lesson_fts_scratch_terms"
_INSTANCES = "temp.lesson_fts_instances"  # every occurrence of every term in the index
_AVERAGES_ROWID = 1  # FTS5 keeps its row count and per-column token totals in this record


@dataclass(frozen=True)
class Corpus:
    lessons: int
    average_length: float  # tokens per lesson over all columns

    def idf(self, frequency: int) -> float:
        """FTS5's IDF: terms in more than half the lessons count for (almost) nothing."""
        value = math.log((self.lessons - frequency + 0.5) / (frequency + 0.5))
        return value if value > 0 else 1e-6


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


class _FrequencyCache:
    """Lessons holding each term over the whole index (sorted ids), per database. A common
    term's are kept while the bank changes size by less than _DF_DRIFT and for at most
    _DF_MAX_AGE_S; a rare term's only until lessons change (a kept rare term goes stale where
    it matters most: a lesson's new, telling word counted as absent would not be found at
    all). Their sizes choose the ranking path and budget the postings read; a viewer's own
    counts are taken from them (`Collection.frequencies`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._common: dict[str, tuple[int, float, dict[str, Ids]]] = {}
        self._rare: dict[str, tuple[object, dict[str, Ids]]] = {}

    def _kept(self, key: str, size: int, version: object) -> tuple[dict[str, Ids], dict[str, Ids]]:
        now = time.monotonic()
        with self._lock:
            size0, born, common = self._common.get(key, (size, now, {}))
            if abs(size - size0) > size0 * _DF_DRIFT or now - born > _DF_MAX_AGE_S:
                size0, born, common = size, now, {}
            self._common[key] = (size0, born, common)
            seen, rare = self._rare.get(key, (version, {}))
            if version is None or seen != version:
                rare = {}
            self._rare[key] = (version, rare)
            return common, rare

    def postings(
        self, connection: Connection, size: int, words: Sequence[str], version: object = None
    ) -> dict[str, Ids]:
        """The lessons holding each word, sorted (`size`: lessons in the index; `version`:
        lessons' change counter, None to keep no rare term)."""
        common, rare = self._kept(str(connection.engine.url), size, version)
        found: dict[str, Ids] = {}
        for word in words:
            with self._lock:
                kept = common.get(word, rare.get(word))
            if kept is None:
                kept = _rowids(connection, _quoted(word), 2**62)
                if len(kept) > CANDIDATE_POSTINGS or version is not None:
                    self._keep(common if len(kept) > CANDIDATE_POSTINGS else rare, word, kept)
            found[word] = kept
        return found

    def get(self, connection: Connection, size: int, terms: Sequence[str]) -> dict[str, int]:
        """How many lessons hold each term."""
        return {t: len(ids) for t, ids in self.postings(connection, size, terms).items()}

    def _keep(self, kept: dict[str, Ids], term: str, ids: Ids) -> None:
        with self._lock:
            kept[term] = ids
            # Bounded memory: the oldest kept terms go first (8 M ids, 64 MB).
            while sum(len(v) for v in kept.values()) > _KEPT_POSTINGS and len(kept) > 1:
                del kept[next(iter(kept))]


frequencies = _FrequencyCache()


class _LengthCache:
    """Every indexed lesson's length in tokens (all columns), by lesson id, per database; read
    again whenever lessons change (`lessons.storage.changes.version`), so always this snapshot's."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_database: dict[str, tuple[object, npt.NDArray[np.float64], Mask]] = {}

    def get(self, connection: Connection, version: object) -> tuple[np.ndarray, Mask]:
        """(length by lesson id, 0 where none; whether each id is in the index)."""
        key = str(connection.engine.url)
        with self._lock:
            found = self._by_database.get(key)
        if found is not None and found[0] == version:
            return found[1], found[2]
        # One row, not one a lesson (a million at most): the ids, and every size record
        # back to back (each holds one varint a column, so they part again by count).
        listed, records = _rows(
            connection,
            "SELECT group_concat(id), group_concat(hex(sz), '') FROM lesson_fts_docsize",
            (),
        )[0]
        ids = np.fromstring(listed or "", dtype=np.int64, sep=",")
        sizes = column_sizes(bytes.fromhex(records or "")).reshape(len(ids), len(COLUMNS))
        top = int(ids.max()) + 1 if len(ids) else 0
        lengths, indexed = np.zeros(top), np.zeros(top, bool)
        lengths[ids], indexed[ids] = sizes.sum(axis=1), True
        with self._lock:
            self._by_database[key] = (version, lengths, indexed)
        return lengths, indexed


_lengths_by_id = _LengthCache()


@dataclass
class Collection:
    """The lessons a viewer may see, as BM25 counts them: their number, average length and,
    per query word, how many hold it. Nothing about a hidden lesson enters a score."""

    ids: Ids  # sorted
    lengths: np.ndarray  # every indexed lesson's length, by id
    visible: Mask  # by id
    corpus: Corpus
    version: object  # the lessons' snapshot (lessons.storage.changes.version)
    frequency: dict[str, int] = field(default_factory=dict)  # query word -> visible lessons

    def holds(self, ids: Ids) -> Mask:
        """Which of `ids` (lesson ids) the viewer may see."""
        inside = ids < len(self.visible)
        found = np.zeros(len(ids), bool)
        found[inside] = self.visible[ids[inside]]
        return found

    def frequencies(self, held: dict[str, Ids]) -> dict[str, int]:
        """Visible lessons holding each word, of those holding it (`_FrequencyCache`)."""
        for word, ids in held.items():
            if word not in self.frequency:
                self.frequency[word] = int(np.count_nonzero(self.holds(ids)))
        return {w: self.frequency[w] for w in held}


class _CollectionCache:
    """One `Collection` per array of allowed ids (the retriever keeps one per viewer and
    filters until lessons change) and snapshot."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: list[tuple[weakref.ref[Ids], str, object, Collection]] = []

    def get(self, connection: Connection, allowed_ids: Ids, version: object) -> Collection:
        url = str(connection.engine.url)
        with self._lock:
            self._kept = [k for k in self._kept if k[0]() is not None][-_COLLECTIONS:]
            for ref, key, seen, found in self._kept:
                if ref() is allowed_ids and key == url and seen == version:
                    return found
        lengths, indexed = _lengths_by_id.get(connection, version)
        ids = allowed_ids[allowed_ids < len(indexed)]
        ids = ids[indexed[ids]]
        visible = np.zeros(len(indexed), bool)
        visible[ids] = True
        total = float(lengths[ids].sum())
        average = total / len(ids) if len(ids) else 0.0
        made = Collection(ids, lengths, visible, Corpus(len(ids), average), version)
        with self._lock:
            self._kept.append((weakref.ref(allowed_ids), url, version, made))
        return made


_collections = _CollectionCache()


def collection(connection: Connection, allowed_ids: Ids, version: object) -> Collection:
    """The viewer's collection: `allowed_ids` (sorted) as of `version` (lessons.storage.changes)."""
    return _collections.get(connection, allowed_ids, version)


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


def candidates(
    connection: Connection,
    terms: dict[str, str],
    df: dict[str, int],
    stats: Corpus,
    *,
    want: int,
    allowed_ids: np.ndarray | None,
    budget: int | None = None,
) -> np.ndarray:
    """Up to `want` lesson ids most likely to rank best, for the query words `terms` (word ->
    index term; `df` by word). Lessons outside `allowed_ids` (sorted), when given, are
    dropped before choosing; when too few are left (the rarest terms' lessons were mostly
    hidden), the postings budget grows, up to _BUDGET_ROUNDS times."""
    budget = CANDIDATE_POSTINGS if budget is None else budget
    rarest = sorted((w for w in terms if df[w] > 0), key=lambda w: df[w])
    found = np.empty(0, np.int64)
    for _ in range(_BUDGET_ROUNDS):
        found, complete = _rough_best(
            connection, {w: terms[w] for w in rarest}, df, stats, want, allowed_ids, budget
        )
        if len(found) >= want or complete:
            break
        budget *= _BUDGET_GROWTH
    return found


def _rough_best(
    connection: Connection,
    rarest: dict[str, str],
    df: dict[str, int],
    stats: Corpus,
    want: int,
    allowed_ids: np.ndarray | None,
    budget: int,
) -> tuple[np.ndarray, bool]:
    """`candidates` within one budget; also whether every posting of every term was read.

    Read: how often each lesson holds each of the rarest terms, while their postings fit
    the budget; and, for every term, common ones too, which lessons hold it in the title (a
    title holds few words but weighs four times the body, so these are cheap and telling).
    From that, each lesson's BM25 as if its length were average picks a shortlist, and the
    shortlist is ordered by the same with its real lengths. What is not known is how often
    a lesson holds a common term outside its title: the approximation."""
    if not rarest:
        return np.empty(0, np.int64), True
    counts, complete = _counts(connection, rarest, df, budget)
    titles: dict[str, Ids] = {}
    title_postings = 0
    for word in rarest:
        if title_postings >= budget:
            break
        titles[word] = _rowids(connection, f"title : {_quoted(word)}", budget - title_postings)
        title_postings += len(titles[word])
    unique = np.unique(np.concatenate([*(ids for ids, _ in counts.values()), *titles.values()]))
    if allowed_ids is not None:
        unique = unique[_members(unique, allowed_ids)[0]] if len(allowed_ids) else unique[:0]
    if not len(unique):
        return unique, complete
    held = _Holdings(len(unique))
    frequency = {w: held.of(unique, counts.get(w), titles.get(w)) for w in rarest}
    idf = {w: stats.idf(df[w]) for w in rarest}
    rough = np.zeros(len(unique))  # BM25 as if every lesson were of average length
    for word, (rows, f) in frequency.items():
        rough[rows] += idf[word] * f * (K1 + 1) / (f + K1)
    shortlist = np.lexsort((unique, -rough))[: max(want, _SHORTLIST)]
    if len(shortlist) <= want:
        return unique[shortlist], complete
    lengths = _lengths(connection, unique[shortlist])
    norm = K1 * (1 - B + B * lengths / (stats.average_length or 1.0))
    place = np.full(len(unique), -1)
    place[shortlist] = np.arange(len(shortlist))
    better = np.zeros(len(shortlist))
    for word, (rows, f) in frequency.items():
        at = place[rows]
        listed = at >= 0
        at, f = at[listed], f[listed]
        better[at] += idf[word] * f * (K1 + 1) / (f + norm[at])
    shortlist = shortlist[np.lexsort((unique[shortlist], -better))[:want]]
    return unique[shortlist], complete


class _Holdings:
    """Which candidates hold a term and its weighted count in each, as far as known: its
    count anywhere (where read), a title hit weighing WEIGHTS[0] instead of 1."""

    def __init__(self, size: int) -> None:
        self._counts = np.zeros(size)  # scratch, zero between calls

    def of(
        self, lessons: Ids, counts: tuple[Ids, np.ndarray] | None, title: Ids | None
    ) -> tuple[Ids, np.ndarray]:
        """(rows of `lessons` holding the term, ascending; the weighted count in each)."""
        rows: list[Ids] = []
        if counts is not None and len(counts[0]):
            ids, n = counts
            found, at = _members(ids, lessons)
            self._counts[at[found]] = n[found]
            rows.append(at[found])
        if title is not None and len(title):
            found, at = _members(title, lessons)
            in_title = at[found]
            self._counts[in_title] = np.maximum(self._counts[in_title], 1) + WEIGHTS[0] - 1
            rows.append(in_title)
        if not rows:
            return np.empty(0, np.int64), np.empty(0)
        held = np.unique(np.concatenate(rows))
        f = self._counts[held]
        self._counts[held] = 0
        return held, f


def _members(values: Ids, sorted_ids: Ids) -> tuple[np.ndarray, Ids]:
    """Which `values` are in `sorted_ids` (ascending, not empty), and where."""
    at = np.searchsorted(sorted_ids, values).clip(max=len(sorted_ids) - 1)
    return sorted_ids[at] == values, at


def _counts(
    connection: Connection, rarest: dict[str, str], df: dict[str, int], budget: int
) -> tuple[dict[str, tuple[Ids, np.ndarray]], bool]:
    """For the rarest words while their postings fit `budget`: (lesson ids, sorted; how often
    each holds the word); also whether every posting of every word was read. When even the
    rarest is in too many lessons, the lessons holding the rarest words together, terms added
    until they fit, each counted once."""
    chosen: list[str] = []
    postings = 0
    for word in rarest:
        if chosen and postings + df[word] > budget:
            break
        chosen.append(word)
        postings += df[word]
    if postings <= budget:
        _ensure_vocabulary(connection)
        found = {w: _occurrences(connection, rarest[w]) for w in chosen}
        return found, len(chosen) == len(rarest)
    together = list(rarest)[:1]
    for word in list(rarest)[1:]:
        expression = " AND ".join(_quoted(w) for w in [*together, word])
        together.append(word)
        if _matching(connection, expression) <= budget:
            break
    ids = _rowids(connection, " AND ".join(_quoted(w) for w in together), budget)
    return {w: (ids, np.ones(len(ids))) for w in together}, False


def _ensure_vocabulary(connection: Connection) -> None:
    connection.exec_driver_sql(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {_INSTANCES} "
        "USING fts5vocab(main, lesson_fts, instance)"
    )


def _occurrences(connection: Connection, term: str) -> tuple[Ids, np.ndarray]:
    """Lessons holding the index term, sorted, and how many times each holds it."""
    docs = _column(connection, f"SELECT group_concat(doc) FROM {_INSTANCES} WHERE term = ?", [term])
    ids, n = np.unique(docs, return_counts=True)
    return ids, n.astype(np.float64)


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


def score(
    connection: Connection,
    ids: Sequence[int],
    terms: dict[str, int],
    stats: Corpus,
) -> dict[int, float]:
    """Exact BM25 of each lesson in `ids` (all must be in the index) for the index terms in
    `terms` (term -> lessons holding it), as FTS5's bm25() with WEIGHTS would give it."""
    if not ids or not terms:
        return {}
    lessons = np.asarray(ids, dtype=np.int64)
    marks = ", ".join("?" * len(ids))
    _ensure_scratch(connection)
    _clear_scratch(connection)
    try:
        connection.exec_driver_sql(
            f"INSERT INTO {_SCRATCH}(rowid, {', '.join(COLUMNS)}) "
            f"SELECT rowid, {', '.join(COLUMNS)} FROM main.lesson_fts WHERE rowid IN ({marks})",
            tuple(lessons.tolist()),
        )
        counts = _rows(
            connection,
            f"SELECT term, doc, col, count(*) FROM {_SCRATCH_TERMS} "
            f"WHERE term IN ({', '.join('?' * len(terms))}) GROUP BY term, doc, col",
            list(terms),
        )
    finally:
        _clear_scratch(connection)
    column = dict(zip(terms, range(len(terms)), strict=True))
    weight = dict(zip(COLUMNS, WEIGHTS, strict=True))
    order = np.argsort(lessons)
    row = order[np.searchsorted(lessons[order], [doc for _, doc, _, _ in counts])]
    f = np.zeros((len(lessons), len(terms)))  # weighted count of each term in each lesson
    term_at = np.array([column[term] for term, _, _, _ in counts], dtype=np.int64)
    np.add.at(f, (row, term_at), [weight[name] * n for _, _, name, n in counts])
    norm = K1 * (1 - B + B * _lengths(connection, lessons) / (stats.average_length or 1.0))
    idf = np.array([stats.idf(df) for df in terms.values()])
    total = (idf * f * (K1 + 1) / (f + norm[:, None])).sum(axis=1)
    return dict(zip(lessons.tolist(), total.tolist(), strict=True))
