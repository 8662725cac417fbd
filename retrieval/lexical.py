"""Full-text ranking (BM25) over the database's own full-text index, filtered before ranking."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnClause, column, literal_column, select, table, text
from sqlmodel import Session
from sqlmodel.sql.expression import SelectOfScalar

from retrieval.explain import STOPWORDS
from retrieval.text import words

# Column weights for title, body and tags: a term in the title says more than one in the body.
WEIGHTS = (4.0, 1.0, 2.0)
MAX_TERMS = 40  # a page-long brief: keep the query bounded

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
    session: Session, query: str, *, allowed: SelectOfScalar[int | None], limit: int
) -> list[tuple[int, float]]:
    """(lesson id, BM25 score, higher is better) for lessons in `allowed` matching `query`."""
    expression = match_expression(query)
    if expression is None or session.get_bind().dialect.name != "sqlite":
        return []
    bm25: ColumnClause[Any] = literal_column(
        f"bm25(lesson_fts, {', '.join(str(w) for w in WEIGHTS)})"
    )
    statement = (
        select(_fts.c.rowid, bm25)
        .where(text("lesson_fts MATCH :expression"), _ROWID.in_(allowed.scalar_subquery()))
        .order_by(bm25)
        .limit(limit)
    )
    rows = session.connection().execute(statement, {"expression": expression})
    return [(int(lesson_id), -float(score)) for lesson_id, score in rows]
