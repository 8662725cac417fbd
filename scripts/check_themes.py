"""Check the recurring-theme clustering on real text: the demo bank and the NASA lessons.

Both banks are loaded into a temporary SQLite database and embedded with the shipped model,
then clustered exactly as the themes page does (`retrieval.themes.cluster`). For each
threshold the script prints how many groups form, their sizes, how many are themes (lessons
not yet learned from three or more projects) and, on NASA, how coherent the groups are against
the official categories:

- coherence of a group: of its lessons that carry categories, the share that carry the group's
  most common category (groups with at least 3 labelled lessons);
- chance: the same for random groups of the same sizes drawn from the labelled lessons, so a
  figure can be read against what any grouping would score.

The categories are kept out of the lesson text that is embedded (the importer would make them
tags, and tags are embedded), so they judge the grouping without having shaped it.

    .venv/bin/python scripts/check_themes.py [--bank demo|nasa|both] [--datasets DIR]
        [--thresholds 0.34 0.38 0.42] [--method average|community] [--show N] [--sample N]
        [--report reports/check_themes.json] [--keep DIR]

`--keep DIR` keeps the embedded databases in DIR and reuses them on the next run (embedding
the NASA lessons takes minutes on two cores).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a file: make the project's packages importable
    sys.path.insert(0, str(REPO))

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from retrieval.embedder import Embedder, Vectors

MODEL = "all-MiniLM-L6-v2"
NASA_FILES = ("nasa-llis/llis.jsonl", "nasa-llis-sections/llis_sections.jsonl")
RANDOM_DRAWS = 200


# --- Scores (pure: tested without the model or the data) --------------------------------------


def coherence(groups: Sequence[Sequence[int]], labels: dict[int, set[str]]) -> list[float]:
    """Per group with >= 3 labelled members: the share carrying its most common label."""
    shares = []
    for group in groups:
        labelled = [labels[i] for i in group if labels.get(i)]
        if len(labelled) < 3:
            continue
        top = Counter(label for members in labelled for label in members).most_common(1)[0][0]
        shares.append(sum(1 for members in labelled if top in members) / len(labelled))
    return shares


def chance_coherence(
    sizes: Sequence[int], labels: dict[int, set[str]], *, draws: int = RANDOM_DRAWS, seed: int = 0
) -> float:
    """Mean coherence of random groups of the given labelled sizes."""
    pool = [i for i, members in labels.items() if members]
    rng = np.random.default_rng(seed)
    shares: list[float] = []
    for _ in range(draws):
        groups = [list(rng.choice(pool, size=size, replace=False)) for size in sizes]
        shares += coherence(groups, labels)
    return float(np.mean(shares)) if shares else 0.0


# --- Banks ---------------------------------------------------------------------------------------


def load_demo(engine: Engine) -> dict[int, set[str]]:
    from data import DEMO_BANK
    from lessons.imports.seed import load_bank, read_bank
    from lessons.storage.db import transaction

    with transaction(engine, write=True) as session:
        load_bank(session, read_bank(DEMO_BANK))
    return {}


def load_nasa(engine: Engine, datasets: Path) -> dict[int, set[str]]:
    """Import both NASA files without their category tags; returns lesson id -> categories."""
    from sqlmodel import select

    from lessons.imports import nasa
    from lessons.imports.upsert import upsert_all
    from lessons.storage.db import transaction
    from lessons.storage.models import Lesson

    merged, _ = nasa.read([datasets / relative for relative in NASA_FILES])
    prefix = f"{nasa.TAG_SCHEME}:"
    categories: dict[str, set[str]] = {}
    for key, record in merged.items():
        categories[key] = {t.removeprefix(prefix) for t in record.tags if t.startswith(prefix)}
        record.tags = [t for t in record.tags if not t.startswith(prefix)]
    with transaction(engine, write=True) as session:
        upsert_all(session, [(f"lesson {k}", r) for k, r in merged.items()], actor="check_themes")
        rows = session.exec(select(Lesson.id, Lesson.external_id)).all()
    return {lesson_id: categories.get(ext or "", set()) for lesson_id, ext in rows if lesson_id}


def cluster_with(method: str, vectors: Vectors, threshold: float) -> list[list[int]]:
    from retrieval.themes import MIN_SIZE, cluster

    if method == "community":
        from sentence_transformers.util import community_detection

        found = community_detection(vectors, threshold=threshold, min_community_size=MIN_SIZE)
        return [list(map(int, group)) for group in found]
    return cluster(vectors, threshold=threshold)


def check_bank(
    name: str,
    engine: Engine,
    embedder: Embedder,
    labels: dict[int, set[str]],
    thresholds: Sequence[float],
    method: str,
    show: int,
    sample: int = 0,
) -> dict[str, Any]:
    from sqlmodel import select

    from lessons.accounts.access import CURATOR
    from lessons.curation.themes import MIN_PROJECTS
    from lessons.storage.db import transaction
    from lessons.storage.models import Lesson
    from retrieval.service import Retriever
    from retrieval.themes import stored_vectors

    started = time.perf_counter()
    Retriever(embedder).sync_committed(engine, progress=True, batch_size=256)
    embed_s = time.perf_counter() - started
    with transaction(engine) as session:
        ids, vectors = stored_vectors(session, viewer=CURATOR, model=embedder.name)
        info = {
            i: (t, p, s)
            for i, t, p, s in session.exec(
                select(Lesson.id, Lesson.title, Lesson.project_id, Lesson.status)
            )
        }
    row_labels = {row: labels.get(lesson_id, set()) for row, lesson_id in enumerate(ids)}
    print(f"\n## {name}: {len(ids)} lessons clustered ({method} linkage, model {embedder.name})")
    results = []
    for threshold in thresholds:
        started = time.perf_counter()
        groups = cluster_with(method, vectors, threshold)
        seconds = time.perf_counter() - started
        themes = [
            g
            for g in groups
            if len({info[ids[r]][1] for r in g if info[ids[r]][2] != "learned"} - {None})
            >= MIN_PROJECTS
        ]
        shares = coherence(groups, row_labels)
        sizes = [sum(1 for r in g if row_labels.get(r)) for g in groups]
        chance = chance_coherence([s for s in sizes if s >= 3], row_labels) if labels else None
        entry = {
            "threshold": threshold,
            "groups": len(groups),
            "sizes": [len(g) for g in groups],
            "lessons_in_groups": sum(len(g) for g in groups),
            "themes": len(themes),
            "theme_sizes": [len(g) for g in themes],
            "cluster_s": round(seconds, 2),
        }
        if labels:
            entry |= {
                "groups_scored": len(shares),
                "coherence_mean": round(float(np.mean(shares)), 3) if shares else None,
                "coherence_median": round(float(np.median(shares)), 3) if shares else None,
                "chance_mean": round(chance, 3) if chance is not None else None,
            }
        results.append(entry)
        print(
            f"threshold {threshold:.2f}: {entry['groups']} groups holding "
            f"{entry['lessons_in_groups']} lessons, sizes {entry['sizes'][:15]}"
            f"{' ...' if len(groups) > 15 else ''}; {entry['themes']} themes "
            f"(>= {MIN_PROJECTS} projects not learned); {seconds:.2f} s"
        )
        if labels:
            print(
                f"  coherence over {entry['groups_scored']} groups with >= 3 labelled lessons: "
                f"mean {entry['coherence_mean']}, median {entry['coherence_median']} "
                f"(random groups of the same sizes: {entry['chance_mean']})"
            )
        picked = np.random.default_rng(0).permutation(len(groups))[:sample].tolist()
        for group in groups[:show] + [groups[i] for i in sorted(picked)]:
            top = Counter(c for r in group for c in row_labels.get(r, ())).most_common(2)
            projects = len({info[ids[r]][1] for r in group} - {None})
            print(f"  - {len(group)} lessons, {projects} projects; categories {top}")
            for r in group[:6]:
                print(f"      {info[ids[r]][0][:100]}")
    return {"bank": name, "lessons": len(ids), "embed_s": round(embed_s, 1), "runs": results}


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bank", choices=("demo", "nasa", "both"), default="both")
    parser.add_argument("--datasets", type=Path, default=REPO.parent / "shared" / "datasets")
    parser.add_argument("--thresholds", type=float, nargs="+", default=[0.34, 0.38, 0.42])
    parser.add_argument("--method", choices=("average", "community"), default="average")
    parser.add_argument("--show", type=int, default=8, help="largest groups to print")
    parser.add_argument(
        "--sample", type=int, default=0, help="random groups to print (seeded), to read by hand"
    )
    parser.add_argument("--report", type=Path, default=REPO / "reports" / "check_themes.json")
    parser.add_argument("--keep", type=Path, help="keep (and reuse) the databases here")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = arguments(argv)
    from lessons.storage.db import make_engine, migrate
    from retrieval.embedder import load_embedder

    if args.bank in ("nasa", "both"):
        missing = [f for f in NASA_FILES if not (args.datasets / f).is_file()]
        if missing:
            print(f"{args.datasets / missing[0]} not found (see --datasets)", file=sys.stderr)
            return 2
    embedder = load_embedder(MODEL, batch_size=64)
    reports = []
    with tempfile.TemporaryDirectory(prefix="lessonbank-themes-") as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        for bank in ("demo", "nasa") if args.bank == "both" else (args.bank,):
            path = folder / f"{bank}.db"
            engine = make_engine(f"sqlite:///{path}")
            migrate(engine)
            # Both loaders skip what a kept database already holds.
            labels = load_demo(engine) if bank == "demo" else load_nasa(engine, args.datasets)
            reports.append(
                check_bank(
                    bank,
                    engine,
                    embedder,
                    labels,
                    args.thresholds,
                    args.method,
                    args.show,
                    args.sample,
                )
            )
            engine.dispose()
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(
        json.dumps({"method": args.method, "model": MODEL, "banks": reports}, indent=2) + "\n",
        encoding="utf-8",
    )
    print(f"\nReport: {args.report}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
