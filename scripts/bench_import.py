"""Import throughput: `lessonbank import nasa-llis` against the model's own encode rate.

Imports both NASA files (../shared/datasets) into a fresh SQLite file with the real command,
run as its own process (`python -m ui.cli.main import nasa-llis ...`, what the `lessonbank` console
script runs), and times it whole: process start, reading the files, loading the model,
migrating, writing the lessons (with their tags, events and full-text rows) and embedding
them. Inside that process each phase is timed too, by wrapping the real functions.

Then, in this process and in the same run, the baseline: the shipped model encodes exactly
the texts the import embedded (`retrieval.text.lesson_text` of every imported lesson) in one
`encode` call with the same batch size, after a warm-up. Import throughput is reported as a
ratio to that encode rate, since absolute times on shared machines are noisy; `--rounds 2`
alternates import and encode twice and keeps each one's best round.

    .venv/bin/python scripts/bench_import.py [--rounds 1] [--report reports/bench_import.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATASETS = ROOT.parent / "shared" / "datasets"
SOURCES = [
    DATASETS / "nasa-llis" / "llis.jsonl",
    DATASETS / "nasa-llis-sections" / "llis_sections.jsonl",
]


def probe(argv: list[str], out: Path) -> int:
    """Run the real `lessonbank` command in this process with its phases timed."""
    started = time.perf_counter()
    import lessons.imports.nasa as nasa
    import retrieval.service as service
    import ui.cli.main as cli

    phases: dict[str, float] = {"python_imports": time.perf_counter() - started}

    def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                phases[name] = phases.get(name, 0.0) + time.perf_counter() - t

        return wrapper

    nasa.read = timed("read_files", nasa.read)
    cli.migrate = timed("migrate", cli.migrate)
    cli._retriever = timed("load_model", cli._retriever)
    cli.upsert_all = timed("write_lessons", cli.upsert_all)
    service.Retriever.sync_committed = timed("embed", service.Retriever.sync_committed)  # type: ignore[method-assign]
    t = time.perf_counter()
    status = cli.main(argv)
    phases["command"] = time.perf_counter() - t
    # What the wrappers do not cover: engine set-up and the closing commit.
    phases["commit_and_rest"] = phases["command"] - sum(
        phases[k] for k in ("read_files", "migrate", "load_model", "write_lessons", "embed")
    )
    out.write_text(json.dumps({k: round(v, 2) for k, v in phases.items()}, indent=2))
    return status


def run_import(database: Path) -> dict[str, Any]:
    """The import as its own process; wall time from launch to exit."""
    phases = database.with_suffix(".phases.json")
    argv = ["import", "nasa-llis", *map(str, SOURCES), "--database-url", f"sqlite:///{database}"]
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, __file__, "--probe", str(phases), "--", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "LESSONBANK_LOAD_DEMO": "false"},
    )
    wall = time.perf_counter() - started
    if done.returncode not in (0, 1) or not phases.exists():  # 1: rows reported and skipped
        sys.stderr.write(done.stderr[-4000:])
        raise SystemExit(f"the import failed ({done.returncode})")
    summary = done.stdout.strip().splitlines()[-1]
    return {"wall_s": wall, "phases_s": json.loads(phases.read_text()), "summary": summary}


def lesson_texts(database: Path) -> list[str]:
    """What the import embedded: `lesson_text` of every imported lesson, in id order."""
    from sqlalchemy.orm import selectinload
    from sqlmodel import Session, col, select

    from lessons.storage.db import make_engine
    from lessons.storage.models import Lesson
    from retrieval.text import lesson_text

    engine = make_engine(f"sqlite:///{database}")
    with Session(engine) as session:
        lessons = session.exec(
            select(Lesson).order_by(col(Lesson.id)).options(selectinload(Lesson.tag_links))  # type: ignore[arg-type]
        )
        texts = [lesson_text(lesson) for lesson in lessons]
    engine.dispose()
    return texts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1, help="import + encode rounds")
    parser.add_argument("--report", default="reports/bench_import.json")
    parser.add_argument("--probe", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("argv", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        return probe(args.argv, args.probe)
    missing = [str(p) for p in SOURCES if not p.exists()]
    if missing:
        raise SystemExit(f"missing datasets: {', '.join(missing)}")

    from lessons.storage.settings import Settings
    from retrieval.embedder import SHIPPED_MODEL, load_embedder

    settings = Settings()
    embedder = None
    imports: list[dict[str, Any]] = []
    encodes: list[float] = []
    texts: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for round_no in range(args.rounds):
            database = Path(tmp) / f"import-{round_no}.db"
            print(f"round {round_no + 1}: importing...", file=sys.stderr)
            imports.append(run_import(database))
            texts = lesson_texts(database)
            if embedder is None:
                embedder = load_embedder(SHIPPED_MODEL, batch_size=settings.embed_batch_size)
                embedder.encode(texts[:8])  # warm-up
            print(f"round {round_no + 1}: encoding {len(texts)} texts...", file=sys.stderr)
            t = time.perf_counter()
            embedder.encode(texts)
            encodes.append(time.perf_counter() - t)

    best = min(imports, key=lambda r: r["wall_s"])
    encode_s = min(encodes)
    lessons = len(texts)
    phases = best["phases_s"]
    import_rate = lessons / best["wall_s"]
    embed_rate = lessons / phases["embed"]
    encode_rate = lessons / encode_s
    report = {
        "lessons": lessons,
        "rounds": args.rounds,
        "batch_size": settings.embed_batch_size,
        "import_summary": best["summary"],
        "import_wall_s": round(best["wall_s"], 2),
        "import_phases_s": phases,
        "process_start_s": round(best["wall_s"] - phases["command"], 2),
        "import_lessons_per_s": round(import_rate, 1),
        "import_embed_phase_lessons_per_s": round(embed_rate, 1),
        "model_encode_s": round(encode_s, 2),
        "model_encode_lessons_per_s": round(encode_rate, 1),
        "ratio_import_to_encode": round(import_rate / encode_rate, 3),
        "ratio_embed_phase_to_encode": round(embed_rate / encode_rate, 3),
        "all_rounds": {
            "import_wall_s": [round(r["wall_s"], 2) for r in imports],
            "encode_s": [round(e, 2) for e in encodes],
        },
        "target": "import throughput >= 0.8 x the model's encode rate",
        "target_met": import_rate / encode_rate >= 0.8,
    }
    rows = [
        ("lessons imported (both NASA files, merged by id)", f"{lessons}"),
        ("import, whole command (process start to exit)", f"{best['wall_s']:.1f} s"),
        ("  process start and Python imports", f"{report['process_start_s']:.1f} s"),
        *[
            (f"  {name.replace('_', ' ')}", f"{phases[name]:.1f} s")
            for name in phases
            if name not in ("command", "python_imports")
        ],
        ("import throughput", f"{import_rate:.1f} lessons/s"),
        ("  embedding phase alone", f"{embed_rate:.1f} lessons/s"),
        (
            f"model encode of the same texts (batch {settings.embed_batch_size})",
            f"{encode_s:.1f} s",
        ),
        ("model encode rate", f"{encode_rate:.1f} lessons/s"),
        ("import / encode throughput", f"{report['ratio_import_to_encode']:.2f}x"),
        ("embedding phase / encode throughput", f"{report['ratio_embed_phase_to_encode']:.2f}x"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value:>16}")
    met = "met" if report["target_met"] else "MISSED"
    print(f"target: import >= 0.8 x encode rate: {report['ratio_import_to_encode']} {met}")
    Path(args.report).parent.mkdir(parents=True, exist_ok=True)
    Path(args.report).write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.report}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
