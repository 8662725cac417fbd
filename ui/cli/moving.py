"""`lessonbank migrate-to TARGET_URL`: copy the bank into PostgreSQL, then check the copy.

Exit codes: 0 copied and verified, 1 copied but a table does not match (the report says
which), 2 refused (a one-line reason on standard error; the target was not written to).
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from typing import Any

from sqlalchemy.engine import make_url
from tqdm import tqdm

from lessons.errors import DomainError
from lessons.storage.moving import BATCH_ROWS, CopyPlan, CopyReport, migrate_to
from ui.cli.options import settings_from_args


def add_parsers(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """Add the `migrate-to` subcommand to the `lessonbank` parser."""
    move = sub.add_parser(
        "migrate-to",
        parents=[common],
        help="copy the bank into a PostgreSQL database",
        description="Copy every record of the bank at --database-url (or the setting) into the "
        "PostgreSQL database at TARGET_URL, migrating it first, then count and checksum every "
        "table on both sides. Safe to run again after an interruption: it finishes the copy "
        "without duplicating. Stop the app first, or what it writes meanwhile is not copied.",
    )
    move.add_argument("target", metavar="TARGET_URL", help="postgresql://USER@HOST/DBNAME")
    move.add_argument(
        "--batch-size", type=int, default=BATCH_ROWS, help=f"rows per batch ({BATCH_ROWS})"
    )
    move.add_argument(
        "--no-checksum", action="store_true", help="verify by row counts only (faster)"
    )
    move.set_defaults(func=cmd_migrate_to)


def cmd_migrate_to(args: argparse.Namespace) -> int:
    source = settings_from_args(args).database_url
    bar: Any = None

    def started(plan: CopyPlan) -> None:
        nonlocal bar
        again = " (finishing an earlier copy)" if plan.resuming else ""
        print(
            f"Copying {len(plan.tables)} tables, {plan.rows:,} rows from {_shown(source)} "
            f"into {_shown(args.target)}{again}.",
            file=sys.stderr,
        )
        bar = tqdm(total=plan.rows, desc="Copying", unit="row", file=sys.stderr)

    def advanced(table: str, rows: int) -> None:
        bar.set_postfix_str(table, refresh=False)
        bar.update(rows)

    try:
        report = migrate_to(
            source,
            args.target,
            batch_rows=max(1, args.batch_size),
            checksums=not args.no_checksum,
            progress=advanced,
            on_plan=started,
        )
    except DomainError as exc:
        print(f"lessonbank migrate-to: {' '.join(exc.message.split())}", file=sys.stderr)
        return 2
    finally:
        if bar is not None:
            bar.close()
    print(describe(report))
    return 0 if report.ok else 1


def describe(report: CopyReport) -> str:
    """The per-table verification, what was left out and why, and the copy's rate."""
    lines = [f"{'table':<20} {'source':>10} {'target':>10}  checksum"]
    for check in report.checks:
        checksum = {True: "same", False: "DIFFERS", None: "-"}[check.checksum_matches]
        flag = "" if check.ok else "   <- MISMATCH"
        lines.append(
            f"{check.name:<20} {check.source_rows:>10,} {check.target_rows:>10,}  {checksum}{flag}"
        )
    by_reason: dict[str, list[str]] = defaultdict(list)
    for table, reason in report.plan.skipped.items():
        by_reason[reason].append(table)
    for reason, tables in by_reason.items():
        lines.append(f"Not copied: {', '.join(tables)} ({reason}).")
    seconds = max(report.copy_seconds, 1e-9)
    lessons = report.rows_of("lesson")
    verdict = (
        "every table matches"
        if report.ok
        else f"{sum(not c.ok for c in report.checks)} tables do NOT match"
    )
    lines.append(
        f"Copied {report.rows_written:,} rows ({lessons:,} lessons) in "
        f"{report.copy_seconds:.1f} s: {report.rows_written / seconds:,.0f} rows/s, "
        f"{lessons / seconds:,.0f} lessons/s; verified in {report.verify_seconds:.1f} s: "
        f"{verdict}."
    )
    return "\n".join(lines)


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)
