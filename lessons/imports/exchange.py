"""The project's own JSON export, and its import: a lossless round trip that never duplicates.

Records are matched on their `uid` (and people and projects on their unique name, lessons on
their `external_id`), so importing the same file twice updates in place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, delete, select

from lessons.capture import service as capture
from lessons.imports import merge_exchange
from lessons.storage.models import (
    Action,
    BarItem,
    BeforeActionReview,
    Lesson,
    LessonEvent,
    LessonTag,
    Person,
    Project,
    Review,
    utcnow,
)
from lessons.taxonomy.exchange import export_schemes, import_schemes

FORMAT = "lessonbank-export"
_BAR_ITEM_FIELDS = {
    "rank",
    "score",
    "dense_score",
    "dense_rank",
    "lexical_score",
    "lexical_rank",
    "decision",
    "note",
    "decided_at",
    "outcome",
    "outcome_at",
}
VERSION = 1


@dataclass(frozen=True)
class Section:
    key: str
    model: type[SQLModel]
    fields: tuple[str, ...]
    refs: dict[str, tuple[type[SQLModel], str]]  # export name -> (target model, foreign key)
    natural_key: str | None = None


SECTIONS = (
    Section(
        "people",
        Person,
        ("name", "unit", "role", "expertise", "bio", "email", "contact", "created_at"),
        {},
        "name",
    ),
    Section(
        "projects",
        Project,
        ("name", "summary", "unit", "start_date", "end_date", "tags", "created_at"),
        {},
        "name",
    ),
    Section(
        "reviews",
        Review,
        ("kind", "question_set_version", "held_on", "answers", "sensitivity", "created_at"),
        {"project": (Project, "project_id"), "author": (Person, "author_id")},
    ),
    Section(
        "lessons",
        Lesson,
        (
            "external_id",
            "title",
            "observation",
            "insight",
            "recommendation",
            "polarity",
            "perspective",
            "sensitivity",
            "status",
            "review_due",
            "lesson_date",
            "unit",
            "source_url",
            "learned_evidence",
            "learned_link",
            "created_at",
            "updated_at",
        ),
        {
            "project": (Project, "project_id"),
            "review": (Review, "review_id"),
            "author": (Person, "author_id"),
        },
        "external_id",
    ),
    Section(
        "actions",
        Action,
        ("what", "owner_text", "due", "status", "closure_evidence", "created_at", "closed_at"),
        {
            "project": (Project, "project_id"),
            "review": (Review, "review_id"),
            "lesson": (Lesson, "lesson_id"),
            "owner": (Person, "owner_id"),
        },
    ),
    Section(
        "bars",
        BeforeActionReview,
        ("brief", "run_by", "model", "filters", "created_at"),
        {"project": (Project, "project_id")},
    ),
)


def export_bank(session: Session) -> dict[str, Any]:
    """Every record as plain JSON, references written as uids."""
    uids: dict[tuple[type[SQLModel], int], str] = {}
    for section in SECTIONS:
        for row in session.exec(select(section.model)):
            uids[(section.model, row.id)] = row.uid  # type: ignore[attr-defined]
    document: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": utcnow().isoformat(),
    }
    for section in SECTIONS:
        records = []
        for row in session.exec(select(section.model).order_by(section.model.id)):  # type: ignore[attr-defined]
            record = {"uid": row.uid, **row.model_dump(mode="json", include=set(section.fields))}  # type: ignore[attr-defined]
            for name, (target, fk) in section.refs.items():
                ref_id = getattr(row, fk)
                record[name] = uids.get((target, ref_id)) if ref_id is not None else None
            _export_children(session, row, record, uids)
            records.append(record)
        document[section.key] = records
    document["taxonomy"] = export_schemes(session)
    document["merges"] = merge_exchange.export_merges(session)
    return document


def _export_children(
    session: Session, row: SQLModel, record: dict[str, Any], uids: dict[Any, str]
) -> None:
    if isinstance(row, Lesson):
        record["tags"] = row.tags
        record["events"] = [
            e.model_dump(mode="json", include={"from_status", "to_status", "actor", "reason", "at"})
            for e in session.exec(
                select(LessonEvent)
                .where(LessonEvent.lesson_id == row.id)
                .order_by(col(LessonEvent.id))
            )
        ]
    elif isinstance(row, BeforeActionReview):
        record["items"] = [
            {
                **item.model_dump(mode="json", include=_BAR_ITEM_FIELDS),
                "lesson": uids.get((Lesson, item.lesson_id)) if item.lesson_id else None,
                "near_copies": [uids[(Lesson, i)] for i in item.near_copies if (Lesson, i) in uids],
            }
            for item in row.bar_items
        ]


@dataclass
class ImportReport:
    added: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    lesson_ids: list[int] = field(default_factory=list)


def import_bank(
    session: Session,
    document: dict[str, Any],
    *,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Upsert every record of an export; bad records are reported and skipped, good ones kept."""
    report = ImportReport()
    if document.get("format") != FORMAT:
        report.errors.append(f"not a Lessonbank export (format should be {FORMAT!r})")
        return report
    by_uid: dict[tuple[type[SQLModel], str], int] = {}
    for section in SECTIONS:
        records = document.get(section.key) or []
        if not isinstance(records, list):
            report.errors.append(f"{section.key}: should be a list")
            continue
        for index, record in enumerate(records):
            try:
                with session.begin_nested():
                    row_id, added = _upsert(session, section, record, by_uid)
            except (ValidationError, IntegrityError, KeyError, TypeError, ValueError) as exc:
                report.errors.append(f"{section.key}[{index}]: {_describe(exc)}")
                continue
            bucket = report.added if added else report.updated
            bucket[section.key] = bucket.get(section.key, 0) + 1
            if section.model is Lesson:
                report.lesson_ids.append(row_id)
            if progress:
                progress(1)
    schemes_added, schemes_updated, scheme_errors = import_schemes(
        session, document.get("taxonomy")
    )
    for bucket, count in ((report.added, schemes_added), (report.updated, schemes_updated)):
        if count:
            bucket["taxonomy"] = count
    report.errors += scheme_errors
    # After every lesson and action: a merge names two lessons and the actions it moved.
    merges_added, merges_updated, merge_errors = merge_exchange.import_merges(
        session, document.get("merges")
    )
    for bucket, count in ((report.added, merges_added), (report.updated, merges_updated)):
        if count:
            bucket["merges"] = count
    report.errors += merge_errors
    return report


def _describe(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
    if isinstance(exc, IntegrityError):
        return f"conflicts with an existing record ({exc.orig})"
    return f"{type(exc).__name__}: {exc}"


def _upsert(
    session: Session,
    section: Section,
    record: dict[str, Any],
    by_uid: dict[tuple[type[SQLModel], str], int],
) -> tuple[int, bool]:
    if not isinstance(record, dict) or not isinstance(record.get("uid"), str):
        raise ValueError("each record needs a string uid")
    values = {name: record[name] for name in section.fields if name in record}
    for name, (target, fk) in section.refs.items():
        ref = record.get(name)
        values[fk] = _resolve_ref(session, target, ref, by_uid) if ref else None
    validated = section.model.model_validate({"uid": record["uid"], **values})
    row = session.exec(select(section.model).where(section.model.uid == record["uid"])).first()  # type: ignore[attr-defined]
    if row is None and section.natural_key and values.get(section.natural_key):
        key = getattr(section.model, section.natural_key)
        row = session.exec(select(section.model).where(key == values[section.natural_key])).first()
    added = row is None
    if row is None:
        row = validated
    else:
        for name in values:
            setattr(row, name, getattr(validated, name))
    session.add(row)
    session.flush()
    row_id: int = row.id  # type: ignore[attr-defined]
    by_uid[(section.model, record["uid"])] = row_id
    _import_children(session, row, record, by_uid)
    return row_id, added


def _resolve_ref(session: Session, target: type[SQLModel], uid: str, by_uid: dict[Any, int]) -> int:
    if (target, uid) in by_uid:
        return by_uid[(target, uid)]
    found = session.exec(select(target.id).where(target.uid == uid)).first()  # type: ignore[attr-defined]
    if found is None:
        raise ValueError(f"refers to a {target.__name__.lower()} ({uid}) that is not in the file")
    return int(found)


def _import_children(
    session: Session, row: SQLModel, record: dict[str, Any], by_uid: dict[Any, int]
) -> None:
    if isinstance(row, Lesson):
        assert row.id is not None
        # A file from before reviews kept their audience: the review takes its lessons'.
        capture.widen_review(session, row)
        session.exec(delete(LessonTag).where(col(LessonTag.lesson_id) == row.id))
        session.exec(delete(LessonEvent).where(col(LessonEvent.lesson_id) == row.id))
        session.expire(row, ["tag_links"])
        for tag in dict.fromkeys(record.get("tags") or []):
            session.add(LessonTag(lesson_id=row.id, tag=str(tag)))
        for event in record.get("events") or []:
            session.add(LessonEvent.model_validate({**event, "lesson_id": row.id}))
    elif isinstance(row, BeforeActionReview):
        assert row.id is not None
        session.exec(delete(BarItem).where(col(BarItem.bar_id) == row.id))
        session.expire(row, ["bar_items"])
        for item in record.get("items") or []:
            lesson_uid = item.get("lesson")
            lesson_id = _resolve_ref(session, Lesson, lesson_uid, by_uid) if lesson_uid else None
            fields = {k: v for k, v in item.items() if k in _BAR_ITEM_FIELDS}
            copies = [
                _resolve_ref(session, Lesson, uid, by_uid) for uid in item.get("near_copies") or []
            ]
            session.add(
                BarItem.model_validate(
                    {**fields, "bar_id": row.id, "lesson_id": lesson_id, "near_copies": copies}
                )
            )
    session.flush()
