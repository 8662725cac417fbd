"""The demo bank's connections, loaded after its reviews and accounts: handovers completed
between accounts (role, successor, work in flight, contacts, follow-up questions answered,
acknowledgement, actions handed on) and communities of practice with members, shared lessons,
questions and answers. Each goes through the same services people use."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlmodel import Session, col, select

from lessons.accounts import users as accounts
from lessons.accounts.access import Viewer
from lessons.communities import board, content
from lessons.communities import service as communities
from lessons.handovers import followups
from lessons.handovers import service as handovers
from lessons.people import service as people
from lessons.schemas.communities import CommunityIn, MembershipIn
from lessons.schemas.handovers import ReassignIn
from lessons.storage.models import (
    Community,
    Handover,
    HandoverContact,
    HandoverQuestion,
    JobRole,
    Lesson,
    Project,
    Review,
    ReviewKind,
)


def _as(session: Session, username: str) -> Viewer:
    user = accounts.find_user(session, username=username)
    return accounts.viewer(session, user)


def _at(day: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), tzinfo=UTC)


def load_handovers(session: Session, entries: list[dict[str, Any]]) -> int:
    """Complete the bank's handover reviews (found by project and leaver) as their leavers and
    successors would; handovers already completed are skipped. Returns how many were."""
    done = 0
    for entry in entries:
        review = session.exec(
            select(Review)
            .join(Project, col(Project.id) == col(Review.project_id))
            .where(Project.name == entry["project"], Review.kind == ReviewKind.HANDOVER)
        ).first()
        if review is None or review.id is None:
            continue
        if session.get(Handover, review.id) is not None:  # completed already
            continue
        _complete(session, review, entry)
        done += 1
    session.flush()
    return done


def _complete(session: Session, review: Review, entry: dict[str, Any]) -> None:
    assert review.id is not None
    role = session.exec(select(JobRole).where(JobRole.name == entry["role"])).first()
    if role is None:
        role = JobRole(name=entry["role"])
        session.add(role)
        session.flush()
    successor = accounts.find_user(session, username=entry["successor"])
    session.add(
        Handover(
            review_id=review.id,
            job_role_id=role.id,
            successor_user_id=successor.id,
            work_in_flight=list(entry.get("work_in_flight", [])),
        )
    )
    for contact in entry.get("contacts", []):
        person = people.named(session, name=contact["name"])
        assert person is not None and person.id is not None, contact["name"]
        session.add(HandoverContact(review_id=review.id, person_id=person.id, why=contact["why"]))
    session.flush()
    heir, leaver = _as(session, entry["successor"]), _as(session, entry["leaver"])
    for follow_up in entry.get("follow_ups", []):
        asked = followups.ask(
            session, review_id=review.id, viewer=heir, question=follow_up["question"]
        )
        asked.asked_at = _at(follow_up["asked_on"])
        if follow_up.get("answer"):
            assert asked.id is not None
            followups.answer(session, question_id=asked.id, viewer=leaver, text=follow_up["answer"])
            answered = session.get(HandoverQuestion, asked.id)
            assert answered is not None
            answered.answered_at = _at(follow_up["answered_on"])
    if entry.get("reassign"):
        open_actions = handovers.leaver_open_actions(session, review=review, viewer=leaver)
        moved = [{"action_id": a.id} for a in open_actions if a.what in entry["reassign"]]
        followups.reassign(
            session, review_id=review.id, viewer=leaver, payload=ReassignIn(actions=moved)
        )
    if entry.get("acknowledged_on"):
        followups.acknowledge(session, review_id=review.id, viewer=heir)
        handover = session.get(Handover, review.id)
        assert handover is not None
        handover.acknowledged_at = _at(entry["acknowledged_on"])


def load_communities(session: Session, entries: list[dict[str, Any]], *, curator: str) -> int:
    """Start the bank's communities, with their members, shared lessons, questions and
    answers; known communities are skipped. Returns how many were started."""
    started = 0
    maker = Viewer(name=curator, is_curator=True, role="curator")
    for entry in entries:
        if session.exec(select(Community).where(Community.name == entry["name"])).first():
            continue
        payload = CommunityIn(
            name=entry["name"],
            summary=entry.get("summary", ""),
            tags=entry.get("tags", []),
            facilitators=entry["facilitators"],
        )
        community = communities.create(session, payload=payload, viewer=maker)
        for username in entry.get("members", []):
            communities.set_membership(
                session,
                community=community,
                viewer=_as(session, username),
                change=MembershipIn(member=True),
            )
        for share in entry.get("shared", []):
            lesson = session.exec(select(Lesson).where(Lesson.title == share["title"])).one()
            assert lesson.id is not None
            content.share(
                session,
                community=community,
                viewer=_as(session, share["by"]),
                lesson_id=lesson.id,
                note=share.get("note", ""),
            )
        for question in entry.get("questions", []):
            _thread(session, community, question)
        started += 1
    session.flush()
    return started


def _thread(session: Session, community: Community, entry: dict[str, Any]) -> None:
    asked = board.ask(
        session,
        community=community,
        viewer=_as(session, entry["by"]),
        title=entry["question"],
        body=entry.get("details", ""),
    )
    asked.asked_at = _at(entry["asked_on"])
    for reply in entry.get("answers", []):
        assert asked.id is not None
        _, answer = board.answer(
            session, question_id=asked.id, viewer=_as(session, reply["by"]), body=reply["body"]
        )
        answer.answered_at = _at(reply["on"])
