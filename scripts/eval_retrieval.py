"""Retrieval quality on the real NASA lessons: dense, BM25 and hybrid, with fusion tuned on one
half of the queries and reported on the other.

Both NASA files are imported into a temporary SQLite database and embedded with the shipped
model; every query goes through `Retriever.search`, so filtering before ranking and the real
fusion are what is measured.

Queries and labels: each lesson with official categories (`categories` in nasa-llis,
`nasa_topics` in nasa-llis-sections, unioned per id) is a query; its text is the title and
abstract (title and the first 60 words of the lesson text when there is no abstract). The
relevant lessons are the other labelled lessons whose category sets overlap the query's with
Jaccard >= 0.3; the query lesson is removed from its own ranking before scoring. Unlabelled
lessons stay in the corpus as distractors and are never counted relevant, so the figures are a
lower bound. By default the categories are NOT indexed (the importer would make them tags,
which are embedded and full-text indexed): the labels would otherwise sit inside the documents
being judged by them. `--index-categories` keeps them, as `lessonbank import` does.

Queries are split by a hash of the lesson id into a tuning half and a held-out half; the fusion
grid is scored on the tuning half only, and the chosen parameters are reported on the held-out
half next to the defaults.

    .venv/bin/python scripts/eval_retrieval.py [--datasets DIR] [--database PATH]
        [--report reports/eval_retrieval.json] [--index-categories] [--chunk-experiment]

`--database PATH` builds the evaluation database there on the first run and reuses it after
(keep it outside the repository).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a file: make the project's packages importable
    sys.path.insert(0, str(REPO))

from lessons.imports.cleaning import clean_text  # noqa: E402
from lessons.schemas import normalise_tag  # noqa: E402

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlmodel import Session

    from retrieval.embedder import Embedder, Vectors
    from retrieval.fusion import FusionParams
    from retrieval.service import Mode, Retriever

K = 10
JACCARD = 0.3
FALLBACK_WORDS = 60
MODEL = "all-MiniLM-L6-v2"
FILES = (
    ("nasa-llis/llis.jsonl", "categories", "abstract", "lesson"),
    ("nasa-llis-sections/llis_sections.jsonl", "nasa_topics", "abstract_text", "lesson_text"),
)
GRID_RRF_K = (10, 30, 60, 100)
GRID_LEXICAL_WEIGHT = (0.5, 0.75, 1.0, 1.5, 2.0)
BOOTSTRAP_RESAMPLES = 2000


# --- Queries and labels (pure: tested without the model or the data) -------------------------


@dataclass
class Labelled:
    """A lesson as the evaluation sees it: its id, categories and the text of its query."""

    external_id: str
    categories: set[str] = field(default_factory=set)
    title: str = ""
    abstract: str = ""
    lesson: str = ""


@dataclass(frozen=True)
class Query:
    external_id: str
    text: str
    relevant: frozenset[str]
    from_lesson_text: bool  # no abstract: title plus the lesson text's opening words


def read_labelled(datasets: Path) -> dict[str, Labelled]:
    """Every lesson id in either file with its categories (normalised as tags are), abstract and
    lesson text; the first file to give a field wins."""
    found: dict[str, Labelled] = {}
    for relative, categories_key, abstract_key, lesson_key in FILES:
        with (datasets / relative).open(encoding="utf-8") as handle:
            for line in handle:
                if not line.strip():
                    continue
                row = json.loads(line)
                lesson_id = str(row.get("lesson_id") or row.get("lesson_number") or "").strip()
                if not lesson_id.isdigit():
                    continue  # the importer reports these; they cannot be queries
                item = found.setdefault(lesson_id, Labelled(lesson_id))
                item.categories |= normalise_categories(row.get(categories_key) or [])
                item.title = item.title or clean_text(row.get("title"))
                item.abstract = item.abstract or clean_text(row.get(abstract_key))
                item.lesson = item.lesson or clean_text(row.get(lesson_key))
    return found


def normalise_categories(values: Iterable[str]) -> set[str]:
    """Categories as the importer would tag them, so both files' spellings meet."""
    return {tag for tag in (normalise_tag(clean_text(v)) for v in values) if tag}


def query_text(title: str, abstract: str, lesson: str) -> tuple[str, bool]:
    """Title and abstract; without an abstract, title and the lesson text's first 60 words.
    Second value: whether the fallback was used."""
    if abstract.strip():
        return f"{title}\n{abstract}".strip(), False
    opening = " ".join(lesson.split()[:FALLBACK_WORDS])
    return f"{title}\n{opening}".strip(), True


def jaccard(a: set[str] | frozenset[str], b: set[str] | frozenset[str]) -> float:
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def relevant_sets(
    categories: dict[str, set[str]], threshold: float = JACCARD
) -> dict[str, frozenset[str]]:
    """For each labelled lesson, the other labelled lessons whose categories overlap its own
    with Jaccard >= threshold (never itself)."""
    labelled = {key: cats for key, cats in categories.items() if cats}
    return {
        key: frozenset(
            other
            for other, theirs in labelled.items()
            if other != key and jaccard(cats, theirs) >= threshold
        )
        for key, cats in labelled.items()
    }


def build_queries(
    labelled: dict[str, Labelled], titles: dict[str, str]
) -> tuple[list[Query], list[str]]:
    """Queries with at least one relevant lesson, and the ids dropped for having none.
    `titles` are the imported titles (the importer fills the few empty ones)."""
    relevant = relevant_sets({key: item.categories for key, item in labelled.items()})
    queries: list[Query] = []
    dropped: list[str] = []
    for key in sorted(relevant, key=int):
        if not relevant[key]:
            dropped.append(key)
            continue
        item = labelled[key]
        text, fallback = query_text(titles.get(key) or item.title, item.abstract, item.lesson)
        queries.append(Query(key, text, relevant[key], fallback))
    return queries, dropped


def split_queries(ids: Iterable[str]) -> tuple[list[str], list[str]]:
    """(tuning, held-out): ids ordered by a hash of themselves, then alternated; the same ids
    always split the same way whatever order they come in, and the halves differ by at most
    one."""
    ordered = sorted(set(ids), key=lambda i: (hashlib.sha256(i.encode()).hexdigest(), i))
    return ordered[0::2], ordered[1::2]


# --- Metrics (pure) ----------------------------------------------------------------------------


def ndcg_at(ranked: Sequence[str], relevant: frozenset[str] | set[str], k: int = K) -> float:
    """nDCG@k with binary gains: 1/log2(rank + 1) for each relevant hit, over the ideal."""
    dcg = sum(1 / math.log2(rank + 1) for rank, i in enumerate(ranked[:k], 1) if i in relevant)
    ideal = sum(1 / math.log2(rank + 1) for rank in range(1, min(len(relevant), k) + 1))
    return dcg / ideal if ideal else 0.0


def recall_at(ranked: Sequence[str], relevant: frozenset[str] | set[str], k: int = K) -> float:
    """Share of the relevant lessons found in the first k (below 1 whenever more than k are
    relevant)."""
    return len(set(ranked[:k]) & relevant) / len(relevant) if relevant else 0.0


def without(ranked: Sequence[str], excluded: str, k: int = K) -> list[str]:
    """The first k of `ranked` once the query's own lesson is taken out."""
    return [i for i in ranked if i != excluded][:k]


def standing_in(
    ranked: Sequence[str], excluded: str, copies: Sequence[str], k: int = K
) -> list[str]:
    """The first k once the query's own lesson is taken out, its folded near-copies standing in
    its place: what a diverse page shows when the query lesson is not in the bank."""
    out: list[str] = []
    for i in ranked:
        out.extend(copies if i == excluded else [i])
    return [i for i in out if i != excluded][:k]


def paired_interval(
    a: Sequence[float], b: Sequence[float], *, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0
) -> tuple[float, float, float]:
    """Mean of a - b over paired queries and its 95% bootstrap interval (seeded)."""
    diff = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    if diff.size == 0:
        return 0.0, 0.0, 0.0
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, diff.size, size=(resamples, diff.size))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(diff.mean()), float(low), float(high)


def mean(values: Sequence[float]) -> float:
    return float(sum(values) / len(values)) if values else 0.0


# --- The evaluation database -------------------------------------------------------------------


class MemoEmbedder:
    """The shipped embedder, remembering texts it has encoded: each query is asked of many
    configurations, and its vector does not change between them."""

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


def build_database(
    engine: Engine, datasets: Path, embedder: Embedder, *, index_categories: bool
) -> dict[str, Any]:
    """Import both NASA files (as `lessonbank import nasa-llis` does, less the category tags
    unless asked) and embed every lesson; returns counts for the report."""
    from lessons.db import transaction
    from lessons.imports import nasa
    from lessons.imports.upsert import upsert_all
    from retrieval.service import Retriever

    merged, problems = nasa.read([datasets / relative for relative, *_ in FILES])
    if not index_categories:
        prefix = f"{nasa.TAG_SCHEME}:"
        for record in merged.values():
            record.tags = [t for t in record.tags if not t.startswith(prefix)]
    started = time.perf_counter()
    with transaction(engine) as session:
        result = upsert_all(
            session, [(f"lesson {k}", r) for k, r in merged.items()], actor="eval_retrieval"
        )
    imported = time.perf_counter() - started
    started = time.perf_counter()
    with transaction(engine) as session:
        embedded = Retriever(embedder).sync(session, progress=True, batch_size=512)
    return {
        "added": result.added,
        "problems": problems + result.problems,
        "embedded": embedded,
        "import_s": round(imported, 1),
        "embed_s": round(time.perf_counter() - started, 1),
    }


def stored_state(session: Session) -> tuple[dict[int, str], dict[str, str], bool]:
    """Database id -> external id, external id -> title, and whether category tags are in it."""
    from sqlmodel import col, select

    from lessons.imports.nasa import TAG_SCHEME
    from lessons.models import Lesson, LessonTag

    ids: dict[int, str] = {}
    titles: dict[str, str] = {}
    for lesson_id, external_id, title in session.exec(
        select(Lesson.id, Lesson.external_id, Lesson.title)
    ):
        if lesson_id is not None and external_id:
            ids[lesson_id] = external_id
            titles[external_id] = title
    tagged = session.exec(
        select(LessonTag.lesson_id).where(col(LessonTag.tag).startswith(f"{TAG_SCHEME}:"))
    ).first()
    return ids, titles, tagged is not None


# --- The judged evaluation: banks, briefs and the systems compared ----------------------------

NASA_FILES = tuple(relative for relative, *_ in FILES)
EVALUATION = REPO / "evaluation"
# How deep each baseline ranker looks before textbook RRF fuses the two lists.
FUSION_DEPTH = 150
TEXTBOOK_RRF_K = 60


@dataclass(frozen=True)
class Brief:
    id: str
    bank: str  # "nasa" | "demo"
    subset: str  # "plain" | "mismatch" | "sector"
    half: str  # "tune" | "test"
    text: str


def read_briefs(path: Path) -> list[Brief]:
    """evaluation/briefs.jsonl: one brief a line."""
    briefs: list[Brief] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            briefs.append(Brief(row["id"], row["bank"], row["subset"], row["half"], row["brief"]))
    return briefs


def lesson_key(lesson: Any) -> str:
    """How the evaluation names a lesson: a NASA lesson by its lesson number (external_id), a
    demo lesson by its title (the demo bank's 83 titles are unique; see evaluation/README.md)."""
    return str(lesson.external_id or lesson.title)


def build_nasa(database: Path, datasets: Path) -> None:
    """Run `lessonbank import nasa-llis` itself over both files into `database` (built under
    another name and renamed when complete, so a stopped build is never reused)."""
    import sqlite3

    from ui.cli import main as lessonbank

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
    from lessons.settings import Settings
    from ui.app import prepare

    settings = Settings(database_url=f"sqlite:///{database}", load_demo=True)
    engine, _ = prepare(settings, embedder)
    engine.dispose()


@dataclass
class Bank:
    """One evaluation database and the shipped retriever over it."""

    name: str
    engine: Engine
    retriever: Retriever


def open_bank(name: str, database: Path, embedder: Embedder, datasets: Path) -> Bank:
    """Build the bank's database on first use, then open it with the shipped retriever."""
    from lessons.db import make_engine, migrate
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
    return Bank(name, engine, retriever)


def ranked_keys(hits: Iterable[Any]) -> list[str]:
    return [lesson_key(hit.lesson) for hit in hits]


def shipped_ranking(bank: Bank, session: Session, brief: str, limit: int) -> list[str]:
    """What POST /api/bar ranks: `Retriever.search` with the arguments `ui.bar_run.run_bar`
    passes (no filters, the default mode and folding of near-copies), as a curator."""
    from lessons import access

    return ranked_keys(
        bank.retriever.search(session, brief, viewer=access.CURATOR, filters=None, limit=limit)
    )


def single_ranking(bank: Bank, session: Session, brief: str, limit: int, mode: Mode) -> list[str]:
    """One of the project's rankers alone ("lexical": BM25; "dense": whole-lesson cosine),
    nothing folded."""
    from lessons import access

    hits = bank.retriever.search(
        session, brief, viewer=access.CURATOR, limit=limit, mode=mode, diverse=False
    )
    return ranked_keys(hits)


def textbook_rrf(
    rankings: Sequence[Sequence[str]], k: int = TEXTBOOK_RRF_K, limit: int = K
) -> list[str]:
    """Reciprocal rank fusion as published (Cormack et al. 2009): each list adds 1/(k + rank),
    equal weights; ties keep the first list's order."""
    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, key in enumerate(ranking, start=1):
            fused[key] = fused.get(key, 0.0) + 1 / (k + rank)
    return sorted(fused, key=lambda key: -fused[key])[:limit]


def baseline_rankings(bank: Bank, session: Session, brief: str, limit: int) -> dict[str, list[str]]:
    """BM25, dense and their textbook RRF, each to `limit`."""
    lexical = single_ranking(bank, session, brief, max(limit, FUSION_DEPTH), "lexical")
    dense = single_ranking(bank, session, brief, max(limit, FUSION_DEPTH), "dense")
    return {
        "bm25": lexical[:limit],
        "dense": dense[:limit],
        "rrf60": textbook_rrf([dense, lexical], limit=limit),
    }


# --- Running queries through the real search ---------------------------------------------------


@dataclass
class Scores:
    """Per-query figures for one method on one set of queries, in query order."""

    ndcg: list[float] = field(default_factory=list)
    recall: list[float] = field(default_factory=list)
    folded: int = 0  # near-copies hidden behind a shown hit (diverse runs)
    folded_relevant: int = 0
    folded_under_query: int = 0  # hidden behind the query's own lesson, then removed with it
    folded_under_query_relevant: int = 0
    # Scored with those copies standing in for the query lesson (see `standing_in`).
    ndcg_stand_in: list[float] = field(default_factory=list)
    recall_stand_in: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "queries": len(self.ndcg),
            "ndcg@10": round(mean(self.ndcg), 4),
            "recall@10": round(mean(self.recall), 4),
        }


def run(
    retriever: Retriever,
    session: Session,
    queries: Sequence[Query],
    ids: dict[int, str],
    *,
    mode: Mode,
    diverse: bool,
    progress: str | None = None,
) -> Scores:
    """Every query through `Retriever.search` (curator, published statuses), scored."""
    from tqdm import tqdm

    from lessons import access
    from lessons.models import LessonStatus
    from lessons.schemas import SearchFilters

    filters = SearchFilters(status=[LessonStatus.VALIDATED])
    scores = Scores()
    for query in tqdm(queries, desc=progress, unit="query", leave=False, disable=not progress):
        hits = retriever.search(
            session,
            query.text,
            viewer=access.CURATOR,
            filters=filters,
            limit=K + 1,  # one more: the query's own lesson is removed before scoring
            mode=mode,
            diverse=diverse,
        )
        listed = [hit.lesson.external_id or "" for hit in hits]
        ranked = without(listed, query.external_id)
        scores.ndcg.append(ndcg_at(ranked, query.relevant))
        scores.recall.append(recall_at(ranked, query.relevant))
        own: list[str] = []
        for hit in hits:
            copies = [ids.get(c, "") for c in hit.components.hidden_copies]
            if hit.lesson.external_id == query.external_id:
                own = copies
                scores.folded_under_query += len(copies)
                scores.folded_under_query_relevant += sum(c in query.relevant for c in copies)
            elif hit.lesson.external_id in ranked:
                scores.folded += len(copies)
                scores.folded_relevant += sum(c in query.relevant for c in copies)
        stand_in = standing_in(listed, query.external_id, own)
        scores.ndcg_stand_in.append(ndcg_at(stand_in, query.relevant))
        scores.recall_stand_in.append(recall_at(stand_in, query.relevant))
    return scores


@dataclass
class Method:
    name: str
    mode: Mode
    diverse: bool
    params: FusionParams
    tuning: Scores
    held_out: Scores

    @property
    def label(self) -> str:
        """The name, with the fusion for hybrid rows (the defaults may change over time)."""
        if self.mode != "hybrid":
            return self.name
        fusion = f"k={self.params.rrf_k}, lexical {self.params.lexical_weight:g}"
        base, plus, rest = self.name.partition(" + ")
        return f"{base} ({fusion}){plus}{rest}"

    def report(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "mode": self.mode,
            "diverse": self.diverse,
            "tuning": self.tuning.summary(),
            "held_out": self.held_out.summary(),
        }
        if self.mode == "hybrid":
            entry["fusion"] = fusion_dict(self.params)
        if self.diverse:
            entry["near_copies_folded"] = {
                half: {
                    "behind_shown_hits": s.folded,
                    "of_which_relevant": s.folded_relevant,
                    "behind_the_query_lesson": s.folded_under_query,
                    "behind_the_query_lesson_relevant": s.folded_under_query_relevant,
                    "scored_with_those_standing_in": {
                        "ndcg@10": round(mean(s.ndcg_stand_in), 4),
                        "recall@10": round(mean(s.recall_stand_in), 4),
                    },
                }
                for half, s in (("tuning", self.tuning), ("held_out", self.held_out))
            }
        return entry


def fusion_dict(params: FusionParams) -> dict[str, float]:
    return {
        "rrf_k": params.rrf_k,
        "dense_weight": params.dense_weight,
        "lexical_weight": params.lexical_weight,
        "near_copy": params.near_copy,
    }


# --- An experiment outside the shipped path: what text the lesson vector stands for ----------


def chunk_experiment(
    session: Session,
    inner: Any,
    halves: dict[str, list[Query]],
    query_vector: Callable[[str], Vectors],
) -> dict[str, Any]:
    """Dense-only scores with lesson vectors built from every chunk of the lesson text (mean of
    chunk vectors; best chunk), against the shipped single vector (the model reads only the
    first 256 tokens). Scored in numpy over the same lessons; not `Retriever.search`."""
    from sqlmodel import select
    from tqdm import tqdm

    from lessons.models import Lesson, LessonEmbedding
    from retrieval.text import chunks, lesson_text

    lessons = list(session.exec(select(Lesson)))
    started = time.perf_counter()
    pieces: list[str] = []
    owner: list[int] = []
    for row, lesson in enumerate(lessons):
        for piece in chunks(lesson_text(lesson), inner.max_words):
            pieces.append(piece)
            owner.append(row)
    vectors = np.zeros((len(pieces), inner.dim), dtype=np.float32)
    for start in tqdm(range(0, len(pieces), 512), desc="Embedding chunks", unit="batch"):
        vectors[start : start + 512] = inner.encode(pieces[start : start + 512])
    owners = np.asarray(owner)
    pooled = np.zeros((len(lessons), inner.dim), dtype=np.float32)
    np.add.at(pooled, owners, vectors)
    pooled /= np.linalg.norm(pooled, axis=1, keepdims=True)
    stored = {
        e.lesson_id: np.frombuffer(e.vector, dtype=np.float32)
        for e in session.exec(select(LessonEmbedding))
    }
    single = np.stack([stored[lesson.id] for lesson in lessons if lesson.id is not None])
    external = [lesson.external_id or "" for lesson in lessons]

    def ranked_by(scores: npt.NDArray[np.float32]) -> list[str]:
        top = np.argsort(-scores, kind="stable")[: K + 1]
        return [external[i] for i in top]

    variants: dict[str, Callable[[Vectors], list[str]]] = {
        "single vector (as stored)": lambda q: ranked_by(single @ q),
        "mean of chunk vectors": lambda q: ranked_by(pooled @ q),
        "best chunk (max over chunks)": lambda q: ranked_by(_max_per_owner(vectors @ q, owners)),
    }
    results: dict[str, Any] = {}
    for name, rank in variants.items():
        results[name] = {}
        for half, queries in halves.items():
            scores = Scores()
            for query in queries:
                ranked = without(rank(query_vector(query.text)), query.external_id)
                scores.ndcg.append(ndcg_at(ranked, query.relevant))
                scores.recall.append(recall_at(ranked, query.relevant))
            results[name][half] = scores
    return {
        "chunks": len(pieces),
        "lessons": len(lessons),
        "lessons_longer_than_one_chunk": int(np.sum(np.bincount(owners) > 1)),
        "embed_s": round(time.perf_counter() - started, 1),
        "results": results,
    }


def _max_per_owner(scores: Vectors, owners: npt.NDArray[np.int64]) -> Vectors:
    best = np.full(int(owners.max()) + 1, -np.inf, dtype=np.float32)
    np.maximum.at(best, owners, scores)
    return best


# --- Scoring every method ----------------------------------------------------------------------


@dataclass
class Evaluation:
    """What one run measured: the fixed rows, the grid over the tuning half, the choice."""

    halves: dict[str, list[Query]]
    methods: list[Method]
    grid: list[tuple[FusionParams, Scores]]
    chosen: FusionParams
    timings: dict[str, float]

    def method(self, name: str) -> Method:
        return next(m for m in self.methods if m.name == name)


DENSE, BM25 = "dense", "BM25 (lexical)"
TEXTBOOK, DEFAULTS, TUNED = "hybrid, textbook RRF", "hybrid, shipped defaults", "hybrid, tuned"
DIVERSE = " + diversity"
# Rows ranked as on a bank of LARGE_BANK_SIZE lessons: BM25 over bounded candidates, found
# in the same share of the postings.
LARGE_BANK = " + large-bank BM25"
LARGE_BANK_SIZE = 1_000_000


def textbook_fusion() -> FusionParams:
    """Cormack et al. (2009): k=60, equal weights; a fixed reference whatever ships."""
    from retrieval.fusion import FusionParams

    return FusionParams(rrf_k=60, dense_weight=1.0, lexical_weight=1.0)


def evaluate(
    session: Session, embedder: Embedder, ids: dict[int, str], halves: dict[str, list[Query]]
) -> Evaluation:
    """The fixed rows on both halves; the grid on the tuning half only (held-out scores never
    choose anything); the chosen fusion on both halves."""
    from retrieval.fusion import FusionParams
    from retrieval.service import Retriever

    def both(
        mode: Mode, diverse: bool, params: FusionParams, large_bank: bool = False
    ) -> tuple[Scores, Scores]:
        from retrieval import bm25, lexical

        retriever = Retriever(embedder, fusion=params)
        exact_limit, postings = lexical.EXACT_LIMIT, bm25.CANDIDATE_POSTINGS
        if large_bank:
            # The bounded ranker, reading the share of postings it reads at a million lessons
            # (a full budget would read every NASA posting and rank exactly).
            lexical.EXACT_LIMIT = 0
            bm25.CANDIDATE_POSTINGS = max(1, round(postings * len(ids) / LARGE_BANK_SIZE))
        try:
            tuning, held_out = (
                run(
                    retriever,
                    session,
                    halves[half],
                    ids,
                    mode=mode,
                    diverse=diverse,
                    progress=f"{mode}{' + diversity' if diverse else ''}, {half}",
                )
                for half in ("tuning", "held_out")
            )
        finally:
            lexical.EXACT_LIMIT, bm25.CANDIDATE_POSTINGS = exact_limit, postings
        return tuning, held_out

    timings: dict[str, float] = {}
    started = time.perf_counter()
    default = FusionParams()
    textbook = textbook_fusion()
    rows: list[tuple[str, Mode, bool, FusionParams]] = [
        (DENSE, "dense", False, default),
        (BM25, "lexical", False, default),
        (TEXTBOOK, "hybrid", False, textbook),
        (DEFAULTS, "hybrid", False, default),
        (DEFAULTS + DIVERSE, "hybrid", True, default),
        (BM25 + LARGE_BANK, "lexical", False, default),
        (DEFAULTS + LARGE_BANK, "hybrid", False, default),
    ]
    methods = [
        Method(name, mode, diverse, params, *both(mode, diverse, params, LARGE_BANK in name))
        for name, mode, diverse, params in rows
    ]
    timings["baselines"] = time.perf_counter() - started

    started = time.perf_counter()
    grid: list[tuple[FusionParams, Scores]] = []
    for rrf_k in GRID_RRF_K:
        for lexical_weight in GRID_LEXICAL_WEIGHT:
            params = FusionParams(
                rrf_k=rrf_k,
                dense_weight=1.0,
                lexical_weight=lexical_weight,
                near_copy=default.near_copy,
            )
            retriever = Retriever(embedder, fusion=params)
            scores = run(retriever, session, halves["tuning"], ids, mode="hybrid", diverse=False)
            grid.append((params, scores))
            print(
                f"  rrf_k={rrf_k:<3} lexical_weight={lexical_weight:<4} "
                f"tuning nDCG@10={mean(scores.ndcg):.4f}",
                file=sys.stderr,
            )
    # Best tuning nDCG@10; ties go to higher recall, then to the earlier grid point.
    chosen, _ = max(
        grid, key=lambda pair: (round(mean(pair[1].ndcg), 6), round(mean(pair[1].recall), 6))
    )
    timings["grid"] = time.perf_counter() - started

    started = time.perf_counter()
    for name, diverse in ((TUNED, False), (TUNED + DIVERSE, True)):
        methods.append(Method(name, "hybrid", diverse, chosen, *both("hybrid", diverse, chosen)))
    timings["tuned"] = time.perf_counter() - started
    return Evaluation(halves, methods, grid, chosen, timings)


def held_out_differences(evaluation: Evaluation) -> dict[str, dict[str, dict[str, float]]]:
    """Paired held-out differences that matter for the decision, with bootstrap intervals."""
    hybrid = evaluation.method(DEFAULTS)
    diversity = evaluation.method(DEFAULTS + DIVERSE)
    tuned = evaluation.method(TUNED)
    textbook = evaluation.method(TEXTBOOK)
    pairs = {
        "defaults_minus_dense": (hybrid.held_out, evaluation.method(DENSE).held_out),
        "defaults_minus_bm25": (hybrid.held_out, evaluation.method(BM25).held_out),
        "defaults_minus_textbook": (hybrid.held_out, textbook.held_out),
        "tuned_minus_defaults": (tuned.held_out, hybrid.held_out),
        "tuned_minus_textbook": (tuned.held_out, textbook.held_out),
        "diversity_minus_none": (diversity.held_out, hybrid.held_out),
    }
    named = {m.name for m in evaluation.methods}
    if {BM25 + LARGE_BANK, DEFAULTS + LARGE_BANK} <= named:  # what large banks' BM25 costs
        large = evaluation.method(DEFAULTS + LARGE_BANK).held_out
        pairs["large_bank_minus_defaults"] = (large, hybrid.held_out)
        pairs["large_bank_bm25_minus_bm25"] = (
            evaluation.method(BM25 + LARGE_BANK).held_out,
            evaluation.method(BM25).held_out,
        )
    out = {
        key: {
            "ndcg@10": _interval(paired_interval(a.ndcg, b.ndcg)),
            "recall@10": _interval(paired_interval(a.recall, b.recall)),
        }
        for key, (a, b) in pairs.items()
    }
    # Part of diversity's cost is the protocol's: the query lesson folds its own near-copies.
    a, b = diversity.held_out, hybrid.held_out
    out["diversity_stand_in_minus_none"] = {
        "ndcg@10": _interval(paired_interval(a.ndcg_stand_in, b.ndcg)),
        "recall@10": _interval(paired_interval(a.recall_stand_in, b.recall)),
    }
    return out


def _interval(entry: tuple[float, float, float]) -> dict[str, float]:
    diff, low, high = entry
    return {"mean": round(diff, 4), "ci95_low": round(low, 4), "ci95_high": round(high, 4)}


# --- Reporting ---------------------------------------------------------------------------------


def table(rows: Sequence[tuple[str, Scores, Scores]], n_tuning: int, n_held: int) -> str:
    """Methods against nDCG@10 and recall@10 on both halves, as aligned text."""
    width = max(len(name) for name, *_ in rows)
    lines = [
        f"{'':<{width}}  {f'tuning (n={n_tuning})':<20}  {f'held-out (n={n_held})':<20}",
        f"{'method':<{width}}  {'nDCG@10':>9} {'recall@10':>10}  {'nDCG@10':>9} {'recall@10':>10}",
    ]
    for name, tuning, held in rows:
        lines.append(
            f"{name:<{width}}  {mean(tuning.ndcg):>9.4f} {mean(tuning.recall):>10.4f}"
            f"  {mean(held.ndcg):>9.4f} {mean(held.recall):>10.4f}"
        )
    return "\n".join(lines)


def print_summary(
    evaluation: Evaluation,
    differences: dict[str, dict[str, dict[str, float]]],
    experiment: dict[str, Any] | None,
    headline: str,
) -> None:
    n_tuning, n_held = (len(evaluation.halves[h]) for h in ("tuning", "held_out"))
    print()
    print(headline)
    print(table([(m.label, m.tuning, m.held_out) for m in evaluation.methods], n_tuning, n_held))
    print("(the tuned row's tuning figures are the grid's best: optimistic by construction)")
    print()
    print("Held-out paired differences (mean, 95% bootstrap interval):")
    for key, figures in differences.items():
        nd, rc = figures["ndcg@10"], figures["recall@10"]
        print(
            f"  {key:<29} nDCG@10 {nd['mean']:+.4f} [{nd['ci95_low']:+.4f}, {nd['ci95_high']:+.4f}]"
            f"  recall@10 {rc['mean']:+.4f} [{rc['ci95_low']:+.4f}, {rc['ci95_high']:+.4f}]"
        )
    print()
    diversity = evaluation.method(DEFAULTS + DIVERSE)
    for half, s in (("tuning", diversity.tuning), ("held-out", diversity.held_out)):
        print(
            f"Diversity, shipped defaults, {half}: {s.folded} near-copies folded behind shown "
            f"hits ({s.folded_relevant} relevant); {s.folded_under_query} behind the query's "
            f"own lesson ({s.folded_under_query_relevant} relevant), removed with it. "
            f"With those standing in: nDCG@10 {mean(s.ndcg_stand_in):.4f}, "
            f"recall@10 {mean(s.recall_stand_in):.4f}"
        )
    if experiment is not None:
        print()
        print(
            f"Chunk experiment (dense only, scored in numpy; {experiment['chunks']} chunks, "
            f"{experiment['lessons_longer_than_one_chunk']} of {experiment['lessons']} lessons "
            "longer than one):"
        )
        rows = [(n, r["tuning"], r["held_out"]) for n, r in experiment["results"].items()]
        print(table(rows, n_tuning, n_held))


def report(
    args: argparse.Namespace,
    *,
    evaluation: Evaluation,
    differences: dict[str, Any],
    experiment: dict[str, Any] | None,
    corpus: dict[str, Any],
    labelled: dict[str, Labelled],
    queries: list[Query],
    dropped: list[str],
    timings: dict[str, float],
) -> dict[str, Any]:
    """Every figure, the choice, the query counts and the run's settings, for the JSON file."""
    from retrieval.fusion import FusionParams

    relevant_counts = sorted(len(q.relevant) for q in queries)
    halves = evaluation.halves
    document: dict[str, Any] = {
        "settings": {
            "datasets": str(args.datasets),
            "model": MODEL,
            "k": K,
            "relevance": f"other labelled lessons with category Jaccard >= {JACCARD}",
            "query_text": "title + abstract; title + first 60 words of the lesson text "
            "when the abstract is empty",
            "split": "sha256 of the lesson id, ordered, alternated (tuning, held-out)",
            "search": "Retriever.search, viewer curator, status validated, limit 11, query "
            "lesson removed, first 10 scored",
            "grid": {
                "rrf_k": list(GRID_RRF_K),
                "dense_weight": [1.0],
                "lexical_weight": list(GRID_LEXICAL_WEIGHT),
                "chosen_by": "tuning-half nDCG@10 (ties: recall@10, then grid order)",
            },
            "bootstrap_resamples": BOOTSTRAP_RESAMPLES,
            "python": platform.python_version(),
        },
        "corpus": corpus,
        "queries": {
            "labelled_lessons": sum(1 for item in labelled.values() if item.categories),
            "dropped_no_relevant": len(dropped),
            "used": len(queries),
            "tuning": len(halves["tuning"]),
            "held_out": len(halves["held_out"]),
            "title_plus_lesson_text_fallback": sum(q.from_lesson_text for q in queries),
            "relevant_per_query": {
                "median": relevant_counts[len(relevant_counts) // 2],
                "min": relevant_counts[0],
                "max": relevant_counts[-1],
                "more_than_10": sum(n > K for n in relevant_counts),
            },
            "ids": {half: [q.external_id for q in qs] for half, qs in halves.items()},
        },
        "methods": {m.label: m.report() for m in evaluation.methods},
        "defaults": fusion_dict(FusionParams()),
        "textbook": fusion_dict(textbook_fusion()),
        "chosen": fusion_dict(evaluation.chosen),
        "grid": [
            {**fusion_dict(params), "tuning": scores.summary()}
            for params, scores in evaluation.grid
        ],
        "held_out_differences": differences,
        "timings_s": {k: round(v, 1) for k, v in timings.items()},
    }
    if experiment is not None:
        document["chunk_experiment"] = {
            **{k: v for k, v in experiment.items() if k != "results"},
            "results": {
                name: {half: s.summary() for half, s in by_half.items()}
                for name, by_half in experiment["results"].items()
            },
        }
    return document


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=Path, default=REPO.parent / "shared" / "datasets")
    parser.add_argument(
        "--database",
        type=Path,
        help="SQLite file to build on the first run and reuse after (default: a temporary one)",
    )
    parser.add_argument("--report", type=Path, default=REPO / "reports" / "eval_retrieval.json")
    parser.add_argument(
        "--index-categories",
        action="store_true",
        help="keep the official categories as tags (embedded and indexed): labels leak into "
        "the documents",
    )
    parser.add_argument(
        "--chunk-experiment",
        action="store_true",
        help="also score dense retrieval with lesson vectors built from every chunk of every "
        "lesson (embeds about 5,600 chunks more)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = arguments(argv)
    for relative, *_ in FILES:
        if not (args.datasets / relative).is_file():
            print(f"{args.datasets / relative} not found (see --datasets)", file=sys.stderr)
            return 2

    # Loaded here, not at import, so the metric functions import without torch.
    from sqlmodel import Session

    from lessons.db import make_engine, migrate
    from retrieval.embedder import load_embedder
    from retrieval.service import Retriever

    wall = time.perf_counter()
    timings: dict[str, float] = {}
    scratch = None
    if args.database is None:
        scratch = tempfile.TemporaryDirectory(prefix="lessonbank-eval-")
        database = Path(scratch.name) / "eval.db"
    else:
        database = args.database.resolve()
    reused = database.exists()
    try:
        engine = make_engine(f"sqlite:///{database}")
        migrate(engine)
        inner = load_embedder(MODEL, batch_size=64)
        embedder = MemoEmbedder(inner)
        build: dict[str, Any] = {}
        if not reused:
            print(f"Importing and embedding the NASA lessons into {database} ...", file=sys.stderr)
            build = build_database(
                engine, args.datasets, inner, index_categories=args.index_categories
            )
            timings["import"], timings["embed"] = build["import_s"], build["embed_s"]
        with Session(engine) as session:
            ids, titles, categories_indexed = stored_state(session)
            if reused and categories_indexed != args.index_categories:
                print(
                    f"{database} was built {'with' if categories_indexed else 'without'} the "
                    "category tags; pass --index-categories accordingly or use another file.",
                    file=sys.stderr,
                )
                return 2
            if reused and Retriever(inner).sync(session):
                session.commit()
            labelled = read_labelled(args.datasets)
            queries, dropped = build_queries(labelled, titles)
            missing = [q.external_id for q in queries if q.external_id not in titles]
            if missing:
                print(f"{len(missing)} query lessons are not in {database}", file=sys.stderr)
                return 2
            tuning_ids, held_ids = split_queries(q.external_id for q in queries)
            by_id = {q.external_id: q for q in queries}
            halves = {
                "tuning": [by_id[i] for i in sorted(tuning_ids, key=int)],
                "held_out": [by_id[i] for i in sorted(held_ids, key=int)],
            }
            evaluation = evaluate(session, embedder, ids, halves)
            timings |= evaluation.timings
            experiment: dict[str, Any] | None = None
            if args.chunk_experiment:
                print("Chunk experiment ...", file=sys.stderr)
                experiment = chunk_experiment(
                    session, inner, halves, lambda text: Retriever(embedder).embed_query(text)
                )
                timings["chunk_experiment"] = experiment["embed_s"]
        engine.dispose()
    finally:
        if scratch is not None:
            scratch.cleanup()
    timings["total"] = time.perf_counter() - wall

    differences = held_out_differences(evaluation)
    headline = (
        f"NASA LLIS: {len(ids)} lessons searched; {len(queries)} queries ({len(dropped)} "
        f"labelled lessons dropped: no relevant lesson at Jaccard >= {JACCARD}); categories "
        f"{'indexed' if categories_indexed else 'not indexed'}"
    )
    print_summary(evaluation, differences, experiment, headline)
    print(f"Run time {timings['total']:.0f} s")
    corpus = {
        "lessons": len(ids),
        "categories_indexed": categories_indexed,
        "database": "temporary" if scratch is not None else str(database),
        "database_reused": reused,
        **build,
    }
    document = report(
        args,
        evaluation=evaluation,
        differences=differences,
        experiment=experiment,
        corpus=corpus,
        labelled=labelled,
        queries=queries,
        dropped=dropped,
        timings=timings,
    )
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(document, indent=2) + "\n")
    print(f"wrote {args.report}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
