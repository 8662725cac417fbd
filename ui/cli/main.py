"""The `lessonbank` command: serve, search, reindex, export and import."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from lessons.accounts import access
from lessons.accounts import users as accounts
from lessons.imports import nasa, tabular
from lessons.imports.exchange import export_bank, import_bank
from lessons.imports.upsert import LessonRecord, upsert_all
from lessons.storage.db import make_engine, migrate, transaction
from lessons.storage.models import LessonStatus
from lessons.storage.settings import Settings
from retrieval.embedder import load_embedder
from retrieval.service import Retriever
from ui.cli import accounts as cli_accounts
from ui.cli import backup as cli_backup
from ui.cli import digest as cli_digest
from ui.cli import moving as cli_moving
from ui.cli.options import settings_from_args
from ui.shared.presenters import why_json

IMPORT_FORMATS = ("lessonbank-json", "nasa-llis", "csv", "json")


def _retriever(settings: Settings) -> Retriever:
    return Retriever(load_embedder(settings.embedding_model, batch_size=settings.embed_batch_size))


# A fresh install has no accounts; the first admin is made on the command line only, so
# nobody who reaches the site before its owner can make themselves admin.
FIRST_RUN = """No accounts yet. Make the first admin (in another terminal, from this folder):
    .venv/bin/lessonbank users add ada --role admin
then sign in at /login. Until then the site shows only the public lessons."""


def _has_users(settings: Settings) -> bool:
    engine = make_engine(settings.database_url)
    try:
        migrate(engine)
        with transaction(engine) as session:
            return accounts.has_users(session)
    finally:
        engine.dispose()


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from ui.app import create_app

    settings = settings_from_args(args)
    print(
        f"Lessonbank on http://{settings.host}:{settings.port} ({settings.database_url})",
        file=sys.stderr,
    )
    if not _has_users(settings):
        print(FIRST_RUN, file=sys.stderr)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    engine = make_engine(settings.database_url)
    migrate(engine)
    retriever = _retriever(settings)
    retriever.sync_committed(engine, progress=sys.stderr.isatty())
    with transaction(engine) as session:
        hits = retriever.search(session, args.text, viewer=access.CURATOR, limit=args.limit)
        rows = [
            {
                "lesson_id": h.lesson.id,
                "external_id": h.lesson.external_id,
                "title": h.lesson.title,
                "score": h.score,
                "status": h.lesson.status,
                "sensitivity": h.lesson.sensitivity,
                "project": h.lesson.project.name if h.lesson.project else None,
                "why": why_json(h.why, h.score, h.components),
            }
            for h in hits
        ]
    if args.json:
        print(json.dumps({"query": args.text, "results": rows}, indent=2))
    else:
        for rank, hit in enumerate(hits, start=1):
            print(f"{rank:>2}. [{hit.score:.3f}] #{hit.lesson.id} {hit.lesson.title}")
            print(f"      {hit.why.best_sentence[:160]}")
        if not rows:
            print("No lessons matched.")
    return 0


def cmd_reindex(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    engine = make_engine(settings.database_url)
    migrate(engine)
    retriever = _retriever(settings)
    done = retriever.sync_committed(engine, progress=True, batch_size=settings.embed_batch_size)
    print(f"Embedded {done} lessons with {retriever.model}.")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    engine = make_engine(settings.database_url)
    migrate(engine)
    with transaction(engine) as session:
        document: dict[str, Any] = export_bank(session)
    text = json.dumps(document, indent=2, ensure_ascii=False)
    if args.path in (None, "-"):
        sys.stdout.write(text + "\n")
    else:
        Path(args.path).write_text(text + "\n", encoding="utf-8")
        print(f"Exported {len(document['lessons'])} lessons to {args.path}.", file=sys.stderr)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    paths = [Path(p) for p in args.paths]
    if args.format == "lessonbank-json":
        return _import_export_file(settings, paths)
    problems: list[str] = []
    records: list[tuple[str, LessonRecord]] = []
    if args.format == "nasa-llis":
        merged, problems = nasa.read(paths)
        records = [(f"lesson {key}", record) for key, record in merged.items()]
    else:
        try:
            mapping = tabular.parse_mapping(args.map or [])
        except ValueError as exc:
            print(exc, file=sys.stderr)
            return 2
        for path in paths:
            source = args.source or path.stem
            try:
                for number, row, problem in tabular.rows(path, args.format):
                    where = f"{path}:{number}"
                    if row is None:
                        problems.append(f"{where}: {problem}")
                        continue
                    try:
                        status = LessonStatus(args.status)
                        records.append(
                            (where, tabular.to_record(row, mapping, source=source, status=status))
                        )
                    except ValueError as exc:
                        problems.append(f"{where}: {exc}")
            except (OSError, UnicodeDecodeError) as exc:
                problems.append(f"{path}: cannot read ({exc})")
    engine = make_engine(settings.database_url)
    migrate(engine)
    retriever = _retriever(settings)
    # The records go in as one transaction (all or none), then the vectors in batches that
    # each commit, the model running outside any transaction (a killed run re-runs cleanly).
    with (
        transaction(engine, write=True) as session,
        tqdm(total=len(records), desc="Importing", unit="lesson", file=sys.stderr) as bar,
    ):
        result = upsert_all(session, records, actor=f"import {args.format}", progress=bar.update)
    # Hand the model many texts per call: it sorts them by length, so batches pad less.
    embedded = retriever.sync_committed(engine, progress=True, batch_size=512)
    problems += result.problems
    print(
        f"Added {result.added}, updated {result.updated}, unchanged {result.unchanged} "
        f"lessons; embedded {embedded}."
    )
    for problem in problems:
        print(f"skipped {problem}", file=sys.stderr)
    return 1 if problems else 0


def _import_export_file(settings: Settings, paths: list[Path]) -> int:
    status = 0
    for path in paths:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            print(f"Cannot read {path}: {exc}", file=sys.stderr)
            return 2
        if not isinstance(document, dict):
            print(f"{path} is not a Lessonbank export (expected a JSON object).", file=sys.stderr)
            return 2
        engine = make_engine(settings.database_url)
        migrate(engine)
        retriever = _retriever(settings)
        total = sum(len(v) for v in document.values() if isinstance(v, list))
        with (
            transaction(engine, write=True) as session,
            tqdm(total=total, desc="Importing", unit="record", file=sys.stderr) as bar,
        ):
            report = import_bank(session, document, progress=bar.update)
        retriever.sync_committed(engine, progress=True, batch_size=settings.embed_batch_size)
        added = ", ".join(f"{n} {k}" for k, n in report.added.items()) or "nothing"
        updated = ", ".join(f"{n} {k}" for k, n in report.updated.items()) or "nothing"
        print(f"Added {added}; updated {updated}.")
        for error in report.errors:
            print(f"skipped {error}", file=sys.stderr)
        status = max(status, 1 if report.errors else 0)
    return status


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--database-url", help="database to use (default: the setting)")
    top = argparse.ArgumentParser(prog="lessonbank", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", parents=[common], help="run the web app and API")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(func=cmd_serve)

    search = sub.add_parser("search", parents=[common], help="search lessons by meaning")
    search.add_argument("text")
    search.add_argument("--json", action="store_true", help="print JSON")
    search.add_argument("--limit", type=int, default=10)
    search.set_defaults(func=cmd_search)

    reindex = sub.add_parser("reindex", parents=[common], help="embed lessons missing a vector")
    reindex.set_defaults(func=cmd_reindex)

    export = sub.add_parser("export", parents=[common], help="write every record as JSON")
    export.add_argument("path", nargs="?", help="file to write (default: standard output)")
    export.set_defaults(func=cmd_export)

    imp = sub.add_parser("import", parents=[common], help="import lessons from files")
    imp.add_argument("format", choices=IMPORT_FORMATS)
    imp.add_argument("paths", nargs="+", metavar="PATH")
    imp.add_argument(
        "--map",
        action="append",
        metavar="FIELD=COLUMN",
        help="csv/json: which column holds a field (repeat; title is required)",
    )
    imp.add_argument("--source", help="csv/json: name prefixed to row ids (default: file name)")
    imp.add_argument(
        "--status",
        default="validated",
        choices=[s.value for s in LessonStatus],
        help="csv/json: status of imported lessons (default: validated)",
    )
    imp.set_defaults(func=cmd_import)
    cli_accounts.add_parsers(sub, common)
    cli_backup.add_parsers(sub, common)
    cli_digest.add_parsers(sub, common)
    cli_moving.add_parsers(sub, common)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
