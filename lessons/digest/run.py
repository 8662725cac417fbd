"""`lessonbank digest`: compose each recipient's digest and send it (or print it), once per
person per day. Each digest is composed in a read transaction of its own, claimed in a write
transaction committed before the send, and confirmed (or released) after it."""

from __future__ import annotations

import contextlib
import smtplib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Engine

from lessons.digest import deliveries, render
from lessons.digest.compose import Digest, compose, recipients
from lessons.digest.mail import Mailer, message
from lessons.storage.db import transaction
from lessons.storage.models import Person, User
from lessons.storage.settings import Settings


@dataclass
class RunReport:
    sent: list[str] = field(default_factory=list)  # addresses
    already: list[str] = field(default_factory=list)  # sent (or claimed) earlier that day
    empty: list[str] = field(default_factory=list)  # nothing to tell them today
    failed: list[tuple[str, str]] = field(default_factory=list)  # (address, why)
    printed: int = 0


def _recipients(engine: Engine, only: set[str] | None) -> list[tuple[Person, User]]:
    with transaction(engine) as session:
        found = recipients(session)
    if only is not None:
        found = [(p, u) for p, u in found if p.name in only or u.username in only]
    return found


def _compose(engine: Engine, settings: Settings, person: Person, user: User, today: date) -> Digest:
    with transaction(engine) as session:
        return compose(
            session, person=person, user=user, today=today, due_days=settings.digest_due_days
        )


def run(
    engine: Engine,
    settings: Settings,
    *,
    today: date,
    dry_run: bool = False,
    only: set[str] | None = None,
    show: Callable[[str], None] = print,
) -> RunReport:
    """Send today's digests (or, `dry_run`, show them and record nothing). `only` narrows the
    run to these people (directory names or user names). Stops at the first failure to reach
    the server: whoever was not sent is tried again by the next run."""
    report = RunReport()
    mailer = None if dry_run else Mailer(settings)
    site = settings.site_url
    with mailer if mailer is not None else contextlib.nullcontext():
        for person, user in _recipients(engine, only):
            assert person.id is not None
            digest = _compose(engine, settings, person, user, today)
            if digest.empty:
                report.empty.append(digest.address)
                continue
            if dry_run:
                show(_printed(digest, site))
                report.printed += 1
                continue
            assert mailer is not None
            with transaction(engine, write=True) as session:
                claimed = deliveries.claim(
                    session, person_id=person.id, day=today, address=digest.address
                )
            if not claimed:
                report.already.append(digest.address)
                continue
            try:
                mailer.send(message(digest, sender=settings.smtp_sender, site=site))
            except (smtplib.SMTPException, OSError) as exc:
                with transaction(engine, write=True) as session:
                    deliveries.release(session, person_id=person.id, day=today)
                report.failed.append((digest.address, str(exc) or type(exc).__name__))
                if not isinstance(exc, smtplib.SMTPRecipientsRefused):
                    break  # the server is unreachable or refusing: try them all next run
                continue
            with transaction(engine, write=True) as session:
                deliveries.confirm(session, person_id=person.id, day=today)
            report.sent.append(digest.address)
    return report


def _printed(digest: Digest, site: str) -> str:
    return (
        f"To: {digest.person.name} <{digest.address}>\n"
        f"Subject: {render.subject(digest)}\n\n{render.text(digest, site=site)}"
    )
