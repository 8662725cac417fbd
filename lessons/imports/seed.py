"""Load a lesson bank written as nested projects -> reviews -> lessons and actions.

The demo bank and the tests share this one loader, and it goes through the same capture
service users do, so the demo exercises the real code paths.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from lessons.accounts import users as accounts
from lessons.accounts.access import Viewer
from lessons.bar import service as bars
from lessons.capture import service as capture
from lessons.curation import lifecycle, merging
from lessons.people import service as people
from lessons.schemas import BarIn, DecisionIn, Limits, OutcomeIn, ReviewIn, parse
from lessons.storage.models import (
    Action,
    ActionStatus,
    BeforeActionReview,
    Lesson,
    LessonStatus,
    Project,
    Review,
    Role,
    Sensitivity,
    utcnow,
)
from lessons.taxonomy.schemes import create_scheme, find_scheme
from lessons.taxonomy.term_changes import adopt_tag

# The lifecycle path a seeded lesson walks to reach its recorded status.
_PATH = {
    LessonStatus.IDENTIFIED: [],
    LessonStatus.VALIDATED: [LessonStatus.VALIDATED],
    LessonStatus.ACTIONED: [LessonStatus.VALIDATED, LessonStatus.ACTIONED],
    LessonStatus.LEARNED: [LessonStatus.VALIDATED, LessonStatus.ACTIONED, LessonStatus.LEARNED],
    LessonStatus.MERGED: [LessonStatus.VALIDATED],  # then merged by `load_merges`
}
# Keys of a bank's lesson that are not LessonIn input: the lifecycle walk reads them.
_NOT_INPUT = frozenset({"status", "learned_evidence", "learned_link"})
_GENEROUS = Limits(title=500, text=100_000, brief=100_000, items=1_000)


def read_bank(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text(encoding="utf-8")))


def load_bank(session: Session, bank: dict[str, Any], *, curator: str = "demo curator") -> int:
    """Add the bank's people, projects, reviews, lessons and actions; skips known projects.

    Returns the number of lessons added. Flushes, never commits.
    """
    for entry in bank.get("people", []):
        person = people.find_or_create(session, name=entry["name"])
        assert person is not None
        person.unit = entry.get("unit", "")
        person.role = entry.get("role", "")
        person.expertise = list(entry.get("expertise", []))
        person.bio = entry.get("bio", "")
        person.contact = entry.get("contact", "")
        if entry.get("email"):
            people.set_email(session, person=person, email=entry["email"])
        session.add(person)
    added = 0
    for project in bank.get("projects", []):
        if session.exec(select(Project).where(Project.name == project["name"])).first():
            continue
        ref = {
            k: project[k]
            for k in ("name", "summary", "unit", "start_date", "end_date", "tags")
            if k in project
        }
        for review in project.get("reviews", []):
            added += _load_review(session, review, ref, curator)
    session.flush()
    load_accounts(session, bank.get("people", []), curator=curator)
    load_taxonomy(session, bank.get("taxonomy", []), curator=curator)
    load_merges(session, bank.get("merges", []), curator=curator)
    load_learning_loop(session, bank, curator=curator)
    return added


def load_accounts(session: Session, entries: list[dict[str, Any]], *, curator: str) -> int:
    """Give the bank's people with an `account` a contributor account of that name, linked to
    them and without a password (they sign in only through single sign-on: the demo has no
    known password), a member of the projects whose reviews they wrote, so their restricted
    lessons are theirs to see. Known accounts are skipped; returns how many were added."""
    added = 0
    for entry in entries:
        if not entry.get("account") or accounts.user_named(session, entry["account"]):
            continue
        person = people.named(session, name=entry["name"])
        assert person is not None
        user = accounts.create_user(
            session,
            username=entry["account"],
            password=None,
            role=Role.CONTRIBUTOR,
            actor=curator,
            person=person,
        )
        authored = session.exec(
            select(Review.project_id).where(Review.author_id == person.id).distinct()
        ).all()
        for project_id in authored:
            accounts.add_member(session, project_id=project_id, user=user, actor=curator)
        added += 1
    session.flush()
    return added


def load_merges(session: Session, merges: list[dict[str, Any]], *, curator: str) -> int:
    """Merge the bank's duplicates (named by title) into their canonical lessons through the
    curators' merge service; merges already made are skipped. Returns how many were made."""
    made = 0
    for entry in merges:
        canonical = _by_title(session, entry["canonical"])
        duplicates = [_by_title(session, title) for title in entry["duplicates"]]
        if any(d.status == LessonStatus.MERGED for d in duplicates):
            continue
        merging.merge(
            session,
            canonical=canonical,
            duplicates=duplicates,
            actor=curator,
            reason=entry.get("reason", ""),
            keep_text=entry.get("keep_text", "canonical"),
        )
        made += 1
    return made


def _by_title(session: Session, title: str) -> Lesson:
    return session.exec(select(Lesson).where(Lesson.title == title)).one()


def load_taxonomy(session: Session, schemes: list[dict[str, Any]], *, curator: str) -> int:
    """Add the bank's tag schemes (skipping known keys) through the curators' own service:
    each term adopts the free tag of its name, so a unit scheme retags its lessons with the
    scheme's prefix. Returns the number of schemes added."""
    added = 0
    for entry in schemes:
        if find_scheme(session, key=entry["key"]) is not None:
            continue
        scheme = create_scheme(
            session,
            key=entry["key"],
            name=entry["name"],
            unit=entry.get("unit", ""),
            description=entry.get("description", ""),
            actor=curator,
        )
        assert scheme.id is not None
        _load_terms(session, scheme.id, entry.get("terms", []), None, curator)
        added += 1
    session.flush()
    return added


def _load_terms(
    session: Session,
    scheme_id: int,
    terms: list[dict[str, Any]],
    parent_id: int | None,
    curator: str,
) -> None:
    for entry in terms:
        term = adopt_tag(
            session, tag=entry["name"], scheme_id=scheme_id, parent_id=parent_id, actor=curator
        ).term
        term.description = entry.get("description", "")
        session.add(term)
        _load_terms(session, scheme_id, entry.get("narrower", []), term.id, curator)


def _load_review(
    session: Session, review: dict[str, Any], ref: dict[str, Any], curator: str
) -> int:
    lessons = review.get("lessons", [])
    actions = review.get("actions", [])
    payload = parse(
        ReviewIn,
        {
            "kind": review["kind"],
            "project": ref,
            "held_on": review.get("held_on"),
            "author": review.get("author"),
            "answers": review.get("answers", {}),
            "lessons": [{k: v for k, v in le.items() if k not in _NOT_INPUT} for le in lessons],
            "actions": [
                {k: a[k] for k in ("what", "owner", "due", "lesson_index") if k in a}
                for a in actions
            ],
        },
        _GENEROUS,
    )
    saved = capture.log_review(session, payload=payload)
    by_order = sorted(saved.lessons, key=lambda le: le.id or 0)
    for lesson, entry in zip(by_order, lessons, strict=True):
        _walk_lifecycle(session, lesson, entry, curator)
    saved_actions = session.exec(
        select(Action).where(Action.review_id == saved.id).order_by(Action.id)  # type: ignore[arg-type]
    ).all()
    for action, entry in zip(saved_actions, actions, strict=True):
        status = ActionStatus(entry.get("status", ActionStatus.OPEN))
        if status != ActionStatus.OPEN:
            action.status = status
            action.closure_evidence = entry.get("closure_evidence", "")
            action.closed_at = utcnow()
            session.add(action)
    return len(lessons)


def _walk_lifecycle(session: Session, lesson: Lesson, entry: dict[str, Any], curator: str) -> None:
    """Take a seeded lesson to its recorded status the way a curator would: a learned lesson
    carries the evidence of what changed and its link."""
    for step in _PATH[LessonStatus(entry.get("status", LessonStatus.IDENTIFIED))]:
        reason = "seeded from the demo bank" if step != LessonStatus.LEARNED else ""
        lifecycle.transition(
            session,
            lesson=lesson,
            to=step,
            actor=curator,
            reason=reason,
            evidence=entry.get("learned_evidence", ""),
            link=entry.get("learned_link", ""),
        )
    # The bank's own review date wins over the one validation sets, so the curation queue has
    # lessons past review to show.
    if entry.get("review_due") and lesson.status != LessonStatus.IDENTIFIED:
        lesson.review_due = date.fromisoformat(entry["review_due"])
        session.add(lesson)


def has_projects(session: Session) -> bool:
    return session.exec(select(Project.id).limit(1)).first() is not None


# --- the learning loop: dated lifecycle steps and actions, and before action reviews ---------


def load_learning_loop(session: Session, bank: dict[str, Any], *, curator: str) -> int:
    """Date the bank's lifecycle steps and actions as they would have happened, and add its
    before action reviews (decided, some with outcomes) through the BAR services, so the
    metrics have history to show. Skips BARs already loaded; returns how many were added."""
    loop = bank.get("learning_loop")
    if not loop:
        return 0
    today = utcnow()
    for project in bank.get("projects", []):
        for review in project.get("reviews", []):
            _date_review(session, project["name"], review, loop, curator, today)
    added = sum(_load_bar(session, entry, today) for entry in loop.get("bars", []))
    session.flush()
    return added


def _pick(key: str, bounds: list[int]) -> int:
    """A stable pick in [low, high] for `key`: the same bank always gets the same dates."""
    low, high = bounds
    digest = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=4).digest(), "little")
    return low + digest % (high - low + 1)


def _titled(session: Session, title: str) -> Lesson:
    return session.exec(select(Lesson).where(Lesson.title == title)).one()


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 10, 0, tzinfo=UTC)


def _date_review(
    session: Session,
    project_name: str,
    review: dict[str, Any],
    loop: dict[str, Any],
    curator: str,
    today: datetime,
) -> None:
    if not review.get("held_on"):
        return
    held = _at(date.fromisoformat(review["held_on"]))
    saved = session.exec(
        select(Review)
        .join(Project, col(Project.id) == col(Review.project_id))
        .where(
            Project.name == project_name,
            Review.held_on == held.date(),
            Review.kind == review["kind"],
        )
    ).first()
    if saved is None:
        return
    days_after: dict[str, list[int]] = loop.get("days_after", {})
    for lesson in session.exec(select(Lesson).where(Lesson.review_id == saved.id)):
        at = held
        for event in lifecycle.history(session, lesson_id=lesson.id or 0):
            if event.from_status is not None and event.actor != curator:
                break  # a step someone took later, not the bank's own
            if event.from_status is not None:
                bounds = days_after.get(event.to_status, [1, 30])
                at += timedelta(days=_pick(f"{lesson.title}:{event.to_status}", bounds))
            event.at = min(at, today)
            session.add(event)
    around = loop.get("action_closed_around_due", [0, 0])
    for action in session.exec(select(Action).where(Action.review_id == saved.id)):
        action.created_at = held
        if action.status != ActionStatus.OPEN:
            due = _at(action.due) if action.due else held + timedelta(days=60)
            closed = due + timedelta(days=_pick(f"{action.what}:closed", around))
            action.closed_at = min(max(closed, held + timedelta(days=1)), today)
        session.add(action)


def _load_bar(session: Session, entry: dict[str, Any], today: datetime) -> int:
    if session.exec(
        select(BeforeActionReview).where(BeforeActionReview.uid == entry["uid"])
    ).first():
        return 0
    lessons = [_titled(session, item["title"]) for item in entry["lessons"]]
    payload = parse(
        BarIn,
        {"brief": entry["brief"], "project": entry.get("project"), "run_by": entry["run_by"]},
        _GENEROUS,
    )
    surfaced = [
        bars.Surfaced(lesson_id=lesson.id or 0, score=round(3 / (10 + rank), 5))
        for rank, lesson in enumerate(lessons, start=1)
    ]
    bar = bars.record(session, payload=payload, surfaced=surfaced, model="demo bank")
    on = _at(date.fromisoformat(entry["on"]))
    bar.uid, bar.created_at = entry["uid"], on
    runner = Viewer(
        name=entry["run_by"], sensitivities=frozenset(Sensitivity), is_curator=True, role="curator"
    )
    decisions = [
        DecisionIn(lesson_id=lesson.id or 0, decision=item["decision"], note=item.get("note", ""))
        for lesson, item in zip(lessons, entry["lessons"], strict=True)
    ]
    bars.decide(session, bar=bar, decisions=decisions, viewer=runner)
    outcomes = [
        OutcomeIn(lesson_id=lesson.id or 0, outcome=item["outcome"])
        for lesson, item in zip(lessons, entry["lessons"], strict=True)
        if item.get("outcome")
    ]
    if outcomes:
        bars.record_outcomes(session, bar=bar, outcomes=outcomes, viewer=runner)
    by_lesson = {item.lesson_id: item for item in bar.bar_items}
    for lesson, item in zip(lessons, entry["lessons"], strict=True):
        saved = by_lesson[lesson.id]
        saved.decided_at = min(on + timedelta(days=1), today)
        if item.get("outcome_on"):
            saved.outcome_at = min(_at(date.fromisoformat(item["outcome_on"])), today)
        session.add(saved)
    session.add(bar)
    return 1
