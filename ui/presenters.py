"""Records as plain dicts for the JSON API and the templates alike (one shape, two outputs)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from lessons import catalogue
from lessons.access import Viewer
from lessons.models import Action, BarItem, BeforeActionReview, Lesson, Person, Review
from retrieval.explain import Explanation, explain
from retrieval.fusion import Fused, FusionParams


def person_ref(person: Person | None) -> dict[str, Any] | None:
    if person is None:
        return None
    return {"id": person.id, "name": person.name, "unit": person.unit, "role": person.role}


def lesson_json(lesson: Lesson) -> dict[str, Any]:
    return {
        "id": lesson.id,
        "external_id": lesson.external_id,
        "title": lesson.title,
        "observation": lesson.observation,
        "insight": lesson.insight,
        "recommendation": lesson.recommendation,
        "polarity": lesson.polarity,
        "perspective": lesson.perspective,
        "status": lesson.status,
        "sensitivity": lesson.sensitivity,
        "tags": lesson.tags,
        "review_due": lesson.review_due.isoformat() if lesson.review_due else None,
        "project": {"id": lesson.project.id, "name": lesson.project.name}
        if lesson.project
        else None,
        "review_id": lesson.review_id,
        "author": person_ref(lesson.author),
        "source_url": lesson.source_url,
        "created_at": lesson.created_at.isoformat(),
        "updated_at": lesson.updated_at.isoformat(),
    }


def action_json(action: Action, today: date | None = None) -> dict[str, Any]:
    today = today or catalogue.today()
    return {
        "id": action.id,
        "what": action.what,
        "owner": person_ref(action.owner),
        "due": action.due.isoformat() if action.due else None,
        "status": action.status,
        "overdue": action.is_overdue(today),
        "closure_evidence": action.closure_evidence,
        "lesson_id": action.lesson_id,
        "project_id": action.project_id,
        "review_id": action.review_id,
    }


def review_json(
    review: Review, lessons: Sequence[Lesson], actions: Sequence[Action]
) -> dict[str, Any]:
    return {
        "id": review.id,
        "kind": review.kind,
        "question_set_version": review.question_set_version,
        "project": {"id": review.project.id, "name": review.project.name},
        "held_on": review.held_on.isoformat() if review.held_on else None,
        "author": person_ref(review.author),  # whose words
        "recorded_by": review.recorded_by.username if review.recorded_by else None,
        "answers": review.answers,
        "lessons": [lesson_json(lesson) for lesson in lessons],
        "actions": [action_json(action) for action in actions],
        "created_at": review.created_at.isoformat(),
    }


def lesson_people(lesson: Lesson, actions: Sequence[Action]) -> list[dict[str, Any]]:
    """People to talk to about a lesson: who wrote it and who owns its open actions."""
    found: dict[int, dict[str, Any]] = {}
    for person, why in [(lesson.author, "wrote it")] + [
        (a.owner, "owns an action") for a in actions
    ]:
        if person is not None and person.id is not None and person.id not in found:
            found[person.id] = {**(person_ref(person) or {}), "why": why}
    return list(found.values())


def why_json(why: Explanation, score: float, parts: Fused | BarItem | None) -> dict[str, Any]:
    """Why a lesson matched: shared terms, the best sentence (also as highlight pieces), and,
    when the ranking just ran, each ranker's score and rank and the near-copies folded in."""
    out: dict[str, Any] = {
        "matched_terms": why.matched_terms,
        "best_sentence": why.best_sentence,
        "highlighted": [[text, hit] for text, hit in why.highlighted],
        "fused": round(score, 5),
    }
    if isinstance(parts, BarItem):
        parts = Fused(
            lesson_id=parts.lesson_id or 0,
            fused=parts.score,
            dense=parts.dense_score,
            dense_rank=parts.dense_rank,
            lexical=parts.lexical_score,
            lexical_rank=parts.lexical_rank,
            hidden_copies=list(parts.near_copies),
        )
    if parts is not None:
        out.update(
            dense=None if parts.dense is None else round(parts.dense, 4),
            dense_rank=parts.dense_rank,
            lexical=None if parts.lexical is None else round(parts.lexical, 4),
            lexical_rank=parts.lexical_rank,
            near_copies=parts.hidden_copies,
        )
    return out


def _visible_copies(session: Session, items: Sequence[BarItem], viewer: Viewer | None) -> set[int]:
    """The near-copies folded into `items` that `viewer` may see (none without a viewer)."""
    ids = {c for item in items for c in item.near_copies}
    if not ids or viewer is None:
        return set()
    lessons = session.exec(select(Lesson).where(col(Lesson.id).in_(sorted(ids)))).all()
    return {lesson.id for lesson in lessons if lesson.id is not None and viewer.can_see(lesson)}


def _ranks_among(
    items: Sequence[BarItem], rank_of: Callable[[BarItem], int | None]
) -> list[int | None]:
    """Each item's rank by one ranker, counted among `items` alone."""
    ranked = sorted(
        (rank, i) for i, item in enumerate(items) if (rank := rank_of(item)) is not None
    )
    among: list[int | None] = [None] * len(items)
    for new_rank, (_, i) in enumerate(ranked, start=1):
        among[i] = new_rank
    return among


def _as_shown(items: Sequence[BarItem], copies: set[int]) -> list[Fused]:
    """The ranking of `items` as fused among them alone: the ranks and scores stored with a
    BAR count every lesson its runner could see, and would tell a viewer who sees fewer how
    many hidden lessons ranked above. For the runner (who sees every item) ranks differ from
    the stored ones only where lessons that did not make the list ranked higher."""
    params = FusionParams()
    dense = _ranks_among(items, lambda item: item.dense_rank)
    lexical = _ranks_among(items, lambda item: item.lexical_rank)
    shown = []
    for item, dense_rank, lexical_rank in zip(items, dense, lexical, strict=True):
        fused = 0.0
        if dense_rank is not None:
            fused += params.dense_weight / (params.rrf_k + dense_rank)
        if lexical_rank is not None:
            fused += params.lexical_weight / (params.rrf_k + lexical_rank)
        shown.append(
            Fused(
                lesson_id=item.lesson_id or 0,
                # A BAR recorded before the rankers' parts were kept has only its score.
                fused=fused if dense_rank is not None or lexical_rank is not None else item.score,
                dense=item.dense_score,
                dense_rank=dense_rank,
                lexical=item.lexical_score,
                lexical_rank=lexical_rank,
                hidden_copies=[c for c in item.near_copies if c in copies],
            )
        )
    return shown


def bar_json(
    session: Session,
    bar: BeforeActionReview,
    items: Sequence[BarItem],
    *,
    viewer: Viewer | None = None,
) -> dict[str, Any]:
    """A BAR with its visible surfaced lessons, why each matched, open actions and people.

    `items` are the ones `viewer` may see (`bars.visible_items`). Someone with more access may
    have run the BAR, so ranks and scores are those among these items, and a near-copy is
    listed only if `viewer` may see it: no id, gap or score tells of a hidden lesson."""
    shown = _as_shown(items, _visible_copies(session, items, viewer))
    lesson_ids = [item.lesson_id for item in items if item.lesson_id is not None]
    actions = catalogue.open_actions(session, lesson_ids=lesson_ids)
    today = catalogue.today()
    results = []
    everyone: Counter[int] = Counter()
    people_by_id: dict[int, dict[str, Any]] = {}
    for rank, (item, ranking) in enumerate(zip(items, shown, strict=True), start=1):
        lesson = item.lesson
        assert lesson is not None  # visible_items keeps only items whose lesson may be seen
        why = explain(lesson, bar.brief)
        open_actions = actions.get(lesson.id or 0, [])
        people = lesson_people(lesson, open_actions)
        for person in people:
            everyone[person["id"]] += 1
            people_by_id[person["id"]] = person
        results.append(
            {
                "lesson_id": lesson.id,
                "rank": rank,
                "title": lesson.title,
                "score": round(ranking.fused, 5),
                "snippet": why.best_sentence,
                "why": why_json(why, ranking.fused, ranking),
                "status": lesson.status,
                "polarity": lesson.polarity,
                "tags": lesson.tags,
                "project": {"id": lesson.project.id, "name": lesson.project.name}
                if lesson.project
                else None,
                "people": people,
                "open_actions": [action_json(a, today) for a in open_actions],
                "decision": item.decision,
                "note": item.note,
            }
        )
    return {
        "id": bar.id,
        "brief": bar.brief,
        "project": {"id": bar.project.id, "name": bar.project.name} if bar.project else None,
        "run_by": bar.run_by,
        "model": bar.model,
        "filters": bar.filters,
        "created_at": bar.created_at.isoformat(),
        "results": results,
        "people": [
            {**people_by_id[pid], "lessons": count} for pid, count in everyone.most_common()
        ],
    }
