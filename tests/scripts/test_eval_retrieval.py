"""The judged evaluation: its metrics on hand-worked cases, how it reads briefs and judgments,
the set's own shape, and a smoke run over the demo bank with the fake embedder."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "eval_retrieval.py"


def _load() -> ModuleType:
    # scripts/ is not a package: load the file by path (registered first, for its dataclasses).
    spec = importlib.util.spec_from_file_location("eval_retrieval", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


ev = _load()


def _disc(rank: int) -> float:
    return 1 / math.log2(rank + 1)


# --- Metrics -------------------------------------------------------------------------------------


def test_ndcg_uses_graded_gains_over_the_ideal_of_every_judged_lesson() -> None:
    grades = {"a": 2, "b": 1, "c": 0, "d": 1}
    # Shown: c (0), a (2), x (unjudged: 0), b (1). Ideal: a, b, d (2, 1, 1).
    dcg = 2 * _disc(2) + 1 * _disc(4)
    ideal = 2 * _disc(1) + 1 * _disc(2) + 1 * _disc(3)
    assert ev.ndcg_at(["c", "a", "x", "b"], grades) == pytest.approx(dcg / ideal)
    assert ev.ndcg_at(["a", "b", "d"], grades) == pytest.approx(1.0)
    # A grade-1 lesson above the grade-2 one scores less than the ideal order.
    assert ev.ndcg_at(["b", "a", "d"], grades) < 1.0


def test_ndcg_counts_only_the_first_k_and_caps_the_ideal_at_k() -> None:
    grades = {key: 1 for key in "abc"}
    assert ev.ndcg_at(["x", "y", "a"], grades, k=2) == 0.0
    assert ev.ndcg_at(["a", "b"], grades, k=2) == pytest.approx(1.0)
    assert ev.ndcg_at(["a"], {}, k=10) == 0.0
    assert ev.ndcg_at(["a"], {"a": 0}, k=10) == 0.0


def test_recall_counts_grade_one_and_above_out_of_every_relevant_lesson() -> None:
    grades = {"a": 2, "b": 1, "c": 0, "d": 1}
    assert ev.recall_at(["a", "c", "x"], grades) == pytest.approx(1 / 3)
    assert ev.recall_at(["d", "b", "a"], grades) == pytest.approx(1.0)
    assert ev.recall_at(["x", "a"], grades, k=1) == 0.0
    assert ev.recall_at(["a"], {"a": 0}) == 0.0


def test_judged_at_is_the_share_of_the_shown_results_that_were_graded() -> None:
    grades = {"a": 0, "b": 2}
    assert ev.judged_at(["a", "x", "b", "y"], grades) == pytest.approx(0.5)
    assert ev.judged_at(["a", "b", "x"], grades, k=2) == pytest.approx(1.0)
    assert ev.judged_at([], grades) == 1.0


def test_textbook_rrf_sums_one_over_k_plus_rank_with_equal_weights() -> None:
    # k=60: a = 1/61 + 1/63, b = 1/62 + 1/61, c = 1/63, d = 1/62.
    fused = ev.textbook_rrf([["a", "b", "c"], ["b", "d", "a"]], k=60, limit=10)
    assert fused == ["b", "a", "d", "c"]
    assert ev.textbook_rrf([["a", "b"], ["b", "a"]], limit=1) == ["a"]  # tie: first met


def test_intervals_are_seeded_and_bracket_the_mean() -> None:
    a = [0.5, 0.7, 0.9, 0.2, 0.4]
    b = [0.4, 0.7, 0.6, 0.3, 0.1]
    first = ev.paired_interval(a, b)
    assert first == ev.paired_interval(a, b)
    diff, low, high = first
    assert diff == pytest.approx(0.12)
    assert low <= diff <= high < 0.3
    assert ev.interval([0.5, 0.5, 0.5]) == pytest.approx((0.5, 0.5, 0.5))
    assert ev.interval([]) == (0.0, 0.0, 0.0)


# --- Briefs, judgments, subsets ------------------------------------------------------------------


def test_read_judgments_averages_a_pair_graded_twice_and_refuses_other_grades(
    tmp_path: Path,
) -> None:
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    one.write_text('{"brief": "n01", "lesson": "12", "grade": 2}\n\n', encoding="utf-8")
    two.write_text(
        '{"brief": "n01", "lesson": "12", "grade": 1}\n'
        '{"brief": "d01", "lesson": "T", "grade": 0}\n',
        encoding="utf-8",
    )
    assert ev.read_judgments([one, two]) == {"n01": {"12": 1.5}, "d01": {"T": 0.0}}
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"brief": "n01", "lesson": "12", "grade": 3}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="grade 3"):
        ev.read_judgments([bad])


def test_judgment_files_prefer_the_assembled_file(tmp_path: Path) -> None:
    graded = tmp_path / "graded"
    graded.mkdir()
    (graded / "n02.jsonl").write_text("", encoding="utf-8")
    (graded / "n01.jsonl").write_text("", encoding="utf-8")
    assembled = tmp_path / "judgments.jsonl"
    assert ev.judgment_files(assembled, graded) == [graded / "n01.jsonl", graded / "n02.jsonl"]
    assembled.write_text("", encoding="utf-8")
    assert ev.judgment_files(assembled, graded) == [assembled]


def test_ungraded_counts_pooled_lessons_without_a_judgment() -> None:
    pools = {"n01": {"bm25": ["a", "b"], "dense": ["b", "c"]}, "n02": {"bm25": ["a"]}}
    judged = {"n01": {"a": 0, "c": 2, "z": 1}, "n02": {"a": 1}}
    assert ev.ungraded(pools, judged) == {"n01": 1}
    assert ev.ungraded(pools, {}) == {"n01": 3, "n02": 1}


def test_the_pools_cover_every_brief_with_every_pooling_system_up_to_30_deep() -> None:
    briefs = ev.read_briefs(ROOT / "evaluation" / "briefs.jsonl")
    pools = json.loads((ROOT / "evaluation" / "pools.json").read_text(encoding="utf-8"))
    assert set(pools) == {b.id for b in briefs}
    systems = {"bm25", "dense", "shipped", "rrf60", "passages"}
    for brief_id, by_system in pools.items():
        assert set(by_system) == systems, brief_id
        depths = {len(set(ranking)) for ranking in by_system.values()}
        # BM25 finds fewer than 30 lessons sharing a word with some demo briefs (69 lessons).
        assert depths == {30} if brief_id.startswith("n") else 0 < min(depths) <= max(depths) == 30


def test_subsets_all_is_every_nasa_brief_and_demo_every_demo_brief() -> None:
    plain = ev.Brief("n01", "nasa", "plain", "tune", "x")
    sector = ev.Brief("n02", "nasa", "sector", "test", "x")
    demo = ev.Brief("d01", "demo", "mismatch", "test", "x")
    members = {s: [b.id for b in (plain, sector, demo) if ev.in_subset(b, s)] for s in ev.SUBSETS}
    assert members == {
        "all": ["n01", "n02"],
        "plain": ["n01"],
        "mismatch": [],
        "sector": ["n02"],
        "demo": ["d01"],
    }
    assert [ev.in_half(plain, h) for h in ("tune", "test", "all")] == [True, False, True]


def test_the_brief_set_has_the_counts_the_issue_asks_for_and_balanced_halves() -> None:
    briefs = ev.read_briefs(ROOT / "evaluation" / "briefs.jsonl")
    assert len({b.id for b in briefs}) == len(briefs)
    groups = Counter((b.bank, b.subset) for b in briefs)
    nasa = sum(n for (bank, _), n in groups.items() if bank == "nasa")
    assert nasa >= 40 and groups["nasa", "mismatch"] >= 10 and groups["nasa", "sector"] >= 5
    assert sum(n for (bank, _), n in groups.items() if bank == "demo") >= 10
    for (bank, subset), count in groups.items():
        tune = sum(b.half == "tune" for b in briefs if (b.bank, b.subset) == (bank, subset))
        assert tune - (count - tune) in (0, 1), (bank, subset)


def test_summarise_reports_paired_differences_on_the_briefs_scored() -> None:
    briefs = [
        ev.Brief("n01", "nasa", "plain", "test", "x"),
        ev.Brief("n02", "nasa", "plain", "test", "x"),
        ev.Brief("n03", "nasa", "plain", "test", "x"),  # nothing graded relevant: left out
        ev.Brief("n04", "nasa", "plain", "tune", "x"),  # the other half
    ]
    judged = {"n01": {"a": 2}, "n02": {"a": 1, "b": 1}, "n03": {"a": 0}, "n04": {"a": 2}}
    rankings = {
        brief.id: {"shipped": ["a", "b"], "bm25": ["b", "a"], "dense": ["x"], "rrf60": ["a"]}
        for brief in briefs
    }
    summary = ev.summarise(briefs, ev.score_briefs(rankings, judged), "test")
    plain = summary["plain"]
    assert (plain["briefs"], plain["scored"], plain["unscored"]) == (3, 2, ["n03"])
    assert plain["systems"]["shipped"]["ndcg@10"]["mean"] == pytest.approx(1.0)
    bm25_n01 = 2 * _disc(2) / 2
    assert plain["systems"]["bm25"]["ndcg@10"]["mean"] == pytest.approx((bm25_n01 + 1) / 2, 1e-3)
    assert plain["shipped_minus"]["dense"]["ndcg@10"]["mean"] == pytest.approx(1.0)
    assert plain["shipped_minus"]["rrf60"]["recall@10"]["mean"] == pytest.approx(0.25)
    assert summary["demo"]["scored"] == 0
    assert "n/a" in ev.table(summary, "ndcg@10")


# --- Runs on the demo bank with the fake embedder -----------------------------------------------


def test_the_dense_baseline_ranks_as_the_shipped_dense_side_does_today(tmp_path: Path) -> None:
    """Computed by the script from the stored whole-lesson vectors, so a new shipped ranking
    cannot move it; today it must agree with the retriever's own dense side."""
    from sqlmodel import Session

    from retrieval.embedder import HashingEmbedder

    embedder = HashingEmbedder()
    bank = ev.open_bank("demo", tmp_path / "demo.db", embedder, tmp_path)
    assert len(bank.dense.keys) == 69  # validated, actioned and learned lessons only
    with Session(bank.engine) as session:
        for brief in ("flood warning messages in several languages", "tablets went flat"):
            shipped_side = ev.single_ranking(bank, session, brief, 10, "dense")
            assert bank.dense.rank(brief, 10) == shipped_side
    bank.engine.dispose()


# --- A smoke run ---------------------------------------------------------------------------------

PRE_TRANSLATED = "Pre-translated warning messages save an hour when it matters"
LOGGIST = "A dedicated loggist keeps the decision record usable"


def test_a_run_over_the_demo_bank_ranks_through_the_api_and_scores_every_system(
    tmp_path: Path,
) -> None:
    briefs = tmp_path / "briefs.jsonl"
    rows = [
        ("d01", "pre-translated warning messages for residents", "test"),
        ("d02", "a loggist to keep the decision record", "test"),
        ("d03", "not in the chosen half", "tune"),
        ("d04", " ", "test"),  # the API refuses an empty brief: an empty ranking, no crash
    ]
    briefs.write_text(
        "".join(
            json.dumps({"id": i, "bank": "demo", "subset": "plain", "half": h, "brief": t}) + "\n"
            for i, t, h in rows
        ),
        encoding="utf-8",
    )
    judgments = tmp_path / "judgments.jsonl"
    judgments.write_text(
        json.dumps({"brief": "d01", "lesson": PRE_TRANSLATED, "grade": 2})
        + "\n"
        + json.dumps({"brief": "d02", "lesson": LOGGIST, "grade": 2})
        + "\n",
        encoding="utf-8",
    )
    report = tmp_path / "report.json"
    status = ev.main(
        [
            "--briefs",
            str(briefs),
            "--judgments",
            str(judgments),
            "--cache",
            str(tmp_path),
            "--model",
            "hashing",
            "--report",
            str(report),
        ]
    )
    assert status == 0
    document = json.loads(report.read_text(encoding="utf-8"))
    assert document["judgments"] == 2 and set(document["rankings"]) == {"d01", "d02", "d04"}
    assert document["rankings"]["d04"]["shipped"] == []
    assert document["rankings"]["d01"]["bm25"][0] == PRE_TRANSLATED
    assert set(document["rankings"]["d01"]) == set(ev.SYSTEMS)
    assert 0 < len(document["rankings"]["d02"]["shipped"]) <= ev.K
    demo = document["subsets"]["demo"]
    assert (demo["briefs"], demo["scored"], demo["unscored"]) == (3, 2, ["d04"])
    assert demo["systems"]["bm25"]["recall@10"]["mean"] == pytest.approx(1.0)
    assert demo["systems"]["shipped"]["recall@10"]["mean"] == pytest.approx(1.0)
    assert set(demo["shipped_minus"]) == {"bm25", "dense", "rrf60"}
