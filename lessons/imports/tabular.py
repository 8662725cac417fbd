"""An organisation's own lesson log as CSV or JSON, with a column mapping.

`mapping` names, for each Lessonbank field, the column that holds it, e.g.
`{"title": "Lesson", "observation": "What happened", "external_id": "Ref"}`. Rows are matched
on `external_id` (prefixed with the source name); without one, on a hash of title and
observation, so re-running an import updates in place instead of duplicating.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from lessons.imports.cleaning import clean_text
from lessons.imports.upsert import LessonRecord
from lessons.storage.models import LessonStatus, Perspective, Polarity, Sensitivity

FIELDS = (
    "external_id",
    "title",
    "observation",
    "insight",
    "recommendation",
    "tags",
    "polarity",
    "perspective",
    "sensitivity",
    "status",
    "project",
    "unit",
    "lesson_date",
    "author",
    "source_url",
)


def parse_mapping(pairs: list[str]) -> dict[str, str]:
    """`["title=Lesson", "observation=What happened"]` -> a mapping; ValueError names the
    problem."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        field, sep, column = pair.partition("=")
        field = field.strip()
        if not sep or not column.strip():
            raise ValueError(f"--map {pair!r}: write FIELD=COLUMN")
        if field not in FIELDS:
            raise ValueError(f"--map {pair!r}: {field!r} is not one of {', '.join(FIELDS)}")
        mapping[field] = column.strip()
    if "title" not in mapping:
        raise ValueError("--map must say which column holds the title (title=COLUMN)")
    return mapping


def rows(path: Path, kind: str) -> Iterator[tuple[int, dict[str, Any] | None, str]]:
    """(row number, row or None, problem) for each row of a CSV, JSON array or JSON Lines file."""
    if kind == "csv":
        with path.open(encoding="utf-8-sig", newline="") as handle:
            for number, row in enumerate(csv.DictReader(handle), start=2):  # 1 is the header
                yield number, row, ""
        return
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            yield exc.lineno, None, f"not valid JSON: {exc.msg}"
            return
        for number, item in enumerate(items, start=1):
            yield (number, item, "") if isinstance(item, dict) else (number, None, "not an object")
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, None, f"not valid JSON: {exc.msg}"
            continue
        yield (number, item, "") if isinstance(item, dict) else (number, None, "not an object")


def to_record(
    row: dict[str, Any], mapping: dict[str, str], *, source: str, status: LessonStatus
) -> LessonRecord:
    """One row as a LessonRecord; ValueError says what is wrong with it."""
    value = {field: row.get(column) for field, column in mapping.items()}
    title = clean_text(value.get("title"))
    if not title:
        raise ValueError(f"the title column {mapping['title']!r} is empty")
    observation = clean_text(value.get("observation"))
    raw_id = clean_text(value.get("external_id"))
    if not raw_id:
        raw_id = hashlib.sha256(f"{title}\0{observation}".encode()).hexdigest()[:16]
    tags = value.get("tags")
    tag_list = tags if isinstance(tags, list) else str(tags or "").replace(";", ",").split(",")
    try:
        return LessonRecord(
            external_id=f"{source}:{raw_id}",
            title=title[:500],
            observation=observation,
            insight=clean_text(value.get("insight")),
            recommendation=clean_text(value.get("recommendation")),
            tags=[str(t).strip() for t in tag_list if str(t).strip()],
            unit=clean_text(value.get("unit"))[:200],
            project=clean_text(value.get("project"))[:200],
            author=clean_text(value.get("author"))[:200],
            lesson_date=date.fromisoformat(str(value["lesson_date"])[:10])
            if value.get("lesson_date")
            else None,
            source_url=clean_text(value.get("source_url")) or None,
            polarity=Polarity(_lower(value.get("polarity"), Polarity.IMPROVE)),
            perspective=Perspective(_lower(value.get("perspective"), Perspective.OPERATIONAL)),
            sensitivity=Sensitivity(_lower(value.get("sensitivity"), Sensitivity.INTERNAL)),
            status=LessonStatus(_lower(value.get("status"), status)),
        )
    except (ValidationError, ValueError) as exc:
        raise ValueError(str(exc).splitlines()[0]) from None


def _lower(value: object, default: str) -> str:
    text = clean_text(value).lower().replace(" ", "_")
    return text or default
