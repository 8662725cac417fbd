"""An organisation's own spreadsheet: CSV or JSON with a column mapping."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from lessons.imports import tabular
from lessons.imports.upsert import upsert_all
from lessons.storage.models import Lesson, LessonStatus

MAPPING = tabular.parse_mapping(
    [
        "external_id=Ref",
        "title=Lesson",
        "observation=What happened",
        "recommendation=Do next",
        "tags=Tags",
        "polarity=Worked?",
        "lesson_date=Date",
        "unit=Team",
    ]
)
CSV = """Ref,Lesson,What happened,Do next,Tags,Worked?,Date,Team
L-1,Book venues early,The hall was taken.,Book in January.,events; venues,improve,2024-03-01,Comms
L-2,,No title here,,,,,
L-3,Use a checklist,It worked.,Keep it.,checklists,sustain,not-a-date,Ops
L-4,Pilot first,Small pilot found bugs.,Always pilot.,,SUSTAIN,2023-11-30,IT
L-5,Wrong polarity,x,,,meh,,
"""


def _run(engine: Engine, path: Path, kind: str) -> tuple[list[str], list[str]]:
    problems, records = [], []
    for number, row, problem in tabular.rows(path, kind):
        if row is None:
            problems.append(f"{number}: {problem}")
            continue
        try:
            record = tabular.to_record(row, MAPPING, source="log", status=LessonStatus.VALIDATED)
            records.append((str(number), record))
        except ValueError as exc:
            problems.append(f"{number}: {exc}")
    with Session(engine) as session:
        upsert_all(session, records, actor="test")
        session.commit()
        titles = sorted(lesson.title for lesson in session.exec(select(Lesson)))
    return titles, problems


def test_csv_rows_import_with_mapping_and_bad_rows_are_named(
    engine: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "log.csv"
    path.write_text(CSV)
    titles, problems = _run(engine, path, "csv")
    assert titles == ["Book venues early", "Pilot first"]
    assert [p.split(":")[0] for p in problems] == ["3", "4", "6"]
    assert "title" in problems[0]
    with Session(engine) as session:
        lesson = session.exec(select(Lesson).where(Lesson.external_id == "log:L-1")).one()
        assert lesson.tags == ["events", "venues"]
        assert (lesson.unit, str(lesson.lesson_date), lesson.polarity) == (
            "Comms",
            "2024-03-01",
            "improve",
        )
    again, _ = _run(engine, path, "csv")
    assert again == titles  # re-running updates in place


def test_json_lines_without_ids_do_not_duplicate(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    rows = [
        {"Lesson": "Name an owner", "What happened": "Nobody chased it."},
        {"Lesson": "Name an owner", "What happened": "A different story."},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n{broken\n")
    titles, problems = _run(engine, path, "json")
    assert titles == ["Name an owner", "Name an owner"]
    assert problems == ["3: not valid JSON: Expecting property name enclosed in double quotes"]
    titles, _ = _run(engine, path, "json")
    assert len(titles) == 2


@pytest.mark.parametrize(
    ("pairs", "message"),
    [([], "title"), (["title"], "FIELD=COLUMN"), (["heading=Title"], "not one of")],
)
def test_parse_mapping_explains_mistakes(pairs: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        tabular.parse_mapping(pairs)
