"""Near-duplicates and merges as the API and the pages both run them: the app's pair cache,
the score threshold parameter, and a merge or undo as the signed-in curator."""

from __future__ import annotations

from starlette.requests import Request

from lessons.catalogue import service as catalogue
from lessons.curation import merging
from lessons.curation.unmerging import UndoResult, unmerge
from lessons.errors import NotFound, ValidationFailed
from lessons.schemas import MergeIn
from lessons.storage.models import Lesson
from retrieval import duplicates
from ui.shared.state import embed_committed, session_for, viewer_for


def duplicate_cache(request: Request) -> duplicates.DuplicateCache:
    """The app's pair list and advice vectors (made on first use, then kept up to date)."""
    cache: duplicates.DuplicateCache | None = getattr(request.app.state, "duplicates", None)
    if cache is None:
        cache = request.app.state.duplicates = duplicates.DuplicateCache()
    return cache


def score_param(request: Request, name: str = "min_score") -> float:
    """A threshold from the query string, between the floor the pair list keeps and 1."""
    raw = request.query_params.get(name, "")
    if not raw:
        return duplicates.THRESHOLD
    try:
        value = float(raw)
    except ValueError:
        raise ValidationFailed(f"{name} must be a number.", {name: "not a number"}) from None
    if not duplicates.FLOOR <= value <= 1:
        raise ValidationFailed(
            f"{name} must be between {duplicates.FLOOR} and 1.", {name: "out of range"}
        )
    return value


def run_merge(request: Request, canonical_id: int, payload: MergeIn) -> int:
    """Merge as the signed-in curator and re-embed the canonical lesson after the commit."""
    with session_for(request, write=True) as session:
        viewer = viewer_for(request)
        canonical = catalogue.get_lesson(session, lesson_id=canonical_id, viewer=viewer)
        found = []
        for lesson_id in payload.duplicates:
            lesson = session.get(Lesson, lesson_id)
            if lesson is None or not viewer.can_see(lesson):
                raise NotFound(
                    f"No lesson with id {lesson_id}.", {"duplicates": f"#{lesson_id} not found"}
                )
            found.append(lesson)
        merging.merge(
            session,
            canonical=canonical,
            duplicates=found,
            actor=viewer.name,
            reason=payload.reason,
            keep_text=payload.keep_text,
        )
    embed_committed(request, [canonical_id])
    return canonical_id


def run_unmerge(request: Request, merge_id: int, reason: str = "") -> UndoResult:
    with session_for(request, write=True) as session:
        viewer = viewer_for(request)
        result = unmerge(session, merge_id=merge_id, actor=viewer.name, reason=reason)
    embed_committed(request, [result.merge.canonical_id])
    return result
