"""The evaluation script's metrics, relevance rule and query split, on hand-worked cases (no
model, no dataset)."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "eval_retrieval.py"


def _load() -> ModuleType:
    # scripts/ is not a package: load the file by path (registered first, for its dataclasses).
    spec = importlib.util.spec_from_file_location("eval_retrieval", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


ev = _load()


def _log2(rank: int) -> float:
    return 1 / math.log2(rank + 1)


@pytest.mark.parametrize(
    ("ranked", "relevant", "expected"),
    [
        (["a", "b", "c"], {"a"}, 1.0),
        (["x", "a"], {"a"}, _log2(2) / _log2(1)),
        (["a", "x", "b"], {"a", "b"}, (_log2(1) + _log2(3)) / (_log2(1) + _log2(2))),
        (["x", "y"], {"a"}, 0.0),
        ([], {"a"}, 0.0),
        (["a"], set(), 0.0),
    ],
)
def test_ndcg_at_binary_gains_on_small_cases(
    ranked: list[str], relevant: set[str], expected: float
) -> None:
    assert ev.ndcg_at(ranked, relevant) == pytest.approx(expected)


def test_ndcg_at_ideal_is_capped_at_k_and_ignores_hits_beyond_k() -> None:
    relevant = {f"r{i}" for i in range(15)}
    assert ev.ndcg_at([f"r{i}" for i in range(10)], relevant) == pytest.approx(1.0)
    ranked = [f"x{i}" for i in range(10)] + ["r0"]
    assert ev.ndcg_at(ranked, relevant) == 0.0


@pytest.mark.parametrize(
    ("ranked", "relevant", "expected"),
    [
        (["a", "x", "b"], {"a", "b", "c", "d"}, 0.5),
        (["x"] * 10 + ["a"], {"a"}, 0.0),
        ([f"r{i}" for i in range(10)], {f"r{i}" for i in range(20)}, 0.5),
        (["a"], set(), 0.0),
    ],
)
def test_recall_at_counts_only_the_first_k(
    ranked: list[str], relevant: set[str], expected: float
) -> None:
    assert ev.recall_at(ranked, relevant) == pytest.approx(expected)


def test_without_removes_the_query_lesson_then_keeps_k() -> None:
    ranked = [str(i) for i in range(11)]
    assert ev.without(ranked, "3") == [str(i) for i in range(11) if i != 3]
    assert ev.without(ranked, "absent") == ranked[:10]


def test_standing_in_puts_the_query_lessons_copies_in_its_place() -> None:
    listed = ["a", "q", "b", "c"]
    assert ev.standing_in(listed, "q", ["q2", "q3"], k=4) == ["a", "q2", "q3", "b"]
    assert ev.standing_in(listed, "q", []) == ev.without(listed, "q")


def test_relevant_sets_use_jaccard_at_least_threshold_and_exclude_self() -> None:
    categories = {
        "1": {"a", "b", "c"},
        "2": {"a"},  # with 1: 1/3 >= 0.3
        "3": {"a", "d", "e", "f"},  # with 1: 1/6 < 0.3; with 2: 1/4 < 0.3
        "4": set(),  # unlabelled: neither a query nor relevant
    }
    assert ev.jaccard({"a", "b", "c"}, {"a"}) == pytest.approx(1 / 3)
    relevant = ev.relevant_sets(categories)
    assert relevant == {
        "1": frozenset({"2"}),
        "2": frozenset({"1"}),
        "3": frozenset(),
    }


def test_relevant_sets_boundary_is_inclusive() -> None:
    # 3 shared of 10 in the union: exactly 0.3.
    a = {f"c{i}" for i in range(6)}
    b = {"c0", "c1", "c2", "d0", "d1", "d2", "d3"}
    assert ev.jaccard(a, b) == pytest.approx(0.3)
    assert ev.relevant_sets({"1": a, "2": b})["1"] == {"2"}


def test_split_queries_is_deterministic_balanced_and_disjoint() -> None:
    ids = [str(i) for i in range(1, 102)]
    tuning, held = ev.split_queries(ids)
    assert (tuning, held) == ev.split_queries(list(reversed(ids)))
    assert set(tuning).isdisjoint(held)
    assert set(tuning) | set(held) == set(ids)
    assert abs(len(tuning) - len(held)) <= 1
    # Not a split by id order: each half spans the whole id range.
    assert min(map(int, tuning)) < 20 and max(map(int, tuning)) > 80


def test_query_text_falls_back_to_the_lesson_texts_opening_words() -> None:
    assert ev.query_text("Title", "The abstract.", "ignored") == ("Title\nThe abstract.", False)
    lesson = " ".join(f"w{i}" for i in range(100))
    text, fallback = ev.query_text("Title", "  ", lesson)
    assert fallback
    assert text.split("\n")[1].split() == [f"w{i}" for i in range(60)]


def test_build_queries_unions_files_and_drops_queries_without_relevant(tmp_path: Path) -> None:
    (tmp_path / "nasa-llis").mkdir()
    (tmp_path / "nasa-llis-sections").mkdir()
    rows = [
        {"lesson_id": "1", "title": "One", "abstract": "A1", "categories": ["Spacecraft"]},
        {"lesson_id": "2", "title": "Two", "abstract": "", "lesson": "L2", "categories": []},
        {"lesson_id": "3", "title": "Three", "abstract": "A3", "categories": ["Facilities"]},
    ]
    sections = [
        {"lesson_number": "2", "title": "Two", "abstract_text": "", "lesson_text": "L2",
         "nasa_topics": ["spacecraft"]},
    ]  # fmt: skip
    (tmp_path / "nasa-llis/llis.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    (tmp_path / "nasa-llis-sections/llis_sections.jsonl").write_text(
        "\n".join(json.dumps(r) for r in sections)
    )
    labelled = ev.read_labelled(tmp_path)
    assert labelled["2"].categories == {"spacecraft"}
    queries, dropped = ev.build_queries(labelled, {"1": "One", "2": "Two", "3": "Three"})
    assert dropped == ["3"]
    assert [(q.external_id, q.relevant, q.from_lesson_text) for q in queries] == [
        ("1", frozenset({"2"}), False),
        ("2", frozenset({"1"}), True),
    ]
    assert queries[1].text == "Two\nL2"


def test_paired_interval_is_seeded_and_brackets_the_mean() -> None:
    a = [0.5, 0.7, 0.9, 0.2, 0.4]
    b = [0.4, 0.7, 0.6, 0.3, 0.1]
    first = ev.paired_interval(a, b)
    assert first == ev.paired_interval(a, b)
    diff, low, high = first
    assert diff == pytest.approx(0.12)
    assert low <= diff <= high


def test_hybrid_rows_are_labelled_with_their_fusion_and_differences_cover_every_row() -> None:
    from retrieval.fusion import FusionParams

    shipped, tuned = FusionParams(rrf_k=10, lexical_weight=2.0), FusionParams(rrf_k=30)

    def scores(ndcg: float) -> Any:
        both = [ndcg, ndcg]
        return ev.Scores(both, both, ndcg_stand_in=both, recall_stand_in=both)

    rows = [
        (ev.DENSE, "dense", False, shipped, 0.1),
        (ev.BM25, "lexical", False, shipped, 0.2),
        (ev.TEXTBOOK, "hybrid", False, ev.textbook_fusion(), 0.3),
        (ev.DEFAULTS, "hybrid", False, shipped, 0.4),
        (ev.DEFAULTS + ev.DIVERSE, "hybrid", True, shipped, 0.4),
        (ev.TUNED, "hybrid", False, tuned, 0.5),
        (ev.TUNED + ev.DIVERSE, "hybrid", True, tuned, 0.5),
        (ev.BM25 + ev.LARGE_BANK, "lexical", False, shipped, 0.15),
        (ev.DEFAULTS + ev.LARGE_BANK, "hybrid", False, shipped, 0.35),
    ]
    methods = [ev.Method(n, m, d, p, scores(x), scores(x)) for n, m, d, p, x in rows]
    labels = [m.label for m in methods]
    assert labels[:2] == ["dense", "BM25 (lexical)"]
    assert labels[2] == "hybrid, textbook RRF (k=60, lexical 1)"
    assert labels[4] == "hybrid, shipped defaults (k=10, lexical 2) + diversity"
    assert labels[5] == "hybrid, tuned (k=30, lexical 2)"

    evaluation = ev.Evaluation({"tuning": [], "held_out": []}, methods, [], tuned, {})
    differences = ev.held_out_differences(evaluation)
    assert differences["defaults_minus_dense"]["ndcg@10"]["mean"] == pytest.approx(0.3)
    assert differences["tuned_minus_defaults"]["recall@10"]["mean"] == pytest.approx(0.1)
    assert {"defaults_minus_bm25", "defaults_minus_textbook", "tuned_minus_textbook"} <= set(
        differences
    )
    assert labels[8] == "hybrid, shipped defaults (k=10, lexical 2) + large-bank BM25"
    large = differences["large_bank_minus_defaults"]["ndcg@10"]["mean"]
    assert large == pytest.approx(-0.05)
    assert differences["large_bank_bm25_minus_bm25"]["recall@10"]["mean"] == pytest.approx(-0.05)
