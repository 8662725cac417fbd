"""Once a day per person: a digest is claimed (a row for the person and the day, unique)
before it is sent, marked sent when the server accepted it, and the claim removed when the
send failed so the next run tries again. A second run that day, or one running beside it,
finds the claim and skips the person. A run killed between the claim and the send leaves the
claim: that person hears nothing more that day (at most once, never twice)."""

from __future__ import annotations

from datetime import date

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from lessons.storage.models import DigestDelivery, utcnow

SENDING = "sending"
SENT = "sent"


def delivered(session: Session, *, person_id: int, day: date) -> DigestDelivery | None:
    return session.exec(
        select(DigestDelivery).where(
            DigestDelivery.person_id == person_id, DigestDelivery.day == day
        )
    ).first()


def claim(session: Session, *, person_id: int, day: date, address: str) -> bool:
    """Claim this person's digest of `day`; False when it is already claimed or sent. The
    caller commits the claim before sending."""
    if delivered(session, person_id=person_id, day=day) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(DigestDelivery(person_id=person_id, day=day, address=address))
    except IntegrityError:  # another run claimed it between the read and the insert
        return False
    return True


def confirm(session: Session, *, person_id: int, day: date) -> None:
    row = delivered(session, person_id=person_id, day=day)
    if row is not None:
        row.status, row.sent_at = SENT, utcnow()
        session.add(row)


def release(session: Session, *, person_id: int, day: date) -> None:
    row = delivered(session, person_id=person_id, day=day)
    if row is not None and row.status == SENDING:
        session.delete(row)
