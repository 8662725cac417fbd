"""Merging near-duplicate lessons into one canonical lesson, and reading merges back (undoing
one is `lessons.curation.unmerging`; which merges are allowed, `lessons.curation.merge_rules`).

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
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from lessons.accounts import audit
from lessons.accounts.access import Viewer
from lessons.capture import service as capture
from lessons.curation import lifecycle
from lessons.curation.merge_rules import KeepText, check_merge, may_move
from lessons.errors import NotFound
from lessons.storage.models import (
    Action,
    ActionStatus,
    Lesson,
    LessonMerge,
    LessonStatus,
    utcnow,
)

S = LessonStatus
TEXT_FIELDS = ("title", "observation", "insight", "recommendation")


def text_of(lesson: Lesson) -> dict[str, str]:
    """The lesson's wording, section by section."""
    return {name: getattr(lesson, name) for name in TEXT_FIELDS}


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
    check_merge(session, canonical, duplicates, keep_text)
    assert canonical.id is not None
    # What the canonical lesson was: the audit shows it, and an undo puts it back.
    before = {**text_of(canonical), "tags": canonical.tags}
    new_text = _kept_text(canonical, duplicates, keep_text)
    for name, value in new_text.items():
        setattr(canonical, name, value)
    tags_added = _take_tags(session, canonical=canonical, duplicates=duplicates)
    canonical.updated_at = utcnow()
    session.add(canonical)
    why = reason.strip() or f"the same lesson as #{canonical.id}"
    rows = [
        _fold_in(
            session,
            dup,
            canonical=canonical,
            actor=actor,
            why=why,
            before=before,
            text_after=new_text if keep_text == "combined" or keep_text == dup.id else None,
            tags_added=tags_added[dup.id or 0],
        )
        for dup in duplicates
    ]
    session.add_all(rows)
    session.flush()
    _audit_merge(
        session,
        actor=actor,
        canonical=canonical,
        before=before,
        new_text=new_text,
        keep_text=keep_text,
        why=why,
        rows=rows,
    )
    return rows


def _kept_text(
    canonical: Lesson, duplicates: Sequence[Lesson], keep_text: KeepText
) -> dict[str, str]:
    """The wording the canonical lesson has after the merge (the rules allowed it already)."""
    if keep_text == "combined":
        return _combined(canonical, duplicates)
    if isinstance(keep_text, int):
        return text_of(next(d for d in duplicates if d.id == keep_text))
    return text_of(canonical)


def _combined(canonical: Lesson, duplicates: Sequence[Lesson]) -> dict[str, str]:
    """The canonical lesson's sections, each followed by any duplicate's section that says
    something else (exact repeats are left out). When a section gains another lesson's words,
    each part opens with the lesson it came from, so a reader knows whose words are whose."""
    text = text_of(canonical)
    for name in TEXT_FIELDS[1:]:
        own = text[name].strip()
        parts: list[tuple[Lesson, str]] = [(canonical, own)] if own else []
        for dup in duplicates:
            extra = getattr(dup, name).strip()
            if extra and extra not in [said for _, said in parts]:
                parts.append((dup, extra))
        if any(source is not canonical for source, _ in parts):
            text[name] = "\n\n".join(f"{_source_line(source)}\n\n{said}" for source, said in parts)
        else:
            text[name] = "\n\n".join(said for _, said in parts)
    return text


def _source_line(lesson: Lesson) -> str:
    title = " ".join(lesson.title.split())
    return f"From lesson {lesson.id}, “{title}”:"


def _take_tags(
    session: Session, *, canonical: Lesson, duplicates: Sequence[Lesson]
) -> dict[int, list[str]]:
    """Give the canonical lesson the tags of the duplicates that may pass them on; returns
    the tags each duplicate added (an undo removes them again)."""
    tags = list(canonical.tags)
    added: dict[int, list[str]] = {}
    for dup in duplicates:
        assert dup.id is not None
        added[dup.id] = [t for t in dup.tags if t not in tags] if may_move(dup, canonical) else []
        tags += added[dup.id]
    set_tags(session, lesson=canonical, tags=tags)
    return added


def _fold_in(
    session: Session,
    dup: Lesson,
    *,
    canonical: Lesson,
    actor: str,
    why: str,
    before: dict[str, Any],
    text_after: dict[str, str] | None,
    tags_added: list[str],
) -> LessonMerge:
    """Make one duplicate point at the canonical lesson, with status `merged` (its open
    actions go along when its audience allows). Returns the merge's row, which keeps what an
    undo needs to put the canonical lesson back: its text and tags `before`, the text it took
    (`text_after`, None if it kept its own), the tags and actions the duplicate brought."""
    assert dup.id is not None and canonical.id is not None
    status_before = dup.status
    moved = (
        _move_open_actions(session, from_id=dup.id, to_id=canonical.id)
        if may_move(dup, canonical)
        else []
    )
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
    return LessonMerge(
        canonical_id=canonical.id,
        merged_id=dup.id,
        merged_status_before=status_before,
        canonical_before={
            **before,
            "text_taken": text_after is not None,
            "text_after": text_after,
            "tags_added": tags_added,
            "moved_action_ids": moved,
        },
        reason=why,
        actor=actor,
    )


def _audit_merge(
    session: Session,
    *,
    actor: str,
    canonical: Lesson,
    before: dict[str, Any],
    new_text: dict[str, str],
    keep_text: KeepText,
    why: str,
    rows: list[LessonMerge],
) -> None:
    audit.record(
        session,
        actor=actor,
        action="merge",
        entity=canonical,
        before=before,
        after={
            **new_text,
            "tags": canonical.tags,
            "merged": [r.merged_id for r in rows],
            "merge_ids": [r.id for r in rows],
            "keep_text": keep_text,
            "reason": why,
            "moved_action_ids": [a for r in rows for a in r.canonical_before["moved_action_ids"]],
        },
    )


def set_tags(session: Session, *, lesson: Lesson, tags: list[str]) -> None:
    """Replace the lesson's tags, and read them back."""
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
