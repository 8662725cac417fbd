"""Before action reviews: the brief, the lessons surfaced for it, and what the team decided."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlmodel import Session, col, select

from lessons.accounts import audit
from lessons.accounts.access import Viewer, bar_clause
from lessons.capture import projects
from lessons.errors import Forbidden, NotFound, ValidationFailed
from lessons.schemas import BarIn, DecisionIn, OutcomeIn
from lessons.storage.models import BarItem, BeforeActionReview, Decision, Sensitivity, utcnow


@dataclass(frozen=True)
class Surfaced:
    """A lesson as ranked for a brief, before it is recorded."""

    lesson_id: int
    score: float
    dense_score: float | None = None
    dense_rank: int | None = None
    lexical_score: float | None = None
    lexical_rank: int | None = None
    near_copies: tuple[int, ...] = ()
    passage_score: float | None = None
    match: str | None = None
    best_sentence: str | None = None
    passage_cosines: tuple[float, ...] | None = None


def record(
    session: Session,
    *,
    payload: BarIn,
    surfaced: Sequence[Surfaced],
    model: str,
    run_by_user_id: int | None = None,
    viewer: Viewer | None = None,
    feedback: dict[str, Any] | None = None,
) -> BeforeActionReview:
    """Save a BAR with the lessons it surfaced, each with the rank and score it had then, and
    the user who ran it (with the project's members and curators, its only readers);
    `feedback`: what the ranking kept of its feedback (`retrieval.feedback.record`)."""
    project = (
        projects.resolve(session, ref=payload.project, viewer=viewer) if payload.project else None
    )
    bar = BeforeActionReview(
        brief=payload.brief,
        project_id=project.id if project else None,
        run_by=payload.run_by,
        run_by_user_id=run_by_user_id,
        model=model,
        filters=payload.filters.model_dump(mode="json", exclude_none=True)
        if payload.filters
        else {},
        feedback=feedback,
    )
    session.add(bar)
    session.flush()
    assert bar.id is not None
    for rank, hit in enumerate(surfaced, start=1):
        session.add(
            BarItem(
                bar_id=bar.id,
                lesson_id=hit.lesson_id,
                rank=rank,
                score=hit.score,
                dense_score=hit.dense_score,
                dense_rank=hit.dense_rank,
                lexical_score=hit.lexical_score,
                lexical_rank=hit.lexical_rank,
                near_copies=list(hit.near_copies),
                passage_score=hit.passage_score,
                match=hit.match,
                best_sentence=hit.best_sentence,
                passage_cosines=list(hit.passage_cosines)
                if hit.passage_cosines is not None
                else None,
            )
        )
    session.flush()
    session.refresh(bar)
    return bar


def get(session: Session, *, bar_id: int, viewer: Viewer) -> BeforeActionReview:
    """One BAR the viewer may use (`Viewer.can_use_bar`: its runner, the project's members,
    curators), or NotFound: anyone else learns nothing of it, not even that it exists."""
    bar = session.get(BeforeActionReview, bar_id)
    if bar is None or not viewer.can_use_bar(bar):
        raise NotFound(f"No before action review with id {bar_id}.")
    return bar


def ranking_viewer(session: Session, *, runner: Viewer, payload: BarIn) -> Viewer:
    """Whom a BAR's ranking is made for. A BAR for a project is read by its members too, so
    it ranks only what every reader may see (the runner's view, narrowed to the project's own
    restricted lessons): a member never finds fewer results than were ranked, which would
    count the hidden ones. A BAR for no project is read by its runner (and curators) alone."""
    if payload.project is None:
        return runner
    project = projects.find(session, ref=payload.project, viewer=runner)
    project_id = project.id if project is not None else None
    return replace(
        runner,
        sensitivities=runner.sensitivities & {Sensitivity.PUBLIC, Sensitivity.INTERNAL},
        is_curator=False,
        project_ids=frozenset({project_id})
        if project_id is not None and (runner.is_curator or project_id in runner.project_ids)
        else frozenset(),
    )


def visible_items(bar: BeforeActionReview, viewer: Viewer) -> list[BarItem]:
    """The BAR's surfaced lessons the viewer may see (a lesson's access can change later)."""
    return [
        item for item in bar.bar_items if item.lesson is not None and viewer.can_see(item.lesson)
    ]


def _surfaced(
    bar: BeforeActionReview, viewer: Viewer, named: Sequence[int], field: str
) -> dict[int | None, BarItem]:
    """The BAR's items the viewer may see, by lesson id. Naming any other lesson is refused,
    a hidden one exactly as one the BAR never surfaced, so the answer tells nothing."""
    items = {item.lesson_id: item for item in visible_items(bar, viewer)}
    unknown = {
        f"{field}.{i}.lesson_id": "this lesson was not surfaced by this review"
        for i, lesson_id in enumerate(named)
        if lesson_id not in items
    }
    if unknown:
        what = field.capitalize()
        raise ValidationFailed(f"{what} name lessons this review did not surface.", unknown)
    return items


def decide(
    session: Session, *, bar: BeforeActionReview, decisions: Sequence[DecisionIn], viewer: Viewer
) -> BeforeActionReview:
    """Record apply / not relevant / note for lessons the BAR surfaced."""
    items = _surfaced(bar, viewer, [d.lesson_id for d in decisions], "decisions")
    now = utcnow()
    before = {str(i.lesson_id): [i.decision, i.note] for i in items.values()}
    for decision in decisions:
        item = items[decision.lesson_id]
        item.decision = decision.decision
        item.note = decision.note
        item.decided_at = now
        session.add(item)
    session.flush()
    audit.record(
        session,
        actor=viewer.name,
        action="decide",
        entity=bar,
        before=before,
        after={str(i.lesson_id): [i.decision, i.note] for i in items.values()},
        actor_user_id=viewer.user_id,
    )
    return bar


def record_outcomes(
    session: Session, *, bar: BeforeActionReview, outcomes: Sequence[OutcomeIn], viewer: Viewer
) -> BeforeActionReview:
    """Record (or correct) what happened for lessons the team marked apply (audited). Only
    lessons the viewer may see can be named; a hidden one is refused as an unknown one is."""
    items = _surfaced(bar, viewer, [o.lesson_id for o in outcomes], "outcomes")
    problems = {
        f"outcomes.{i}.lesson_id": "mark the lesson apply before recording its outcome"
        for i, o in enumerate(outcomes)
        if items[o.lesson_id].decision != Decision.APPLY
    }
    if problems:
        raise ValidationFailed("Only a lesson the team applied has an outcome.", problems)
    now = utcnow()
    changed = [o for o in outcomes if items[o.lesson_id].outcome != o.outcome]
    before = {str(o.lesson_id): items[o.lesson_id].outcome for o in changed}
    for entry in changed:
        item = items[entry.lesson_id]
        item.outcome = entry.outcome
        item.outcome_at = now
        session.add(item)
    if changed:
        session.flush()
        audit.record(
            session,
            actor=viewer.name,
            action="outcome",
            entity=bar,
            before=before,
            after={str(o.lesson_id): o.outcome for o in changed},
            actor_user_id=viewer.user_id,
        )
    return bar


def list_bars(
    session: Session, *, viewer: Viewer, project_id: int | None = None
) -> list[BeforeActionReview]:
    """The BARs the viewer may use, newest first, optionally of one project."""
    query = (
        select(BeforeActionReview)
        .where(bar_clause(viewer))
        .order_by(col(BeforeActionReview.created_at).desc(), col(BeforeActionReview.id).desc())
    )
    if project_id is not None:
        query = query.where(BeforeActionReview.project_id == project_id)
    return list(session.exec(query))


def delete(session: Session, *, bar: BeforeActionReview, viewer: Viewer) -> None:
    """Delete a BAR run by mistake (a junk brief, a test): only its runner may, so nobody
    removes another team's due-diligence evidence. Its items go with it, so the metrics
    count it no more; the audit log keeps what it was."""
    if viewer.user_id is None or bar.run_by_user_id != viewer.user_id:
        raise Forbidden("Only the person who ran this before action review may delete it.")
    audit.record(
        session,
        actor=viewer.name,
        actor_user_id=viewer.user_id,
        action="delete",
        entity=bar,
        before={"brief": bar.brief, "project_id": bar.project_id, "run_by": bar.run_by},
    )
    session.delete(bar)
    session.flush()
