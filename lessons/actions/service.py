"""The action tracker: actions across projects with owner, due date, status and closure
evidence, and carrying a project's open actions into its next review or BAR.

Every read goes through `access.action_clause` (via `catalogue.list_actions` or `get_action`):
an action goes with its lesson, or with its review's story when it has no lesson, and one the
viewer may not see answers as one that does not exist. Seeing an action is not enough to
change it: its owner, the project's members and curators may (`Viewer.can_change_action`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session, col, select

from lessons.accounts import audit
from lessons.accounts.access import Viewer, action_clause
from lessons.capture import owners
from lessons.catalogue import service as catalogue
from lessons.errors import Forbidden, NotFound, ValidationFailed
from lessons.schemas import MAX_ID
from lessons.storage.models import (
    Action,
    ActionStatus,
    AuditEvent,
    BeforeActionReview,
    Review,
    utcnow,
)


class ActionChange(BaseModel):
    """A partial edit of an action (PATCH): only the fields given change. The owner is a
    person in the people directory, by `owner_id` or by `owner` (their exact name, ignoring
    case); an empty name or a null id clears the owner."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    status: ActionStatus | None = None
    closure_evidence: str | None = None
    owner: str | None = Field(
        default=None, description="The owner's name, exactly as in the people directory."
    )
    owner_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="The owner: a person's id in the directory."
    )
    due: date | None = None


Settlement = Literal["carry", "done", "dropped"]


class CarryDecision(BaseModel):
    """What a team decides about an open action from an earlier review: carry it into the new
    review (still open), close it as done (`note` is the evidence) or drop it (`note` says
    why)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    action_id: int = Field(ge=1, le=MAX_ID)
    decision: Settlement
    note: str = ""


_TRACKED = {
    "status",
    "closure_evidence",
    "owner_id",
    "owner_text",
    "due",
    "carried_to_review_id",
}


def _snapshot(action: Action) -> dict[str, Any]:
    return {
        **audit.snapshot(action, _TRACKED),
        "owner": action.owner.name if action.owner else None,
    }


def find_actions(
    session: Session,
    *,
    viewer: Viewer,
    owner_id: int | None = None,
    project_id: int | None = None,
    status: str | None = None,
    overdue: bool = False,
    today: date | None = None,
) -> list[Action]:
    """Actions the viewer may see, soonest due first, narrowed by owner, project, status and
    whether they are overdue (open and past their due date)."""
    today = today or catalogue.today()
    found = catalogue.list_actions(session, viewer=viewer, project_id=project_id, status=status)
    if owner_id is not None:
        found = [a for a in found if a.owner_id == owner_id]
    if overdue:
        found = [a for a in found if a.is_overdue(today)]
    return found


def get_action(session: Session, *, action_id: int, viewer: Viewer) -> Action:
    """One action the viewer may see; otherwise NotFound (never a hint that it exists)."""
    action = session.exec(
        select(Action).where(Action.id == action_id, action_clause(viewer))
    ).first()
    if action is None:
        raise NotFound(f"No action with id {action_id}.")
    return action


CHANGE_REFUSED = "Only the action's owner, the project's members and curators may change it."


def action_to_change(session: Session, *, action_id: int, viewer: Viewer) -> Action:
    """One action the viewer may change: NotFound when they may not see it, Forbidden when
    they see it but are not its owner, a member of its project or a curator."""
    action = get_action(session, action_id=action_id, viewer=viewer)
    if not viewer.can_change_action(action):
        raise Forbidden(CHANGE_REFUSED, {"action": "not yours to change"})
    return action


def _require_text(value: str | None, field: str, what: str) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationFailed(what, {field: "required"})
    return text


def update_action(
    session: Session,
    *,
    action: Action,
    change: ActionChange,
    actor: str,
    viewer: Viewer | None = None,
) -> Action:
    """Edit status, evidence, owner or due date (audited). Closing as done needs closure
    evidence, dropping needs a reason (kept in the same field), reopening keeps both. A new
    owner is chosen by `viewer` among the directory people they may see. Every problem is
    reported at once, before anything changes."""
    given = change.model_dump(exclude_unset=True)
    problems: dict[str, str] = {}
    messages: list[str] = []
    owner = None
    if "owner" in given or "owner_id" in given:
        if viewer is None:
            raise ValueError("choosing an owner needs the viewer who chooses")
        try:
            owner = owners.choose(
                session, viewer=viewer, owner_id=given.get("owner_id"), name=given.get("owner")
            )
        except ValidationFailed as exc:
            problems |= exc.fields
            messages.append(exc.message)
    evidence = given.get("closure_evidence", action.closure_evidence)
    status = given.get("status") or action.status
    try:
        evidence = _closing_evidence(action, status, evidence)
    except ValidationFailed as exc:
        problems |= exc.fields
        messages.append(exc.message)
    if problems:
        raise ValidationFailed(" ".join(messages), problems)
    before = _snapshot(action)
    if owner is not None:
        action.owner_id, action.owner_text = owner.person_id, owner.text
    if "due" in given:
        action.due = given["due"]
    action.closure_evidence = evidence or ""
    if status != action.status:
        action.status = status
        action.closed_at = None if status == ActionStatus.OPEN else utcnow()
    session.add(action)
    session.flush()
    session.refresh(action)
    audit.record(
        session, actor=actor, action="edit", entity=action, before=before, after=_snapshot(action)
    )
    return action


def _closing_evidence(action: Action, status: str, evidence: str | None) -> str | None:
    """The evidence a change of status needs: done needs closure evidence, dropped a reason."""
    if status == ActionStatus.DONE and status != action.status:
        return _require_text(
            evidence, "closure_evidence", "Say what shows the action is done (closure evidence)."
        )
    if status == ActionStatus.DROPPED and status != action.status:
        return _require_text(evidence, "closure_evidence", "Say why the action is dropped.")
    return evidence


def close_action(session: Session, *, action: Action, evidence: str, actor: str) -> Action:
    """Close an open action as done, with the evidence that it is."""
    _must_be_open(action)
    change = ActionChange(status=ActionStatus.DONE, closure_evidence=evidence)
    return update_action(session, action=action, change=change, actor=actor)


def drop_action(session: Session, *, action: Action, reason: str, actor: str) -> Action:
    """Drop an open action, saying why."""
    _must_be_open(action)
    change = ActionChange(status=ActionStatus.DROPPED, closure_evidence=reason)
    return update_action(session, action=action, change=change, actor=actor)


def _must_be_open(action: Action, field: str = "status") -> None:
    if action.status != ActionStatus.OPEN:
        raise ValidationFailed(
            f"The action is already {action.status}; reopen it first.", {field: "not open"}
        )


def carry_forward(
    session: Session,
    *,
    action: Action,
    review_id: int | None = None,
    bar_id: int | None = None,
    actor: str,
) -> Action:
    """Carry an open action into a later review of its project (it stays open, now tracked
    there) or into a BAR for that project (recorded in the audit log; it stays open)."""
    _must_be_open(action)
    if (review_id is None) == (bar_id is None):
        raise ValidationFailed(
            "Name the review (or the BAR) to carry the action into.",
            {"review_id": "give a review_id or a bar_id"},
        )
    before = _snapshot(action)
    if review_id is not None:
        review = session.get(Review, review_id)
        if review is None:
            raise NotFound(f"No review with id {review_id}.", {"review_id": "no such review"})
        if review.project_id != action.project_id:
            raise ValidationFailed(
                "An action is carried into a review of its own project.",
                {"review_id": "a review of another project"},
            )
        if review.id == action.review_id:
            raise ValidationFailed(
                "The action already belongs to that review.", {"review_id": "its own review"}
            )
        action.carried_to_review_id = review.id
        session.add(action)
        session.flush()
    else:
        bar = session.get(BeforeActionReview, bar_id)
        if bar is None:
            raise NotFound(f"No before action review with id {bar_id}.", {"bar_id": "no such BAR"})
        if bar.project_id != action.project_id:
            raise ValidationFailed(
                "An action is carried into a BAR for its own project.",
                {"bar_id": "a BAR for another project"},
            )
    audit.record(
        session,
        actor=actor,
        action="carry_forward",
        entity=action,
        before=before,
        after={**_snapshot(action), "review_id": review_id, "bar_id": bar_id},
    )
    return action


def earlier_open_actions(
    session: Session, *, project_id: int, viewer: Viewer, exclude_review_id: int | None = None
) -> list[Action]:
    """A project's open actions from its reviews other than `exclude_review_id` (the new
    one), soonest due first: what a team should settle when it starts again."""
    found = catalogue.list_actions(
        session, viewer=viewer, project_id=project_id, status=ActionStatus.OPEN
    )
    return [a for a in found if exclude_review_id is None or a.review_id != exclude_review_id]


def carried_into_bar(session: Session, *, bar_id: int, action_ids: Sequence[int]) -> set[int]:
    """Which of these actions a team carried into this BAR (the audit log keeps it)."""
    if not action_ids:
        return set()
    rows = session.exec(
        select(AuditEvent).where(
            AuditEvent.entity == "action",
            AuditEvent.action == "carry_forward",
            col(AuditEvent.entity_id).in_(list(action_ids)),
        )
    )
    return {
        row.entity_id
        for row in rows
        if row.entity_id is not None and (row.after or {}).get("bar_id") == bar_id
    }


def settle(
    session: Session,
    *,
    decisions: Sequence[CarryDecision],
    project_id: int,
    viewer: Viewer,
    actor: str,
    review_id: int | None = None,
    bar_id: int | None = None,
) -> list[Action]:
    """Apply the team's decisions on a project's open actions, all or none: every problem is
    reported against its form row (`carry.<i>.note`, ...) before anything changes."""
    eligible = {
        a.id: a
        for a in earlier_open_actions(
            session, project_id=project_id, viewer=viewer, exclude_review_id=review_id
        )
    }
    problems: dict[str, str] = {}
    for i, decision in enumerate(decisions):
        if decision.action_id not in eligible:
            problems[f"carry.{i}.decision"] = "not an open action of this project"
        elif not viewer.can_change_action(eligible[decision.action_id]):
            problems[f"carry.{i}.decision"] = CHANGE_REFUSED
        elif decision.decision == "done" and not decision.note:
            problems[f"carry.{i}.note"] = "say what shows it is done"
        elif decision.decision == "dropped" and not decision.note:
            problems[f"carry.{i}.note"] = "say why it is dropped"
    if problems:
        raise ValidationFailed("Some open actions could not be settled.", problems)
    settled = []
    for decision in decisions:
        action = eligible[decision.action_id]
        if decision.decision == "carry":
            carry_forward(session, action=action, review_id=review_id, bar_id=bar_id, actor=actor)
        elif decision.decision == "done":
            close_action(session, action=action, evidence=decision.note, actor=actor)
        else:
            drop_action(session, action=action, reason=decision.note, actor=actor)
        settled.append(action)
    return settled


def my_actions(session: Session, *, viewer: Viewer, today: date | None = None) -> list[Action]:
    """The viewer's own open actions (they own them as a directory person): overdue first,
    then by due date, undated last."""
    if viewer.person_id is None:
        return []
    today = today or catalogue.today()
    found = session.exec(
        select(Action)
        .where(
            action_clause(viewer),
            Action.owner_id == viewer.person_id,
            Action.status == ActionStatus.OPEN,
        )
        .order_by(col(Action.due).asc().nulls_last(), col(Action.id))
    )
    return list(found)
