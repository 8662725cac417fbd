"""Full-text ranking (BM25) over the database's own full-text index; only lessons the viewer may
see come back.

Scores are BM25 over the viewer's own collection: lesson count, average length and document
frequencies of the lessons they may see (FTS5's bm25() counts every lesson, hidden ones too,
and a score would tell how many hidden lessons hold a word; `retrieval.bm25`). A query whose
terms are rare enough is ranked exactly, every visible match scored (`retrieval.bm25_exact`);
otherwise `retrieval.bm25_bounded` scores a bounded set of candidates by the same statistics."""

from __future__ import annotations

import numpy as np
from sqlmodel import Session, col
from sqlmodel.sql.expression import SelectOfScalar

from lessons.storage import backends, changes
from lessons.storage.models import Lesson
from retrieval import bm25, bm25_bounded, bm25_caches, bm25_exact, fts5_index
from retrieval.explain import STOPWORDS
from retrieval.text import words

WEIGHTS = bm25.WEIGHTS
MAX_TERMS = 40  # a page-long brief: keep the query bounded
# Viewers who may see at most this many lessons, and queries whose terms this many of those
# lessons hold in all, are ranked exactly, every visible match scored (`bm25_exact.exact`, about
# the cost of FTS5's bm25() per posting); above it the bounded ranker scores a bounded set of
# candidates, whose exact scoring costs about 50 ms of CPU whatever the bank (CPU time of
# lexical.search, p50 over 60 of scripts/bench_search.py's queries: 10k lessons 21 ms all
# exact, 36 ms with the bounded ranker above 10,000 postings; 100k lessons 46 ms with the
# limit at 10,000 postings, 61 ms at 30,000, 68 ms at 100,000).
EXACT_LIMIT = 10_000

# Rank exactly from the index's postings held in memory (`retrieval.postings`): every visible
# match scored, about 5 ms a query at 100k lessons where FTS5 took 50 to 200. Off, or with an
# `exact_limit`, FTS5 is read per query as below (the bounded ranker above EXACT_LIMIT).
IN_MEMORY = True

# Lessons the bounded ranker scores exactly, at most: each is a bound SQL variable, and SQLite
# allows 32,766 a statement.
_MOST_SCORED = 5_000


def query_words(query: str) -> list[str]:
    """The text's content words, each once, in order, as single tokens of letters and digits
    (so user text can never be read as FTS5 syntax)."""
    found: dict[str, None] = {}
    for word in words(query.replace("-", " ").replace("'", " ")):
        if word not in STOPWORDS and len(word) > 1:
            found[word] = None
    return list(found)[:MAX_TERMS]


def prepare(session: Session) -> None:
    """Read the index's postings into memory now (a server's start-up), not at the first
    search: about 15 s at 100k lessons."""
    if IN_MEMORY and backends.of(session).fts5:
        bm25_exact.in_memory(session.connection(), changes.version(session))


def search(
    session: Session,
    query: str,
    *,
    allowed: SelectOfScalar[int | None],
    limit: int,
    allowed_ids: np.ndarray | None = None,
    exact_limit: int | None = None,
    collection_ids: np.ndarray | None = None,
) -> list[tuple[int, float]]:
    """(lesson id, BM25 score, higher is better): the best `limit` lessons in `allowed` that
    match `query`, each query term counted once however many forms of it the query holds.
    Scores are BM25 over the lessons in `allowed` alone (their number, average length and
    document frequencies), so nothing hidden from the viewer moves them. `allowed_ids` (sorted)
    are the ids `allowed` holds, when the caller knows them (and keeps the same array while
    lessons do not change: the viewer's statistics are kept with it). `collection_ids`
    (sorted, a superset of `allowed`'s) are the lessons whose statistics count, when a filter
    narrows the search: the viewer's whole collection, so a filter does not change a lesson's
    score; `allowed_ids` by default. `exact_limit` overrides
    EXACT_LIMIT and reads FTS5 per query instead of the postings held in memory."""
    if not backends.of(session).fts5:
        return []  # PostgreSQL's full text is answered by the database (issue 13, pgsearch)
    connection = session.connection()
    found = query_words(query)
    by_term: dict[str, str] = {}  # index term -> the first query word that gave it
    for term, word in zip(fts5_index.index_terms(connection, found), found, strict=True):
        by_term.setdefault(term, word)
    if not by_term:
        return []
    if allowed_ids is None:
        allowed_ids = np.sort(np.fromiter(session.exec(allowed), np.int64))
    counted = allowed_ids if collection_ids is None else collection_ids
    version = changes.version(session)
    seen = bm25_caches.collection(connection, counted, version)
    narrowed = None if collection_ids is None else allowed_ids
    if not seen.corpus.lessons:
        return []
    if IN_MEMORY and exact_limit is None:
        in_memory = bm25_exact.in_memory(connection, version)
        if in_memory is not None:
            ranked = bm25_exact.exact(connection, by_term, seen, limit, narrowed, in_memory)
            return _checked(session, allowed, ranked)
    exact_limit = EXACT_LIMIT if exact_limit is None else exact_limit
    # The path is chosen by the viewer's counts too: a hidden lesson must not switch it.
    df: dict[str, int] = {}
    if seen.corpus.lessons > exact_limit:
        size = fts5_index.corpus(connection).lessons
        held = bm25_caches.frequencies.postings(connection, size, list(by_term.values()), version)
        df = seen.frequencies(held)
    if sum(df.values()) <= exact_limit:
        ranked = bm25_exact.exact(connection, by_term, seen, limit, narrowed)
        return _checked(session, allowed, ranked)
    return _bounded(session, seen, df, by_term, allowed, limit, allowed_ids)


def _bounded(
    session: Session,
    seen: bm25.Collection,
    df: dict[str, int],
    by_term: dict[str, str],
    allowed: SelectOfScalar[int | None],
    limit: int,
    allowed_ids: np.ndarray,
) -> list[tuple[int, float]]:
    """BM25 over a bounded set of candidates (see `retrieval.bm25_bounded`) among `allowed_ids`,
    best first, ties to the older lesson, by the statistics of the viewer's collection `seen` (`df`:
    its lessons holding each query word);
    access checked in SQL on what is returned, whatever `allowed_ids` said."""
    connection = session.connection()
    ids = bm25_bounded.candidates(
        connection,
        {word: term for term, word in by_term.items()},
        df,
        seen.corpus,
        want=min(limit * bm25_bounded.SCORED_PER_RESULT, _MOST_SCORED),
        allowed_ids=allowed_ids,
    ).tolist()
    if not ids:
        return []
    visible = set(session.exec(allowed.where(col(Lesson.id).in_(ids))))
    index_df = {term: df[word] for term, word in by_term.items() if df[word] > 0}
    scores = bm25_bounded.score(connection, [i for i in ids if i in visible], index_df, seen.corpus)
    ranked = sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))
    return [(i, s) for i, s in ranked if s > 0][:limit]


def _checked(
    session: Session, allowed: SelectOfScalar[int | None], ranked: list[tuple[int, float]]
) -> list[tuple[int, float]]:
    """`ranked` less any lesson `allowed` does not hold: the allowed ids a caller passes are a
    cache, and the access rule is SQL's."""
    if not ranked:
        return []
    visible = set(session.exec(allowed.where(col(Lesson.id).in_([i for i, _ in ranked]))))
    return [(i, s) for i, s in ranked if i in visible]
