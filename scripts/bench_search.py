"""Search at 10k, 100k and 1M lessons: start-up, latency, recall and memory of a serving process.

What it does, in order:

1. Sources. Imports the real NASA lessons (both files under ../shared/datasets) once with
   `lessonbank import nasa-llis`, so they are embedded by the real model through the real
   path, into a cache outside the repository (`--cache`, default /tmp/lessonbank-bench).
2. Banks. Builds synthetic SQLite banks of each size from them, on the real schema
   (`lessons.storage.db.migrate`, so the full-text and change-counter triggers fire for every row as
   they do in production): each lesson copies a real lesson's title, observation and tags,
   takes its insight and recommendation from it or from another real lesson, and gets the
   real lesson's vector plus Gaussian noise (`--noise`), re-normalised. Sensitivity is 70%
   internal, 20% public, 10% restricted; status is mostly validated, so the access filter
   (staff: public and internal, trusted statuses) drops about one lesson in five. Banks are
   cached and reused; the build time is reported.
3. Serving. For each size, a fresh subprocess does what `lessonbank serve` does at start-up
   (load the model, migrate, `Retriever.sync_committed`, `Retriever.refresh` from an empty
   index), then runs the queries (real NASA titles and abstract openings) through
   `Retriever.search`:
     - "incl. embedding": the whole `Retriever.search` call, query embedding included;
     - "excl. embedding": the same call with `embed_query` answered from precomputed vectors
       (everything else real: refresh check, access mask, index, BM25 SQL, fusion,
       diversity, loading the hits and explaining them), each in its own transaction;
     - "index": `VectorIndex.search(vector, 50, mask=staff mask)` alone;
     - "numpy": the bare reference, float32 `matrix @ q` and `argpartition` top-50 over the
       same vectors read from the database, unmasked.
   The last three are timed query by query in rotating order, so machine noise hits them
   alike. The peak RSS (`ru_maxrss`) is taken before the float32 reference matrix is loaded:
   it covers Python, torch, the model, SQLAlchemy, SQLite's page cache, the index, its id map
   and access masks, and every query served. Recall@10 compares the float16 index with exact
   float32 search over all rows.
4. BAR API. `lessonbank serve` on a copy of the 100k bank (127.0.0.1, a free port), a
   contributor and an API token made with `lessonbank users add` / `tokens create` on the
   copy; POST /api/bar with real briefs over HTTP and `Authorization: Bearer TOKEN`, query
   embedding and recording the BAR included.

tests/scripts/test_bench_search_script.py runs steps 2 and 3 on 300 lessons with the hashing
embedder, so the script keeps working without the NASA files.

    .venv/bin/python scripts/bench_search.py [--sizes 10000,100000,1000000]
        [--queries 80] [--briefs 40] [--cache DIR] [--report reports/bench_search.json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, NamedTuple

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATASETS = ROOT.parent / "shared" / "datasets"
SOURCES = [
    DATASETS / "nasa-llis" / "llis.jsonl",
    DATASETS / "nasa-llis-sections" / "llis_sections.jsonl",
]
MODEL = "all-MiniLM-L6-v2"
# Words the shipped model reads whole (SentenceTransformerEmbedder.max_words: 0.6 x its 256
# tokens): longer synthetic lessons get a stored passage vector per piece, as imports make.
PASSAGE_WORDS = 153
BANK_FORMAT = 4  # bump when the bank recipe changes, so cached banks are rebuilt
SENSITIVITY = {"internal": 0.7, "public": 0.2, "restricted": 0.1}
STATUS = {
    "validated": 0.80,
    "actioned": 0.05,
    "learned": 0.05,
    "identified": 0.06,
    "draft": 0.02,
    "retired": 0.02,
}
SECTION_FROM_SOURCE = 0.7  # chance the insight / recommendation come from the same lesson
LIMIT = 10  # results asked for, as a BAR does by default
LEXICAL_CHECKS = 20  # queries ranked both ways to measure the lexical approximation
POOL = 50  # candidates the retriever asks the index for at LIMIT 10 (service: max(50, 5 * 10))
CHUNK = 20_000


# ----------------------------------------------------------------------------- helpers


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(_pct(values, 50), 2),
        "p95": round(_pct(values, 95), 2),
        "mean": round(statistics.fmean(values), 2),
        "n": len(values),
    }


def _peak_rss_mb() -> float:
    """Peak resident set of this process (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _file_digest(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _run(cmd: list[str], **kwargs: Any) -> None:
    subprocess.run(cmd, check=True, cwd=ROOT, **kwargs)


# ----------------------------------------------------------------------------- 1. sources


def source_database(cache: Path) -> Path:
    """The NASA lessons imported and embedded by the real CLI, once per dataset version."""
    path = cache / f"source-{_file_digest(SOURCES)}.db"
    if path.exists():
        return path
    partial = path.with_suffix(".partial.db")
    partial.unlink(missing_ok=True)
    print(f"importing and embedding the NASA lessons into {path} (once)...", file=sys.stderr)
    started = time.perf_counter()
    _run(
        [
            sys.executable,
            "-m",
            "ui.cli.main",
            "import",
            "nasa-llis",
            *map(str, SOURCES),
            "--database-url",
            f"sqlite:///{partial}",
        ],
        stdout=subprocess.DEVNULL,
        env={**os.environ, "LESSONBANK_LOAD_DEMO": "false"},
    )
    with sqlite3.connect(partial) as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    partial.rename(path)
    print(f"  done in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return path


class Source(NamedTuple):
    """A real lesson, as the synthetic ones copy it."""

    id: int
    title: str
    observation: str
    insight: str
    recommendation: str
    polarity: str
    perspective: str
    unit: str
    lesson_date: str | None
    source_url: str | None
    project_id: int | None
    author_id: int | None


def read_sources(path: Path, model: str = MODEL) -> dict[str, Any]:
    """Text, tags and vectors of the real lessons, in lesson id order."""
    con = sqlite3.connect(path)
    rows = con.execute(
        f"SELECT {', '.join('l.' + f for f in Source._fields)}, e.vector "
        "FROM lesson l JOIN lesson_embedding e ON e.lesson_id = l.id WHERE e.model = ? "
        "ORDER BY l.id",
        (model,),
    ).fetchall()
    tags: dict[int, list[str]] = {}
    for lesson_id, tag in con.execute("SELECT lesson_id, tag FROM lesson_tag ORDER BY tag"):
        tags.setdefault(lesson_id, []).append(tag)
    con.close()
    vectors = np.frombuffer(b"".join(r[-1] for r in rows), dtype=np.float32).reshape(len(rows), -1)
    return {
        "rows": [Source(*r[:-1]) for r in rows],
        "tags": [tags.get(r[0], []) for r in rows],
        "vectors": vectors,
    }


def pick_queries(sources: dict[str, Any], n: int, seed: int) -> list[str]:
    """Real briefs: half NASA titles, half the opening words of an abstract."""
    rng = np.random.default_rng(seed)
    rows = sources["rows"]
    picked = rng.choice(len(rows), size=min(n, len(rows)), replace=False)
    queries = []
    for i, row in enumerate(picked):
        title, observation = rows[row].title, rows[row].observation
        if i % 2 == 0 or len(observation.split()) < 12:
            queries.append(title)
        else:
            queries.append(" ".join(observation.split()[:60]))
    return queries


# ----------------------------------------------------------------------------- 2. banks


def _choice(rng: np.random.Generator, weights: dict[str, float], n: int) -> np.ndarray:
    names = list(weights)
    p = np.asarray([weights[k] for k in names])
    return np.asarray(names, dtype=object)[rng.choice(len(names), size=n, p=p / p.sum())]


def build_bank(
    path: Path,
    size: int,
    sources: dict[str, Any],
    source_db: Path,
    *,
    noise: float,
    seed: int,
    model: str = MODEL,
) -> dict[str, Any]:
    """A bank of `size` synthetic lessons on the real schema, triggers firing per row. Built
    in chunks of CHUNK lessons: memory does not grow with the size."""
    from lessons.storage.db import make_engine, migrate
    from retrieval.service import int8_rows
    from retrieval.text import (
        body_sentences,
        content_hash,
        lesson_text,
        passages,
        passages_hash,
        sentences_hash,
    )

    meta_path = path.with_suffix(".json")
    recipe = {
        "format": BANK_FORMAT,
        "size": size,
        "noise": noise,
        "seed": seed,
        "source": source_db.name,
    }
    if path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("recipe") == recipe:
            return dict(meta)
    for stale in (path, meta_path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        stale.unlink(missing_ok=True)
    print(f"building {path.name} ({size:,} lessons)...", file=sys.stderr)
    started = time.perf_counter()
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)  # the real schema, with its FTS5 and change-counter triggers
    engine.dispose()

    con = sqlite3.connect(path, isolation_level=None)
    # Bulk load: no rollback journal or fsync while building (the serving engine turns WAL
    # back on when it connects). Foreign keys are off, as in any plain sqlite3 connection:
    # each chunk's tags go in just before their lessons, so the FTS insert trigger reads
    # the lesson's tags in one go instead of rewriting its FTS row once per tag.
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-262144")
    con.execute("ATTACH DATABASE ? AS src", (f"file:{source_db}?mode=ro",))
    con.execute("BEGIN")
    for table in ("person", "project"):  # by name: the source may predate a migration
        columns = ", ".join(
            name
            for (name,) in con.execute(f"SELECT name FROM pragma_table_info('{table}')")
            if name
            in {n for (n,) in con.execute(f"SELECT name FROM pragma_table_info('{table}', 'src')")}
        )
        con.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM src.{table}")
    con.execute("COMMIT")
    con.execute("DETACH DATABASE src")

    rng = np.random.default_rng(seed + size)
    rows, tags, base = sources["rows"], sources["tags"], sources["vectors"]
    n_src = len(rows)
    stamp = datetime(2026, 1, 1, tzinfo=UTC)
    lesson_time = stamp.strftime("%Y-%m-%d %H:%M:%S.%f")
    # Vectors are stored after their lessons: a later stamp, so `sync` sees nothing stale.
    vector_time = (stamp + timedelta(seconds=1)).strftime("%Y-%m-%d %H:%M:%S.%f")
    lesson_sql = (
        "INSERT INTO lesson (id, uid, external_id, title, observation, insight, recommendation, "
        "polarity, perspective, sensitivity, status, review_due, project_id, review_id, "
        "author_id, source_url, created_at, updated_at, lesson_date, unit) "
        "VALUES (?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, NULL, ?, ?, ?, ?, ?, ?)"
    )
    vector_sql = (
        "INSERT INTO lesson_embedding (lesson_id, model, dim, content_hash, vector, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?)"
    )
    passage_sql = (
        "INSERT INTO lesson_passages (lesson_id, model, content_hash, count, vectors, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?)"
    )
    sentence_sql = (
        "INSERT INTO lesson_sentences (lesson_id, model, content_hash, count, vectors, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?)"
    )
    dim = base.shape[1]
    insert_s = 0.0
    for start in range(0, size, CHUNK):
        n = min(CHUNK, size - start)
        ids = np.arange(start + 1, start + n + 1)
        src = rng.integers(0, n_src, n)
        insight_from = np.where(rng.random(n) < SECTION_FROM_SOURCE, src, rng.integers(0, n_src, n))
        advice_from = np.where(rng.random(n) < SECTION_FROM_SOURCE, src, rng.integers(0, n_src, n))
        sensitivity = _choice(rng, SENSITIVITY, n)
        status = _choice(rng, STATUS, n)
        vectors = base[src] + rng.standard_normal((n, dim), dtype=np.float32) * noise
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        uids = rng.integers(0, 2**63, (n, 2), dtype=np.uint64)
        lessons: list[tuple[Any, ...]] = []
        tag_rows: list[tuple[int, str]] = []
        vector_rows: list[tuple[Any, ...]] = []
        passage_rows: list[tuple[Any, ...]] = []
        sentence_rows: list[tuple[Any, ...]] = []
        for i in range(n):
            s: Source = rows[src[i]]
            lesson_id = int(ids[i])
            insight = rows[insight_from[i]].insight
            advice = rows[advice_from[i]].recommendation
            lesson_tags = tags[src[i]]
            lessons.append(
                (
                    lesson_id,
                    f"{uids[i, 0]:016x}{uids[i, 1]:016x}",
                    s.title,
                    s.observation,
                    insight,
                    advice,
                    s.polarity,
                    s.perspective,
                    sensitivity[i],
                    status[i],
                    s.project_id,
                    s.author_id,
                    s.source_url,
                    lesson_time,
                    lesson_time,
                    s.lesson_date,
                    s.unit,
                )
            )
            tag_rows.extend((lesson_id, tag) for tag in lesson_tags)
            fields = SimpleNamespace(  # duck-typed: the fields lesson_text reads
                title=s.title,
                observation=s.observation,
                insight=insight,
                recommendation=advice,
                tags=lesson_tags,
            )
            text = lesson_text(fields)  # type: ignore[arg-type]
            # Passage vectors: the lesson's own, each moved by noise of its own.
            pieces = len(passages(fields, PASSAGE_WORDS))  # type: ignore[arg-type]
            moved = vectors[i] + rng.standard_normal((pieces, dim), dtype=np.float32) * noise
            moved /= np.maximum(np.linalg.norm(moved, axis=1, keepdims=True), 1e-9)
            passage_rows.append(
                (
                    lesson_id,
                    model,
                    passages_hash(model, PASSAGE_WORDS, text),
                    pieces,
                    moved.astype(np.float16).tobytes(),
                    vector_time,
                )
            )
            # Sentence vectors (int8, as `Retriever` stores them): moved further than passages.
            said = len(body_sentences(fields))  # type: ignore[arg-type]
            spread = vectors[i] + rng.standard_normal((said, dim), dtype=np.float32) * noise * 4
            sentence_rows.append(
                (
                    lesson_id,
                    model,
                    sentences_hash(model, text),
                    said,
                    int8_rows(spread).tobytes(),
                    vector_time,
                )
            )
            vector_rows.append(
                (
                    lesson_id,
                    model,
                    dim,
                    content_hash(model, text),
                    vectors[i].tobytes(),
                    vector_time,
                )
            )
        t = time.perf_counter()
        con.execute("BEGIN")
        con.executemany("INSERT INTO lesson_tag (lesson_id, tag) VALUES (?, ?)", tag_rows)
        con.executemany(lesson_sql, lessons)
        con.executemany(vector_sql, vector_rows)
        con.executemany(passage_sql, passage_rows)
        con.executemany(sentence_sql, sentence_rows)
        con.execute("COMMIT")
        insert_s += time.perf_counter() - t
        if start // CHUNK % 10 == 9:
            done = start + n
            rate = done / (time.perf_counter() - started)
            print(f"  {done:,} lessons, {rate:,.0f}/s", file=sys.stderr)
    con.execute("PRAGMA journal_mode=WAL")
    con.close()
    build_s = time.perf_counter() - started
    meta = {
        "recipe": recipe,
        "lessons": size,
        "build_s": round(build_s, 1),
        "insert_s": round(insert_s, 1),
        "file_mb": round(path.stat().st_size / 2**20),
    }
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    print(f"  built in {build_s:.0f} s ({meta['file_mb']} MB)", file=sys.stderr)
    return meta


# ----------------------------------------------------------------------------- 3. serving


class _Timers:
    """Per-call times of the retriever's pieces, wrapped around the real functions."""

    def __init__(self) -> None:
        self.bucket: dict[str, list[float]] | None = None

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                if self.bucket is not None:
                    self.bucket.setdefault(name, []).append((time.perf_counter() - t) * 1000)

        return timed

    @contextmanager
    def into(self, bucket: dict[str, list[float]]) -> Iterator[None]:
        self.bucket = bucket
        try:
            yield
        finally:
            self.bucket = None


def _float32_matrix(db: Path, ids: np.ndarray, dim: int, model: str = MODEL) -> np.ndarray:
    """The stored float32 vectors in index row order (the exact reference)."""
    row_of = np.full(int(ids.max()) + 1, -1, dtype=np.int64)
    row_of[ids] = np.arange(len(ids))
    matrix = np.empty((len(ids), dim), dtype=np.float32)
    con = sqlite3.connect(db)
    cursor = con.execute("SELECT lesson_id, vector FROM lesson_embedding WHERE model = ?", (model,))
    while batch := cursor.fetchmany(CHUNK):
        rows = row_of[[r[0] for r in batch]]
        matrix[rows] = np.frombuffer(b"".join(r[1] for r in batch), np.float32).reshape(-1, dim)
    con.close()
    return matrix


@contextmanager
def _patched(*patches: tuple[Any, str, Any]) -> Iterator[None]:
    """Set (object, attribute, value) for the duration, then put back what was there: the
    timers wrap module functions too, and a test runs this in its own process."""
    saved = [(obj, name, vars(obj).get(name, _ABSENT)) for obj, name, _ in patches]
    for obj, name, value in patches:
        setattr(obj, name, value)
    try:
        yield
    finally:
        for obj, name, old in reversed(saved):
            if old is _ABSENT:
                delattr(obj, name)
            else:
                setattr(obj, name, old)


_ABSENT = object()


class _Watchdog:
    """Interrupts statements that run past `seconds` (SQLite's interrupt, PostgreSQL's cancel),
    so one pathological query plan costs a bounded time; such a query is reported as timed
    out, not waited for."""

    def __init__(self, engine: Any, seconds: float) -> None:
        from sqlalchemy import event

        self.seconds = seconds
        self.connections: list[Any] = []
        event.listen(engine, "connect", lambda dbapi, _record: self.connections.append(dbapi))

    def run(self, fn: Callable[[], None]) -> float | None:
        """Milliseconds `fn` took, or None when it was interrupted."""
        from sqlalchemy.exc import OperationalError

        timer = threading.Timer(self.seconds, self._interrupt)
        timer.start()
        t = time.perf_counter()
        try:
            fn()
        except OperationalError as exc:
            if "interrupted" not in str(exc) and "canceling statement" not in str(exc):
                raise
            return None
        finally:
            timer.cancel()
        return (time.perf_counter() - t) * 1000

    def _interrupt(self) -> None:
        for connection in self.connections:
            stop = getattr(connection, "interrupt", None) or connection.cancel
            stop()


class _Series:
    """Times of one kind of call. After `give_up` timeouts, or once the calls have taken
    `budget_ms` in all, the remaining queries are skipped (so a slow path costs bounded time)."""

    def __init__(self, timeout_ms: float, budget_ms: float, give_up: int = 2) -> None:
        self.values: list[float] = []
        self.timeouts = self.skipped = 0
        self.timeout_ms, self.budget_ms, self.give_up = timeout_ms, budget_ms, give_up

    @property
    def active(self) -> bool:
        return self.timeouts < self.give_up and sum(self.values) < self.budget_ms

    def add(self, ms: float | None) -> None:
        if ms is None:
            self.timeouts += 1
            ms = self.timeout_ms  # counted at the timeout: a lower bound
        self.values.append(ms)

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = _summary(self.values) if self.values else {"n": 0}
        if self.timeouts or self.skipped:
            out.update(timeouts=self.timeouts, skipped=self.skipped)
        if self.timeouts:
            out["lower_bound"] = True  # timed-out calls are counted at the timeout
        return out


def serve_worker(
    db: Path | str, queries: list[str], out: Path, timeout_s: float, budget_s: float
) -> None:
    """One serving process: start like `lessonbank serve`, time the queries, write `out`
    (`db`: a SQLite file, or a PostgreSQL database's URL)."""
    if str(db).startswith("postgresql"):
        result = measure_serving_postgres(str(db), queries, timeout_s=timeout_s, budget_s=budget_s)
    else:
        result = measure_serving(Path(db), queries, timeout_s=timeout_s, budget_s=budget_s)
    out.write_text(json.dumps(result, indent=2) + "\n")


def measure_serving(
    db: Path, queries: list[str], *, timeout_s: float, budget_s: float, model: str = MODEL
) -> dict[str, Any]:
    """Start like `lessonbank serve` (load the model, migrate, embed what is stale, load the
    index), then time the queries. Meant for a fresh process: the RSS figures are its peak."""
    import retrieval.service as service
    from lessons.accounts import access
    from lessons.storage.db import make_engine, migrate, transaction
    from retrieval import lexical, ranking
    from retrieval.embedder import load_embedder

    result: dict[str, Any] = {
        "queries": len(queries),
        "statement_timeout_s": timeout_s,
        "budget_per_series_s": budget_s,
    }
    t = time.perf_counter()
    embedder = load_embedder(model)
    embedder.encode(["warm-up"])
    result["model_load_s"] = round(time.perf_counter() - t, 2)
    result["rss_after_model_mb"] = round(_peak_rss_mb())

    t = time.perf_counter()
    engine = make_engine(f"sqlite:///{db}")
    watchdog = _Watchdog(engine, timeout_s)
    migrate(engine)
    result["migrate_s"] = round(time.perf_counter() - t, 2)
    retriever = service.Retriever(embedder)
    t = time.perf_counter()
    embedded = retriever.sync_committed(engine)  # as `lessonbank serve` does at start-up
    result["sync_s"] = round(time.perf_counter() - t, 2)
    assert embedded == 0, f"the bank had {embedded} lessons without a current vector"
    t = time.perf_counter()
    with transaction(engine) as session:
        retriever.refresh(session)
    result["index_load_s"] = round(time.perf_counter() - t, 2)
    result["indexed"] = len(retriever.index)
    result["rss_after_index_mb"] = round(_peak_rss_mb())

    viewer = access.STAFF
    t = time.perf_counter()
    with transaction(engine) as session:  # the first search builds the staff access mask
        retriever.search(session, queries[0], viewer=viewer, limit=LIMIT, mode="dense")
    result["first_search_s"] = round(time.perf_counter() - t, 2)

    def search(text: str, mode: service.Mode) -> Callable[[], None]:
        def call() -> None:
            with transaction(engine) as session:
                retriever.search(session, text, viewer=viewer, limit=LIMIT, mode=mode)

        return call

    # Serving, query embedding included: the whole Retriever.search call.
    vectors: dict[str, np.ndarray] = {}
    embed_ms: list[float] = []
    for text in queries:
        t = time.perf_counter()
        vectors[text] = retriever.embed_query(text)
        embed_ms.append((time.perf_counter() - t) * 1000)
    result["query_embedding_ms"] = _summary(embed_ms)
    modes: tuple[service.Mode, ...] = ("dense", "hybrid")
    for mode in modes:
        series = _Series(timeout_s * 1000, budget_s * 1000)
        for text in queries:
            if series.active:
                series.add(watchdog.run(search(text, mode)))
            else:
                series.skipped += 1
        result[f"{mode}_incl_embedding_ms"] = series.summary()
    result["peak_rss_serving_mb"] = round(_peak_rss_mb())
    with open("/proc/self/status") as status:
        fields = dict(line.split(":", 1) for line in status if ":" in line)
    result["rss_now_mb"] = round(int(fields["VmRSS"].split()[0]) / 1024)

    # Reference and breakdown: the float32 matrix read from the database, then per query, in
    # rotating order, bare numpy, the index alone, and the service with the embedding
    # answered from the vectors above.
    index = retriever.index
    matrix = _float32_matrix(db, index.ids.copy(), index.dim, model)
    with transaction(engine) as session:
        mask = retriever._mask(session, viewer, None)
    result["visible_fraction"] = round(float(mask[: len(index)].mean()), 3)
    index_search = index.search
    timers = _Timers()
    pool = min(POOL, len(index) - 1)
    top_k = min(LIMIT, len(index) - 1)

    def bare(query: np.ndarray) -> None:
        scores = matrix @ query
        top = np.argpartition(-scores, pool)[:pool]
        top[np.argsort(-scores[top])]

    def index_only(query: np.ndarray) -> None:
        index_search(query, POOL, mask=mask)

    names = ["numpy", "index", "dense", "hybrid"]
    timed = {name: _Series(timeout_s * 1000, budget_s * 1000) for name in names}
    parts: dict[str, dict[str, list[float]]] = {"dense": {}, "hybrid": {}}
    recall = []
    with _patched(
        (retriever, "embed_query", vectors.__getitem__),
        (index, "search", timers.wrap("index", index.search)),
        (retriever, "_refresh", timers.wrap("refresh", retriever._refresh)),
        (retriever, "_access", timers.wrap("mask", retriever._access)),
        (retriever, "_hits", timers.wrap("hits", retriever._hits)),
        (lexical, "search", timers.wrap("lexical", lexical.search)),
        (ranking, "diversify", timers.wrap("diversify", vars(ranking)["diversify"])),
    ):
        for i, text in enumerate(queries):
            query = vectors[text]
            runs: dict[str, Callable[[], None]] = {
                "numpy": lambda: bare(query),  # noqa: B023  # called in this iteration
                "index": lambda: index_only(query),  # noqa: B023
                "dense": search(text, "dense"),
                "hybrid": search(text, "hybrid"),
            }
            for name in names[i % 4 :] + names[: i % 4]:
                if not timed[name].active:
                    timed[name].skipped += 1
                    continue
                with timers.into(parts.get(name, {})):
                    timed[name].add(watchdog.run(runs[name]))
            exact = np.argpartition(-(matrix @ query), top_k)[:LIMIT]
            found = {lesson_id for lesson_id, _ in index_search(query, LIMIT)}
            recall.append(len(found & set(index.ids[exact].tolist())) / len(exact))
    result.update(_lexical_recall(engine, retriever, viewer, queries[:LEXICAL_CHECKS]))
    engine.dispose()
    result["numpy_topk_ms"] = timed["numpy"].summary()
    result["index_search_ms"] = timed["index"].summary()
    result["dense_excl_embedding_ms"] = timed["dense"].summary()
    result["hybrid_excl_embedding_ms"] = timed["hybrid"].summary()
    result["breakdown_ms"] = {
        mode: {name: _summary(values) for name, values in pieces.items()}
        for mode, pieces in parts.items()
    }
    result["recall_at_10"] = round(statistics.fmean(recall), 4)
    result["recall_at_10_min"] = round(min(recall), 2)
    numpy_p95 = result["numpy_topk_ms"]["p95"]
    for name, key in (
        ("index", "index_search_ms"),
        ("dense", "dense_excl_embedding_ms"),
        ("hybrid", "hybrid_excl_embedding_ms"),
    ):
        result[f"ratio_{name}_p95_to_numpy_p95"] = round(result[key]["p95"] / numpy_p95, 2)
    result["peak_rss_with_reference_mb"] = round(_peak_rss_mb())
    return result


# PostgreSQL: pgvector's hnsw.ef_search values whose recall and time are measured (the
# retriever's own, retrieval.backends.postgres.EF_SEARCH, is timed in the searches).
EF_SEARCH_TRIED = (40, 100, 200)


def measure_serving_postgres(
    url: str, queries: list[str], *, timeout_s: float, budget_s: float, model: str = MODEL
) -> dict[str, Any]:
    """`measure_serving` on PostgreSQL (the bank copied in by scripts/pg_bank.py): nothing is
    loaded into the process, the database answers. "index" is the HNSW query alone (access
    filtered in its SQL); recall@10 compares it with exact search over the same visible rows;
    the bare numpy reference is the same as on SQLite, over the same vectors."""
    import retrieval.service as service
    from lessons.accounts import access
    from lessons.storage.db import make_engine, migrate, transaction
    from retrieval.backends import postgres
    from retrieval.embedder import load_embedder

    result: dict[str, Any] = {"queries": len(queries), "statement_timeout_s": timeout_s}
    t = time.perf_counter()
    embedder = load_embedder(model)
    embedder.encode(["warm-up"])
    result["model_load_s"] = round(time.perf_counter() - t, 2)
    engine = make_engine(url)
    watchdog = _Watchdog(engine, timeout_s)
    migrate(engine)
    retriever = service.Retriever(embedder)
    t = time.perf_counter()
    embedded = retriever.sync_committed(engine)
    result["sync_s"] = round(time.perf_counter() - t, 2)
    assert embedded == 0, f"the bank had {embedded} lessons without a current vector"
    viewer = access.STAFF
    with transaction(engine) as session:
        backend = retriever.backend(session)
        assert isinstance(backend, postgres.PostgresSearch)
        rows = (
            session.connection()
            .exec_driver_sql(
                "SELECT e.lesson_id, e.vector FROM lesson_embedding e WHERE e.model = %(m)s "
                "ORDER BY e.lesson_id",
                {"m": model},
            )
            .all()
        )
        visible = np.fromiter(session.exec(access.visible_lesson_ids(viewer)), np.int64)
    ids = np.asarray([i for i, _ in rows], np.int64)
    matrix = np.frombuffer(b"".join(b for _, b in rows), np.float32).reshape(len(rows), -1)
    del rows
    seen = np.isin(ids, visible)
    result["visible_fraction"] = round(float(seen.mean()), 3)

    def search(text: str, mode: service.Mode) -> Callable[[], None]:
        def call() -> None:
            with transaction(engine) as session:
                retriever.search(session, text, viewer=viewer, limit=LIMIT, mode=mode)

        return call

    vectors: dict[str, np.ndarray] = {}
    embed_ms: list[float] = []
    for text in queries:
        t = time.perf_counter()
        vectors[text] = retriever.embed_query(text)
        embed_ms.append((time.perf_counter() - t) * 1000)
    result["query_embedding_ms"] = _summary(embed_ms)
    for mode in ("dense", "hybrid"):
        series = _Series(timeout_s * 1000, budget_s * 1000)
        for text in queries:
            if series.active:
                series.add(watchdog.run(search(text, mode)))
            else:
                series.skipped += 1
        result[f"{mode}_incl_embedding_ms"] = series.summary()

    pool = min(POOL, len(ids) - 1)

    def bare(query: np.ndarray) -> None:
        scores = matrix @ query
        top = np.argpartition(-scores, pool)[:pool]
        top[np.argsort(-scores[top])]

    def hnsw(query: np.ndarray, k: int = POOL) -> list[tuple[int, float]]:
        with transaction(engine) as session:
            scope = backend.scope(session, viewer, None)
            return backend.dense(session, query, scope, k)

    names = ["numpy", "index", "dense", "hybrid"]
    timed = {name: _Series(timeout_s * 1000, budget_s * 1000) for name in names}
    parts: dict[str, dict[str, list[float]]] = {"dense": {}, "hybrid": {}}
    timers = _Timers()
    with _patched(
        (retriever, "embed_query", vectors.__getitem__),
        (backend, "dense", timers.wrap("index", backend.dense)),
        (backend, "lexical", timers.wrap("lexical", backend.lexical)),
        (backend, "vectors", timers.wrap("vectors", backend.vectors)),
        (retriever, "_hits", timers.wrap("hits", retriever._hits)),
    ):
        for i, text in enumerate(queries):
            query = vectors[text]
            runs: dict[str, Callable[[], None]] = {
                "numpy": lambda: bare(query),  # noqa: B023  # called in this iteration
                "index": lambda: hnsw(query) and None,  # noqa: B023
                "dense": search(text, "dense"),
                "hybrid": search(text, "hybrid"),
            }
            for name in names[i % 4 :] + names[: i % 4]:
                if not timed[name].active:
                    timed[name].skipped += 1
                    continue
                with timers.into(parts.get(name, {})):
                    timed[name].add(watchdog.run(runs[name]))
    # Recall of the HNSW search (staff's filter in its SQL) against exact search over the
    # rows staff may see, at each ef_search tried.
    exact_rows = np.flatnonzero(seen)
    recall: dict[str, Any] = {}
    for ef in EF_SEARCH_TRIED:
        backend.ef_search = ef
        found_ms, shares = [], []
        for text in queries:
            query = vectors[text]
            best = exact_rows[np.argsort(-(matrix[exact_rows] @ query), kind="stable")[:LIMIT]]
            t = time.perf_counter()
            found = {i for i, _ in hnsw(query, LIMIT)}
            found_ms.append((time.perf_counter() - t) * 1000)
            shares.append(len(found & set(ids[best].tolist())) / LIMIT)
        recall[str(ef)] = {
            "recall_at_10": round(statistics.fmean(shares), 4),
            "recall_at_10_min": round(min(shares), 2),
            "hnsw_k10_ms": _summary(found_ms),
        }
    backend.ef_search = postgres.EF_SEARCH
    engine.dispose()
    result["ef_search"] = postgres.EF_SEARCH
    result["hnsw_by_ef_search"] = recall
    result["recall_at_10"] = recall[str(postgres.EF_SEARCH)]["recall_at_10"]
    result["lexical_recall_at_10"] = 1.0  # BM25 over every visible match, in SQL: exact
    result["numpy_topk_ms"] = timed["numpy"].summary()
    result["index_search_ms"] = timed["index"].summary()
    result["dense_excl_embedding_ms"] = timed["dense"].summary()
    result["hybrid_excl_embedding_ms"] = timed["hybrid"].summary()
    result["breakdown_ms"] = {
        mode: {name: _summary(values) for name, values in pieces.items()}
        for mode, pieces in parts.items()
    }
    numpy_p95 = result["numpy_topk_ms"]["p95"]
    for name, key in (
        ("index", "index_search_ms"),
        ("dense", "dense_excl_embedding_ms"),
        ("hybrid", "hybrid_excl_embedding_ms"),
    ):
        result[f"ratio_{name}_p95_to_numpy_p95"] = round(result[key]["p95"] / numpy_p95, 2)
    result["peak_rss_serving_mb"] = round(_peak_rss_mb())
    return result


def _lexical_recall(engine: Any, retriever: Any, viewer: Any, queries: list[str]) -> dict[str, Any]:
    """The lexical ranker's top ten against exact BM25 over every visible match, by the
    viewer's own statistics (which is what it ranks by when a query's terms have at most
    lexical.EXACT_LIMIT postings, and what it approximates above): the share of the exact top
    ten it finds, and the time of each."""
    from lessons.accounts import access
    from lessons.storage.db import transaction
    from retrieval import lexical

    allowed = access.visible_lesson_ids(viewer)
    recall: list[float] = []
    exact_ms: list[float] = []
    with transaction(engine) as session:
        ids = retriever._access(session, viewer, None).ids
        for text in queries:
            t = time.perf_counter()
            exact = lexical.search(
                session, text, allowed=allowed, limit=LIMIT, allowed_ids=ids, exact_limit=2**62
            )
            exact_ms.append((time.perf_counter() - t) * 1000)
            found = lexical.search(session, text, allowed=allowed, limit=LIMIT, allowed_ids=ids)
            if exact:
                recall.append(len({i for i, _ in exact} & {i for i, _ in found}) / len(exact))
    return {
        "lexical_recall_at_10": round(statistics.fmean(recall), 4) if recall else None,
        "lexical_recall_at_10_min": round(min(recall), 2) if recall else None,
        "lexical_exact_bm25_ms": _summary(exact_ms),
    }


def run_worker(
    db: Path | str, queries: list[str], tmp: Path, timeout_s: float, budget_s: float
) -> dict[str, Any]:
    query_file, out = tmp / "queries.json", tmp / "serve.json"
    query_file.write_text(json.dumps(queries))
    out.unlink(missing_ok=True)
    started = time.perf_counter()
    _run(
        [
            sys.executable,
            __file__,
            "--worker",
            str(db),
            "--query-file",
            str(query_file),
            "--out",
            str(out),
            "--timeout",
            str(timeout_s),
            "--budget",
            str(budget_s),
        ]
    )
    result: dict[str, Any] = json.loads(out.read_text())
    result["worker_wall_s"] = round(time.perf_counter() - started, 1)
    return result


def serve_postgres(
    bank: Path, size: int, queries: list[str], tmp: Path, args: argparse.Namespace
) -> dict[str, Any]:
    """The bank copied into PostgreSQL (timed: rows, full-text rows, vectors, HNSW index),
    then served from it by a fresh process."""
    from scripts import pg_bank

    print(f"copying {size:,} lessons into PostgreSQL...", file=sys.stderr)
    url, copy = pg_bank.copy_bank_timed(bank, args.database_url, f"lessonbank_bench_{size}")
    print(f"serving {size:,} lessons from PostgreSQL in a fresh process...", file=sys.stderr)
    serve = run_worker(url, queries, tmp, args.timeout, args.budget)
    return {"copy_s": copy, "serve": serve}


# ----------------------------------------------------------------------------- 4. BAR API


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server_env(folder: Path, model: str) -> dict[str, str]:
    """No demo bank, and the generated secret key kept beside the copy, not in the checkout."""
    return {
        **os.environ,
        "LESSONBANK_LOAD_DEMO": "false",
        "LESSONBANK_SECRET_KEY_FILE": str(folder / "secret_key"),
        "LESSONBANK_EMBEDDING_MODEL": model,
        # One token sends every timed BAR: no per-user rate limit.
        "LESSONBANK_RATE_LIMIT_BAR": "",
    }


def api_token(database_url: str, env: dict[str, str]) -> str:
    """A contributor and an API token for them, made with the CLI as an operator would (a BAR
    is a write: the API wants `Authorization: Bearer TOKEN`)."""
    cli = [sys.executable, "-m", "ui.cli.main"]
    _run(
        [*cli, "users", "add", "bench", "--role", "contributor", "--database-url", database_url],
        input="bench-password-not-secret\n",
        text=True,
        capture_output=True,
        env=env,
    )
    made = subprocess.run(
        [*cli, "tokens", "create", "bench", "--database-url", database_url],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    return made.stdout.strip().splitlines()[-1]


def bar_api(
    db: Path,
    briefs: list[str],
    tmp: Path,
    timeout_s: float,
    budget_s: float,
    *,
    model: str = MODEL,
) -> dict[str, Any]:
    """POST /api/bar to a real `lessonbank serve` on a copy of the bank, over HTTP."""
    import httpx

    copy = tmp / "bar-api.db"
    with sqlite3.connect(db) as con, sqlite3.connect(copy) as target:
        con.backup(target)  # BARs are recorded: keep the cached bank as it was
    url = f"sqlite:///{copy}"
    env = _server_env(tmp, model)
    token = api_token(url, env)
    port = _free_port()
    log_path = tmp / "serve.log"
    log = log_path.open("w")
    started = time.perf_counter()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ui.cli.main",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--database-url",
            url,
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    series = _Series(timeout_s * 1000, budget_s * 1000)
    try:
        deadline = started + 900
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.perf_counter() > deadline or server.poll() is not None:
                tail = log_path.read_text()[-2000:]
                raise SystemExit(f"lessonbank serve did not become healthy:\n{tail}")
            time.sleep(0.2)
        start_s = time.perf_counter() - started
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, timeout=timeout_s, headers=headers) as client:
            try:
                client.post("/api/bar", json={"brief": "warm-up brief"}).raise_for_status()
            except httpx.TimeoutException:
                series.timeouts += 1
            for brief in briefs:
                if not series.active:
                    series.skipped += 1
                    continue
                t = time.perf_counter()
                try:
                    response = client.post("/api/bar", json={"brief": brief})
                except httpx.TimeoutException:
                    series.add(None)
                    continue
                series.add((time.perf_counter() - t) * 1000)
                response.raise_for_status()
                assert response.json()["results"], f"no results for {brief!r}"
        with open(f"/proc/{server.pid}/status") as status:
            fields = dict(line.split(":", 1) for line in status if ":" in line)
        peak_mb = int(fields["VmHWM"].split()[0]) / 1024
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:  # still grinding through a timed-out request
            server.kill()
            server.wait()
        log.close()
        copy.unlink(missing_ok=True)
    return {
        "briefs": len(briefs),
        "request_timeout_s": timeout_s,
        "start_to_healthy_s": round(start_s, 1),
        "bar_http_ms": series.summary(),
        "server_peak_rss_mb": round(peak_mb),
    }


# ----------------------------------------------------------------------------- report


def _table(report: dict[str, Any]) -> str:
    sizes = report["sizes"]
    cols = [f"{int(s):>11,}" for s in sizes]

    def row(label: str, get: Callable[[dict[str, Any]], Any]) -> str:
        cells = []
        for size in sizes:
            try:
                cells.append(f"{get(report['results'][size]):>11}")
            except (KeyError, TypeError):
                cells.append(f"{'-':>11}")
        return f"{label:<46}" + "".join(cells)

    def ms(key: str, q: str = "p95") -> Callable[[dict[str, Any]], str]:
        return lambda r: f"{r['serve'][key][q]:.1f}"

    lines = [
        f"{'lessons':<46}" + "".join(cols),
        row("bank build, s (cached after the first run)", lambda r: r["bank"]["build_s"]),
        row("bank file, MB", lambda r: r["bank"]["file_mb"]),
        row("start: model load, s", lambda r: r["serve"]["model_load_s"]),
        row("start: sync check (nothing to embed), s", lambda r: r["serve"]["sync_s"]),
        row("start: index load (refresh from empty), s", lambda r: r["serve"]["index_load_s"]),
        row("first search (builds access mask), s", lambda r: r["serve"]["first_search_s"]),
        row("query embedding p50, ms", ms("query_embedding_ms", "p50")),
        row("query embedding p95, ms", ms("query_embedding_ms")),
        row("numpy f32 top-50 p50, ms", ms("numpy_topk_ms", "p50")),
        row("numpy f32 top-50 p95, ms", ms("numpy_topk_ms")),
        row("index.search (f16, masked) p50, ms", ms("index_search_ms", "p50")),
        row("index.search (f16, masked) p95, ms", ms("index_search_ms")),
        row("dense search excl. embedding p50, ms", ms("dense_excl_embedding_ms", "p50")),
        row("dense search excl. embedding p95, ms", ms("dense_excl_embedding_ms")),
        row("hybrid search excl. embedding p50, ms", ms("hybrid_excl_embedding_ms", "p50")),
        row("hybrid search excl. embedding p95, ms", ms("hybrid_excl_embedding_ms")),
        row(
            "  of which BM25 SQL p95, ms",
            lambda r: r["serve"]["breakdown_ms"]["hybrid"]["lexical"]["p95"],
        ),
        row(
            "  of which hits + explain p95, ms",
            lambda r: r["serve"]["breakdown_ms"]["hybrid"]["hits"]["p95"],
        ),
        row("dense search incl. embedding p95, ms", ms("dense_incl_embedding_ms")),
        row("hybrid search incl. embedding p95, ms", ms("hybrid_incl_embedding_ms")),
        row("p95 index.search / p95 numpy", lambda r: r["serve"]["ratio_index_p95_to_numpy_p95"]),
        row(
            "p95 dense excl. emb. / p95 numpy", lambda r: r["serve"]["ratio_dense_p95_to_numpy_p95"]
        ),
        row(
            "p95 hybrid excl. emb. / p95 numpy",
            lambda r: r["serve"]["ratio_hybrid_p95_to_numpy_p95"],
        ),
        row("recall@10, f16 index vs exact f32", lambda r: r["serve"]["recall_at_10"]),
        row(
            "recall@10, lexical vs exact BM25",
            lambda r: r["serve"]["lexical_recall_at_10"],
        ),
        row("exact BM25, every match, p95, ms (reference)", ms("lexical_exact_bm25_ms")),
        row("peak RSS of the serving process, MB", lambda r: r["serve"]["peak_rss_serving_mb"]),
    ]
    if any("postgres" in report["results"][size] for size in sizes):
        lines += ["", "PostgreSQL (pgvector HNSW + tsvector GIN), the same banks and queries:"]
        lines += [row(label, _postgres_cell(get)) for label, get in _POSTGRES_ROWS]
    api = report.get("bar_api")
    if api:
        lines += [
            "",
            f"BAR API at {api['lessons']:,} lessons, {api['briefs']} briefs over HTTP "
            f"(embedding included): p50 {api['bar_http_ms']['p50']:.0f} ms, "
            f"p95 {api['bar_http_ms']['p95']:.0f} ms; start to healthy "
            f"{api['start_to_healthy_s']} s; server peak RSS {api['server_peak_rss_mb']} MB",
        ]
    return "\n".join(lines)


_POSTGRES_ROWS: list[tuple[str, Callable[[dict[str, Any]], Any]]] = [
    ("copy: rows, s", lambda p: p["copy_s"]["rows_s"]),
    ("copy: full-text rows (tsvector + GIN), s", lambda p: p["copy_s"]["full_text_s"]),
    ("copy: pgvector column, s", lambda p: p["copy_s"]["vectors_s"]),
    ("HNSW index build, s", lambda p: p["copy_s"]["hnsw_build_s"]),
    ("numpy f32 top-50 p95, ms (same run)", lambda p: p["serve"]["numpy_topk_ms"]["p95"]),
    ("HNSW top-50 (staff filter in SQL) p50, ms", lambda p: p["serve"]["index_search_ms"]["p50"]),
    ("HNSW top-50 (staff filter in SQL) p95, ms", lambda p: p["serve"]["index_search_ms"]["p95"]),
    ("dense excl. embedding p95, ms", lambda p: p["serve"]["dense_excl_embedding_ms"]["p95"]),
    (
        "hybrid search excl. embedding p50, ms",
        lambda p: p["serve"]["hybrid_excl_embedding_ms"]["p50"],
    ),
    (
        "hybrid search excl. embedding p95, ms",
        lambda p: p["serve"]["hybrid_excl_embedding_ms"]["p95"],
    ),
    (
        "  of which BM25 SQL p95, ms",
        lambda p: p["serve"]["breakdown_ms"]["hybrid"]["lexical"]["p95"],
    ),
    (
        "  of which HNSW SQL p95, ms (both passes)",
        lambda p: p["serve"]["breakdown_ms"]["hybrid"]["index"]["p95"],
    ),
    (
        "hybrid search incl. embedding p50, ms",
        lambda p: p["serve"]["hybrid_incl_embedding_ms"]["p50"],
    ),
    (
        "hybrid search incl. embedding p95, ms",
        lambda p: p["serve"]["hybrid_incl_embedding_ms"]["p95"],
    ),
    ("recall@10, HNSW vs exact (ef_search shipped)", lambda p: p["serve"]["recall_at_10"]),
    *[
        (
            f"recall@10 / p95 ms at ef_search {ef}",
            lambda p, ef=ef: "{} / {}".format(
                p["serve"]["hnsw_by_ef_search"][str(ef)]["recall_at_10"],
                p["serve"]["hnsw_by_ef_search"][str(ef)]["hnsw_k10_ms"]["p95"],
            ),
        )
        for ef in EF_SEARCH_TRIED
    ],
    ("peak RSS of the serving process, MB", lambda p: p["serve"]["peak_rss_serving_mb"]),
]


def _postgres_cell(get: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], Any]:
    return lambda result: get(result["postgres"])


def _targets(report: dict[str, Any]) -> dict[str, Any]:
    """The figures the targets name, each with its value and whether it was met."""
    out: dict[str, Any] = {}
    results = report["results"]
    if "100000" in results:
        s = results["100000"]["serve"]
        out["100k_index_p95_within_1.5x_numpy"] = {
            "value": s["ratio_index_p95_to_numpy_p95"],
            "met": s["ratio_index_p95_to_numpy_p95"] <= 1.5,
        }
        out["100k_dense_search_p95_within_1.5x_numpy"] = {
            "value": s["ratio_dense_p95_to_numpy_p95"],
            "met": s["ratio_dense_p95_to_numpy_p95"] <= 1.5,
        }
        out["100k_hybrid_search_p95_within_1.5x_numpy"] = {
            "value": s["ratio_hybrid_p95_to_numpy_p95"],
            "met": s["ratio_hybrid_p95_to_numpy_p95"] <= 1.5,
        }
    if "1000000" in results:
        s = results["1000000"]["serve"]
        for key in ("dense_excl_embedding_ms", "hybrid_excl_embedding_ms"):
            out[f"1m_{key}_p95_under_150"] = {"value": s[key]["p95"], "met": s[key]["p95"] < 150}
        out["1m_peak_rss_under_2048_mb"] = {
            "value": s["peak_rss_serving_mb"],
            "met": s["peak_rss_serving_mb"] < 2048,
        }
        out["1m_recall_at_10_at_least_0.98"] = {
            "value": s["recall_at_10"],
            "met": s["recall_at_10"] >= 0.98,
        }
        out["1m_lexical_recall_at_10_at_least_0.98"] = {
            "value": s["lexical_recall_at_10"],
            "met": (s["lexical_recall_at_10"] or 0) >= 0.98,
        }
    if "1000000" in results and "postgres" in results["1000000"]:
        s = results["1000000"]["postgres"]["serve"]
        out["postgres_1m_hybrid_excl_embedding_p95_under_100"] = {
            "value": s["hybrid_excl_embedding_ms"]["p95"],
            "met": s["hybrid_excl_embedding_ms"]["p95"] < 100,
        }
        out["postgres_1m_hnsw_recall_at_10_at_least_0.95"] = {
            "value": s["recall_at_10"],
            "met": s["recall_at_10"] >= 0.95,
        }
    api = report.get("bar_api")
    if api:
        out["bar_api_p95_under_250_ms"] = {
            "value": api["bar_http_ms"]["p95"],
            "met": api["bar_http_ms"]["p95"] < 250,
        }
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=80, help="search queries per size")
    parser.add_argument("--briefs", type=int, default=40, help="BAR API briefs (0: skip)")
    parser.add_argument("--api-size", type=int, default=100_000, help="bank for the BAR API")
    parser.add_argument("--noise", type=float, default=0.02, help="Gaussian noise per dimension")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        help="seconds after which an SQL statement is interrupted and its query counted as "
        "timed out (two timeouts skip the rest of that kind of query at that size)",
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=90.0,
        help="seconds one kind of query may take in all at one size before the rest of its "
        "queries are skipped (reported as `skipped`)",
    )
    parser.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "lessonbank-bench"
    )
    parser.add_argument("--report", default="reports/bench_search.json")
    parser.add_argument(
        "--database-url",
        metavar="SERVER_URL",
        help="also serve each bank from PostgreSQL on this server (copied into a database "
        "lessonbank_bench_<size> made afresh there), beside SQLite in the same run",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--query-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        queries = json.loads(args.query_file.read_text())
        serve_worker(args.worker, queries, args.out, args.timeout, args.budget)
        return 0
    missing = [str(p) for p in SOURCES if not p.exists()]
    if missing:
        raise SystemExit(f"missing datasets: {', '.join(missing)}")
    sizes = [int(s) for s in args.sizes.split(",") if s]
    args.cache.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    source_db = source_database(args.cache)
    sources = read_sources(source_db)
    queries = pick_queries(sources, args.queries, args.seed)
    briefs = pick_queries(sources, args.briefs, args.seed + 1) if args.briefs else []
    report: dict[str, Any] = {
        "machine": f"{os.cpu_count()} cores, shared; times in ms unless marked s",
        "model": MODEL,
        "source_lessons": len(sources["rows"]),
        "noise_per_dim": args.noise,
        "viewer": "staff (public + internal; validated, actioned, learned)",
        "limit": LIMIT,
        "index_k": POOL,
        "sizes": [str(s) for s in sizes],
        "results": {},
    }
    with tempfile.TemporaryDirectory(dir=args.cache) as tmp:
        for size in sizes:
            bank = args.cache / f"bank-{size}.db"
            meta = build_bank(bank, size, sources, source_db, noise=args.noise, seed=args.seed)
            print(f"serving {size:,} lessons in a fresh process...", file=sys.stderr)
            serve = run_worker(bank, queries, Path(tmp), args.timeout, args.budget)
            report["results"][str(size)] = {"bank": meta, "serve": serve}
            if args.database_url:
                report["results"][str(size)]["postgres"] = serve_postgres(
                    bank, size, queries, Path(tmp), args
                )
        if briefs:
            bank = args.cache / f"bank-{args.api_size}.db"
            build_bank(bank, args.api_size, sources, source_db, noise=args.noise, seed=args.seed)
            print(f"BAR API on {args.api_size:,} lessons...", file=sys.stderr)
            api = bar_api(bank, briefs, Path(tmp), args.timeout, args.budget)
            report["bar_api"] = {"lessons": args.api_size, **api}
    report["targets"] = _targets(report)
    report["total_s"] = round(time.perf_counter() - started)
    print(_table(report))
    for name, target in report["targets"].items():
        print(f"target {name}: {target['value']} {'met' if target['met'] else 'MISSED'}")
    Path(args.report).parent.mkdir(parents=True, exist_ok=True)
    Path(args.report).write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.report} in {report['total_s']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
