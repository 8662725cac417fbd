"""Judged retrieval evaluation: what the BAR ranks for briefs written as people describe work,
scored against lessons graded 0/1/2 by reading, beside three baselines run on the same banks.

The set (evaluation/): briefs.jsonl (44 NASA briefs: plain, in plain words where the lessons
use jargon, and from other sectors; 12 demo-bank briefs), judgments.jsonl (one graded pair a
line; while it is absent, the graders' files /work/eval-pools/graded/*.jsonl are read),
GUIDELINE.md and README.md (how it was made).

Systems, each asked for its top 10 over the same database:
- `shipped`: POST /api/bar through the real app (a curator's bearer token, limit 10), on a
  scratch copy of the bank, so whatever the BAR ships is what is measured;
- `bm25`: the project's lexical ranker alone; `dense`: the shipped model alone, cosine to the
  whole-lesson vector (both `Retriever.search`, nothing folded);
- `rrf60`: textbook reciprocal rank fusion of those two (k=60, equal weights).

Metrics: nDCG@10 with graded gains 0/1/2 (unjudged lessons count 0; judged@10 says how many of
the top 10 were judged) and recall@10 (relevant = grade >= 1, out of every lesson graded
relevant for the brief). Per subset: all (every NASA brief), plain, mismatch, sector, demo;
on one half (`--half test` by default: the held-out half; tune on `--half tune`). Each mean has
a 95% bootstrap interval (briefs resampled, seeded, 2,000 resamples), and the shipped ranking's
paired differences against each baseline have theirs.

    .venv/bin/python scripts/eval_retrieval.py [--half test|tune|all] [--cache DIR]
        [--database NASA.db] [--demo-database DEMO.db]
        [--judgments evaluation/judgments.jsonl] [--report reports/eval_retrieval.json]

The banks are built on the first run under `--cache`, or at `--database` / `--demo-database`
(NASA: `lessonbank import nasa-llis` over both files; demo: data/demo_bank.json as the app
loads it) and reused after.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a file: make the project's packages importable
    sys.path.insert(0, str(REPO))

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlmodel import Session

    from retrieval.embedder import Embedder, Vectors
    from retrieval.service import Mode, Retriever

K = 10
MODEL = "all-MiniLM-L6-v2"
NASA_FILES = ("nasa-llis/llis.jsonl", "nasa-llis-sections/llis_sections.jsonl")
EVALUATION = REPO / "evaluation"
GRADED = Path("/work/eval-pools/graded")
BANKS = ("nasa", "demo")
SUBSETS = ("all", "plain", "mismatch", "sector", "demo")
SYSTEMS = ("shipped", "bm25", "dense", "rrf60")
BASELINES = SYSTEMS[1:]
# The shipped BAR on PostgreSQL (`--postgres`), compared with the same on SQLite.
POSTGRES = "shipped_pg"
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0
# How deep each baseline ranker looks before textbook RRF fuses the two lists.
FUSION_DEPTH = 150
TEXTBOOK_RRF_K = 60


# --- Briefs and judgments (pure) ---------------------------------------------------------------


@dataclass(frozen=True)
class Brief:
    id: str
    bank: str  # "nasa" | "demo"
    subset: str  # "plain" | "mismatch" | "sector"
    half: str  # "tune" | "test"
    text: str


Grades = dict[str, float]  # lesson key -> grade


def read_briefs(path: Path) -> list[Brief]:
    """evaluation/briefs.jsonl: one brief a line."""
    briefs: list[Brief] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            briefs.append(Brief(row["id"], row["bank"], row["subset"], row["half"], row["brief"]))
    return briefs


def read_judgments(paths: Iterable[Path]) -> dict[str, Grades]:
    """brief -> lesson -> grade from JSON lines {"brief", "lesson", "grade"}. A pair graded
    more than once (two graders) gets the mean of its grades."""
    seen: dict[tuple[str, str], list[int]] = {}
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                grade = int(row["grade"])
                if grade not in (0, 1, 2):
                    raise ValueError(f"{path}: grade {grade} is not 0, 1 or 2")
                seen.setdefault((str(row["brief"]), str(row["lesson"])), []).append(grade)
    judged: dict[str, Grades] = {}
    for (brief, lesson), grades in seen.items():
        judged.setdefault(brief, {})[lesson] = sum(grades) / len(grades)
    return judged


def judgment_files(assembled: Path, graded: Path) -> list[Path]:
    """The assembled file when it exists, else every grader's file."""
    return [assembled] if assembled.is_file() else sorted(graded.glob("*.jsonl"))


def ungraded(
    pools: Mapping[str, Mapping[str, Sequence[str]]], judged: Mapping[str, Grades]
) -> dict[str, int]:
    """brief -> how many of its pooled lessons have no judgment (briefs fully graded left out)."""
    missing = {
        brief: len(
            {key for ranking in by_system.values() for key in ranking} - set(judged.get(brief, {}))
        )
        for brief, by_system in pools.items()
    }
    return {brief: count for brief, count in missing.items() if count}


def in_subset(brief: Brief, subset: str) -> bool:
    """ "all" is every NASA brief (the issue's table); "demo" every demo brief; the others are
    NASA briefs of that kind."""
    if subset == "demo":
        return brief.bank == "demo"
    return brief.bank == "nasa" and subset in ("all", brief.subset)


def in_half(brief: Brief, half: str) -> bool:
    return half == "all" or brief.half == half


# --- Metrics (pure) ----------------------------------------------------------------------------


def dcg(gains: Iterable[float]) -> float:
    return sum(gain / math.log2(rank + 1) for rank, gain in enumerate(gains, start=1))


def ndcg_at(ranked: Sequence[str], grades: Mapping[str, float], k: int = K) -> float:
    """nDCG@k, gain = grade (0, 1, 2), unjudged = 0; the ideal ranks every judged lesson by
    grade. 0 when nothing is graded above 0."""
    ideal = dcg(sorted(grades.values(), reverse=True)[:k])
    return dcg(grades.get(key, 0.0) for key in ranked[:k]) / ideal if ideal else 0.0


def recall_at(ranked: Sequence[str], grades: Mapping[str, float], k: int = K) -> float:
    """Share of the lessons graded relevant (>= 1) that are in the first k."""
    relevant = {key for key, grade in grades.items() if grade >= 1}
    return len(relevant & set(ranked[:k])) / len(relevant) if relevant else 0.0


def judged_at(ranked: Sequence[str], grades: Mapping[str, float], k: int = K) -> float:
    """Share of the first k results that were judged (1 when nothing is returned)."""
    top = ranked[:k]
    return sum(key in grades for key in top) / len(top) if top else 1.0


def textbook_rrf(
    rankings: Sequence[Sequence[str]], k: int = TEXTBOOK_RRF_K, limit: int = K
) -> list[str]:
    """Reciprocal rank fusion as published (Cormack et al. 2009): each list adds 1/(k + rank),
    equal weights; ties keep the order lessons were first met in."""
    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, key in enumerate(ranking, start=1):
            fused[key] = fused.get(key, 0.0) + 1 / (k + rank)
    return sorted(fused, key=lambda key: -fused[key])[:limit]


def bootstrap_means(values: Sequence[float], resamples: int, seed: int) -> Any:
    """Means of `resamples` resamples of `values` (briefs drawn with replacement)."""
    data = np.asarray(values, dtype=np.float64)
    rng = np.random.default_rng(seed)
    return data[rng.integers(0, data.size, size=(resamples, data.size))].mean(axis=1)


def interval(
    values: Sequence[float], *, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED
) -> tuple[float, float, float]:
    """Mean and its 95% bootstrap interval (percentile, seeded)."""
    if not values:
        return 0.0, 0.0, 0.0
    low, high = np.percentile(bootstrap_means(values, resamples, seed), [2.5, 97.5])
    return float(np.mean(values)), float(low), float(high)


def paired_interval(
    a: Sequence[float], b: Sequence[float], *, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0
) -> tuple[float, float, float]:
    """Mean of a - b over paired briefs and its 95% bootstrap interval (seeded)."""
    diff = [x - y for x, y in zip(a, b, strict=True)]
    return interval(diff, resamples=resamples, seed=seed)


# --- The banks -----------------------------------------------------------------------------------


class MemoEmbedder:
    """The shipped embedder, remembering texts it has encoded: each brief is asked of several
    systems, and its vector does not change between them."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name: str = inner.name
        self.dim: int = inner.dim
        self.max_words: int = getattr(inner, "max_words", 150)
        self._seen: dict[str, Vectors] = {}

    def encode(self, texts: list[str]) -> Vectors:
        missing = list(dict.fromkeys(t for t in texts if t not in self._seen))
        if missing:
            for text, vector in zip(missing, self.inner.encode(missing), strict=True):
                self._seen[text] = vector
        return np.stack([self._seen[t] for t in texts]).astype(np.float32)


def lesson_key(lesson: Any) -> str:
    """How the evaluation names a lesson: a NASA lesson by its lesson number (external_id), a
    demo lesson by its title (the demo bank's 83 titles are unique; see evaluation/README.md)."""
    return key_of(lesson.external_id, lesson.title)


def key_of(external_id: str | None, title: str) -> str:
    return str(external_id or title)


def build_nasa(database: Path, datasets: Path) -> None:
    """Run `lessonbank import nasa-llis` itself over both files into `database` (built under
    another name and renamed when complete, so a stopped build is never reused)."""
    import sqlite3

    from ui.cli.main import main as lessonbank

    partial = database.with_name(database.stem + ".partial.db")
    partial.unlink(missing_ok=True)
    files = [str(datasets / relative) for relative in NASA_FILES]
    # Exit status 1 means some lines were skipped (the files have a few without an id).
    if lessonbank(["import", "nasa-llis", *files, "--database-url", f"sqlite:///{partial}"]) > 1:
        raise SystemExit(f"lessonbank import nasa-llis failed for {partial}")
    with sqlite3.connect(partial) as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    partial.rename(database)


def build_demo(database: Path, embedder: Embedder) -> None:
    """The demo bank loaded the way the app loads it into an empty database at start-up."""
    from lessons.storage.settings import Settings
    from ui.app import prepare

    settings = Settings(database_url=f"sqlite:///{database}", load_demo=True)
    engine, _ = prepare(settings, embedder)
    engine.dispose()


class WholeLessonCosine:
    """The dense baseline, fixed whatever the shipped ranking becomes: the model's stored
    vector of each whole lesson (as the import embeds it), cosine to the brief's vector, over
    the lessons a curator's BAR may rank."""

    def __init__(self, engine: Engine, embedder: Embedder) -> None:
        from sqlmodel import Session, select

        from lessons.accounts import access
        from lessons.storage.models import Lesson, LessonEmbedding

        self.embedder = embedder
        with Session(engine) as session:
            rankable = set(session.exec(access.visible_lesson_ids(access.CURATOR)))
            keys = {
                lesson_id: key_of(external_id, title)
                for lesson_id, external_id, title in session.exec(
                    select(Lesson.id, Lesson.external_id, Lesson.title)
                )
            }
            rows = [
                (lesson_id, blob)
                for lesson_id, blob in session.exec(
                    select(LessonEmbedding.lesson_id, LessonEmbedding.vector).where(
                        LessonEmbedding.model == embedder.name
                    )
                )
                if lesson_id in rankable
            ]
        self.keys = [keys[lesson_id] for lesson_id, _ in rows]
        self.vectors = np.frombuffer(b"".join(blob for _, blob in rows), dtype=np.float32)
        self.vectors = self.vectors.reshape(len(rows), embedder.dim)

    def rank(self, brief: str, limit: int) -> list[str]:
        query = self.embedder.encode([brief])[0]
        norm = float(np.linalg.norm(query))
        scores = self.vectors @ (query / norm if norm else query)
        return [self.keys[i] for i in np.argsort(-scores, kind="stable")[:limit]]


@dataclass
class Bank:
    """One evaluation database, the shipped retriever over it and the dense baseline."""

    name: str
    database: Path
    engine: Engine
    retriever: Retriever
    dense: WholeLessonCosine


def open_bank(name: str, database: Path, embedder: Embedder, datasets: Path) -> Bank:
    """Build the bank's database on first use, then open it with the shipped retriever."""
    from lessons.storage.db import make_engine, migrate
    from retrieval.service import Retriever

    if not database.exists():
        print(f"building the {name} bank in {database} ...", file=sys.stderr)
        database.parent.mkdir(parents=True, exist_ok=True)
        if name == "nasa":
            build_nasa(database, datasets)
        else:
            build_demo(database, embedder)
    engine = make_engine(f"sqlite:///{database}")
    migrate(engine)
    retriever = Retriever(embedder)
    retriever.sync_committed(engine, batch_size=64)  # a no-op unless the model or text changed
    return Bank(name, database, engine, retriever, WholeLessonCosine(engine, embedder))


# --- The systems -------------------------------------------------------------------------------


def ranked_keys(hits: Iterable[Any]) -> list[str]:
    return [lesson_key(hit.lesson) for hit in hits]


def shipped_ranking(bank: Bank, session: Session, brief: str, limit: int) -> list[str]:
    """`Retriever.search` with the arguments `ui.shared.bar_run.run_bar` passes (no filters, the
    default mode, near-copies folded), as a curator: the pools use it to depth 30, beyond what
    one BAR returns. The evaluation itself asks the API (`ApiBar`)."""
    from lessons.accounts import access

    return ranked_keys(
        bank.retriever.search(session, brief, viewer=access.CURATOR, filters=None, limit=limit)
    )


def single_ranking(bank: Bank, session: Session, brief: str, limit: int, mode: Mode) -> list[str]:
    """One side of the shipped retriever alone ("lexical": the project's BM25; "dense"), as a
    curator, nothing folded."""
    from lessons.accounts import access

    hits = bank.retriever.search(
        session, brief, viewer=access.CURATOR, limit=limit, mode=mode, diverse=False
    )
    return ranked_keys(hits)


def baseline_rankings(bank: Bank, session: Session, brief: str, limit: int) -> dict[str, list[str]]:
    """BM25 (the project's lexical ranker), dense (whole-lesson cosine) and their textbook RRF,
    each to `limit`."""
    lexical = single_ranking(bank, session, brief, max(limit, FUSION_DEPTH), "lexical")
    dense = bank.dense.rank(brief, max(limit, FUSION_DEPTH))
    return {
        "bm25": lexical[:limit],
        "dense": dense[:limit],
        "rrf60": textbook_rrf([dense, lexical], limit=limit),
    }


class ApiBar:
    """POST /api/bar through the real app on a scratch copy of a bank (a BAR is recorded per
    brief; the bank itself is left as built)."""

    def __init__(self, client: Any, token: str, keys: dict[int, str]) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}
        self.keys = keys  # lesson id -> key

    def rank(self, brief: str, limit: int = K) -> list[str]:
        response = self.client.post(
            "/api/bar", json={"brief": brief, "limit": limit}, headers=self.headers
        )
        if response.status_code in (400, 422):  # the BAR refused the brief: nothing ranked
            print(f"the BAR refused {brief!r}: {response.text[:200]}", file=sys.stderr)
            return []
        response.raise_for_status()
        return [self.keys[result["lesson_id"]] for result in response.json()["results"]]


@contextmanager
def api_bar(bank: Bank, embedder: Embedder, postgres: str | None = None) -> Iterator[ApiBar]:
    """`ApiBar` over a scratch copy of the bank: its SQLite file copied, or with `postgres` (a
    server's URL) the bank copied into a PostgreSQL database there, the same lessons, vectors
    and ids (scripts/pg_bank.py)."""
    from sqlmodel import Session, select
    from starlette.testclient import TestClient

    from lessons.accounts import users as accounts
    from lessons.storage.db import make_engine, transaction
    from lessons.storage.models import Lesson, Role
    from lessons.storage.settings import Settings
    from scripts import pg_bank
    from ui.app import create_app

    with tempfile.TemporaryDirectory(prefix="lessonbank-eval-api-") as scratch:
        with bank.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        if postgres:
            url = pg_bank.copy_bank(bank.database, postgres, f"lessonbank_eval_{bank.name}")
        else:
            copy = Path(scratch) / "bank.db"
            shutil.copyfile(bank.database, copy)
            url = f"sqlite:///{copy}"
        engine = make_engine(url)
        with transaction(engine, write=True) as session:
            user = accounts.create_user(
                session, username="evaluation", password=None, role=Role.CURATOR, actor="eval"
            )
            token = accounts.create_token(session, user=user, name="eval", actor="eval")
        with Session(engine) as session:
            keys = {lesson.id or 0: lesson_key(lesson) for lesson in session.exec(select(Lesson))}
        engine.dispose()
        settings = Settings(
            database_url=url,
            load_demo=False,
            secret_key="evaluation",
            secret_key_file=str(Path(scratch) / "secret"),
            rate_limit_bar="",  # one token runs every brief: no per-user rate limit
        )
        app = create_app(settings, embedder=embedder)
        with TestClient(app, base_url="https://testserver") as client:
            yield ApiBar(client, token, keys)


def rank_all(
    bank: Bank, briefs: Sequence[Brief], embedder: Embedder, postgres: str | None = None
) -> dict[str, dict[str, list[str]]]:
    """brief -> system -> top 10 keys, for this bank's briefs; with `postgres` (a server's URL)
    also the shipped BAR on the same bank copied into PostgreSQL ("shipped_pg")."""
    from sqlmodel import Session

    rankings: dict[str, dict[str, list[str]]] = {}
    with Session(bank.engine) as session:
        for brief in briefs:
            rankings[brief.id] = baseline_rankings(bank, session, brief.text, K)
    with api_bar(bank, embedder) as bar:
        for brief in briefs:
            rankings[brief.id]["shipped"] = bar.rank(brief.text)
    if postgres:
        with api_bar(bank, embedder, postgres) as bar:
            for brief in briefs:
                rankings[brief.id][POSTGRES] = bar.rank(brief.text)
    return rankings


# --- Scoring -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BriefScore:
    ndcg: float
    recall: float
    judged: float


def score_briefs(
    rankings: Mapping[str, Mapping[str, Sequence[str]]], judged: Mapping[str, Grades]
) -> dict[str, dict[str, BriefScore]]:
    """system -> brief -> scores, for briefs with at least one lesson graded relevant (others
    have no ideal ranking and are left out, and counted, by `summarise`)."""
    scored: dict[str, dict[str, BriefScore]] = {system: {} for system in SYSTEMS}
    for brief_id, by_system in rankings.items():
        grades = judged.get(brief_id, {})
        if not any(grade >= 1 for grade in grades.values()):
            continue
        for system, ranked in by_system.items():
            scored.setdefault(system, {})[brief_id] = BriefScore(
                ndcg_at(ranked, grades), recall_at(ranked, grades), judged_at(ranked, grades)
            )
    return scored


def _figure(values: Sequence[float]) -> dict[str, float]:
    mean, low, high = interval(values)
    return {"mean": round(mean, 4), "low": round(low, 4), "high": round(high, 4)}


def summarise(
    briefs: Sequence[Brief],
    scored: Mapping[str, Mapping[str, BriefScore]],
    half: str,
    systems: Sequence[str] = SYSTEMS,
) -> dict[str, Any]:
    """Per subset: each system's means with intervals, and shipped-minus-baseline paired
    differences with theirs (and PostgreSQL-minus-SQLite when `systems` holds both)."""
    out: dict[str, Any] = {}
    for subset in SUBSETS:
        members = [b.id for b in briefs if in_subset(b, subset) and in_half(b, half)]
        scoredids = [i for i in members if i in scored["shipped"]]
        entry: dict[str, Any] = {
            "briefs": len(members),
            "scored": len(scoredids),
            "unscored": sorted(set(members) - set(scoredids)),
            "systems": {},
            "shipped_minus": {},
            "postgres_minus": {},
        }
        for system in systems:
            rows = [scored[system][i] for i in scoredids]
            entry["systems"][system] = {
                "ndcg@10": _figure([r.ndcg for r in rows]),
                "recall@10": _figure([r.recall for r in rows]),
                "judged@10": round(float(np.mean([r.judged for r in rows])), 4) if rows else 0.0,
            }
        pairs = [("shipped_minus", baseline, "shipped", baseline) for baseline in BASELINES]
        if POSTGRES in systems:  # the same BAR on PostgreSQL, against it on SQLite
            pairs.append(("postgres_minus", "sqlite", POSTGRES, "shipped"))
        for section, name, system, against in pairs:
            entry[section][name] = {
                metric: _difference(
                    [getattr(scored[system][i], attr) for i in scoredids],
                    [getattr(scored[against][i], attr) for i in scoredids],
                )
                for metric, attr in (("ndcg@10", "ndcg"), ("recall@10", "recall"))
            }
        out[subset] = entry
    return out


def _difference(a: Sequence[float], b: Sequence[float]) -> dict[str, float]:
    mean, low, high = paired_interval(a, b)
    return {"mean": round(mean, 4), "low": round(low, 4), "high": round(high, 4)}


# --- Reporting ---------------------------------------------------------------------------------


def _cell(figure: Mapping[str, float]) -> str:
    return f"{figure['mean']:.3f} [{figure['low']:.2f}, {figure['high']:.2f}]"


def _signed(figure: Mapping[str, float]) -> str:
    return f"{figure['mean']:+.3f} [{figure['low']:+.2f}, {figure['high']:+.2f}]"


def table(summary: Mapping[str, Any], metric: str, systems: Sequence[str] = SYSTEMS) -> str:
    """Systems down, subsets across; then the paired differences."""
    labels = {"all": "all NASA", "plain": "plain", "mismatch": "mismatch", "sector": "sector"}
    head = (
        "| "
        + metric
        + " | "
        + " | ".join(f"{labels.get(s, s)} (n={summary[s]['scored']})" for s in SUBSETS)
    )
    lines = [head + " |", "| --- |" + " ---: |" * len(SUBSETS)]
    shown = [s for s in SUBSETS if summary[s]["scored"]]

    def row(label: str, cells: dict[str, str]) -> str:
        return f"| {label} | " + " | ".join(cells.get(s, "n/a") for s in SUBSETS) + " |"

    for system in systems:
        lines.append(row(system, {s: _cell(summary[s]["systems"][system][metric]) for s in shown}))
    for baseline in BASELINES:
        differences = {s: _signed(summary[s]["shipped_minus"][baseline][metric]) for s in shown}
        lines.append(row(f"shipped - {baseline}", differences))
    if POSTGRES in systems:
        differences = {s: _signed(summary[s]["postgres_minus"]["sqlite"][metric]) for s in shown}
        lines.append(row(f"{POSTGRES} - shipped", differences))
    judged = [
        " / ".join(f"{summary[s]['systems'][m]['judged@10']:.2f}" for m in systems) for s in SUBSETS
    ]
    if metric == "ndcg@10":
        lines.append("| judged@10 (" + "/".join(systems) + ") | " + " | ".join(judged) + " |")
    return "\n".join(lines)


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--half", choices=("tune", "test", "all"), default="test")
    parser.add_argument("--datasets", type=Path, default=REPO.parent / "shared" / "datasets")
    parser.add_argument("--briefs", type=Path, default=EVALUATION / "briefs.jsonl")
    parser.add_argument("--judgments", type=Path, default=EVALUATION / "judgments.jsonl")
    parser.add_argument("--pools", type=Path, default=EVALUATION / "pools.json")
    parser.add_argument(
        "--graded",
        type=Path,
        default=GRADED,
        help="graders' files, read when --judgments is absent",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path("/tmp/lessonbank-eval"),
        help="where the banks are built on the first run and reused after (nasa.db, demo.db)",
    )
    parser.add_argument(
        "--database", type=Path, help="the NASA bank's SQLite file (default: <cache>/nasa.db)"
    )
    parser.add_argument(
        "--demo-database", type=Path, help="the demo bank's SQLite file (default: <cache>/demo.db)"
    )
    parser.add_argument("--report", type=Path, default=REPO / "reports" / "eval_retrieval.json")
    parser.add_argument("--model", default=MODEL, help="embedding model (tests: hashing)")
    parser.add_argument(
        "--postgres",
        metavar="SERVER_URL",
        help="also run the shipped BAR with each bank copied into PostgreSQL on this server "
        "(databases lessonbank_eval_nasa and _demo are made afresh there)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = arguments(argv)
    databases = {
        "nasa": args.database or args.cache / "nasa.db",
        "demo": args.demo_database or args.cache / "demo.db",
    }
    for relative in NASA_FILES:
        if not (args.datasets / relative).is_file() and not databases["nasa"].exists():
            print(f"{args.datasets / relative} not found (see --datasets)", file=sys.stderr)
            return 2
    from retrieval.embedder import load_embedder

    started = time.perf_counter()
    briefs = [b for b in read_briefs(args.briefs) if in_half(b, args.half)]
    files = judgment_files(args.judgments, args.graded)
    judged = read_judgments(files)
    embedder = MemoEmbedder(load_embedder(args.model, batch_size=64))
    rankings: dict[str, dict[str, list[str]]] = {}
    for name in BANKS:
        mine = [b for b in briefs if b.bank == name]
        if mine:
            bank = open_bank(name, databases[name], embedder, args.datasets)
            rankings |= rank_all(bank, mine, embedder, args.postgres)
            bank.engine.dispose()
    systems = (*SYSTEMS, POSTGRES) if args.postgres else SYSTEMS
    summary = summarise(briefs, score_briefs(rankings, judged), args.half, systems)
    pairs = sum(len(grades) for grades in judged.values())
    pools = json.loads(args.pools.read_text(encoding="utf-8")) if args.pools.is_file() else {}
    wanted = {b.id for b in briefs}
    missing = ungraded({i: p for i, p in pools.items() if i in wanted}, judged)
    print(
        f"Judged evaluation, half={args.half}: {len(briefs)} briefs; {pairs} judgments from "
        f"{len(files)} file(s); 95% bootstrap intervals over briefs ({BOOTSTRAP_RESAMPLES} "
        "resamples)"
    )
    if missing:
        print(f"pooled but not graded: {sum(missing.values())} pairs in {len(missing)} briefs")
    print()
    for metric in ("ndcg@10", "recall@10"):
        print(table(summary, metric, systems) + "\n")
    document = {
        "half": args.half,
        "briefs": len(briefs),
        "judgment_files": [str(f) for f in files],
        "judgments": pairs,
        "pooled_not_graded": missing,
        "model": args.model,
        "postgres": bool(args.postgres),
        "k": K,
        "bootstrap": {"resamples": BOOTSTRAP_RESAMPLES, "seed": BOOTSTRAP_SEED},
        "subsets": summary,
        "rankings": rankings,
        "python": platform.python_version(),
        "run_s": round(time.perf_counter() - started, 1),
    }
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.report}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
