"""The digest's section from handovers: handovers naming the reader their successor that they
have not acknowledged yet, and follow-up questions on handovers they wrote that await their
answer; only handovers whose story the reader may read."""

from __future__ import annotations

from sqlalchemy import or_
from sqlmodel import Session, col, select

from lessons.accounts.access import readable_review_ids
from lessons.digest.kinds import Item, Reader, Source
from lessons.storage.models import Handover, HandoverQuestion, JobRole, Review, User


def _title(session: Session, review: Review, handover: Handover | None) -> str:
    role = session.get(JobRole, handover.job_role_id) if handover and handover.job_role_id else None
    leaver = review.author.name if review.author else "a leaver"
    return f"the handover of {role.name}" if role else f"{leaver}'s handover"


def to_acknowledge(session: Session, reader: Reader) -> list[Item]:
    viewer = reader.viewer
    if viewer.user_id is None:
        return []
    rows = session.exec(
        select(Handover, Review)
        .join(Review, col(Review.id) == col(Handover.review_id))
        .where(
            Handover.successor_user_id == viewer.user_id,
            col(Handover.acknowledged_at).is_(None),
            col(Review.id).in_(readable_review_ids(viewer)),
        )
        .order_by(col(Review.created_at), col(Review.id))
    ).all()
    return [
        Item(
            text=f"Read and acknowledge {_title(session, review, handover)}",
            link=f"/reviews/{review.id}",
            detail=(f"from {review.author.name}, " if review.author else "")
            + f"written {review.created_at.date().isoformat()}; you are named its successor",
        )
        for handover, review in rows
    ]


def to_answer(session: Session, reader: Reader) -> list[Item]:
    viewer = reader.viewer
    mine = []
    if viewer.person_id is not None:
        mine.append(col(Review.author_id) == viewer.person_id)
    if viewer.user_id is not None:
        mine.append(col(Review.recorded_by_id) == viewer.user_id)
    if not mine:
        return []
    rows = session.exec(
        select(HandoverQuestion, Review)
        .join(Review, col(Review.id) == col(HandoverQuestion.review_id))
        .where(
            HandoverQuestion.answer == "",
            or_(*mine),
            col(Review.id).in_(readable_review_ids(viewer)),
        )
        .order_by(col(HandoverQuestion.asked_at), col(HandoverQuestion.id))
    ).all()
    items = []
    for question, review in rows:
        asker = session.get(User, question.asked_by_id) if question.asked_by_id else None
        handover = session.get(Handover, review.id)
        items.append(
            Item(
                text=f"Answer {asker.username if asker else 'your successor'}'s question: "
                f"{question.question}",
                link=f"/reviews/{review.id}",
                detail=f"on {_title(session, review, handover)}, asked "
                f"{question.asked_at.date().isoformat()}",
            )
        )
    return items


def awaiting(session: Session, reader: Reader) -> list[Item]:
    return to_acknowledge(session, reader) + to_answer(session, reader)


SOURCE = Source(
    "handovers",
    "Handovers awaiting you",
    "awaiting you in handovers",
    "/roles",
    awaiting,
)
