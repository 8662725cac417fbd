"""A community's questions: members ask, members answer, and a good answer becomes a lesson
through the normal lifecycle (identified, then curated)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from lessons.accounts import audit
from lessons.accounts.access import Viewer
from lessons.capture import service as capture
from lessons.communities.content import _usernames
from lessons.communities.service import get, is_facilitator, is_member
from lessons.errors import Forbidden, InvalidTransition, NotFound
from lessons.schemas import LessonIn
from lessons.schemas.communities import AnswerLessonIn
from lessons.storage.models import (
    Community,
    CommunityAnswer,
    CommunityQuestion,
    Lesson,
    Person,
    User,
)

JOIN_FIRST = "Join the community to {what}."


@dataclass(frozen=True)
class Thread:
    question: CommunityQuestion
    answers: list[CommunityAnswer]
    names: dict[int, str]  # usernames of askers and answerers, by user id

    @property
    def open(self) -> bool:
        return not self.answers


def threads(session: Session, *, community: Community) -> list[Thread]:
    """The community's questions with their answers: open ones first, newest first."""
    questions = list(
        session.exec(
            select(CommunityQuestion)
            .where(CommunityQuestion.community_id == community.id)
            .order_by(col(CommunityQuestion.asked_at).desc(), col(CommunityQuestion.id).desc())
        )
    )
    answers = list(
        session.exec(
            select(CommunityAnswer)
            .where(col(CommunityAnswer.question_id).in_([q.id for q in questions]))
            .order_by(col(CommunityAnswer.answered_at), col(CommunityAnswer.id))
        )
    )
    names = _usernames(
        session, [q.asked_by_id for q in questions] + [a.answered_by_id for a in answers]
    )
    found = [Thread(q, [a for a in answers if a.question_id == q.id], names) for q in questions]
    return sorted(found, key=lambda t: not t.open)  # stable: newest first within each


def ask(
    session: Session, *, community: Community, viewer: Viewer, title: str, body: str
) -> CommunityQuestion:
    if not is_member(session, community=community, viewer=viewer):
        raise Forbidden(JOIN_FIRST.format(what="ask it a question"))
    assert community.id is not None
    question = CommunityQuestion(
        community_id=community.id, asked_by_id=viewer.user_id, title=title, body=body
    )
    session.add(question)
    session.flush()
    audit.record(
        session, actor=viewer.name, actor_user_id=viewer.user_id, action="ask",
        entity=question, after={"community_id": community.id, "title": title, "body": body},
    )  # fmt: skip
    return question


def get_question(session: Session, *, question_id: int, viewer: Viewer) -> CommunityQuestion:
    question = session.get(CommunityQuestion, question_id)
    if question is None or not viewer.signed_in:
        raise NotFound(f"No question with id {question_id}.")
    return question


def answer(
    session: Session, *, question_id: int, viewer: Viewer, body: str
) -> tuple[Community, CommunityAnswer]:
    question = get_question(session, question_id=question_id, viewer=viewer)
    community = get(session, community_id=question.community_id, viewer=viewer)
    if not is_member(session, community=community, viewer=viewer):
        raise Forbidden(JOIN_FIRST.format(what="answer its questions"))
    assert question.id is not None
    reply = CommunityAnswer(question_id=question.id, answered_by_id=viewer.user_id, body=body)
    session.add(reply)
    session.flush()
    audit.record(
        session, actor=viewer.name, actor_user_id=viewer.user_id, action="answer",
        entity=reply, after={"question_id": question.id, "body": body},
    )  # fmt: skip
    return community, reply


def answer_to_lesson(
    session: Session, *, answer_id: int, viewer: Viewer, payload: AnswerLessonIn
) -> tuple[Community, Lesson]:
    """Draw a lesson from a good answer (its facilitators, its author or a curator may): the
    answerer's words, status identified, for curators to validate like any other."""
    reply = session.get(CommunityAnswer, answer_id)
    if reply is None or not viewer.signed_in:
        raise NotFound(f"No answer with id {answer_id}.")
    question = get_question(session, question_id=reply.question_id, viewer=viewer)
    community = get(session, community_id=question.community_id, viewer=viewer)
    allowed = (
        viewer.is_curator
        or reply.answered_by_id == viewer.user_id
        or is_facilitator(session, community=community, viewer=viewer)
    )
    if not allowed:
        raise Forbidden(
            "The community's facilitators, the answer's author and curators may turn an "
            "answer into a lesson."
        )
    if reply.lesson_id is not None:
        raise InvalidTransition(f"This answer is already lesson {reply.lesson_id}.")
    author = _answerer(session, reply)
    data = LessonIn(
        title=payload.title or question.title,
        observation=payload.observation if payload.observation is not None else question.body,
        insight=payload.insight,
        recommendation=reply.body,
        polarity=payload.polarity,
        perspective=payload.perspective,
        sensitivity=payload.sensitivity,
        tags=list(dict.fromkeys([*community.tags, *payload.tags])),
    )
    lesson = capture.add_lesson(
        session,
        data=data,
        project=None,
        review=None,
        author=author,
        actor=viewer.name,
        reason=f"drawn from answer #{reply.id} to question #{question.id} in {community.name}",
    )
    reply.lesson_id = lesson.id
    session.add(reply)
    session.flush()
    return community, lesson


def _answerer(session: Session, reply: CommunityAnswer) -> Person | None:
    user = session.get(User, reply.answered_by_id) if reply.answered_by_id else None
    return session.get(Person, user.person_id) if user and user.person_id else None
