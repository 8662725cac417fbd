"""Undoing a merge (see `lessons.curation.merging`): the duplicate gets its status and actions
back, and the canonical lesson its text and tags, unless a curator changed them since (an
undo never throws away what someone wrote after the merge)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from lessons.accounts import audit
from lessons.curation import lifecycle
from lessons.curation.merging import TEXT_FIELDS, set_tags, text_of
from lessons.errors import InvalidTransition, NotFound
from lessons.storage.models import Action, AuditEvent, Lesson, LessonMerge, LessonStatus, utcnow

S = LessonStatus

# Audited steps that leave a lesson's wording and tags alone; anything else counts as an edit
# (when unsure, an undo keeps what a curator may have written).
_NOT_EDITS = ("transition", "merge", "unmerge", "confirm_review", "delete", "restore", "decide")


@dataclass(frozen=True)
class UndoResult:
    """What undoing a merge restored, and what it kept because it changed since."""

    merge: LessonMerge
    text_restored: bool
    tags_removed: list[str]
    actions_moved_back: list[int]
    notes: list[str] = field(default_factory=list)


def get_merge(session: Session, *, merge_id: int) -> LessonMerge:
    found = session.get(LessonMerge, merge_id)
    if found is None:
        raise NotFound(f"No merge with id {merge_id}.")
    return found


def unmerge(session: Session, *, merge_id: int, actor: str, reason: str = "") -> UndoResult:
    """Undo one merge: the duplicate gets its status back and stops pointing at the canonical
    lesson, its actions move back, and the canonical lesson's text and tags go back to what
    they were unless someone edited them since (then the edits stay, and the result says so)."""
    row, dup, canonical = _undoable(session, merge_id=merge_id)
    saved = row.canonical_before
    notes: list[str] = []
    before = {**text_of(canonical), "tags": canonical.tags}
    edited = _edited_since(session, lesson_id=canonical.id or 0, since=row.at)
    text_restored = _restore_text(canonical, saved, notes)
    if edited:
        notes.append("The canonical lesson was edited after the merge, so its tags were kept.")
        tags_removed: list[str] = []
    else:
        tags_removed = _remove_added_tags(session, canonical=canonical, dup=dup, saved=saved)
    moved_back = _move_actions_back(session, saved, canonical=canonical, dup=dup)
    _restore_duplicate(session, row, dup=dup, canonical=canonical, actor=actor, reason=reason)
    canonical.updated_at = utcnow()
    session.add_all([canonical, dup])
    result = UndoResult(row, text_restored, tags_removed, moved_back, notes)
    _close_merge(session, row, actor=actor, reason=reason, result=result)
    audit.record(
        session,
        actor=actor,
        action="unmerge",
        entity=canonical,
        before=before,
        after={
            **text_of(canonical),
            "tags": canonical.tags,
            "merge_id": row.id,
            "restored": dup.id,
            "reason": reason,
            "status": dup.status,
            "actions_moved_back": moved_back,
            "notes": notes,
        },
    )
    return result


def _undoable(session: Session, *, merge_id: int) -> tuple[LessonMerge, Lesson, Lesson]:
    """The merge with its duplicate and canonical lesson, if it still holds."""
    row = get_merge(session, merge_id=merge_id)
    if row.undone_at is not None:
        raise InvalidTransition(
            f"This merge was already undone ({row.undone_by}).", {"merge": "already undone"}
        )
    dup, canonical = session.get(Lesson, row.merged_id), session.get(Lesson, row.canonical_id)
    if dup is None or canonical is None:
        raise NotFound(f"No merge with id {merge_id}.")
    if dup.status != S.MERGED or dup.merged_into_id != canonical.id:
        raise InvalidTransition(
            f"Lesson #{dup.id} is no longer merged into #{canonical.id}.", {"merge": "stale"}
        )
    return row, dup, canonical


def _edited_since(session: Session, *, lesson_id: int, since: datetime) -> bool:
    """Whether someone changed the lesson's wording or tags after `since`."""
    row = session.exec(
        select(AuditEvent.id).where(
            AuditEvent.entity == "lesson",
            AuditEvent.entity_id == lesson_id,
            col(AuditEvent.action).not_in(_NOT_EDITS),
            col(AuditEvent.at) > since,
        )
    ).first()
    return row is not None


def _restore_text(canonical: Lesson, saved: dict[str, Any], notes: list[str]) -> bool:
    """Put back the canonical lesson's own text if the merge took another's and nobody
    rewrote it since; says whether it did."""
    if not saved.get("text_taken"):
        return False
    if text_of(canonical) != saved.get("text_after"):
        notes.append(
            "The canonical lesson's text changed after the merge, so it was kept as it is."
        )
        return False
    for name in TEXT_FIELDS:
        setattr(canonical, name, saved.get(name, getattr(canonical, name)))
    return True


def _remove_added_tags(
    session: Session, *, canonical: Lesson, dup: Lesson, saved: dict[str, Any]
) -> list[str]:
    """Take off the tags this duplicate brought, except those another lesson still merged
    into the canonical one also carries; returns the tags removed."""
    still = {
        t
        for other in session.exec(
            select(Lesson).where(Lesson.merged_into_id == canonical.id, Lesson.id != dup.id)
        )
        for t in other.tags
    }
    removed = [t for t in saved.get("tags_added", []) if t in canonical.tags and t not in still]
    set_tags(session, lesson=canonical, tags=[t for t in canonical.tags if t not in removed])
    return removed


def _move_actions_back(
    session: Session, saved: dict[str, Any], *, canonical: Lesson, dup: Lesson
) -> list[int]:
    """The actions the merge moved go back to the duplicate, unless one was moved on since."""
    moved_back = []
    for action_id in saved.get("moved_action_ids", []):
        action = session.get(Action, action_id)
        if action is not None and action.lesson_id == canonical.id:
            action.lesson_id = dup.id
            session.add(action)
            moved_back.append(action_id)
    return moved_back


def _restore_duplicate(
    session: Session, row: LessonMerge, *, dup: Lesson, canonical: Lesson, actor: str, reason: str
) -> None:
    dup.merged_into_id = None
    lifecycle.transition(
        session,
        lesson=dup,
        to=S(row.merged_status_before),
        actor=actor,
        reason=f"merge into #{canonical.id} undone" + (f": {reason}" if reason.strip() else ""),
        evidence=dup.learned_evidence,
        link=dup.learned_link or "",
        via_merge=True,
    )


def _close_merge(
    session: Session, row: LessonMerge, *, actor: str, reason: str, result: UndoResult
) -> None:
    """Mark the merge undone, keeping what the undo did beside what the merge saved."""
    row.undone_at, row.undone_by = utcnow(), actor[:200]
    row.canonical_before = {
        **row.canonical_before,
        "undo": {
            "reason": reason,
            "text_restored": result.text_restored,
            "tags_removed": result.tags_removed,
            "actions_moved_back": result.actions_moved_back,
            "notes": result.notes,
        },
    }
    session.add(row)
    session.flush()
