"""Starting a handover and reading one: a review of kind `handover` whose own parts (role,
successor, work in flight, key contacts) sit in `Handover` and `HandoverContact`.

Who reads what: a handover is a review, so its story (answers, successor, work, contacts,
follow-ups) goes to those cleared for the review's audience (`Viewer.can_read_review`) and to
the successor it names, for whom it was written; its lessons keep their own rule."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func
from sqlmodel import Session, col, select

from lessons.accounts import audit
from lessons.accounts import users as accounts
from lessons.accounts.access import Viewer, visible_person_ids
from lessons.capture import service as capture
from lessons.catalogue import service as catalogue
from lessons.errors import NotFound, ValidationFailed
from lessons.people import service as people
from lessons.schemas import ReviewIn
from lessons.storage.models import (
    Action,
    ActionStatus,
    Handover,
    HandoverContact,
    HandoverQuestion,
    JobRole,
    Person,
    Review,
    ReviewKind,
    User,
)


@dataclass
class HandoverView:
    """A handover as a reader of its story is shown it."""

    handover: Handover
    role: JobRole | None
    successor: User | None
    contacts: list[HandoverContact] = field(default_factory=list)
    people: dict[int, Person] = field(default_factory=dict)  # contacts' persons, by id
    questions: list[HandoverQuestion] = field(default_factory=list)
    usernames: dict[int, str] = field(default_factory=dict)  # askers and answerers, by id
    leaver_open_actions: list[Action] = field(default_factory=list)


def log(session: Session, *, payload: ReviewIn, viewer: Viewer | None = None) -> Review:
    """Log a review (`capture.log_review`); a handover also gets its role, successor, work in
    flight and key contacts. Flushes, never commits."""
    successor = _successor(session, payload) if payload.kind == ReviewKind.HANDOVER else None
    review = capture.log_review(session, payload=payload, viewer=viewer)
    if payload.kind != ReviewKind.HANDOVER:
        return review
    if successor is not None and review.author_id and successor.person_id == review.author_id:
        raise ValidationFailed(
            "The successor is the leaver.",
            {"successor.username": "name the person taking the role over, not the leaver"},
        )
    assert review.id is not None
    handover = Handover(
        review_id=review.id,
        job_role_id=_role(session, payload.role).id if payload.role else None,
        successor_user_id=successor.id if successor else None,
        work_in_flight=[item.model_dump() for item in payload.work_in_flight],
    )
    session.add(handover)
    for i, contact in enumerate(payload.contacts):
        person = _contact(session, contact.name, viewer, field=f"contacts.{i}.name")
        assert person.id is not None
        session.add(HandoverContact(review_id=review.id, person_id=person.id, why=contact.why))
    session.flush()
    audit.record(
        session,
        actor=viewer.name if viewer else "",
        actor_user_id=viewer.user_id if viewer else None,
        action="create",
        entity=handover,
        entity_id=review.id,
        after={
            "role": payload.role,
            "successor": successor.username if successor else None,
            "contacts": [c.name for c in payload.contacts],
        },
    )
    return review


def _contact(session: Session, name: str, viewer: Viewer | None, *, field: str) -> Person:
    """A key contact: a person in the directory the leaver may see (exact name, any case), as
    action owners are chosen; loaded history (no viewer) adds them."""
    if viewer is None:
        person = people.find_or_create(session, name=name)
        assert person is not None
        return person
    found = people.named(session, name=name, among=visible_person_ids(viewer))
    if found is None:
        raise ValidationFailed(
            f"Nobody called {name!r} is in the people directory: choose key contacts from it.",
            {field: "not a person in the directory"},
        )
    return found


def _successor(session: Session, payload: ReviewIn) -> User | None:
    if payload.successor is None:
        return None
    user = accounts.user_named(session, payload.successor.username)
    if user is None or not user.is_active:
        raise ValidationFailed(
            "The successor must be someone who can sign in.",
            {"successor.username": f"no active account is named {payload.successor.username!r}"},
        )
    return user


def _role(session: Session, name: str) -> JobRole:
    """The role with this name (case-insensitive), added when new."""
    name = name.strip()
    role = session.exec(select(JobRole).where(func.lower(JobRole.name) == name.lower())).first()
    if role is None:
        role = JobRole(name=name)
        session.add(role)
        session.flush()
    return role


def get_handover(session: Session, *, review_id: int, viewer: Viewer) -> tuple[Review, Handover]:
    """A handover whose story the viewer may read; NotFound otherwise (never a hint that a
    handover they may not read exists, nor what it names)."""
    review = catalogue.get_review(session, review_id=review_id, viewer=viewer)
    handover = session.get(Handover, review_id)
    if handover is None or not viewer.can_read_review(review):
        raise NotFound(f"No handover with id {review_id}.")
    return review, handover


def view(session: Session, *, review: Review, viewer: Viewer) -> HandoverView | None:
    """The handover parts of `review` as `viewer` may read them: None for another kind of
    review, or for a reader who may open the review but not read its story."""
    handover = session.get(Handover, review.id)
    if handover is None or not viewer.can_read_review(review):
        return None
    contacts = list(
        session.exec(
            select(HandoverContact)
            .where(HandoverContact.review_id == review.id)
            .order_by(col(HandoverContact.id))
        )
    )
    questions = list(
        session.exec(
            select(HandoverQuestion)
            .where(HandoverQuestion.review_id == review.id)
            .order_by(col(HandoverQuestion.asked_at), col(HandoverQuestion.id))
        )
    )
    user_ids = {q.asked_by_id for q in questions} | {q.answered_by_id for q in questions}
    users = session.exec(select(User).where(col(User.id).in_([i for i in user_ids if i])))
    persons = session.exec(
        select(Person).where(col(Person.id).in_([c.person_id for c in contacts]))
    )
    return HandoverView(
        handover=handover,
        role=session.get(JobRole, handover.job_role_id) if handover.job_role_id else None,
        successor=session.get(User, handover.successor_user_id)
        if handover.successor_user_id
        else None,
        contacts=contacts,
        people={p.id: p for p in persons if p.id is not None},
        questions=questions,
        usernames={u.id: u.username for u in users if u.id is not None},
        leaver_open_actions=leaver_open_actions(session, review=review, viewer=viewer),
    )


def leaver_open_actions(session: Session, *, review: Review, viewer: Viewer) -> list[Action]:
    """The leaver's (the handover's author's) open actions that `viewer` may see, soonest due
    first: what must find a new owner."""
    if review.author_id is None:
        return []
    return [
        action
        for action in catalogue.list_actions(session, viewer=viewer, status=ActionStatus.OPEN)
        if action.owner_id == review.author_id
    ]


def awaiting(session: Session, *, user_id: int) -> list[Review]:
    """Handovers naming this user their successor that they have not acknowledged yet, oldest
    first (the digest's "handovers awaiting you")."""
    return list(
        session.exec(
            select(Review)
            .join(Handover, col(Handover.review_id) == col(Review.id))
            .where(Handover.successor_user_id == user_id, col(Handover.acknowledged_at).is_(None))
            .order_by(col(Review.created_at), col(Review.id))
        )
    )
