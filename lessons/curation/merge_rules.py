"""Which merges are allowed: who may be the canonical lesson, which lessons may be merged into
it, and what may move from a duplicate to the canonical lesson without showing anyone text
they could not read before (see `lessons.curation.merging` for the rules in full)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from sqlmodel import Session, col, select

from lessons.accounts.access import AUDIENCES
from lessons.curation import lifecycle
from lessons.errors import InvalidTransition, ValidationFailed
from lessons.storage.models import Lesson, LessonStatus, Sensitivity

S = LessonStatus
# A canonical lesson must be one a reader can rely on (or one about to be validated).
CANONICAL_STATUSES = (S.IDENTIFIED, S.VALIDATED, S.ACTIONED, S.LEARNED)
_AUDIENCE = {sensitivity: rank for rank, sensitivity in enumerate(AUDIENCES)}
_STANDING = {S.LEARNED: 0, S.ACTIONED: 1, S.VALIDATED: 2, S.IDENTIFIED: 3}

KeepText = Literal["canonical", "combined"] | int


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


def may_move(duplicate: Lesson, canonical: Lesson) -> bool:
    """Whether a duplicate's tags and open actions may go to the canonical lesson: only when
    every reader of the canonical lesson may read the duplicate (the same audience)."""
    return audience_covers(duplicate, canonical)


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


def check_merge(
    session: Session, canonical: Lesson, duplicates: Sequence[Lesson], keep_text: KeepText
) -> None:
    """Refuse merges that would lose a lesson, make a chain, or expose restricted text; the
    checks run in this order so the first problem a curator can fix is the one reported."""
    if not duplicates:
        raise ValidationFailed("Choose at least one lesson to merge.", {"duplicates": "empty"})
    _check_listed_once(canonical, duplicates)
    _check_canonical(canonical)
    for dup in duplicates:
        _check_duplicate(canonical, dup)
    for source in _text_sources(duplicates, keep_text):
        _check_text_may_move(source, canonical)
    _check_no_chain(session, duplicates)


def _check_listed_once(canonical: Lesson, duplicates: Sequence[Lesson]) -> None:
    if canonical.id in {d.id for d in duplicates}:
        raise ValidationFailed(
            "A lesson cannot be merged into itself.", {"duplicates": "includes the canonical"}
        )
    if len({d.id for d in duplicates}) != len(duplicates):
        raise ValidationFailed("A lesson is listed twice.", {"duplicates": "listed twice"})


def _check_canonical(canonical: Lesson) -> None:
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


def _check_duplicate(canonical: Lesson, dup: Lesson) -> None:
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


def _text_sources(duplicates: Sequence[Lesson], keep_text: KeepText) -> list[Lesson]:
    """The duplicates whose text goes into the canonical lesson."""
    if keep_text == "combined":
        return list(duplicates)
    if not isinstance(keep_text, int):
        return []
    sources = [d for d in duplicates if d.id == keep_text]
    if not sources:
        raise ValidationFailed(
            "Keep the canonical lesson's text, the combined text, or one duplicate's text.",
            {"keep_text": "not one of the duplicates"},
        )
    return sources


def _check_text_may_move(source: Lesson, canonical: Lesson) -> None:
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


def _check_no_chain(session: Session, duplicates: Sequence[Lesson]) -> None:
    """Merges do not chain: a lesson others are merged into cannot itself be merged."""
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
