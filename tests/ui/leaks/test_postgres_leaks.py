"""The ranking and BAR leak tests again, on PostgreSQL: its search backend answers from the
database (HNSW, BM25 from the tsvector's postings) with the access rule inside the SQL, and the
same tests must hold there (until the whole suite runs on both backends)."""

from __future__ import annotations

import pytest

from lessons.storage.settings import Settings
from tests.pg_support import pg_settings
from tests.ui.leaks.test_bar_leaks import *  # noqa: F403  (the same tests, collected here)
from tests.ui.leaks.test_ranking_leaks import *  # noqa: F403


@pytest.fixture
def settings(pg_url: str) -> Settings:
    """Each test's bank on a fresh PostgreSQL database instead of a SQLite file."""
    return pg_settings(pg_url)


@pytest.fixture(autouse=True)
def _sqlite_paths_only_on_sqlite(request: pytest.FixtureRequest) -> None:
    """The "large bank" ranker forces FTS5's bounded BM25, a path PostgreSQL does not have."""
    callspec = getattr(request.node, "callspec", None)
    if callspec is not None and callspec.params.get("ranker") == "large bank":
        pytest.skip("FTS5's bounded BM25 is SQLite's path")
