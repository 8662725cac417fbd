"""Shared by the API and the pages: running a BAR."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from lessons.bar import service as bars
from lessons.bar.service import Surfaced
from lessons.errors import ValidationFailed
from lessons.schemas import BarIn
from retrieval.explain import has_words
from ui.shared.presenters import bar_json
from ui.shared.state import app_state, session_for, throttle, viewer_for
from ui.shared.throttle import Costly


def run_bar(request: Request, payload: BarIn) -> dict[str, Any]:
    """Rank lessons for the brief, record the BAR, and return it as the API shows it. The
    ranking (with the model) reads; only the recording takes the write lock."""
    state = app_state(request)
    if payload.limit is not None and payload.limit > state.settings.bar_max_limit:
        raise ValidationFailed(
            f"limit must be at most {state.settings.bar_max_limit}.", {"limit": "too large"}
        )
    if not has_words(payload.brief):
        raise ValidationFailed(
            "The brief has no words to search on: describe the work in a sentence or two.",
            {"brief": "no words to search on"},
        )
    throttle(request, Costly.BAR)  # the model ranks the whole bank: the costliest request
    viewer = viewer_for(request)
    if not payload.run_by:
        payload = payload.model_copy(update={"run_by": viewer.name})
    with session_for(request, write=False) as session:
        ranking = state.retriever.rank(
            session,
            payload.brief,
            viewer=bars.ranking_viewer(session, runner=viewer, payload=payload),
            filters=payload.filters,
            limit=payload.limit or state.settings.bar_default_limit,
        )
        surfaced = [
            Surfaced(
                lesson_id=h.lesson.id or 0,
                score=h.score,
                dense_score=h.components.dense,
                dense_rank=h.components.dense_rank,
                lexical_score=h.components.lexical,
                lexical_rank=h.components.lexical_rank,
                near_copies=tuple(h.components.hidden_copies),
                passage_score=h.components.passage,
                match=h.components.match,
                best_sentence=h.why.best_sentence,
                passage_cosines=tuple(h.components.passage_cosines)
                if h.components.passage_cosines is not None
                else None,
            )
            for h in ranking.hits
        ]
    with session_for(request, write=True) as session:
        bar = bars.record(
            session,
            payload=payload,
            surfaced=surfaced,
            model=state.retriever.model,
            run_by_user_id=viewer.user_id,
            viewer=viewer,
            feedback=ranking.feedback,
        )
        return bar_json(session, bar, bars.visible_items(bar, viewer), viewer=viewer)
