"""Pool the judged evaluation: for each brief in evaluation/briefs.jsonl, the top 30 of several
systems, merged into one grading sheet a brief.

Systems pooled (each to depth 30; `--depth`):
- `bm25`: the project's lexical ranker alone (`Retriever.search`, mode "lexical");
- `dense`: the shipped model (all-MiniLM-L6-v2) alone, cosine to the whole-lesson vector;
- `shipped`: `Retriever.search` as POST /api/bar calls it (the hybrid that ships);
- `rrf60`: textbook reciprocal rank fusion of the two (k=60, equal weights);
- `passages`: each lesson's text cut into pieces the model reads whole, embedded, and the
  lesson scored by its best piece (max cosine).

The NASA bank is both files imported by `lessonbank import nasa-llis` itself; the demo bank is
data/demo_bank.json loaded as the app loads it. Both are built once under `--cache` (outside
the repository) and reused.

Writes evaluation/pools.json ({brief: {system: [lesson keys in rank order]}}) and one sheet a
brief, /work/eval-pools/<brief>.md: the brief, then every pooled lesson once, in an order
shuffled by a fixed seed, without the systems that found it. Then creates
/work/eval-pools/READY.

    .venv/bin/python scripts/pool_eval.py [--cache /tmp/lessonbank-eval] [--out /work/eval-pools]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
for entry in (REPO, REPO / "scripts"):  # the project's packages and eval_retrieval beside this
    if str(entry) not in sys.path:
        sys.path.insert(0, str(entry))

import eval_retrieval as ev  # noqa: E402

if TYPE_CHECKING:
    from sqlmodel import Session

    from retrieval.embedder import Embedder, Vectors

DEPTH = 30
SEED = 20261207
SHEET_CHARS = 1500
SYSTEMS = ("bm25", "dense", "shipped", "rrf60", "passages")


# --- Dense max over passages ------------------------------------------------------------------


class Passages:
    """Every searchable lesson's text in model-window pieces, embedded once and cached."""

    def __init__(self, keys: list[str], owners: Any, vectors: Vectors) -> None:
        self.keys = keys  # lesson key per owner index
        self.owners = owners  # owner index per passage
        self.vectors = vectors

    @classmethod
    def build(cls, session: Session, embedder: Embedder, cache: Path) -> Passages:
        from lessons.accounts import access
        from retrieval.text import chunks, lesson_text

        lessons = sorted(session.exec(access.visible_lessons(access.CURATOR)), key=ev.lesson_key)
        keys = [ev.lesson_key(lesson) for lesson in lessons]
        window = int(getattr(embedder, "max_words", 150))
        texts: list[str] = []
        owners: list[int] = []
        for index, lesson in enumerate(lessons):
            for piece in chunks(lesson_text(lesson), window):
                texts.append(piece)
                owners.append(index)
        digest = hashlib.sha256("\0".join([embedder.name, *keys, *texts]).encode()).hexdigest()
        path = cache.with_name(f"{cache.stem}-passages-{digest[:16]}.npy")
        if path.exists():
            vectors = np.load(path)
        else:
            print(f"embedding {len(texts)} passages of {len(keys)} lessons ...", file=sys.stderr)
            vectors = embedder.encode(texts)
            np.save(path, vectors)
        return cls(keys, np.asarray(owners), vectors)

    def rank(self, query: Vectors, limit: int) -> list[str]:
        best = np.full(len(self.keys), -np.inf, dtype=np.float32)
        np.maximum.at(best, self.owners, self.vectors @ query)
        order = np.argsort(-best, kind="stable")[:limit]
        return [self.keys[i] for i in order]


# --- Pools and sheets -------------------------------------------------------------------------


def pool_brief(
    bank: ev.Bank, session: Session, passages: Passages, brief: str, depth: int
) -> dict[str, list[str]]:
    rankings = ev.baseline_rankings(bank, session, brief, depth)
    rankings["shipped"] = ev.shipped_ranking(bank, session, brief, depth)
    rankings["passages"] = passages.rank(bank.retriever.embed_query(brief), depth)
    return {system: rankings[system] for system in SYSTEMS}


def pooled(rankings: dict[str, list[str]], brief_id: str) -> list[str]:
    """Every lesson any system found, once, in an order fixed by the seed and the brief."""
    keys = sorted({key for ranking in rankings.values() for key in ranking})
    random.Random(f"{SEED}:{brief_id}").shuffle(keys)
    return keys


def fair_trim(parts: Sequence[tuple[str, str]], budget: int) -> list[tuple[str, str]]:
    """Cut labelled texts to `budget` characters in all, sharing it fairly: short parts whole,
    what they leave split among the longer ones."""
    allowed: dict[int, int] = {}
    remaining = budget
    by_length = sorted(range(len(parts)), key=lambda i: len(parts[i][1]))
    for done, index in enumerate(by_length):
        share = remaining // (len(parts) - done)
        allowed[index] = min(len(parts[index][1]), share)
        remaining -= allowed[index]
    out: list[tuple[str, str]] = []
    for index, (label, text) in enumerate(parts):
        cut = text[: allowed[index]]
        if len(cut) < len(text):
            cut = cut.rsplit(" ", 1)[0] + " …"
        out.append((label, cut))
    return out


def lesson_section(number: int, lesson: Any) -> str:
    parts = [
        (label, " ".join(str(text or "").split()))
        for label, text in (
            ("Observation", lesson.observation),
            ("Lesson", lesson.insight),
            ("Recommendation", lesson.recommendation),
        )
    ]
    parts = [(label, text) for label, text in parts if text]
    body = "\n".join(
        f"**{label}:** {text}" for label, text in fair_trim(parts, SHEET_CHARS - len(lesson.title))
    )
    key = ev.lesson_key(lesson)
    return f"### {number}. {lesson.title}\n\nkey: `{key}`\n\n{body or '(no text)'}\n"


def sheet(brief: ev.Brief, lessons: list[Any]) -> str:
    head = (
        f"# Brief {brief.id} ({brief.bank} bank)\n\n> {brief.text}\n\n"
        f"Grade every lesson below 0, 1 or 2 against evaluation/GUIDELINE.md, reading it as the "
        f"lead who wrote this brief. Write one JSON line per lesson to "
        f"/work/eval-pools/graded/{brief.id}.jsonl:\n"
        f'`{{"brief": "{brief.id}", "lesson": "<key>", "grade": 0|1|2}}`\n\n'
        f"{len(lessons)} lessons, in no meaningful order.\n\n---\n"
    )
    return head + "\n---\n".join(lesson_section(n, lesson) for n, lesson in enumerate(lessons, 1))


def lessons_by_key(session: Session, keys: list[str]) -> list[Any]:
    from sqlmodel import select

    from lessons.storage.models import Lesson

    found = {ev.lesson_key(lesson): lesson for lesson in session.exec(select(Lesson))}
    return [found[key] for key in keys]


# --- Running ------------------------------------------------------------------------------------


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=Path, default=REPO.parent / "shared" / "datasets")
    parser.add_argument("--briefs", type=Path, default=ev.EVALUATION / "briefs.jsonl")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/lessonbank-eval"))
    parser.add_argument("--out", type=Path, default=Path("/work/eval-pools"))
    parser.add_argument("--pools", type=Path, default=ev.EVALUATION / "pools.json")
    parser.add_argument("--depth", type=int, default=DEPTH)
    parser.add_argument("--model", default=ev.MODEL, help="embedding model (tests: hashing)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    from sqlmodel import Session

    from retrieval.embedder import load_embedder

    args = arguments(argv)
    briefs = ev.read_briefs(args.briefs)
    embedder = ev.MemoEmbedder(load_embedder(args.model, batch_size=64))
    pools: dict[str, dict[str, list[str]]] = {}
    sheets: dict[str, str] = {}
    started = time.perf_counter()
    for bank_name in ("nasa", "demo"):
        mine = [b for b in briefs if b.bank == bank_name]
        if not mine:
            continue
        database = args.cache / f"{bank_name}.db"
        bank = ev.open_bank(bank_name, database, embedder, args.datasets)
        with Session(bank.engine) as session:
            passages = Passages.build(session, embedder, database)
            for brief in mine:
                pools[brief.id] = pool_brief(bank, session, passages, brief.text, args.depth)
                keys = pooled(pools[brief.id], brief.id)
                sheets[brief.id] = sheet(brief, lessons_by_key(session, keys))
                print(f"{brief.id}: {len(keys)} lessons pooled", file=sys.stderr)
        bank.engine.dispose()
    args.pools.parent.mkdir(parents=True, exist_ok=True)
    args.pools.write_text(json.dumps(pools, indent=1) + "\n", encoding="utf-8")
    args.out.mkdir(parents=True, exist_ok=True)
    for brief_id, text in sheets.items():
        (args.out / f"{brief_id}.md").write_text(text, encoding="utf-8")
    (args.out / "READY").write_text(f"{len(sheets)} sheets\n", encoding="utf-8")
    sizes = [len({k for r in p.values() for k in r}) for p in pools.values()]
    print(
        f"{len(sheets)} sheets in {args.out}; pool sizes {min(sizes)}-{max(sizes)}, "
        f"{sum(sizes)} pairs to grade; {time.perf_counter() - started:.0f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
