"""Records as plain dicts for the JSON API and the templates alike (one shape, two outputs)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import date
from typing import Any

from lessons.bar.reading import BarView, Contact, Relevant, Result, Shown, Why, summarise
from lessons.catalogue import service as catalogue
from lessons.storage.models import Action, Lesson, PeerAssist, Person, Review
from retrieval.explain import Explanation
from retrieval.fusion import Fused


def person_ref(person: Person | None) -> dict[str, Any] | None:
    if person is None:
        return None
    return {
        "id": person.id,
        "name": person.name,
        "unit": person.unit,
        "role": person.role,
        "profile": f"/people/{person.id}",
    }


def project_name(lesson: Lesson) -> dict[str, Any] | None:
    return {"id": lesson.project.id, "name": lesson.project.name} if lesson.project else None


def lesson_brief(lesson: Lesson) -> dict[str, Any]:
    """The short form of a lesson, used inside lists and results (lessons.responses)."""
    return {
        "id": lesson.id,
        "title": lesson.title,
        "status": lesson.status,
        "sensitivity": lesson.sensitivity,
        "polarity": lesson.polarity,
        "tags": lesson.tags,
        "project": project_name(lesson),
    }


def lesson_json(lesson: Lesson) -> dict[str, Any]:
    """A lesson: its short form and the rest of its fields."""
    return {
        **lesson_brief(lesson),
        "external_id": lesson.external_id,
        "observation": lesson.observation,
        "insight": lesson.insight,
        "recommendation": lesson.recommendation,
        "perspective": lesson.perspective,
        "review_due": lesson.review_due.isoformat() if lesson.review_due else None,
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
        "owner_text": action.owner_text,
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


def contact_json(contact: Contact) -> dict[str, Any]:
    """Someone to talk to about a lesson, and why (`lessons.bar.reading.lesson_people`)."""
    return {**(person_ref(contact.person) or {}), "why": contact.why}


def _explained(why: Explanation | Why, score: float) -> dict[str, Any]:
    """The shared terms and the best sentence (also as highlight pieces), and the score."""
    return {
        "matched_terms": list(why.matched_terms),
        "best_sentence": why.best_sentence,
        "highlighted": [[text, hit] for text, hit in why.highlighted],
        "fused": round(score, 5),
    }


def _parts(parts: Fused | Shown, near_copies: Sequence[int]) -> dict[str, Any]:
    """Each ranker's score and rank, and the near-copies folded in."""
    return {
        "dense": None if parts.dense is None else round(parts.dense, 4),
        "dense_rank": parts.dense_rank,
        "lexical": None if parts.lexical is None else round(parts.lexical, 4),
        "lexical_rank": parts.lexical_rank,
        "passage": None if parts.passage is None else round(parts.passage, 4),
        "near_copies": list(near_copies),
    }


def why_json(why: Explanation, score: float, parts: Fused | None) -> dict[str, Any]:
    """Why a lesson matched and, when the ranking just ran, each ranker's figures."""
    out = _explained(why, score)
    if parts is not None:
        out.update(_parts(parts, parts.hidden_copies))
    return out


def match_of(parts: Fused | None) -> str | None:
    """How strong a match the ranking judged a lesson: strong, related or weak."""
    return parts.match if parts is not None else None


def summary_json(matches: Sequence[str | None]) -> dict[str, Any]:
    """How many results are strong matches, and what to tell the reader when none is."""
    return asdict(summarise(matches))


def shown_why_json(why: Why, shown: Shown) -> dict[str, Any]:
    """Why a BAR's result matched, with its figures as this reader is shown them."""
    return {**_explained(why, shown.score), **_parts(shown, shown.near_copies)}


def result_json(result: Result, today: date) -> dict[str, Any]:
    """One of a BAR's results."""
    return {
        **lesson_brief(result.lesson),
        "lesson_id": result.lesson.id,
        "rank": result.rank,
        "score": round(result.figures.score, 5),
        "match": result.figures.match,
        "snippet": result.why.best_sentence,
        "why": shown_why_json(result.why, result.figures),
        "people": [contact_json(c) for c in result.people],
        "open_actions": [action_json(a, today) for a in result.open_actions],
        "decision": result.decision,
        "note": result.note,
    }


def relevant_json(relevant: Relevant) -> dict[str, Any]:
    """A person to talk to about the BAR, with the results that name them."""
    return {
        **(person_ref(relevant.person) or {}),
        "why": list(relevant.why),
        "relevance": relevant.relevance,
        "lessons": [{**lesson_brief(r.lesson), "match": r.figures.match} for r in relevant.results],
    }


def bar_json(view: BarView, *, outcomes: bool = False) -> dict[str, Any]:
    """A BAR as its reader is shown it (`lessons.bar.reading`): its visible results, why each
    matched, open actions and people; `outcomes`: each result with its recorded outcome."""
    bar = view.bar
    today = catalogue.today()
    results = []
    for result in view.results:
        shown = result_json(result, today)
        if outcomes:
            shown["outcome"] = result.outcome
            shown["outcome_at"] = result.outcome_at.isoformat() if result.outcome_at else None
        results.append(shown)
    return {
        "id": bar.id,
        "brief": bar.brief,
        "project": {"id": bar.project.id, "name": bar.project.name} if bar.project else None,
        "run_by": bar.run_by,
        "model": bar.model,
        "filters": bar.filters,
        "created_at": bar.created_at.isoformat(),
        "results": results,
        "summary": asdict(view.summary),
        "people": [relevant_json(r) for r in view.people],
        "peer_assists": [assist_json(a) for a in view.assists],
    }


def assist_json(assist: PeerAssist) -> dict[str, Any]:
    """A peer-assist request on a BAR: whom, what to ask, by when, and what came of it."""
    return {
        "id": assist.id,
        "bar_id": assist.bar_id,
        "person": person_ref(assist.person),
        "ask": assist.ask,
        "ask_by": assist.ask_by.isoformat() if assist.ask_by else None,
        "requested_by": assist.requested_by.username if assist.requested_by else None,
        "created_at": assist.created_at.isoformat(),
        "outcome": assist.outcome,
        "outcome_at": assist.outcome_at.isoformat() if assist.outcome_at else None,
    }
