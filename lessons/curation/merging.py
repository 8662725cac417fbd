"""Merging near-duplicate lessons into one canonical lesson, and undoing a merge.

A merge keeps every source: each merged lesson keeps its own review, project and author and
points at its canonical lesson (status `merged`, `merged_into_id`), so the canonical lesson
can say where else it was identified and an old link still leads somewhere. The canonical
lesson may take a duplicate's text (or the texts combined), gains the duplicates' tags and
takes over their open actions (from duplicates with the same audience; see below). A
`LessonMerge` row per duplicate keeps what the canonical lesson was before, so the merge can be
undone.

Sensitivity: merging never shows anyone text they could not read before.
- The canonical lesson must be readable by everyone who could read each duplicate (its
  audience at least as wide), so a merged lesson's link never leads its readers to a page
  they may not see. Pick the widest-audience lesson as canonical; a restricted lesson of one
  project cannot absorb a lesson of another project.
- Nothing moves into the canonical lesson from a lesson with a narrower audience: not its
  text, not its tags, not its open actions (their wording, owners, project and review would be
  published with the canonical lesson). They stay with the merged lesson, which only its own
  readers follow. A curator who means to publish them edits by hand (a deliberate, audited
  edit).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import and_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from lessons.accounts import audit
from lessons.accounts.access import AUDIENCES, Viewer
from lessons.capture import service as capture
from lessons.curation import lifecycle
from lessons.errors import InvalidTransition, NotFound, ValidationFailed
from lessons.schemas import MAX_ID
from lessons.storage.models import (
    Action,
    ActionStatus,
    AuditEvent,
    Lesson,
    LessonMerge,
    LessonStatus,
    Sensitivity,
    utcnow,
)

S = LessonStatus
TEXT_FIELDS = ("title", "observation", "insight", "recommendation")
# A canonical lesson must be one a reader can rely on (or one about to be validated).
CANONICAL_STATUSES = (S.IDENTIFIED, S.VALIDATED, S.ACTIONED, S.LEARNED)
_AUDIENCE = {sensitivity: rank for rank, sensitivity in enumerate(AUDIENCES)}

KeepText = Literal["canonical", "combined"] | int
# In input, a duplicate's id must be a JSON number (not `true`, not "7").
_KeepTextIn = Literal["canonical", "combined"] | Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]


class MergeIn(BaseModel):
    """A merge asked for through the API or the merge form."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    duplicates: list[Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]] = Field(
        min_length=1, description="Ids of the lessons to merge into this (canonical) one."
    )
    keep_text: _KeepTextIn = Field(
        default="canonical",
        description="Whose text the canonical lesson keeps: `canonical` (its own), the id of "
        "one of the duplicates, or `combined` (its own, with each duplicate's different "
        "sections added under it).",
    )
    reason: str = Field(default="", description="Why these are the same lesson.")

    @field_validator("keep_text", mode="before")
    @classmethod
    def _one_of(cls, value: object) -> object:
        # One clear message instead of one per member of the union.
        if value in ("canonical", "combined"):
            return value
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID:
            return value
        raise ValueError("`canonical`, `combined` or the id of one of the duplicates")


class UndoIn(BaseModel):
    """Undoing a merge through the API: why (kept in the audit log and the lesson history)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(default="", description="Why the merge is undone.")


@dataclass(frozen=True)
class UndoResult:
    """What undoing a merge restored, and what it kept because it changed since."""

    merge: LessonMerge
    text_restored: bool
    tags_removed: list[str]
    actions_moved_back: list[int]
    notes: list[str] = field(default_factory=list)


def audience_covers(wider: Lesson, narrower: Lesson) -> bool:
    """Whether everyone who may read `narrower` may also read `wider`."""
    rank_w, rank_n = (
        _AUDIENCE[Sensitivity(wider.sensitivity)],
        _AUDIENCE[Sensitivity(narrower.sensitivity)],
    )
    if rank_w < rank_n:
        return True
    if rank_w > rank_n:
        return False
    # Same level: restricted lessons are read by their own project's members.
    return rank_w < 2 or wider.project_id == narrower.project_id


_STANDING = {S.LEARNED: 0, S.ACTIONED: 1, S.VALIDATED: 2, S.IDENTIFIED: 3}


def suggest_canonical(lessons: Sequence[Lesson]) -> Lesson:
    """The lesson to keep by default: the widest audience (so the merge is allowed), then the
    furthest along its lifecycle, then the oldest."""
    return min(
        lessons,
        key=lambda le: (
            _AUDIENCE[Sensitivity(le.sensitivity)],
            _STANDING.get(S(le.status), 9),
            le.id or 0,
        ),
    )


def _text(lesson: Lesson) -> dict[str, str]:
    return {name: getattr(lesson, name) for name in TEXT_FIELDS}


def _check(canonical: Lesson, duplicates: Sequence[Lesson], keep_text: KeepText) -> None:
    """Refuse merges that would lose a lesson, make a chain, or expose restricted text."""
    if canonical.id in {d.id for d in duplicates}:
        raise ValidationFailed(
            "A lesson cannot be merged into itself.", {"duplicates": "includes the canonical"}
        )
    if len({d.id for d in duplicates}) != len(duplicates):
        raise ValidationFailed("A lesson is listed twice.", {"duplicates": "listed twice"})
    if canonical.deleted_at is not None:
        raise InvalidTransition(
            "A deleted lesson cannot be the canonical lesson.", {"canonical": "deleted"}
        )
    if canonical.status == S.MERGED:
        raise InvalidTransition(
            f"Lesson #{canonical.id} is itself merged (into #{canonical.merged_into_id}): "
            "merge into that lesson instead.",
            {"canonical": "merged"},
        )
    if canonical.status not in CANONICAL_STATUSES:
        raise InvalidTransition(
            f"A {canonical.status} lesson cannot be the canonical lesson (reopen it first).",
            {"canonical": f"is {canonical.status}"},
        )
    for dup in duplicates:
        where = {"duplicates": f"#{dup.id}"}
        if dup.deleted_at is not None:
            raise InvalidTransition(f"Lesson #{dup.id} is deleted.", where)
        if dup.status == S.MERGED:
            raise InvalidTransition(
                f"Lesson #{dup.id} is already merged into #{dup.merged_into_id}.", where
            )
        if S.MERGED not in lifecycle.ALLOWED[S(dup.status)]:
            raise InvalidTransition(f"A {dup.status} lesson cannot be merged.", where)
        if not audience_covers(canonical, dup):
            raise ValidationFailed(
                f"Lesson #{dup.id} is {dup.sensitivity}{_of_project(dup)} but the canonical "
                f"lesson is {canonical.sensitivity}{_of_project(canonical)}: some of #{dup.id}'s "
                "readers could not follow it. Choose the lesson with the widest audience as "
                "canonical, or change a sensitivity first.",
                {"canonical": "narrower audience than a duplicate"},
            )
    sources = (
        [d for d in duplicates if d.id == keep_text]
        if isinstance(keep_text, int)
        else (list(duplicates) if keep_text == "combined" else [])
    )
    if isinstance(keep_text, int) and not sources:
        raise ValidationFailed(
            "Keep the canonical lesson's text, the combined text, or one duplicate's text.",
            {"keep_text": "not one of the duplicates"},
        )
    for source in sources:
        if not audience_covers(source, canonical):
            raise ValidationFailed(
                f"Lesson #{source.id} is {source.sensitivity}{_of_project(source)}: its text "
                f"cannot go into a {canonical.sensitivity} lesson. Keep the canonical lesson's "
                "text (and edit it by hand if it must say more).",
                {"keep_text": "would expose restricted text"},
            )


def _of_project(lesson: Lesson) -> str:
    return (
        f" (project #{lesson.project_id})" if lesson.sensitivity == Sensitivity.RESTRICTED else ""
    )


def _chained(session: Session, duplicates: Sequence[Lesson]) -> None:
    ids = [d.id for d in duplicates]
    row = session.exec(
        select(Lesson.merged_into_id).where(col(Lesson.merged_into_id).in_(ids)).limit(1)
    ).first()
    if row is not None:
        raise InvalidTransition(
            f"Lesson #{row} has lessons merged into it: make it the canonical lesson, or undo "
            "those merges first (merges do not chain).",
            {"duplicates": f"#{row} is a canonical lesson"},
        )


def _combined(canonical: Lesson, duplicates: Sequence[Lesson]) -> dict[str, str]:
    """The canonical lesson's sections, each followed by any duplicate's section that says
    something else (exact repeats are left out)."""
    text = _text(canonical)
    for name in TEXT_FIELDS[1:]:
        parts = [text[name].strip()] if text[name].strip() else []
        for dup in duplicates:
            extra = getattr(dup, name).strip()
            if extra and extra not in parts:
                parts.append(extra)
        text[name] = "\n\n".join(parts)
    return text


def merge(
    session: Session,
    *,
    canonical: Lesson,
    duplicates: Sequence[Lesson],
    actor: str,
    reason: str = "",
    keep_text: KeepText = "canonical",
) -> list[LessonMerge]:
    """Merge `duplicates` into `canonical` (audited; the caller re-embeds the canonical)."""
    if not duplicates:
        raise ValidationFailed("Choose at least one lesson to merge.", {"duplicates": "empty"})
    _check(canonical, duplicates, keep_text)
    _chained(session, duplicates)
    assert canonical.id is not None
    before_text, before_tags = _text(canonical), canonical.tags
    if keep_text == "combined":
        new_text = _combined(canonical, duplicates)
    elif isinstance(keep_text, int):
        new_text = _text(next(d for d in duplicates if d.id == keep_text))
    else:
        new_text = before_text
    for name, value in new_text.items():
        setattr(canonical, name, value)
    tags = list(before_tags)
    added: dict[int, list[str]] = {}
    for dup in duplicates:
        assert dup.id is not None
        added[dup.id] = [t for t in dup.tags if t not in tags] if _may_move(dup, canonical) else []
        tags += added[dup.id]
    _set_tags(session, lesson=canonical, tags=tags)
    canonical.updated_at = utcnow()
    session.add(canonical)
    why = reason.strip() or f"the same lesson as #{canonical.id}"
    rows = []
    for dup in duplicates:
        assert dup.id is not None
        moved = (
            _move_open_actions(session, from_id=dup.id, to_id=canonical.id)
            if _may_move(dup, canonical)
            else []
        )
        status_before = dup.status
        lifecycle.transition(
            session,
            lesson=dup,
            to=S.MERGED,
            actor=actor,
            reason=f"merged into #{canonical.id}: {why}",
            via_merge=True,
        )
        dup.merged_into_id = canonical.id
        session.add(dup)
        text_taken = keep_text == "combined" or keep_text == dup.id
        rows.append(
            LessonMerge(
                canonical_id=canonical.id,
                merged_id=dup.id,
                merged_status_before=status_before,
                canonical_before={
                    **before_text,
                    "tags": before_tags,
                    "text_taken": text_taken,
                    "text_after": new_text if text_taken else None,
                    "tags_added": added[dup.id],
                    "moved_action_ids": moved,
                },
                reason=why,
                actor=actor,
            )
        )
    session.add_all(rows)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="merge",
        entity=canonical,
        before={**before_text, "tags": before_tags},
        after={
            **new_text,
            "tags": canonical.tags,
            "merged": [d.id for d in duplicates],
            "merge_ids": [r.id for r in rows],
            "keep_text": keep_text,
            "reason": why,
            "moved_action_ids": [a for r in rows for a in r.canonical_before["moved_action_ids"]],
        },
    )
    return rows


def _may_move(duplicate: Lesson, canonical: Lesson) -> bool:
    """Whether a duplicate's tags and open actions may go to the canonical lesson: only when
    every reader of the canonical lesson may read the duplicate (the same audience)."""
    return audience_covers(duplicate, canonical)


def _set_tags(session: Session, *, lesson: Lesson, tags: list[str]) -> None:
    capture.set_tags(session, lesson=lesson, tags=tags)
    # A tag kept across the replacement is a row switch in the flush, which leaves the
    # in-memory collection short of it: read the tags back.
    session.expire(lesson, ["tag_links"])


def _move_open_actions(session: Session, *, from_id: int, to_id: int) -> list[int]:
    actions = session.exec(
        select(Action).where(Action.lesson_id == from_id, Action.status == ActionStatus.OPEN)
    ).all()
    for action in actions:
        action.lesson_id = to_id
        session.add(action)
    session.flush()
    return [a.id for a in actions if a.id is not None]


# Audited steps that leave a lesson's wording and tags alone; anything else counts as an edit
# (when unsure, an undo keeps what a curator may have written).
_NOT_EDITS = ("transition", "merge", "unmerge", "confirm_review", "delete", "restore", "decide")


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


def get_merge(session: Session, *, merge_id: int) -> LessonMerge:
    found = session.get(LessonMerge, merge_id)
    if found is None:
        raise NotFound(f"No merge with id {merge_id}.")
    return found


def unmerge(session: Session, *, merge_id: int, actor: str, reason: str = "") -> UndoResult:
    """Undo one merge: the duplicate gets its status back and stops pointing at the canonical
    lesson, its actions move back, and the canonical lesson's text and tags go back to what
    they were unless someone edited them since (then the edits stay, and the result says so)."""
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
    saved = row.canonical_before
    notes: list[str] = []
    before = {**_text(canonical), "tags": canonical.tags}
    edited = _edited_since(session, lesson_id=canonical.id or 0, since=row.at)
    text_restored = False
    if saved.get("text_taken"):
        if _text(canonical) == saved.get("text_after"):
            for name in TEXT_FIELDS:
                setattr(canonical, name, saved.get(name, getattr(canonical, name)))
            text_restored = True
        else:
            notes.append(
                "The canonical lesson's text changed after the merge, so it was kept as it is."
            )
    tags_removed: list[str] = []
    if edited:
        notes.append("The canonical lesson was edited after the merge, so its tags were kept.")
    else:
        still = {
            t
            for other in session.exec(
                select(Lesson).where(Lesson.merged_into_id == canonical.id, Lesson.id != dup.id)
            )
            for t in other.tags
        }
        tags_removed = [
            t for t in saved.get("tags_added", []) if t in canonical.tags and t not in still
        ]
        _set_tags(
            session, lesson=canonical, tags=[t for t in canonical.tags if t not in tags_removed]
        )
    moved_back = []
    for action_id in saved.get("moved_action_ids", []):
        action = session.get(Action, action_id)
        if action is not None and action.lesson_id == canonical.id:
            action.lesson_id = dup.id
            session.add(action)
            moved_back.append(action_id)
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
    canonical.updated_at = utcnow()
    session.add_all([canonical, dup])
    row.undone_at, row.undone_by = utcnow(), actor[:200]
    row.canonical_before = {
        **saved,
        "undo": {
            "reason": reason,
            "text_restored": text_restored,
            "tags_removed": tags_removed,
            "actions_moved_back": moved_back,
            "notes": notes,
        },
    }
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="unmerge",
        entity=canonical,
        before=before,
        after={
            **_text(canonical),
            "tags": canonical.tags,
            "merge_id": row.id,
            "restored": dup.id,
            "reason": reason,
            "status": dup.status,
            "actions_moved_back": moved_back,
            "notes": notes,
        },
    )
    return UndoResult(row, text_restored, tags_removed, moved_back, notes)


# --- reading merges back -------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """A lesson merged into a canonical lesson: where else it was identified."""

    lesson: Lesson
    merge: LessonMerge


def _as_it_was(lesson: Lesson, status: str) -> Lesson:
    """A detached copy of `lesson` with the status it had before its merge: `merged` is never
    a trusted status, so access is judged on what readers could see before the merge."""
    return Lesson(
        id=lesson.id,
        title="",
        sensitivity=lesson.sensitivity,
        project_id=lesson.project_id,
        status=status,
        deleted_at=lesson.deleted_at,
    )


def may_follow(viewer: Viewer, merged: Lesson, row: LessonMerge) -> bool:
    """Whether the viewer could read the merged lesson before it was merged."""
    return viewer.can_see(_as_it_was(merged, row.merged_status_before))


def active_merge(session: Session, *, merged_id: int) -> LessonMerge | None:
    """The merge that currently holds `merged_id` (none once undone)."""
    return session.exec(
        select(LessonMerge)
        .where(LessonMerge.merged_id == merged_id, col(LessonMerge.undone_at).is_(None))
        .order_by(col(LessonMerge.id).desc())
    ).first()


def open_lesson(
    session: Session, *, lesson_id: int, viewer: Viewer, follow_visible: bool = False
) -> Lesson | int:
    """The lesson to show for `lesson_id`: itself when the viewer may see it, else the id of
    its canonical lesson when it was merged and the viewer may follow it there (a partner
    with an old link), else NotFound. `follow_visible` follows a merge even when the merged
    lesson is visible (the page does; the API shows it). Every id costs the same one query,
    whether it is missing, hidden or merged, so neither answer nor timing tells them apart."""
    canonical = aliased(Lesson)
    found = session.exec(
        select(Lesson, LessonMerge, canonical)
        .where(Lesson.id == lesson_id)
        .outerjoin(
            LessonMerge,
            and_(
                col(LessonMerge.merged_id) == col(Lesson.id), col(LessonMerge.undone_at).is_(None)
            ),
        )
        .outerjoin(canonical, col(canonical.id) == col(Lesson.merged_into_id))
        .order_by(col(LessonMerge.id).desc())
        .limit(1)
    ).first()
    lesson, row, target = found if found is not None else (None, None, None)
    visible = lesson is not None and viewer.can_see(lesson)
    followable = (
        lesson is not None
        and lesson.status == S.MERGED
        and row is not None
        and target is not None
        and target.id is not None
        and viewer.can_see(target)
        and may_follow(viewer, lesson, row)
    )
    if visible and not (follow_visible and followable):
        assert lesson is not None
        return lesson
    if not followable:
        raise NotFound(f"No lesson with id {lesson_id}.")
    assert target is not None and target.id is not None
    return target.id


def sources(session: Session, *, canonical: Lesson, viewer: Viewer) -> list[Source]:
    """The lessons merged into `canonical` that the viewer could read, oldest merge first."""
    rows = session.exec(
        select(LessonMerge)
        .where(LessonMerge.canonical_id == canonical.id, col(LessonMerge.undone_at).is_(None))
        .order_by(col(LessonMerge.at), col(LessonMerge.id))
    ).all()
    found = []
    for row in rows:
        lesson = session.get(Lesson, row.merged_id)
        if lesson is not None and may_follow(viewer, lesson, row):
            found.append(Source(lesson, row))
    return found


def history(session: Session, *, lesson: Lesson, viewer: Viewer) -> list[LessonMerge]:
    """Merges into or out of `lesson`, undone ones included, newest first; merges with a
    lesson the viewer could not read are left out."""
    rows = session.exec(
        select(LessonMerge)
        .where(
            (col(LessonMerge.canonical_id) == lesson.id) | (col(LessonMerge.merged_id) == lesson.id)
        )
        .order_by(col(LessonMerge.at).desc(), col(LessonMerge.id).desc())
    ).all()
    shown = []
    for row in rows:
        other_id = row.merged_id if row.canonical_id == lesson.id else row.canonical_id
        other = session.get(Lesson, other_id)
        if other is None:
            continue
        readable = (
            may_follow(viewer, other, row) if other_id == row.merged_id else viewer.can_see(other)
        )
        if readable:
            shown.append(row)
    return shown
