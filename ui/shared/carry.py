"""Settling a project's open actions where a team starts again: the review form, the review
page and the BAR page share one section (`_carry_forward.html`) and these helpers."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from starlette.requests import Request

from lessons.accounts.access import Viewer
from lessons.actions import service as actions
from lessons.actions.service import CarryDecision
from lessons.catalogue import service as catalogue
from lessons.errors import ValidationFailed
from lessons.schemas import Limits, parse
from lessons.storage.models import Action
from ui.shared.forms import form_paths
from ui.shared.state import app_state, session_for, viewer_for


def carry_decisions(
    values: dict[str, Any], limits: Limits
) -> tuple[list[CarryDecision], dict[str, str]]:
    """The section's rows with a decision chosen, and how to name an error on the n-th
    decision by its form row (`carry.0` -> `carry.3`). A note is held to the length limit
    the API's close and drop hold their text to."""
    rows = values.get("carry")
    rows = rows if isinstance(rows, list) else []
    chosen: list[CarryDecision] = []
    back: dict[str, str] = {}
    problems: dict[str, str] = {}
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or not str(row.get("decision") or "").strip():
            continue
        try:
            typed = {k: row.get(k, "") for k in ("action_id", "decision", "note")}
            decision = parse(CarryDecision, typed, limits)
        except ValidationFailed as exc:
            if "note" in exc.fields:
                problems[f"carry.{i}.note"] = exc.fields["note"]
            else:
                problems[f"carry.{i}.decision"] = "choose carry forward, done or dropped"
            continue
        back[f"carry.{len(chosen)}"] = f"carry.{i}"
        chosen.append(decision)
    if problems:
        raise ValidationFailed("Some open actions could not be settled.", problems)
    return chosen, back


def settle(
    session: Session,
    viewer: Viewer,
    values: dict[str, Any],
    *,
    project_id: int,
    review_id: int | None = None,
    bar_id: int | None = None,
    required: bool = True,
    limits: Limits,
) -> int:
    """Apply the section's decisions in the caller's transaction; errors name form rows."""
    decisions, back = carry_decisions(values, limits)
    if not decisions:
        if required:
            raise ValidationFailed(
                "Choose what to do with at least one open action.", {"carry": "nothing chosen"}
            )
        return 0
    try:
        settled = actions.settle(
            session,
            decisions=decisions,
            project_id=project_id,
            viewer=viewer,
            actor=viewer.name,
            review_id=review_id,
            bar_id=bar_id,
        )
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, form_paths(exc.fields, back)) from None
    return len(settled)


def settle_in_own_transaction(
    request: Request,
    values: dict[str, Any],
    *,
    project_id: int,
    review_id: int | None = None,
    bar_id: int | None = None,
) -> int:
    """`settle` for a page that only settles actions (review page, BAR page)."""
    with session_for(request) as session:
        return settle(
            session,
            viewer_for(request),
            values,
            project_id=project_id,
            review_id=review_id,
            bar_id=bar_id,
            limits=app_state(request).limits,
        )


def carry_context(
    session: Session,
    *,
    viewer: Viewer,
    project_id: int | None,
    review_id: int | None = None,
    bar_id: int | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What `_carry_forward.html` shows: the project's open actions from earlier reviews,
    those this review or BAR already took on, and what was typed."""
    found: list[Action] = []
    if project_id is not None:
        found = actions.earlier_open_actions(
            session, project_id=project_id, viewer=viewer, exclude_review_id=review_id
        )
    for action in found:  # load what the section shows: it renders after the session ends
        _ = (action.owner, action.lesson, action.project)
    taken: set[int] = set()
    if review_id is not None:
        taken = {a.id for a in found if a.carried_to_review_id == review_id and a.id}
    elif bar_id is not None:
        taken = actions.carried_into_bar(
            session, bar_id=bar_id, action_ids=[a.id for a in found if a.id]
        )
    rows = (values or {}).get("carry")
    typed = {
        str(row.get("action_id")): row
        for row in (rows if isinstance(rows, list) else [])
        if isinstance(row, dict)
    }
    return {
        "actions": [a for a in found if a.id not in taken],
        "carried": [a for a in found if a.id in taken],
        "errors": errors or {},
        "typed": typed,
        "today": catalogue.today(),
    }
