"""Records as plain dicts for the JSON API and the templates alike (one shape, two outputs)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from lessons.accounts.access import Viewer
from lessons.catalogue import service as catalogue
from lessons.responses import LessonBrief
from lessons.storage.models import Action, BarItem, BeforeActionReview, Lesson, Person, Review
from retrieval import feedback
from retrieval.explain import Explanation, explain
from retrieval.fusion import Fused, FusionParams


def person_ref(person: Person | None) -> dict[str, Any] | None:
    if person is None:
        return None
    return {
        "id": person.id,
        "name": person.name,
        "unit": person.unit,
        "role": person.role,
        "profile": f"/people#person-{person.id}",
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
            passage=parts.passage_score,
            match=parts.match,  # type: ignore[arg-type]
        )
    if parts is not None:
        out.update(
            dense=None if parts.dense is None else round(parts.dense, 4),
            dense_rank=parts.dense_rank,
            lexical=None if parts.lexical is None else round(parts.lexical, 4),
            lexical_rank=parts.lexical_rank,
            passage=None if parts.passage is None else round(parts.passage, 4),
            near_copies=parts.hidden_copies,
        )
    return out


def match_of(parts: Fused | None) -> str | None:
    """How strong a match the ranking judged a lesson: strong, related or weak."""
    return parts.match if parts is not None else None


NO_STRONG_MATCH = "No strong matches; the closest lessons are below."


def summary_json(matches: Sequence[str | None]) -> dict[str, Any]:
    """How many results are strong matches, and what to tell the reader when none is."""
    strong = sum(1 for m in matches if m == "strong")
    related = sum(1 for m in matches if m == "related")
    message = "" if strong or not matches else NO_STRONG_MATCH
    return {"strong": strong, "related": related, "message": message}


def _visible(session: Session, ids: set[int], viewer: Viewer | None) -> set[int]:
    """The lessons of `ids` that `viewer` may see (none without a viewer)."""
    if not ids or viewer is None:
        return set()
    lessons = session.exec(select(Lesson).where(col(Lesson.id).in_(sorted(ids)))).all()
    return {lesson.id for lesson in lessons if lesson.id is not None and viewer.can_see(lesson)}


def _visible_copies(session: Session, items: Sequence[BarItem], viewer: Viewer | None) -> set[int]:
    """The near-copies folded into `items` that `viewer` may see (none without a viewer)."""
    return _visible(session, {c for item in items for c in item.near_copies}, viewer)


def _as_read(
    session: Session, bar: BeforeActionReview, items: Sequence[BarItem], viewer: Viewer | None
) -> Mapping[int, Fused] | None:
    """The items' scores for this reader when the BAR's feedback came partly from lessons they
    may not see (`feedback.as_read`; None: the stored ones). Without a viewer, only the items
    shown count as seen."""
    pool = {int(row[0]) for row in (bar.feedback or {}).get("pool", [])}
    shown = {item.lesson_id for item in items}
    seen = _visible(session, pool - shown, viewer) | shown
    return feedback.as_read(session, bar, items, lambda lesson_id: lesson_id in seen)


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


def _as_shown(
    items: Sequence[BarItem], copies: set[int], rescored: Mapping[int, Fused] | None = None
) -> list[Fused]:
    """The ranking of `items` as fused among them alone: the ranks and scores stored with a
    BAR count every lesson its runner could see, and would tell a viewer who sees fewer how
    many hidden lessons ranked above. For the runner (who sees every item) ranks differ from
    the stored ones only where lessons that did not make the list ranked higher. `rescored`:
    the items' scores taken again for this reader (`_as_read`), where they differ."""
    params = FusionParams()
    dense = _ranks_among(items, lambda item: item.dense_rank)
    lexical = _ranks_among(items, lambda item: item.lexical_rank)
    shown = []
    for item, dense_rank, lexical_rank in zip(items, dense, lexical, strict=True):
        if item.match is not None:
            # Ranked on the absolute scale: a lesson's score is its own and that of the
            # feedback from lessons this reader may see, whoever else was seen.
            again = (rescored or {}).get(item.lesson_id or 0)
            shown.append(
                Fused(
                    lesson_id=item.lesson_id or 0,
                    fused=again.fused if again is not None else item.score,
                    dense=item.dense_score,
                    dense_rank=dense_rank,
                    lexical=item.lexical_score,
                    lexical_rank=lexical_rank,
                    hidden_copies=[c for c in item.near_copies if c in copies],
                    passage=item.passage_score,
                    match=again.match if again is not None else item.match,  # type: ignore[arg-type]
                )
            )
            continue
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


def people_by_relevance(
    results: Sequence[dict[str, Any]], people_of: dict[int, list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """People to talk to: whoever wrote, or owns an open action on, a strong or related result,
    ranked by the summed scores of those lessons (how relevant their lessons are, not how many
    they wrote), each with the lessons that put them there. Weak results name nobody."""
    found: dict[int, dict[str, Any]] = {}
    for result in results:
        if result["match"] == "weak":
            continue
        for person in people_of.get(result["id"], []):
            entry = found.setdefault(
                person["id"], {**person, "relevance": 0.0, "lessons": [], "why": []}
            )
            entry["relevance"] += result["score"]
            brief = {key: result[key] for key in LessonBrief.model_fields}
            entry["lessons"].append({**brief, "match": result["match"]})
            entry["why"].append(person["why"])
    ranked = sorted(found.values(), key=lambda p: (-p["relevance"], p["name"]))
    for entry in ranked:
        entry["relevance"] = round(entry["relevance"], 4)
        entry["why"] = sorted(set(entry["why"]))
    return ranked


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
    shown = _as_shown(
        items, _visible_copies(session, items, viewer), _as_read(session, bar, items, viewer)
    )
    lesson_ids = [item.lesson_id for item in items if item.lesson_id is not None]
    actions = catalogue.open_actions(session, lesson_ids=lesson_ids)
    today = catalogue.today()
    results = []
    people_of: dict[int, list[dict[str, Any]]] = {}
    # In the order of the score shown (a BAR ranked before scores were absolute is re-fused
    # among the visible items, which may reorder them).
    in_order = sorted(zip(items, shown, strict=True), key=lambda pair: -pair[1].fused)
    for rank, (item, ranking) in enumerate(in_order, start=1):
        lesson = item.lesson
        assert lesson is not None  # visible_items keeps only items whose lesson may be seen
        # The sentence closest in meaning was chosen when the BAR ran, and kept.
        why = explain(lesson, bar.brief, among=[item.best_sentence] if item.best_sentence else None)
        open_actions = actions.get(lesson.id or 0, [])
        people = lesson_people(lesson, open_actions)
        people_of[lesson.id or 0] = people
        results.append(
            {
                **lesson_brief(lesson),
                "lesson_id": lesson.id,
                "rank": rank,
                "score": round(ranking.fused, 5),
                # Legacy BARs (before bands) are relevant enough to have been shown.
                "match": ranking.match or "related",
                "snippet": why.best_sentence,
                "why": why_json(why, ranking.fused, ranking),
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
        "summary": summary_json([str(r["match"]) for r in results]),
        "people": people_by_relevance(results, people_of),
    }
