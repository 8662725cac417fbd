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

The statistics are the viewer's own (retrieval.bm25), as on the exact path.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sqlalchemy import Connection

from lessons.storage.fulltext import COLUMNS
from retrieval.bm25 import K1, WEIGHTS, B, Corpus, Ids, _members
from retrieval.fts5_index import (
    _SCRATCH,
    _SCRATCH_TERMS,
    _clear_scratch,
    _column,
    _ensure_scratch,
    _lengths,
    _matching,
    _quoted,
    _rowids,
    _rows,
)

# Postings read to find candidates (about half a microsecond each, at a million lessons), and
# lessons scored exactly per result wanted (about 0.03 to 0.1 ms each, through the tokenizer).
# Chosen on the synthetic million-lesson bank (scripts/bench_search.py's queries): 20k and 6
# found 0.89 of the exact top ten at a 62 ms median; 35k and 2, 0.92 at 71 ms; 20k and 2,
# 0.79 at 53 ms. At 100k lessons each of these found all of it.
# bm25_caches reads CANDIDATE_POSTINGS from here too, at each call: a term in more lessons is
# "common" and its lessons are kept.
CANDIDATE_POSTINGS = 20_000
SCORED_PER_RESULT = 6
# When the viewer may see too few of the lessons found, read this many times more postings,
# at most this many times in all.
_BUDGET_GROWTH, _BUDGET_ROUNDS = 4, 3
# Lessons the first, rough pass hands to the second (see `_rough_best`).
_SHORTLIST = 1_000
_INSTANCES = "temp.lesson_fts_instances"  # every occurrence of every term in the index


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
