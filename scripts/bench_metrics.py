"""The learning-loop metrics at 100k lessons: the SQL aggregates (lessons.metrics.service) against
the Python loops they replaced (lessons/metrics/service.py as of a git ref, `main` by default), in
one run on one database.

A bench bank (scripts/bench_search.py) has lessons but no history, so a copy of it is given
some, deterministically (`--seed`): a lifecycle event for every step each lesson's status
implies, dated over four years; an action for one lesson in five (a third closed, most with a
due date); a review and a BAR for most projects; and ten surfaced lessons per BAR, most of them
decided. The source bank is never written to: the copy is made once (`--db`), migrated to
this tree's schema, and reused.

Every metric but `themes` is computed (themes is retrieval's grouping, unchanged here; it is
passed as empty to both), for a staff member and a curator, in its own read transaction, the
two implementations alternating run by run so machine noise hits them alike. Their outputs
are compared and must be identical. Prints a table and writes a JSON report.

    .venv/bin/python scripts/bench_metrics.py --source /tmp/bench2/bank-100000.db
        --db /tmp/conventions/bank-100000.db [--runs 15] [--ref main]
        [--report /tmp/conventions/bench_metrics.json]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lessons.accounts.access import CURATOR, STAFF  # noqa: E402
from lessons.metrics import service as metrics  # noqa: E402
from lessons.storage.db import make_engine, migrate, transaction  # noqa: E402

TODAY = date(2026, 1, 1)
STEPS = {  # the statuses a lesson went through to reach its own
    "identified": ["identified"],
    "validated": ["identified", "validated"],
    "actioned": ["identified", "validated", "actioned"],
    "learned": ["identified", "validated", "actioned", "learned"],
    "retired": ["identified", "validated", "retired"],
}


def copy_bank(source: Path, target: Path) -> None:
    """A consistent copy (SQLite's backup: what is still in the source's WAL comes too), the
    source opened read-only."""
    reading = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    writing = sqlite3.connect(target)
    with writing:
        reading.backup(writing)
    reading.close()
    writing.close()


def _stamp(day: date, rng: random.Random) -> str:
    moment = datetime.combine(day, datetime.min.time()) + timedelta(seconds=rng.randrange(86400))
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def add_history(db: Path, seed: int) -> dict[str, int]:
    """Give the copied bank events, actions, reviews, BARs and BAR items (once)."""
    rng = random.Random(seed)
    con = sqlite3.connect(db)
    if con.execute("SELECT count(*) FROM lesson_event").fetchone()[0]:
        con.close()
        return _counts(db)
    start = TODAY - timedelta(days=4 * 365)
    lessons = con.execute("SELECT id, status, project_id FROM lesson").fetchall()
    events, actions = [], []
    for lesson_id, status, project_id in lessons:
        day = start + timedelta(days=rng.randrange(4 * 365 - 60))
        steps = STEPS.get(status, [])
        if steps and rng.random() < 0.05:
            steps = steps[1:]  # arrived validated, as an import records it
        for to in steps:
            events.append((lesson_id, to, _stamp(day, rng)))
            day = min(TODAY - timedelta(days=1), day + timedelta(days=rng.randrange(1, 200)))
        if rng.random() < 0.2:
            created = start + timedelta(days=rng.randrange(4 * 365))
            due_day = created + timedelta(days=rng.randrange(-10, 120))
            due = due_day.isoformat() if rng.random() < 0.9 else None
            closed = None
            if rng.random() < 0.33:
                closed = _stamp(min(TODAY, created + timedelta(days=rng.randrange(1, 150))), rng)
            kind = "open" if closed is None else rng.choice(["done", "dropped"])
            actions.append((lesson_id, project_id, due, kind, _stamp(created, rng), closed))
    con.executemany(
        "INSERT INTO lesson_event (lesson_id, from_status, to_status, actor, reason, at) "
        "VALUES (?, NULL, ?, 'bench', '', ?)",
        events,
    )
    con.executemany(
        "INSERT INTO action (uid, project_id, lesson_id, what, due, status, closure_evidence, "
        "created_at, closed_at) VALUES (lower(hex(randomblob(16))), ?, ?, 'Do it', ?, ?, '', "
        "?, ?)",
        [(p, lid, due, kind, at, closed) for lid, p, due, kind, at, closed in actions],
    )
    _add_reviews_and_bars(con, rng, start)
    con.commit()
    con.close()
    return _counts(db)


def _add_reviews_and_bars(con: sqlite3.Connection, rng: random.Random, start: date) -> None:
    projects = [p for (p,) in con.execute("SELECT id FROM project")]
    lesson_ids = [i for (i,) in con.execute("SELECT id FROM lesson")]
    for project_id in projects:
        if rng.random() < 0.8:
            held = start + timedelta(days=rng.randrange(4 * 365))
            con.execute(
                "INSERT INTO review (uid, project_id, kind, question_set_version, held_on, "
                "answers, created_at, sensitivity) VALUES (lower(hex(randomblob(16))), ?, "
                "'aar', 1, ?, '{}', ?, 'public')",
                (project_id, held.isoformat(), _stamp(held, rng)),
            )
        for _ in range(rng.randrange(0, 4)):
            day = start + timedelta(days=rng.randrange(4 * 365))
            bar_id = con.execute(
                "INSERT INTO bar (uid, brief, project_id, run_by, model, filters, created_at) "
                "VALUES (lower(hex(randomblob(16))), 'brief', ?, 'bench', 'bench', '{}', ?)",
                (project_id, _stamp(day, rng)),
            ).lastrowid
            surfaced = rng.sample(lesson_ids, min(10, len(lesson_ids)))
            for rank, lesson_id in enumerate(surfaced, start=1):
                decision = rng.choice(["apply", "apply", "not_relevant", "note", None])
                outcome = "It helped." if decision == "apply" and rng.random() < 0.5 else ""
                con.execute(
                    "INSERT INTO bar_item (bar_id, lesson_id, rank, score, decision, note, "
                    "near_copies, outcome) VALUES (?, ?, ?, 0.5, ?, '', '[]', ?)",
                    (bar_id, lesson_id, rank, decision, outcome),
                )


def _counts(db: Path) -> dict[str, int]:
    con = sqlite3.connect(db)
    tables = ("lesson", "lesson_event", "action", "review", "bar", "bar_item", "project")
    counts = {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    con.close()
    return counts


def module_at(ref: str) -> ModuleType:
    """lessons/metrics/service.py as it is at git `ref`, loaded as a module of its own."""
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{ref}:lessons/metrics/service.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = Path(tempfile.mkdtemp()) / "metrics_at_ref.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("metrics_at_ref", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(engine: Any, implementations: dict[str, ModuleType], runs: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for label, viewer in (("staff", STAFF), ("curator", CURATOR)):
        times: dict[str, list[float]] = {name: [] for name in implementations}
        outputs: dict[str, Any] = {}
        for _ in range(runs):
            for name, module in implementations.items():
                started = time.perf_counter()
                with transaction(engine) as session:
                    computed = module.compute_all(
                        session, viewer=viewer, themes=lambda: [], today=TODAY
                    )
                times[name].append(time.perf_counter() - started)
                outputs[name] = [m.as_json() for m in computed]
        first, *others = outputs.values()
        results[label] = {
            "identical": all(other == first for other in others),
            **{
                name: {
                    "p50_ms": round(1000 * statistics.median(t), 1),
                    "p95_ms": round(1000 * _pct(t, 0.95), 1),
                    "runs": len(t),
                }
                for name, t in times.items()
            },
        }
    return results


def table(results: dict[str, Any], names: list[str]) -> str:
    lines = [f"{'viewer':<8} {'implementation':<16} {'p50 ms':>10} {'p95 ms':>10}  identical"]
    for viewer, row in results.items():
        for name in names:
            figures = row[name]
            lines.append(
                f"{viewer:<8} {name:<16} {figures['p50_ms']:>10} {figures['p95_ms']:>10}  "
                f"{row['identical']}"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=Path("/tmp/bench2/bank-100000.db"))
    parser.add_argument("--db", type=Path, required=True, help="the copy to add history to")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--ref", default="main", help="git ref of the Python-loop version")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--report", type=Path, default=Path("bench_metrics.json"))
    args = parser.parse_args(argv)
    if args.db.resolve() == args.source.resolve():
        parser.error("--db must be a copy, not the source bank")
    if not args.db.exists():
        copy_bank(args.source, args.db)
    engine = make_engine(f"sqlite:///{args.db}")
    migrate(engine)  # the copy may predate this tree's schema
    counts = add_history(args.db, args.seed)
    implementations: dict[str, ModuleType] = {f"loops ({args.ref})": module_at(args.ref)}
    implementations["sql (this tree)"] = metrics
    results = measure(engine, implementations, args.runs)
    print(json.dumps(counts))
    print(table(results, list(implementations)))
    report = {"rows": counts, "today": TODAY.isoformat(), "runs": args.runs, "results": results}
    args.report.write_text(json.dumps(report, indent=2), encoding="utf-8")
    ok = all(row["identical"] for row in results.values())
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
