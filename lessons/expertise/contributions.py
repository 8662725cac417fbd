"""What a person contributed, and the expertise it shows, as one viewer may see it.

Every record is read through the access rule (`lessons.accounts.access`): lessons the viewer
may see, review stories they may read, actions they may see, BARs they may use. Nothing the
viewer may not see is listed or counted, so a profile never tells of restricted work."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement
from sqlmodel import Session, col, select

from lessons.accounts.access import (
    Viewer,
    action_clause,
    bar_clause,
    readable_review_ids,
    visible_lesson_ids,
)
from lessons.schemas import SearchFilters
from lessons.storage.models import (
    Action,
    BarItem,
    BeforeActionReview,
    Lesson,
    LessonStatus,
    PeerAssist,
    Person,
    Review,
    ReviewKind,
    User,
)

# A profile lists lessons a curator accepted and those awaiting curation, not drafts,
# rejected, merged or retired ones (the canonical lesson stands for a merged one).
LISTED = [
    LessonStatus.IDENTIFIED,
    LessonStatus.VALIDATED,
    LessonStatus.ACTIONED,
    LessonStatus.LEARNED,
]
MOST = 50  # of each kind, newest first
INFERRED_TAGS = 12
EVIDENCE_PER_TAG = 8


@dataclass(frozen=True)
class Record:
    """A record as evidence: its kind, id, a short label and where to read it."""

    kind: str  # lesson, review, handover, action, bar_outcome, peer_assist
    id: int
    label: str
    link: str
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Contributed:
    lessons: tuple[Lesson, ...]
    reviews: tuple[Record, ...]
    actions: tuple[Action, ...]
    bar_outcomes: tuple[Record, ...]
    peer_assists: tuple[Record, ...]


@dataclass(frozen=True)
class Inferred:
    tag: str
    evidence: tuple[Record, ...]


def contributed(session: Session, *, person: Person, viewer: Viewer) -> Contributed:
    """What `person` wrote, reviewed, handed over, owns, applied and was asked, that `viewer`
    may see."""
    return Contributed(
        lessons=tuple(_lessons(session, person, viewer)),
        reviews=tuple(_reviews(session, person, viewer)),
        actions=tuple(_actions(session, person, viewer)),
        bar_outcomes=tuple(_bar_outcomes(session, person, viewer)),
        peer_assists=tuple(_peer_assists(session, person, viewer)),
    )


def inferred(done: Contributed) -> list[Inferred]:
    """Expertise read off the records: each tag of the lessons they wrote, own actions on or
    applied, and of the projects they reviewed or handed over, with the records that carry
    it; most evidence first."""
    found: dict[str, dict[tuple[str, int], Record]] = {}
    records = [_lesson_record(lesson) for lesson in done.lessons]
    records += [*done.reviews, *(_action_record(a) for a in done.actions), *done.bar_outcomes]
    for record in records:
        for tag in record.tags:
            found.setdefault(tag, {})[(record.kind, record.id)] = record
    ranked = sorted(found.items(), key=lambda item: (-len(item[1]), item[0]))
    return [
        Inferred(tag, tuple(list(evidence.values())[:EVIDENCE_PER_TAG]))
        for tag, evidence in ranked[:INFERRED_TAGS]
    ]


def _lesson_record(lesson: Lesson) -> Record:
    return Record(
        "lesson", lesson.id or 0, lesson.title, f"/lessons/{lesson.id}", tuple(lesson.tags)
    )


def _action_record(action: Action) -> Record:
    tags = tuple(action.lesson.tags) if action.lesson is not None else ()
    return Record("action", action.id or 0, action.what[:120], f"/actions#action-{action.id}", tags)


def _lessons(session: Session, person: Person, viewer: Viewer) -> Sequence[Lesson]:
    visible = visible_lesson_ids(viewer, SearchFilters(status=LISTED))
    return session.exec(
        select(Lesson)
        .where(Lesson.author_id == person.id, col(Lesson.id).in_(visible))
        .order_by(col(Lesson.updated_at).desc())
        .limit(MOST)
    ).all()


def _reviews(session: Session, person: Person, viewer: Viewer) -> list[Record]:
    """Reviews and handovers whose story (their author among it) the viewer may read."""
    rows = session.exec(
        select(Review)
        .where(Review.author_id == person.id, col(Review.id).in_(readable_review_ids(viewer)))
        .order_by(col(Review.created_at).desc())
        .limit(MOST)
    ).all()
    records = []
    for review in rows:
        kind = "handover" if review.kind == ReviewKind.HANDOVER else "review"
        held = f", {review.held_on.isoformat()}" if review.held_on else ""
        name = "Handover" if kind == "handover" else review.kind.upper()
        label = f"{name}: {review.project.name}{held}"
        records.append(
            Record(kind, review.id or 0, label, f"/reviews/{review.id}", tuple(review.project.tags))
        )
    return records


def _actions(session: Session, person: Person, viewer: Viewer) -> Sequence[Action]:
    return session.exec(
        select(Action)
        .where(Action.owner_id == person.id, action_clause(viewer))
        .order_by(col(Action.created_at).desc())
        .limit(MOST)
    ).all()


def _their_bars(person: Person, viewer: Viewer) -> list[ColumnElement[bool]]:
    """BARs the person ran (through their account) that the viewer may use."""
    runners = select(col(User.id)).where(User.person_id == person.id)
    return [col(BeforeActionReview.run_by_user_id).in_(runners), bar_clause(viewer)]


def _bar_outcomes(session: Session, person: Person, viewer: Viewer) -> list[Record]:
    """Outcomes recorded on BARs they ran, on lessons the viewer may see: what they applied."""
    visible = visible_lesson_ids(viewer, SearchFilters(status=list(LessonStatus)))
    rows = session.exec(
        select(BarItem, Lesson)
        .join(BeforeActionReview, col(BeforeActionReview.id) == BarItem.bar_id)
        .join(Lesson, col(Lesson.id) == BarItem.lesson_id)
        .where(BarItem.outcome != "", col(Lesson.id).in_(visible), *_their_bars(person, viewer))
        .order_by(col(BarItem.outcome_at).desc())
        .limit(MOST)
    ).all()
    return [
        Record(
            "bar_outcome",
            item.bar_id,
            f"Applied “{lesson.title}”: {item.outcome[:120]}",
            f"/bar/{item.bar_id}",
            tuple(lesson.tags),
        )
        for item, lesson in rows
    ]


def _peer_assists(session: Session, person: Person, viewer: Viewer) -> list[Record]:
    """Peer assists they were asked for, on BARs the viewer may use (a brief may describe
    restricted work, and so may what the team asked)."""
    rows = session.exec(
        select(PeerAssist)
        .join(BeforeActionReview, col(BeforeActionReview.id) == PeerAssist.bar_id)
        .where(PeerAssist.person_id == person.id, bar_clause(viewer))
        .order_by(col(PeerAssist.created_at).desc())
        .limit(MOST)
    ).all()
    return [
        Record(
            "peer_assist",
            assist.id or 0,
            f"Asked: {assist.ask[:120]}" + (f" — {assist.outcome[:120]}" if assist.outcome else ""),
            f"/bar/{assist.bar_id}#peer-assist-{assist.id}",
        )
        for assist in rows
    ]
