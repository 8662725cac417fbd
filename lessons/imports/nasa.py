"""NASA Lessons Learned (LLIS) exports: `llis.jsonl` and `llis_sections.jsonl`.

The two files share lesson ids; records are merged into one lesson per id, keeping every
section. Published lessons arrive validated and public. Categories become tags in their own
scheme (`nasa-llis:...`), the centre becomes the unit, a named programme the project.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

from lessons.imports.cleaning import clean_text
from lessons.imports.upsert import LessonRecord
from lessons.numbers import read_whole
from lessons.storage.models import LessonStatus, Perspective, Sensitivity

TAG_SCHEME = "nasa-llis"
SOURCE_URL = "https://llis.nasa.gov/lesson/{id}"
# program_relation values that name no programme.
_NO_PROGRAMME = {"", "n/a", "na", "none", "various", "not applicable", "multiple", "all"}


def read(paths: Iterable[Path]) -> tuple[dict[str, LessonRecord], list[str]]:
    """Every lesson in the files merged by id, and a line-numbered problem for each bad line."""
    merged: dict[str, LessonRecord] = {}
    problems: list[str] = []
    for path in paths:
        for line_no, raw in _lines(path, problems):
            try:
                record = to_record(json.loads(raw))
            except (json.JSONDecodeError, ValueError, TypeError, AttributeError) as exc:
                problems.append(f"{path}:{line_no}: {exc}")
                continue
            if record.external_id in merged:
                merged[record.external_id].merge(record)
            else:
                merged[record.external_id] = record
    for record in merged.values():
        if not record.title:  # 15 published lessons have none: use their opening words
            opening = (record.observation or record.insight or record.recommendation).split()
            record.title = " ".join(opening[:14]) + ("…" if len(opening) > 14 else "")
        record.title = record.title or f"NASA lesson {record.external_id}"
    return merged, problems


def _lines(path: Path, problems: list[str]) -> Iterator[tuple[int, str]]:
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            for line_no, line in enumerate(handle, start=1):
                if line.strip():
                    yield line_no, line
    except OSError as exc:
        problems.append(f"{path}: cannot read ({exc.strerror})")


def to_record(row: dict[str, Any]) -> LessonRecord:
    """One line of either file as a LessonRecord (raises ValueError when it is not one)."""
    if not isinstance(row, dict):
        raise ValueError("not a JSON object")
    lesson_id = str(row.get("lesson_id") or row.get("lesson_number") or "").strip()
    if read_whole(lesson_id) is None:
        raise ValueError(f"no numeric lesson id (got {lesson_id!r})")
    abstract = clean_text(row.get("abstract") or row.get("abstract_text"))
    event = clean_text(row.get("driving_event_text"))
    observation = "\n\n".join(part for part in (abstract, event) if part)
    categories = [*(row.get("categories") or []), *(row.get("nasa_topics") or [])]
    programme = clean_text(row.get("program_relation"))
    submitter = clean_text(row.get("submitter"))
    return LessonRecord(
        external_id=lesson_id,
        title=clean_text(row.get("title"))[:500],
        observation=observation,
        insight=clean_text(row.get("lesson") or row.get("lesson_text")),
        recommendation=clean_text(row.get("recommendation_text")),
        tags=[f"{TAG_SCHEME}:{clean_text(c)}" for c in categories if clean_text(c)],
        unit=clean_text(row.get("organization")).upper(),
        lesson_date=_date(row.get("lesson_date")),
        project="" if programme.lower() in _NO_PROGRAMME else programme,
        author="" if submitter.lower() in {"", "unknown", "n/a"} else submitter,
        source_url=SOURCE_URL.format(id=lesson_id),
        perspective=Perspective.TECHNICAL_PROGRAMMATIC,
        sensitivity=Sensitivity.PUBLIC,
        status=LessonStatus.VALIDATED,
    )


def _date(value: object) -> date | None:
    if not value:
        return None
    return date.fromisoformat(str(value)[:10])
