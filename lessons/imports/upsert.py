"""Write imported lessons: one per external id, updated in place on every re-run."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from lessons.capture import projects
from lessons.capture import service as capture
from lessons.imports.cleaning import combine
from lessons.people import service as people
from lessons.schemas import LessonIn, ProjectRef, normalise_tag
from lessons.storage.models import (
    Lesson,
    LessonStatus,
    Person,
    Perspective,
    Polarity,
    Project,
    Sensitivity,
    utcnow,
)


@dataclass
class LessonRecord:
    """A lesson as an importer read it, before it touches the database."""

    external_id: str
    title: str = ""
    observation: str = ""
    insight: str = ""
    recommendation: str = ""
    tags: list[str] = field(default_factory=list)
    unit: str = ""
    lesson_date: date | None = None
    project: str = ""
    author: str = ""
    source_url: str | None = None
    polarity: Polarity = Polarity.IMPROVE
    perspective: Perspective = Perspective.OPERATIONAL
    sensitivity: Sensitivity = Sensitivity.INTERNAL
    status: LessonStatus = LessonStatus.VALIDATED

    def merge(self, other: LessonRecord) -> None:
        """Take in `other` (another file describing the same lesson): sections are combined
        so that no text is lost; other fields are filled where this record lacks them."""
        for name in _SECTIONS:
            setattr(self, name, combine(getattr(self, name), getattr(other, name)))
        for name in ("title", "unit", "project", "author", "source_url", "lesson_date"):
            if not getattr(self, name) and getattr(other, name):
                setattr(self, name, getattr(other, name))
        self.tags = list(dict.fromkeys([*self.tags, *other.tags]))


@dataclass
class ImportResult:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[str] = field(default_factory=list)
    lesson_ids: list[int] = field(default_factory=list)


_SECTIONS = ("observation", "insight", "recommendation")
_FIELDS = ("title", "unit", "lesson_date", "source_url")


def upsert(session: Session, record: LessonRecord, *, actor: str, result: ImportResult) -> None:
    """Add the lesson, or update it where the record says more; never blank a section that
    another source filled. Flushes, never commits."""
    lesson = session.exec(select(Lesson).where(Lesson.external_id == record.external_id)).first()
    project = (
        projects.resolve(session, ref=ProjectRef(name=record.project[:200], unit=record.unit))
        if record.project
        else None
    )
    author = people.find_or_create(session, name=record.author[:200])
    if author is not None and not author.unit:
        author.unit = record.unit
    tags = [t for t in (normalise_tag(tag) for tag in record.tags) if t]
    if lesson is None:
        lesson = _add(session, record, project=project, author=author, tags=tags, actor=actor)
        result.added += 1
    elif _update(session, lesson, record, project=project, author=author, tags=tags):
        result.updated += 1
    else:
        result.unchanged += 1
    session.flush()
    assert lesson.id is not None
    result.lesson_ids.append(lesson.id)


def _add(
    session: Session,
    record: LessonRecord,
    *,
    project: Project | None,
    author: Person | None,
    tags: list[str],
    actor: str,
) -> Lesson:
    """A new lesson from the record, through capture like any other lesson."""
    data = LessonIn(
        title=record.title[:500],
        observation=record.observation,
        insight=record.insight,
        recommendation=record.recommendation,
        polarity=record.polarity,
        perspective=record.perspective,
        tags=tags,
        sensitivity=record.sensitivity,
    )
    return capture.add_lesson(
        session,
        data=data,
        project=project,
        review=None,
        author=author,
        actor=actor,
        status=record.status,
        external_id=record.external_id,
        source_url=record.source_url,
        lesson_date=record.lesson_date,
        unit=record.unit,
    )


def _update(
    session: Session,
    lesson: Lesson,
    record: LessonRecord,
    *,
    project: Project | None,
    author: Person | None,
    tags: list[str],
) -> bool:
    """Bring an imported lesson up to date with its record; says whether anything changed.
    Sections are combined (another source may have filled one), other fields replaced only
    by a value, tags only added: a re-run never blanks what is there."""
    changed = False
    for name in _SECTIONS:
        value = combine(getattr(lesson, name), getattr(record, name))
        if value != getattr(lesson, name):
            setattr(lesson, name, value)
            changed = True
    for name in _FIELDS:
        value = getattr(record, name)
        if value and getattr(lesson, name) != value:
            setattr(lesson, name, value)
            changed = True
    if project is not None and lesson.project_id != project.id:
        lesson.project_id, changed = project.id, True
    if author is not None and lesson.author_id != author.id:
        lesson.author_id, changed = author.id, True
    merged = sorted(set(lesson.tags) | set(tags))
    if merged != lesson.tags:
        capture.set_tags(session, lesson=lesson, tags=merged)
        changed = True
    if changed:
        lesson.updated_at = utcnow()
        session.add(lesson)
    return changed


def upsert_all(
    session: Session,
    records: Iterable[tuple[str, LessonRecord]],
    *,
    actor: str,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Upsert each (where, record); one that fails is reported by `where` and skipped, the
    rest are kept. Flushes, never commits: the caller's transaction makes the run atomic."""
    result = ImportResult()
    for where, record in records:
        try:
            with session.begin_nested():
                upsert(session, record, actor=actor, result=result)
        except (IntegrityError, ValidationError, ValueError) as exc:
            result.problems.append(f"{where}: {str(exc).splitlines()[0]}")
        if progress:
            progress(1)
    return result
