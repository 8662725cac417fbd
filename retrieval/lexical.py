"""Full-text ranking (BM25) over the database's own full-text index; only lessons the viewer may
see come back."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import ColumnClause, column, literal_column, select, table, text
from sqlmodel import Session, col
from sqlmodel.sql.expression import SelectOfScalar

from lessons.models import Lesson
from retrieval.explain import STOPWORDS
from retrieval.text import words

# Column weights for title, body and tags: a term in the title says more than one in the body.
WEIGHTS = (4.0, 1.0, 2.0)
MAX_TERMS = 40  # a page-long brief: keep the query bounded
# Matches ranked before the access check, per result wanted and allowed share (see `search`);
# below this share of lessons allowed, the filter goes inside the full-text statement at once.
_OVERFETCH = 2
_FILTER_INSIDE_BELOW = 0.25

_fts = table("lesson_fts", column("rowid"))
# The unary plus keeps the access filter out of FTS5's index choice: without it SQLite drives
# FTS5 by rowid and runs the MATCH once per visible lesson (2.8 s a query on 2,000 lessons,
# measured by scripts/eval_retrieval.py); with it the MATCH runs once (9 ms), same results.
_ROWID: ColumnClause[Any] = literal_column("+lesson_fts.rowid")


def match_expression(query: str) -> str | None:
    """An FTS5 query matching any of the text's content words, each quoted (so user text can
    never be read as FTS5 syntax); None when nothing is left to match."""
    terms: dict[str, None] = {}
    for word in words(query.replace("-", " ")):
        if word not in STOPWORDS and len(word) > 1:
            terms[word.replace('"', "")] = None
    if not terms:
        return None
    return " OR ".join(f'"{term}"' for term in list(terms)[:MAX_TERMS])


def search(
    session: Session,
    query: str,
    *,
    allowed: SelectOfScalar[int | None],
    limit: int,
    share: float | None = None,
) -> list[tuple[int, float]]:
    """(lesson id, BM25 score, higher is better): the best `limit` lessons in `allowed` that
    match `query`. `share` is the fraction of lessons `allowed` holds, when the caller knows.

    Inside the full-text statement the access filter costs most of the query's time when most
    lessons are allowed (SQLite builds the whole allowed set, reading every lesson's row, on
    every query). So unless few lessons are allowed, the best matches are ranked without it,
    `limit * _OVERFETCH / share` of them, and the allowed ones among them kept, one primary-key
    lookup each; only when fewer than `limit` of those are allowed, and more matches exist, does
    the statement run with the filter inside. Either way the answer is the best `limit` allowed
    matches in the same order, and a lesson outside `allowed` is never returned.
    """
    expression = match_expression(query)
    if expression is None or session.get_bind().dialect.name != "sqlite":
        return []
    bm25: ColumnClause[Any] = literal_column(
        f"bm25(lesson_fts, {', '.join(str(w) for w in WEIGHTS)})"
    )
    # Ties in score go to the older lesson, the same in both statements.
    ranked = select(_fts.c.rowid, bm25).where(text("lesson_fts MATCH :expression"))
    ranked = ranked.order_by(bm25, _fts.c.rowid)
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
