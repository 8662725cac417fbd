"""`lessonbank backup PATH` and `lessonbank restore PATH`: online copies of the database
(SQLite through its backup API, PostgreSQL through pg_dump and pg_restore).

Exit codes: 0 done, 1 restore declined at the prompt (nothing changed), 2 refused (a
one-line reason on standard error; nothing changed).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from types import TracebackType
from typing import Any

from tqdm import tqdm

from lessons.errors import DomainError
from lessons.storage.backup import (
    RestoreCancelled,
    RestorePlan,
    TargetExists,
    backup,
    restore,
)
from ui.cli.options import settings_from_args


def add_parsers(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """Add the `backup` and `restore` subcommands to the `lessonbank` parser."""
    back = sub.add_parser(
        "backup",
        parents=[common],
        help="copy the live database to a file",
        description="Copy the database to PATH while the app keeps running: an SQLite file, "
        "or for PostgreSQL a pg_dump custom-format archive (pg_dump from LESSONBANK_PG_BIN "
        "or PATH, at least the server's version).",
    )
    back.add_argument("path", metavar="PATH", help="backup file to write")
    back.add_argument("--overwrite", action="store_true", help="replace PATH if it exists")
    back.set_defaults(func=cmd_backup)

    rest = sub.add_parser(
        "restore",
        parents=[common],
        help="replace the database with a backup",
        description="Replace the database with the backup at PATH (an SQLite file, or a "
        "pg_dump archive for PostgreSQL), then upgrade its schema. Asks first on a terminal; "
        "elsewhere needs --yes.",
    )
    rest.add_argument("path", metavar="PATH", help="backup file made by `lessonbank backup`")
    rest.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    rest.set_defaults(func=cmd_restore)


def cmd_backup(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    try:
        with _PageBar("Backing up") as bar:
            report = backup(
                settings.database_url,
                Path(args.path),
                overwrite=args.overwrite,
                progress=bar.update,
                pg_bin=settings.pg_bin,
            )
    except TargetExists as exc:
        return _refuse("backup", f"{exc.message} Pass --overwrite to replace it.")
    except DomainError as exc:
        return _refuse("backup", exc.message)
    print(
        f"Backed up {report.counts.describe()} to {report.path} "
        f"({_size(report.size_bytes)}, schema {report.revision})."
    )
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    if not args.yes and not sys.stdin.isatty():
        return _refuse(
            "restore", "refusing to replace the database without confirmation; pass --yes."
        )
    try:
        with _PageBar("Restoring") as bar:
            report = restore(
                settings.database_url,
                Path(args.path),
                progress=bar.update,
                confirm=None if args.yes else _ask,
                pg_bin=settings.pg_bin,
            )
    except RestoreCancelled:
        print("Restore cancelled; nothing was changed.", file=sys.stderr)
        return 1
    except DomainError as exc:
        return _refuse("restore", exc.message)
    upgraded = (
        ""
        if report.source_revision == report.revision
        else (f", schema upgraded from {report.source_revision}")
    )
    print(
        f"Restored {report.counts.describe()} from {report.source} into {report.path} "
        f"(schema {report.revision}{upgraded})."
    )
    return 0


def _ask(plan: RestorePlan) -> bool:
    what = f" ({plan.counts.describe()})" if plan.counts is not None else ""
    sys.stderr.write(
        f"Replace everything in {plan.target} with the backup {plan.source} "
        f"(schema {plan.revision}){what}? [y/N] "
    )
    sys.stderr.flush()
    return sys.stdin.readline().strip().lower() in {"y", "yes"}


def _refuse(command: str, message: str) -> int:
    print(f"lessonbank {command}: {' '.join(message.split())}", file=sys.stderr)
    return 2


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    value = n / 1024
    for unit in ("KiB", "MiB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


class _PageBar:
    """A tqdm bar over pages copied, made on the first step so a prompt comes before it, and
    shown only when the copy lasts long enough to need one."""

    def __init__(self, desc: str) -> None:
        self.desc = desc
        self.bar: Any = None

    def update(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = tqdm(total=total, desc=self.desc, unit="page", file=sys.stderr, delay=0.5)
        self.bar.total = total
        self.bar.update(done - self.bar.n)

    def __enter__(self) -> _PageBar:
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        if self.bar is not None:
            self.bar.close()
