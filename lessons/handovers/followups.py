"""What happens on a handover after it is written: the successor asks follow-up questions and
the leaver answers them, the successor acknowledges it, and the leaver's open actions are
handed on. Each step is audited; none commits."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from lessons.accounts import audit
from lessons.accounts.access import Viewer
from lessons.actions import service as actions
from lessons.errors import Forbidden, NotFound, ValidationFailed
from lessons.handovers.service import get_handover, leaver_open_actions
from lessons.schemas.handovers import ReassignIn
from lessons.storage.models import Action, Handover, HandoverQuestion, Person, Review, User, utcnow

NOT_SUCCESSOR = "Only the successor this handover names may {what}."
NOT_LEAVER = "Only the leaver who wrote this handover may answer its follow-up questions."


def is_successor(handover: Handover, viewer: Viewer) -> bool:
    return viewer.user_id is not None and handover.successor_user_id == viewer.user_id


def is_leaver(review: Review, viewer: Viewer) -> bool:
    """The leaver: whose words the handover is, or who recorded it."""
    return (viewer.person_id is not None and review.author_id == viewer.person_id) or (
        viewer.user_id is not None and review.recorded_by_id == viewer.user_id
    )


def _save(
    session: Session,
    viewer: Viewer,
    action: str,
    row: Handover | HandoverQuestion,
    *,
    after: dict[str, Any],
    before: dict[str, Any] | None = None,
    entity_id: int | None = None,
) -> None:
    """Write the row and its audit line together."""
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=viewer.name,
        actor_user_id=viewer.user_id,
        action=action,
        entity=row,
        entity_id=entity_id,
        before=before,
        after=after,
    )


def acknowledge(session: Session, *, review_id: int, viewer: Viewer) -> Review:
    """The successor confirms they have read the handover; a second time keeps the first."""
    review, handover = get_handover(session, review_id=review_id, viewer=viewer)
    if not is_successor(handover, viewer):
        raise Forbidden(NOT_SUCCESSOR.format(what="acknowledge it"), {"successor": "not you"})
    if handover.acknowledged_at is None:
        handover.acknowledged_at = utcnow()
        after = {"acknowledged_at": handover.acknowledged_at.isoformat()}
        _save(session, viewer, "acknowledge", handover, after=after, entity_id=review_id)
    return review


def ask(session: Session, *, review_id: int, viewer: Viewer, question: str) -> HandoverQuestion:
    """The successor asks the leaver a follow-up question on the handover."""
    _, handover = get_handover(session, review_id=review_id, viewer=viewer)
    if not is_successor(handover, viewer):
        raise Forbidden(
            NOT_SUCCESSOR.format(what="ask follow-up questions"), {"question": "not yours"}
        )
    asked = HandoverQuestion(review_id=review_id, asked_by_id=viewer.user_id, question=question)
    _save(session, viewer, "ask", asked, after={"review_id": review_id, "question": question})
    return asked


def answer(session: Session, *, question_id: int, viewer: Viewer, text: str) -> Review:
    """The leaver answers (or rewords their answer to) a follow-up question; returns its
    handover. A question on a handover the viewer may not read answers as a missing one."""
    asked = session.get(HandoverQuestion, question_id)
    missing = NotFound(f"No follow-up question with id {question_id}.")
    if asked is None:
        raise missing
    try:
        review, _ = get_handover(session, review_id=asked.review_id, viewer=viewer)
    except NotFound:
        raise missing from None
    if not is_leaver(review, viewer):
        raise Forbidden(NOT_LEAVER, {"answer": "not yours to answer"})
    before = {"answer": asked.answer}
    asked.answer, asked.answered_by_id, asked.answered_at = text, viewer.user_id, utcnow()
    _save(session, viewer, "answer", asked, before=before, after={"answer": text})
    return review


def reassign(session: Session, *, review_id: int, viewer: Viewer, payload: ReassignIn) -> Review:
    """Hand the leaver's open actions on, each to the successor or a person named. Only those
    listed on the handover move, and only by someone who may change them (their owner, the
    project's members, curators)."""
    review, handover = get_handover(session, review_id=review_id, viewer=viewer)
    listed = {a.id: a for a in leaver_open_actions(session, review=review, viewer=viewer)}
    heir = _successor_person(session, handover)
    for i, item in enumerate(payload.actions):
        action: Action | None = listed.get(item.action_id)
        if action is None:
            raise NotFound(
                f"Action {item.action_id} is not one of the leaver's open actions here.",
                {f"actions.{i}.action_id": "not listed on this handover"},
            )
        actions.action_to_change(session, action_id=item.action_id, viewer=viewer)
        if item.owner is None and heir is None:
            raise ValidationFailed(
                "This handover names no successor: say who takes the action over.",
                {f"actions.{i}.owner": "required"},
            )
        change = (
            actions.ActionChange(owner=item.owner)
            if item.owner is not None
            else actions.ActionChange(owner_id=heir.id if heir else None)
        )
        try:
            actions.update_action(
                session, action=action, change=change, actor=viewer.name, viewer=viewer
            )
        except ValidationFailed as exc:  # the owner is not in the directory as they may see it
            fields = {f"actions.{i}.{key}": problem for key, problem in exc.fields.items()}
            raise ValidationFailed(exc.message, fields) from None
    return review


def _successor_person(session: Session, handover: Handover) -> Person | None:
    """The successor's person in the directory (the name their actions are owned under)."""
    user = session.get(User, handover.successor_user_id) if handover.successor_user_id else None
    return session.get(Person, user.person_id) if user and user.person_id else None
