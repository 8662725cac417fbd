"""scripts/bench_search.py at a tiny size, so the benchmark cannot rot unnoticed: a source bank
of the demo lessons embedded by the hashing embedder stands in for the NASA import, then the
script's own bank builder, serving measurement, table and targets run on 300 lessons. Figures
are checked for shape and sense, never for speed."""

from __future__ import annotations

import importlib.util
import sqlite3
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from data import DEMO_BANK
from lessons.imports.seed import load_bank, read_bank
from lessons.storage.db import make_engine, migrate, transaction
from retrieval import lexical
from retrieval import ranking as ranking_module
from retrieval.embedder import HASHING, HashingEmbedder
from retrieval.service import Retriever

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_search.py"
SIZE = 300


def _load() -> ModuleType:
    # scripts/ is not a package: load the file by path (registered first, for its NamedTuple).
    spec = importlib.util.spec_from_file_location("bench_search", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


bench = _load()


@pytest.fixture(scope="module")
def source_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What `source_database` makes from the NASA files, made from the demo bank instead."""
    path = tmp_path_factory.mktemp("bench-source") / "source.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    with transaction(engine, write=True) as session:
        load_bank(session, read_bank(DEMO_BANK))
    Retriever(HashingEmbedder()).sync_committed(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="module")
def sources(source_db: Path) -> dict[str, Any]:
    return dict(bench.read_sources(source_db, model=HASHING))


@pytest.fixture(scope="module")
def bank(
    tmp_path_factory: pytest.TempPathFactory, source_db: Path, sources: dict[str, Any]
) -> Path:
    path = tmp_path_factory.mktemp("bench-bank") / f"bank-{SIZE}.db"
    bench.build_bank(path, SIZE, sources, source_db, noise=0.02, seed=7, model=HASHING)
    return path


def test_sources_hold_text_tags_and_unit_vectors(sources: dict[str, Any]) -> None:
    rows, vectors = sources["rows"], sources["vectors"]
    assert len(rows) == len(sources["tags"]) == len(vectors) > 10
    assert vectors.shape[1] == HashingEmbedder().dim
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert all(row.title for row in rows)
    queries = bench.pick_queries(sources, 6, seed=1)
    assert len(queries) == 6 and all(queries)


def test_bank_is_built_on_the_real_schema_and_then_reused(
    bank: Path, source_db: Path, sources: dict[str, Any]
) -> None:
    con = sqlite3.connect(bank)
    count = {
        table: con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for table in ("lesson", "lesson_embedding", "lesson_fts")
    }
    sensitivities = {s for (s,) in con.execute("SELECT DISTINCT sensitivity FROM lesson")}
    dims = {d for (d,) in con.execute("SELECT DISTINCT dim FROM lesson_embedding")}
    con.close()
    assert count == {"lesson": SIZE, "lesson_embedding": SIZE, "lesson_fts": SIZE}
    assert sensitivities == {"public", "internal", "restricted"}
    assert dims == {HashingEmbedder().dim}

    modified = bank.stat().st_mtime_ns
    again = bench.build_bank(bank, SIZE, sources, source_db, noise=0.02, seed=7, model=HASHING)
    assert again["lessons"] == SIZE
    assert bank.stat().st_mtime_ns == modified  # cached: the same recipe is not rebuilt


def test_serving_measurement_covers_every_series_and_undoes_its_timers(
    bank: Path, sources: dict[str, Any]
) -> None:
    search, diversify = lexical.search, vars(ranking_module)["diversify"]
    queries = bench.pick_queries(sources, 8, seed=3)
    result = bench.measure_serving(bank, queries, timeout_s=30, budget_s=60, model=HASHING)

    assert lexical.search is search and vars(ranking_module)["diversify"] is diversify
    assert result["indexed"] == SIZE
    for key in (
        "query_embedding_ms",
        "dense_incl_embedding_ms",
        "hybrid_incl_embedding_ms",
        "numpy_topk_ms",
        "index_search_ms",
        "dense_excl_embedding_ms",
        "hybrid_excl_embedding_ms",
    ):
        assert result[key]["n"] == len(queries), key
        assert 0 <= result[key]["p50"] <= result[key]["p95"], key
    hybrid_parts = result["breakdown_ms"]["hybrid"]
    assert {"refresh", "mask", "index", "lexical", "hits"} <= set(hybrid_parts)
    assert "lexical" not in result["breakdown_ms"]["dense"]
    assert 0.5 < result["visible_fraction"] < 0.95  # staff: not restricted, trusted statuses
    assert 0.9 <= result["recall_at_10"] <= 1
    assert result["peak_rss_serving_mb"] > 0

    # The report's table and targets, with this result standing in for every size.
    report = {
        "sizes": ["100000", "1000000"],
        "results": {
            size: {"bank": {"build_s": 1.0, "file_mb": 1}, "serve": result}
            for size in ("100000", "1000000")
        },
        "bar_api": {
            "lessons": 100_000,
            "briefs": 3,
            "bar_http_ms": {"p50": 90.0, "p95": 120.0},
            "start_to_healthy_s": 2.0,
            "server_peak_rss_mb": 500,
        },
    }
    table = bench._table(report)
    assert "recall@10, f16 index vs exact f32" in table and "BAR API" in table
    targets = bench._targets(report)
    assert targets["bar_api_p95_under_250_ms"] == {"value": 120.0, "met": True}
    assert targets["1m_recall_at_10_at_least_0.98"]["met"] == (result["recall_at_10"] >= 0.98)
    assert {"100k_index_p95_within_1.5x_numpy", "1m_peak_rss_under_2048_mb"} <= set(targets)
