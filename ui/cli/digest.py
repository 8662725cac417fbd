"""`lessonbank digest` (for cron) and `lessonbank people ...` (the directory's addresses)."""

from __future__ import annotations

import argparse
import sys

from lessons.catalogue import service as catalogue
from lessons.digest import run as digests
from lessons.digest.mail import MailNotConfigured
from lessons.people import service as people
from lessons.storage.db import make_engine, migrate, transaction
from ui.cli.accounts import guarded
from ui.cli.options import settings_from_args


def cmd_digest(args: argparse.Namespace) -> int:
    """Send today's digests (each person once a day), or print them with --dry-run."""
    settings = settings_from_args(args)
    engine = make_engine(settings.database_url)
    migrate(engine)
    try:
        report = digests.run(
            engine,
            settings,
            today=catalogue.today(),
            dry_run=args.dry_run,
            only=set(args.person) if args.person else None,
            show=lambda text: print(text + "\n" + "=" * 72),
        )
    except MailNotConfigured as exc:
        print(
            f"{exc} Nothing sent (`lessonbank digest --dry-run` shows the digests).",
            file=sys.stderr,
        )
        return 0
    finally:
        engine.dispose()
    if args.dry_run:
        print(
            f"{report.printed} digests shown, none sent; "
            f"{len(report.empty)} people had nothing today."
        )
        return 0
    for address, why in report.failed:
        print(f"not sent to {address}: {why}", file=sys.stderr)
    print(
        f"{len(report.sent)} sent, {len(report.already)} already sent today, "
        f"{len(report.empty)} with nothing today, {len(report.failed)} failed."
    )
    return 1 if report.failed else 0


def cmd_people_add(args: argparse.Namespace) -> int:
    engine = make_engine(settings_from_args(args).database_url)
    migrate(engine)
    with transaction(engine, write=True) as session:
        person = people.add_to_directory(
            session,
            name=args.name,
            email=args.email or "",
            unit=args.unit or "",
            role=args.role or "",
        )
        address = f" ({person.email})" if person.email else ""
        print(f"{person.name} is in the people directory{address}.")
    return 0


def cmd_people_email(args: argparse.Namespace) -> int:
    engine = make_engine(settings_from_args(args).database_url)
    migrate(engine)
    with transaction(engine, write=True) as session:
        person = people.named(session, name=args.name)
        if person is None:
            print(f"Nobody called {args.name!r} is in the people directory.", file=sys.stderr)
            return 2
        people.set_email(session, person=person, email=args.email)
        print(f"{person.name}: {person.email or 'no address (no digest)'}.")
    return 0


def add_parsers(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    digest = sub.add_parser(
        "digest", parents=[common], help="send today's digests by e-mail (once a day each)"
    )
    digest.add_argument(
        "--dry-run", action="store_true", help="print the digests instead; send and record nothing"
    )
    digest.add_argument(
        "--person",
        action="append",
        metavar="NAME",
        help="only this person (directory name or user name); repeat for more",
    )
    digest.set_defaults(func=guarded(cmd_digest))
    directory = sub.add_parser("people", help="the people directory").add_subparsers(
        dest="people", required=True
    )
    add = directory.add_parser("add", parents=[common], help="add someone to the directory")
    add.add_argument("name")
    add.add_argument("--email", help="where their daily digest goes")
    add.add_argument("--unit")
    add.add_argument("--role")
    add.set_defaults(func=guarded(cmd_people_add))
    email = directory.add_parser(
        "set-email", parents=[common], help="set (or, with '', clear) a person's e-mail address"
    )
    email.add_argument("name")
    email.add_argument("email")
    email.set_defaults(func=guarded(cmd_people_email))
