"""Possible duplicates and merges in the web UI: the curators' list of pairs, the merge form,
undoing a merge, and the merge parts of the lesson and review pages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from lessons.accounts.access import Viewer
from lessons.catalogue import service as catalogue
from lessons.curation import merging
from lessons.curation.merge_rules import suggest_canonical
from lessons.errors import DomainError, InvalidTransition, NotFound, ValidationFailed
from lessons.numbers import read_whole
from lessons.schemas import MergeIn, parse
from lessons.storage.models import Lesson
from retrieval import duplicates
from ui.pages.render import page
from ui.shared.body import path_id
from ui.shared.merging import duplicate_cache, run_merge, run_unmerge, score_param
from ui.shared.params import id_param, page_number
from ui.shared.state import CURATORS, app_state, require, session_for, viewer_for

PAGE_SIZE = 25
MAX_GROUP = 10  # lessons one merge form compares side by side
# Thresholds offered on the list (the pair list keeps nothing below the floor).
SCORE_CHOICES = (0.75, 0.80, duplicates.THRESHOLD, 0.90, 0.95)


# --- parts of other pages ------------------------------------------------------------------------


def redirect_for(request: Request, lesson_id: int) -> Response | None:
    """A merged lesson's page sends the reader to its canonical lesson (when they may read
    both), landing on the line that names the merged lesson."""
    with session_for(request) as session:
        # One query for any id (missing, hidden or merged alike); NotFound is the 404 page.
        target = merging.open_lesson(
            session, lesson_id=lesson_id, viewer=viewer_for(request), follow_visible=True
        )
    if not isinstance(target, int):
        return None
    # 303, not 301: a merge can be undone, and browsers keep a permanent redirect.
    return RedirectResponse(f"/lessons/{target}#merged-{lesson_id}", status_code=303)


def lesson_context(
    request: Request, session: Session, lesson: Lesson, viewer: Viewer
) -> dict[str, Any]:
    """The lesson page's merge parts: where else it was identified, its merge history (with
    the other lessons' titles), its possible duplicates, and what a merge or undo just did."""
    rows = merging.history(session, lesson=lesson, viewer=viewer)
    others = {
        other.id: other
        for row in rows
        for other in (session.get(Lesson, row.canonical_id), session.get(Lesson, row.merged_id))
        if other is not None
    }
    canonical = session.get(Lesson, lesson.merged_into_id) if lesson.merged_into_id else None
    possible = (
        duplicates.duplicates_of(
            session,
            retriever=app_state(request).retriever,
            cache=duplicate_cache(request),
            lesson=lesson,
            viewer=viewer,
        )
        if viewer.signed_in
        else []
    )
    undone_id = id_param(request.query_params, "undone")
    return {
        "also_identified_in": merging.sources(session, canonical=lesson, viewer=viewer),
        "merge_rows": rows,
        "merge_lessons": others,
        "merged_into": canonical if canonical is not None and viewer.can_see(canonical) else None,
        "possible_duplicates": possible,
        "merged_count": id_param(request.query_params, "merged"),
        "undone": next((r for r in rows if r.id == undone_id and r.undone_at), None),
    }


def review_duplicates(
    request: Request, session: Session, lessons: Sequence[Lesson], viewer: Viewer
) -> dict[int, list[duplicates.Candidate]]:
    """For each lesson of a review, the existing lessons it looks like (that the viewer may
    see), so the team and the curators spot a duplicate as it is logged."""
    return duplicates.duplicates_for_many(
        session,
        retriever=app_state(request).retriever,
        cache=duplicate_cache(request),
        lessons=lessons,
        viewer=viewer,
    )


# --- the list of pairs ---------------------------------------------------------------------------


def duplicate_list(request: Request) -> Response:
    require(request, *CURATORS)
    threshold = score_param(request)
    pageno = page_number(request.query_params)
    awaiting = request.query_params.get("awaiting_validation", "") == "1"

    with session_for(request) as session:
        viewer = viewer_for(request)
        pairs, total = duplicates.candidate_pairs(
            session,
            retriever=app_state(request).retriever,
            cache=duplicate_cache(request),
            viewer=viewer,
            threshold=threshold,
            limit=PAGE_SIZE,
            offset=(pageno - 1) * PAGE_SIZE,
            awaiting_validation=awaiting,
        )
        merged_id = id_param(request.query_params, "merged")
        merged = session.get(Lesson, merged_id) if merged_id else None
        return page(
            request,
            "duplicates.html",
            {
                "pairs": pairs,
                "total": total,
                "threshold": threshold,
                "choices": sorted({*SCORE_CHOICES, threshold}),
                "default_threshold": duplicates.THRESHOLD,
                "awaiting": awaiting,
                "page": pageno,
                "pages": max(1, -(-total // PAGE_SIZE)),
                "filters": _filters(threshold, awaiting),
                "merged": merged if merged is not None and viewer.can_see(merged) else None,
            },
        )


def _filters(threshold: float, awaiting: bool) -> dict[str, str]:
    shown = {"min_score": f"{threshold:g}"}
    return shown | ({"awaiting_validation": "1"} if awaiting else {})


# --- the merge form ------------------------------------------------------------------------------


def _ids(values: list[str]) -> list[int]:
    ids = []
    for raw in values:
        lesson_id = read_whole(raw, low=1)
        if lesson_id is None:
            raise ValidationFailed("Choose lessons by their ids.", {"lessons": "not an id"})
        if lesson_id not in ids:
            ids.append(lesson_id)
    if len(ids) < 2:
        raise ValidationFailed("Choose at least two lessons to compare.", {"lessons": "too few"})
    if len(ids) > MAX_GROUP:
        raise ValidationFailed(
            f"Compare at most {MAX_GROUP} lessons at a time.", {"lessons": "too many"}
        )
    return ids


def _group(session: Session, ids: list[int], viewer: Viewer) -> list[Lesson]:
    return [catalogue.get_lesson(session, lesson_id=i, viewer=viewer) for i in ids]


def _form_page(
    request: Request,
    ids: list[int],
    values: dict[str, str],
    *,
    errors: dict[str, str] | None = None,
    message: str = "",
    status: int = 200,
) -> Response:
    with session_for(request, write=False) as session:
        viewer = viewer_for(request)
        lessons = _group(session, ids, viewer)
        if not values.get("canonical"):
            values = {**values, "canonical": str(suggest_canonical(lessons).id)}
        if not values.get("keep_text"):
            values = {**values, "keep_text": values["canonical"]}
        return page(
            request,
            "merge.html",
            {
                "lessons": lessons,
                "values": values,
                "errors": errors or {},
                "message": message,
                "back": values.get("back", ""),
            },
            status=status,
        )


def merge_form(request: Request) -> Response:
    require(request, *CURATORS)
    ids = _ids(request.query_params.getlist("lessons"))
    return _form_page(request, ids, {})


def _merge_input(request: Request, form: FormData, ids: list[int]) -> tuple[int, MergeIn]:
    """The form's choice as (canonical id, MergeIn); field errors name the form's fields."""
    canonical = read_whole(form.get("canonical"), low=1)
    if canonical not in ids:
        raise ValidationFailed(
            "Choose which lesson to keep.", {"canonical": "choose one of the lessons"}
        )
    keep_raw = form.get("keep_text")
    keep_id = read_whole(keep_raw, low=1)
    keep: str | int
    if keep_raw == "combined":
        keep = "combined"
    elif keep_id in ids:
        keep = "canonical" if keep_id == canonical else keep_id
    else:
        raise ValidationFailed("Choose whose text to keep.", {"keep_text": "choose one"})
    payload = parse(
        MergeIn,
        {
            "duplicates": [i for i in ids if i != canonical],
            "keep_text": keep,
            "reason": str(form.get("reason") or ""),
        },
        app_state(request).limits,
    )
    return canonical, payload


async def merge_submit(request: Request) -> Response:
    require(request, *CURATORS)
    form = await request.form()
    ids = _ids([str(v) for v in form.getlist("lessons")])
    values = {
        name: str(form.get(name) or "")
        for name in ("canonical", "keep_text", "reason", "back", "min_score", "awaiting_validation")
    }

    def work() -> Response:
        try:
            canonical, payload = _merge_input(request, form, ids)
            run_merge(request, canonical, payload)
        except NotFound:
            raise
        except DomainError as exc:
            status = 409 if isinstance(exc, InvalidTransition) else 422
            return _form_page(
                request, ids, values, errors=exc.fields, message=exc.message, status=status
            )
        if values["back"] == "duplicates":
            query = {k: values[k] for k in ("min_score", "awaiting_validation") if values[k]} | {
                "merged": str(canonical)
            }
            return RedirectResponse(f"/curate/duplicates?{urlencode(query)}", status_code=303)
        count = len(payload.duplicates)
        return RedirectResponse(f"/lessons/{canonical}?merged={count}", status_code=303)

    response: Response = await run_in_threadpool(work)
    return response


async def undo_submit(request: Request) -> Response:
    require(request, *CURATORS)
    merge_id = path_id(request)
    result = await run_in_threadpool(run_unmerge, request, merge_id)
    canonical = result.merge.canonical_id
    return RedirectResponse(f"/lessons/{canonical}?undone={merge_id}#merges", status_code=303)


routes = [
    Route("/curate/duplicates", duplicate_list, methods=["GET"]),
    Route("/curate/merge", merge_form, methods=["GET"]),
    Route("/curate/merge", merge_submit, methods=["POST"]),
    Route("/merges/{id:int}/undo", undo_submit, methods=["POST"]),
]
