"""Full-text ranking (BM25) over the database's own full-text index; only lessons the viewer may
see come back.

Small banks are ranked by FTS5's own bm25(), exactly. Larger ones, when the query's terms are
common enough that bm25() would have to score too many lessons, go through `retrieval.bm25`:
the same scores, over a bounded set of candidates."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sqlalchemy import ColumnClause, column, literal_column, select, table, text
from sqlmodel import Session, col
from sqlmodel.sql.expression import SelectOfScalar

from lessons.models import Lesson
from retrieval import bm25
from retrieval.explain import STOPWORDS
from retrieval.text import words

WEIGHTS = bm25.WEIGHTS
MAX_TERMS = 40  # a page-long brief: keep the query bounded
# FTS5's bm25() is exact and needs no set-up, but costs about 7 microseconds for every lesson
# matching any term: it ranks when the bank, or the query's postings, are at most this size.
# Above it the bounded ranker is faster (scripts/bench_search.py: at 10k lessons bm25() has
# a 22 ms p95; at 100k, 197 ms against the bounded ranker's 82 ms).
EXACT_LIMIT = 10_000
# Matches ranked before the access check, per result wanted and allowed share (see `search`);
# below this share of lessons allowed, the filter goes inside the full-text statement at once.
_OVERFETCH = 2
_FILTER_INSIDE_BELOW = 0.25

# Lessons the bounded ranker scores exactly, at most: each is a bound SQL variable, and SQLite
# allows 32,766 a statement.
_MOST_SCORED = 5_000

_fts = table("lesson_fts", column("rowid"))
# The unary plus keeps the access filter out of FTS5's index choice: without it SQLite drives
# FTS5 by rowid and runs the MATCH once per visible lesson (2.8 s a query on 2,000 lessons,
# measured by scripts/eval_retrieval.py); with it the MATCH runs once (9 ms), same results.
_ROWID: ColumnClause[Any] = literal_column("+lesson_fts.rowid")


def query_words(query: str) -> list[str]:
    """The text's content words, each once, in order, as single tokens of letters and digits
    (so user text can never be read as FTS5 syntax)."""
    found: dict[str, None] = {}
    for word in words(query.replace("-", " ").replace("'", " ")):
        if word not in STOPWORDS and len(word) > 1:
            found[word] = None
    return list(found)[:MAX_TERMS]


def match_expression(query: str) -> str | None:
    """An FTS5 query matching any of the text's content words; None when none is left."""
    return _any_of(query_words(query))


def _any_of(terms: list[str]) -> str | None:
    return " OR ".join(f'"{term}"' for term in terms) or None


def search(
    session: Session,
    query: str,
    *,
    allowed: SelectOfScalar[int | None],
    limit: int,
    share: float | None = None,
    allowed_ids: np.ndarray | None = None,
    exact_limit: int | None = None,
) -> list[tuple[int, float]]:
    """(lesson id, BM25 score, higher is better): the best `limit` lessons in `allowed` that
    match `query`, each query term counted once however many forms of it the query holds.
    `share` is the fraction of lessons `allowed` holds, and `allowed_ids` (sorted) the ids
    it holds, when the caller knows them."""
    if session.get_bind().dialect.name != "sqlite":
        return []
    connection = session.connection()
    found = query_words(query)
    by_term: dict[str, str] = {}  # index term -> the first query word that gave it
    for term, word in zip(bm25.index_terms(connection, found), found, strict=True):
        by_term.setdefault(term, word)
    if not by_term:
        return []
    terms = list(by_term.values())  # one word per index term, the first the query used
    stats = bm25.corpus(connection)
    exact_limit = EXACT_LIMIT if exact_limit is None else exact_limit
    if stats.lessons > exact_limit:
        df = bm25.frequencies.get(connection, stats.lessons, terms)
        if sum(df.values()) > exact_limit:
            return _bounded(session, df, stats, by_term, allowed, limit, allowed_ids)
    return _exact(session, terms, allowed=allowed, limit=limit, share=share)


def _bounded(
    session: Session,
    df: dict[str, int],
    stats: bm25.Corpus,
    by_term: dict[str, str],
    allowed: SelectOfScalar[int | None],
    limit: int,
    allowed_ids: np.ndarray | None,
) -> list[tuple[int, float]]:
    """BM25 over a bounded set of candidates (see `retrieval.bm25`), best first, ties to the
    older lesson; access checked in SQL on what is returned, whatever `allowed_ids` said."""
    connection = session.connection()
    ids = bm25.candidates(
        connection,
        {word: term for term, word in by_term.items()},
        df,
        stats,
        want=min(limit * bm25.SCORED_PER_RESULT, _MOST_SCORED),
        allowed_ids=allowed_ids,
    ).tolist()
    if not ids:
        return []
    visible = set(session.exec(allowed.where(col(Lesson.id).in_(ids))))
    index_df = {term: df[word] for term, word in by_term.items() if df[word] > 0}
    scores = bm25.score(connection, [i for i in ids if i in visible], index_df, stats)
    ranked = sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))
    return [(i, s) for i, s in ranked if s > 0][:limit]


def _exact(
    session: Session,
    terms: list[str],
    *,
    allowed: SelectOfScalar[int | None],
    limit: int,
    share: float | None,
) -> list[tuple[int, float]]:
    """FTS5's bm25() over every match.

    Inside the full-text statement the access filter costs most of the query's time when most
    lessons are allowed (SQLite builds the whole allowed set, reading every lesson's row, on
    every query). So unless few lessons are allowed, the best matches are ranked without it,
    `limit * _OVERFETCH / share` of them, and the allowed ones among them kept, one primary-key
    lookup each; only when fewer than `limit` of those are allowed, and more matches exist, does
    the statement run with the filter inside. Either way the answer is the best `limit` allowed
    matches in the same order, and a lesson outside `allowed` is never returned.
    """
    expression = _any_of(terms)
    bm25_call: ColumnClause[Any] = literal_column(
        f"bm25(lesson_fts, {', '.join(str(w) for w in WEIGHTS)})"
    )
    # Ties in score go to the older lesson, the same in both statements.
    ranked = select(_fts.c.rowid, bm25_call).where(text("lesson_fts MATCH :expression"))
    ranked = ranked.order_by(bm25_call, _fts.c.rowid)
    connection, bound = session.connection(), {"expression": expression}
    if share is None or share >= _FILTER_INSIDE_BELOW:
        fetch = math.ceil(limit * _OVERFETCH / (share or 1.0))
        rows = connection.execute(ranked.limit(fetch), bound).all()
        ids = [int(lesson_id) for lesson_id, _ in rows]
        visible = set(session.exec(allowed.where(col(Lesson.id).in_(ids)))) if ids else set()
        hits = [(int(i), -float(score)) for i, score in rows if i in visible]
        if len(hits) >= limit or len(rows) < fetch:
            return hits[:limit]
    filtered = ranked.where(_ROWID.in_(allowed.scalar_subquery())).limit(limit)
    return [(int(i), -float(score)) for i, score in connection.execute(filtered, bound)]
