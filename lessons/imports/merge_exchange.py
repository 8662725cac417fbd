"""Merges in the project's own JSON export (`lessons.imports.exchange`): each merge with what it
changed, and the merged lessons' links to their canonical lessons, named by uid so they land
on the right records in another database."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, col, select

from lessons.storage.models import Action, Lesson, LessonMerge

_MERGE_FIELDS = ("merged_status_before", "reason", "actor", "at", "undone_at", "undone_by")


def export_merges(session: Session) -> dict[str, Any]:
    """Merges and the links they made, with lessons and actions named by uid (ids differ
    between databases)."""
    lesson_uids = dict(session.exec(select(Lesson.id, Lesson.uid)).all())
    action_uids = dict(session.exec(select(Action.id, Action.uid)).all())
    history = []
    for row in session.exec(select(LessonMerge).order_by(col(LessonMerge.id))):
        saved = dict(row.canonical_before)
        saved["moved_action_ids"] = [
            action_uids[i] for i in saved.get("moved_action_ids", []) if i in action_uids
        ]
        undo = dict(saved.get("undo") or {})
        if undo:
            undo["actions_moved_back"] = [
                action_uids[i] for i in undo.get("actions_moved_back", []) if i in action_uids
            ]
            saved["undo"] = undo
        history.append(
            {
                "canonical": lesson_uids[row.canonical_id],
                "merged": lesson_uids[row.merged_id],
                **row.model_dump(mode="json", include=set(_MERGE_FIELDS)),
                "canonical_before": saved,
            }
        )
    links = [
        {"lesson": lesson_uids[lesson_id], "merged_into": lesson_uids[into]}
        for lesson_id, into in session.exec(
            select(Lesson.id, Lesson.merged_into_id)
            .where(col(Lesson.merged_into_id).is_not(None))
            .order_by(col(Lesson.id))
        )
        if lesson_id is not None and into is not None
    ]
    return {"links": links, "history": history}


def import_merges(session: Session, data: Any) -> tuple[int, int, list[str]]:
    """Put back an export's merges (matched on canonical, merged lesson and time, so a second
    import updates in place) and the merged lessons' links; returns (added, updated, errors)."""
    if not data:
        return 0, 0, []
    if not isinstance(data, dict):
        return 0, 0, ["merges: should be an object with links and history"]
    lessons = {u: i for i, u in session.exec(select(Lesson.id, Lesson.uid)) if i is not None}
    actions = {u: i for i, u in session.exec(select(Action.id, Action.uid)) if i is not None}
    added = updated = 0
    errors: list[str] = []
    for index, link in enumerate(data.get("links") or []):
        try:
            lesson = session.get(Lesson, lessons[link["lesson"]])
            assert lesson is not None
            lesson.merged_into_id = lessons[link["merged_into"]]
            session.add(lesson)
        except (KeyError, TypeError):
            errors.append(f"merges.links[{index}]: refers to a lesson that is not in the file")
    for index, record in enumerate(data.get("history") or []):
        try:
            with session.begin_nested():
                is_new = _import_merge(session, record, lessons, actions)
        except (KeyError, TypeError, ValueError, ValidationError) as exc:
            errors.append(f"merges.history[{index}]: {type(exc).__name__}: {exc}")
            continue
        added, updated = (added + 1, updated) if is_new else (added, updated + 1)
    session.flush()
    return added, updated, errors


def _import_merge(
    session: Session, record: dict[str, Any], lessons: dict[str, int], actions: dict[str, int]
) -> bool:
    saved = dict(record.get("canonical_before") or {})
    saved["moved_action_ids"] = [actions[u] for u in saved.get("moved_action_ids", [])]
    if saved.get("undo"):
        undo = dict(saved["undo"])
        undo["actions_moved_back"] = [actions[u] for u in undo.get("actions_moved_back", [])]
        saved["undo"] = undo
    values = LessonMerge.model_validate(
        {
            "canonical_id": lessons[record["canonical"]],
            "merged_id": lessons[record["merged"]],
            "canonical_before": saved,
            **{k: record[k] for k in _MERGE_FIELDS if k in record},
        }
    )
    row = session.exec(
        select(LessonMerge).where(
            LessonMerge.canonical_id == values.canonical_id,
            LessonMerge.merged_id == values.merged_id,
            LessonMerge.at == values.at,
        )
    ).first()
    if row is None:
        session.add(values)
    else:
        for name in (*_MERGE_FIELDS, "canonical_before"):
            setattr(row, name, getattr(values, name))
        session.add(row)
    session.flush()
    return row is None
