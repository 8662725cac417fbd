"""Get-or-create that two writers at once cannot turn into an error.

On SQLite writers follow each other, so "look, then insert" never meets a rival. On
PostgreSQL two transactions (two app processes, or an import beside the web app) may both find
nothing and both insert: the loser's INSERT then fails on the unique key once the winner
commits. The insert runs in a savepoint, so the loser rolls back only that, reads the winner's
row (READ COMMITTED: committed rows are visible to the next statement) and goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

T = TypeVar("T")


def get_or_create(session: Session, find: Callable[[], T | None], make: Callable[[], T]) -> T:
    """What `find` returns, else the row `make` builds, inserted now; if a concurrent writer
    inserted the same key first, its row."""
    found = find()
    if found is not None:
        return found
    try:
        with session.begin_nested():
            row = make()
            session.add(row)
            session.flush()
        return row
    except IntegrityError:
        found = find()
        if found is None:  # not a lost race: some other constraint refused the row
            raise
        return found
