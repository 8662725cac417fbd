"""Records as plain dicts for the JSON API and the templates alike (one shape, two outputs)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlmodel import Session

from lessons import catalogue
from lessons.models import Action, BarItem, BeforeActionReview, Lesson, Person, Review
from retrieval.explain import Explanation, explain
from retrieval.fusion import Fused


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
        "author": person_ref(review.author),
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


def bar_json(
    session: Session,
    bar: BeforeActionReview,
    items: Sequence[BarItem],
) -> dict[str, Any]:
    """A BAR with its visible surfaced lessons, why each matched, open actions and people."""
    lesson_ids = [item.lesson_id for item in items if item.lesson_id is not None]
    actions = catalogue.open_actions(session, lesson_ids=lesson_ids)
    today = catalogue.today()
    results = []
    everyone: Counter[int] = Counter()
    people_by_id: dict[int, dict[str, Any]] = {}
    for item in items:
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
                "rank": item.rank,
                "title": lesson.title,
                "score": round(item.score, 5),
                "snippet": why.best_sentence,
                "why": why_json(why, item.score, item),
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
