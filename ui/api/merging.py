"""JSON endpoints for near-duplicates and merges, and the merge fields of a lesson."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from lessons.accounts.access import Viewer
from lessons.catalogue import service as catalogue
from lessons.curation import merging
from lessons.schemas import MergeIn, UndoIn, parse
from lessons.storage.models import Lesson, LessonMerge
from retrieval import duplicates
from ui.shared.body import path_id, read_json_object
from ui.shared.merging import duplicate_cache, run_merge, run_unmerge, score_param
from ui.shared.params import int_param, paging
from ui.shared.presenters import lesson_brief, lesson_json, person_ref
from ui.shared.state import CURATORS, app_state, require, session_for, viewer_for


def merge_json(row: LessonMerge) -> dict[str, Any]:
    saved = row.canonical_before
    undo = saved.get("undo") or {}
    return {
        "id": row.id,
        "canonical_id": row.canonical_id,
        "merged_id": row.merged_id,
        "merged_status_before": row.merged_status_before,
        "reason": row.reason,
        "actor": row.actor,
        "at": row.at.isoformat(),
        "text_taken": bool(saved.get("text_taken")),
        "tags_added": saved.get("tags_added", []),
        "moved_action_ids": saved.get("moved_action_ids", []),
        "undone_at": row.undone_at.isoformat() if row.undone_at else None,
        "undone_by": row.undone_by or None,
        "undo_reason": undo.get("reason", ""),
        "undo_notes": undo.get("notes", []),
    }


def source_json(source: merging.Source) -> dict[str, Any]:
    """Where else a canonical lesson was identified: the merged lesson's own provenance."""
    lesson, review = source.lesson, source.lesson.review
    when = lesson.lesson_date or (review.held_on if review else None) or lesson.created_at.date()
    return {
        **lesson_brief(lesson),
        "status_before": source.merge.merged_status_before,
        "review": {"id": review.id, "kind": review.kind, "held_on": _iso(review.held_on)}
        if review
        else None,
        "author": person_ref(lesson.author),
        "date": when.isoformat(),
        "merge_id": source.merge.id,
        "merged_at": source.merge.at.isoformat(),
    }


def _iso(day: Any) -> str | None:
    return day.isoformat() if day else None


def merge_fields(session: Session, lesson: Lesson, viewer: Viewer) -> dict[str, Any]:
    """What a lesson's JSON says about merges: the canonical lesson it was merged into (when
    the viewer may read it), where else it was identified, and its merge history."""
    canonical = session.get(Lesson, lesson.merged_into_id) if lesson.merged_into_id else None
    return {
        "merged_into": lesson_brief(canonical)
        if canonical is not None and viewer.can_see(canonical)
        else None,
        "also_identified_in": [
            source_json(s) for s in merging.sources(session, canonical=lesson, viewer=viewer)
        ],
        "merges": [merge_json(r) for r in merging.history(session, lesson=lesson, viewer=viewer)],
    }


def api_redirect(lesson_id: int) -> Response:
    return RedirectResponse(f"/api/lessons/{lesson_id}", status_code=303)


async def lesson_duplicates(request: Request) -> Response:
    require(request)
    lesson_id = path_id(request)
    threshold = score_param(request)
    limit = int_param(request.query_params, "limit", 5, low=1, high=50)

    def work() -> dict[str, Any]:
        with session_for(request) as session:
            viewer = viewer_for(request)
            lesson = catalogue.get_lesson(session, lesson_id=lesson_id, viewer=viewer)
            found = duplicates.duplicates_of(
                session,
                retriever=app_state(request).retriever,
                cache=duplicate_cache(request),
                lesson=lesson,
                viewer=viewer,
                threshold=threshold,
                limit=limit,
            )
            return {
                "threshold": threshold,
                "results": [
                    {**lesson_brief(c.lesson), "score": c.score, "advice_score": c.advice}
                    for c in found
                ],
            }

    return JSONResponse(await run_in_threadpool(work))


async def curation_duplicates(request: Request) -> Response:
    require(request, *CURATORS)
    threshold = score_param(request)
    limit, offset = paging(request.query_params, default=50, most=500)
    new_only = request.query_params.get("awaiting_validation", "") in ("1", "true")

    def work() -> dict[str, Any]:
        with session_for(request) as session:
            pairs, total = duplicates.candidate_pairs(
                session,
                retriever=app_state(request).retriever,
                cache=duplicate_cache(request),
                viewer=viewer_for(request),
                threshold=threshold,
                limit=limit,
                offset=offset,
                awaiting_validation=new_only,
            )
            return {
                "threshold": threshold,
                "total": total,
                "results": [
                    {
                        "score": p.score,
                        "advice_score": p.advice,
                        "lessons": [lesson_brief(p.first), lesson_brief(p.second)],
                    }
                    for p in pairs
                ],
            }

    return JSONResponse(await run_in_threadpool(work))


def _canonical_json(request: Request, canonical_id: int) -> dict[str, Any]:
    with session_for(request, write=False) as session:
        viewer = viewer_for(request)
        lesson = catalogue.get_lesson(session, lesson_id=canonical_id, viewer=viewer)
        return {**lesson_json(lesson), **merge_fields(session, lesson, viewer)}


async def post_merge(request: Request) -> Response:
    require(request, *CURATORS)
    canonical_id = path_id(request)
    payload = parse(MergeIn, await read_json_object(request), app_state(request).limits)

    def work() -> dict[str, Any]:
        run_merge(request, canonical_id, payload)
        return _canonical_json(request, canonical_id)

    return JSONResponse(await run_in_threadpool(work))


async def post_undo(request: Request) -> Response:
    require(request, *CURATORS)
    merge_id = path_id(request)
    payload = parse(UndoIn, await read_json_object(request), app_state(request).limits)

    def work() -> dict[str, Any]:
        result = run_unmerge(request, merge_id, payload.reason)
        return {
            "merge": merge_json(result.merge),
            "text_restored": result.text_restored,
            "tags_removed": result.tags_removed,
            "actions_moved_back": result.actions_moved_back,
            "notes": result.notes,
            "canonical": _canonical_json(request, result.merge.canonical_id),
        }

    return JSONResponse(await run_in_threadpool(work))


routes = [
    Route("/api/lessons/{id:int}/duplicates", lesson_duplicates, methods=["GET"]),
    Route("/api/curation/duplicates", curation_duplicates, methods=["GET"]),
    Route("/api/lessons/{id:int}/merge", post_merge, methods=["POST"]),
    Route("/api/merges/{id:int}/undo", post_undo, methods=["POST"]),
]
