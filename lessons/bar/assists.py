"""Peer-assist requests on a BAR: the team names someone from the directory, what to ask them
and by when, and later records what came of it.

Who may record one: whoever may use the BAR (its runner, the project's members, curators),
naming only a person they may see. Who may record the outcome: the same, and the person asked.
A reader is shown only the requests naming people they may see (a curator may have named
someone known only through work the reader may not see)."""

from __future__ import annotations

from sqlmodel import Session, col, select

from lessons.accounts import audit
from lessons.accounts.access import Viewer, visible_person_ids
from lessons.errors import NotFound, ValidationFailed
from lessons.schemas.people import PeerAssistIn
from lessons.storage.models import BeforeActionReview, PeerAssist, Person, utcnow


def request(
    session: Session, *, bar: BeforeActionReview, payload: PeerAssistIn, viewer: Viewer
) -> PeerAssist:
    """Record a request on `bar` (which the caller already may use: `service.get`)."""
    whom = _visible_person(session, payload.person_id, viewer)
    if whom is None:
        raise ValidationFailed(
            "Choose someone from the people directory.", {"person_id": "no such person"}
        )
    assist = PeerAssist(
        bar_id=bar.id or 0,
        person_id=whom.id or 0,
        ask=payload.ask,
        ask_by=payload.ask_by,
        requested_by_id=viewer.user_id,
    )
    session.add(assist)
    session.flush()
    audit.record(
        session,
        actor=viewer.name,
        actor_user_id=viewer.user_id,
        action="peer_assist",
        entity=assist,
        after=audit.snapshot(assist, {"bar_id", "person_id", "ask", "ask_by"}),
    )
    return assist


def record_outcome(session: Session, *, assist_id: int, outcome: str, viewer: Viewer) -> PeerAssist:
    """What came of a request, recorded by whoever may use its BAR or the person asked."""
    assist = _usable(session, assist_id, viewer)
    before = assist.outcome
    assist.outcome = outcome
    assist.outcome_at = utcnow()
    session.add(assist)
    session.flush()
    audit.record(
        session,
        actor=viewer.name,
        actor_user_id=viewer.user_id,
        action="peer_assist_outcome",
        entity=assist,
        before={"outcome": before},
        after={"outcome": outcome},
    )
    return assist


def bar_of(session: Session, *, assist_id: int, viewer: Viewer) -> int:
    """The BAR a request is on, for someone who may record its outcome (else NotFound)."""
    return _usable(session, assist_id, viewer).bar_id


def _usable(session: Session, assist_id: int, viewer: Viewer) -> PeerAssist:
    """The request, for whoever may use its BAR or was asked (naming someone they may see);
    NotFound for anyone else, as for a request that does not exist."""
    assist = session.get(PeerAssist, assist_id)
    bar = session.get(BeforeActionReview, assist.bar_id) if assist is not None else None
    asked = assist is not None and viewer.person_id == assist.person_id
    if (
        assist is None
        or bar is None
        or not (viewer.can_use_bar(bar) or asked)
        or _visible_person(session, assist.person_id, viewer) is None
    ):
        raise NotFound(f"No peer-assist request with id {assist_id}.")
    return assist


def on_bar(session: Session, *, bar_id: int, viewer: Viewer) -> list[PeerAssist]:
    """The requests on a BAR the viewer may use, naming people they may see, oldest first,
    with the person and requester read now (the result outlives the transaction)."""
    rows = session.exec(
        select(PeerAssist)
        .where(
            PeerAssist.bar_id == bar_id,
            col(PeerAssist.person_id).in_(visible_person_ids(viewer)),
        )
        .order_by(col(PeerAssist.created_at), col(PeerAssist.id))
    ).all()
    for assist in rows:
        _ = assist.person, assist.requested_by
    return list(rows)


def addressed_to(session: Session, *, person_id: int) -> list[PeerAssist]:
    """Open requests asking this person (no outcome yet), oldest first: what a digest tells
    them. The ask was written for them, so it goes to them whatever they may see of the BAR."""
    rows = session.exec(
        select(PeerAssist)
        .where(PeerAssist.person_id == person_id, PeerAssist.outcome == "")
        .order_by(col(PeerAssist.created_at), col(PeerAssist.id))
    ).all()
    for assist in rows:
        _ = assist.person, assist.requested_by
    return list(rows)


def _visible_person(session: Session, person_id: int, viewer: Viewer) -> Person | None:
    return session.exec(
        select(Person).where(
            col(Person.id) == person_id, col(Person.id).in_(visible_person_ids(viewer))
        )
    ).first()
