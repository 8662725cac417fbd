"""Shared by the API and the pages: running a BAR (`lessons.bar.reading.run`), after the checks
that refuse a request before the model is woken."""

from __future__ import annotations

from sqlmodel import Session
from starlette.requests import Request

from lessons.bar import reading
from lessons.errors import ValidationFailed
from lessons.schemas import BarIn
from retrieval.bar_ranking import BarRanking
from retrieval.explain import has_words
from ui.shared.state import app_state, throttle, viewer_for
from ui.shared.throttle import Costly


def run_bar(request: Request, payload: BarIn) -> reading.BarView:
    """Rank lessons for the brief, record the BAR, and return it as its runner is shown it."""
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
    return reading.run(
        state.engine,
        BarRanking(state.retriever),
        payload=payload,
        runner=viewer,
        limit=payload.limit or state.settings.bar_default_limit,
    )


def read_bar(request: Request, session: Session, bar_id: int) -> reading.BarView:
    """A stored BAR as the request's viewer is shown it, in the request's transaction."""
    return reading.read(
        session,
        BarRanking(app_state(request).retriever),
        bar_id=bar_id,
        viewer=viewer_for(request),
    )
