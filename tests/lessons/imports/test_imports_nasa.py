"""NASA LLIS import: both files merged per lesson, cleaned, idempotent, bad lines reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, func, select

from lessons.imports import nasa
from lessons.imports.cleaning import clean_text
from lessons.imports.upsert import upsert_all
from lessons.storage.models import Lesson, Project

DATASETS = Path(__file__).resolve().parents[4] / "shared" / "datasets"

LLIS = {
    "lesson_id": "8016",
    "title": "Residual Oxidizer in Flex Tubing",
    "abstract": "Three employees were exposed to oxidizer._ The tubing was not purged.",
    "lesson": "Purge &amp; cap flex tubing <b>before</b> storage.",
    "organization": "KSC",
    "lesson_date": "2013-10-18",
    "categories": ["Safety and Mission Assurance", "Disposal"],
    "submitter": "Jane Roe",
    "llis_url": "https://llis.nasa.gov/lesson/8016",
}
SECTIONS = {
    "lesson_number": "8016",
    "url": "https://llis.nasa.gov/lesson/8016",
    "title": "Residual Oxidizer in Flex Tubing",
    "lesson_date": "2013-10-18",
    "organization": "ksc",
    "program_relation": "Space Shuttle Program",
    "nasa_topics": ["Ground Operations"],
    "abstract_text": "",
    "driving_event_text": "A technician disconnected a line that still held oxidizer.",
    "lesson_text": "Purge & cap flex tubing before storage.",
    "recommendation_text": "Add a purge verification step to the work instruction.",
}


def _write(path: Path, *rows: object) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def _import(engine: Engine, *paths: Path) -> tuple[int, int, list[str]]:
    records, problems = nasa.read(paths)
    with Session(engine) as session:
        result = upsert_all(session, [(k, r) for k, r in records.items()], actor="test")
        session.commit()
        count = session.exec(select(func.count()).select_from(Lesson)).one()
    return result.added, int(count), problems + result.problems


def test_both_files_merge_into_one_lesson_keeping_every_section(
    engine: Engine, tmp_path: Path
) -> None:
    a = _write(tmp_path / "llis.jsonl", LLIS)
    b = _write(tmp_path / "sections.jsonl", SECTIONS)
    added, count, problems = _import(engine, a, b)
    assert (added, count, problems) == (1, 1, [])
    with Session(engine) as session:
        lesson = session.exec(select(Lesson)).one()
        project = session.exec(select(Project)).one()
        assert lesson.external_id == "8016"
        assert lesson.source_url == "https://llis.nasa.gov/lesson/8016"
        assert "Three employees were exposed to oxidizer. The tubing" in lesson.observation
        assert "still held oxidizer" in lesson.observation
        assert lesson.insight == "Purge & cap flex tubing before storage."
        assert lesson.recommendation.startswith("Add a purge verification")
        assert (lesson.status, lesson.sensitivity, lesson.unit) == ("validated", "public", "KSC")
        assert lesson.tags == [
            "nasa-llis:disposal",
            "nasa-llis:ground-operations",
            "nasa-llis:safety-and-mission-assurance",
        ]
        assert project.name == "Space Shuttle Program" and lesson.project_id == project.id
        assert lesson.author is not None and lesson.author.name == "Jane Roe"


@pytest.mark.parametrize("order", ["llis-first", "sections-first", "separate-runs"])
def test_any_order_and_reruns_give_the_same_lesson(
    engine: Engine, tmp_path: Path, order: str
) -> None:
    a = _write(tmp_path / "llis.jsonl", LLIS)
    b = _write(tmp_path / "sections.jsonl", SECTIONS)
    if order == "llis-first":
        _import(engine, a, b)
    elif order == "sections-first":
        _import(engine, b, a)
    else:
        _import(engine, b)
        _import(engine, a)
    added, count, _ = _import(engine, a, b)  # and once more: nothing new
    assert (added, count) == (0, 1)
    with Session(engine) as session:
        lesson = session.exec(select(Lesson)).one()
        assert "Three employees" in lesson.observation and "still held" in lesson.observation
        assert len(lesson.tags) == 3


def test_bad_lines_are_reported_with_line_numbers_and_good_ones_kept(
    engine: Engine, tmp_path: Path
) -> None:
    bad = _write(
        tmp_path / "llis.jsonl",
        LLIS,
        "{not json",
        '["a list"]',
        {"lesson_id": "x1"},
        {**LLIS, "lesson_id": "8017", "lesson_date": "someday"},
        {**LLIS, "lesson_id": "8018", "title": ""},
    )
    added, count, problems = _import(engine, bad)
    assert (added, count) == (2, 2)
    assert [p.split(": ")[0].rsplit(":", 1)[1] for p in problems] == ["2", "3", "4", "5"]
    with Session(engine) as session:
        untitled = session.exec(select(Lesson).where(Lesson.external_id == "8018")).one()
    assert untitled.title.startswith("Three employees were exposed")


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("a &amp;amp; b", "a & b"),
        ("<p>One</p><p>Two</p>", "One\n\nTwo"),
        ("Done._ Next", "Done. Next"),
        ("x  \u00a0 y", "x y"),
        (None, ""),
        ("Phase &raquo; D", "Phase » D"),
    ],
)
def test_clean_text(raw: str | None, clean: str) -> None:
    assert clean_text(raw) == clean


@pytest.mark.skipif(not DATASETS.is_dir(), reason="../shared/datasets is not here")
def test_real_nasa_files_import_once_and_rerun_without_duplicates(engine: Engine) -> None:
    files = (
        DATASETS / "nasa-llis" / "llis.jsonl",
        DATASETS / "nasa-llis-sections" / "llis_sections.jsonl",
    )
    added, count, problems = _import(engine, *files)
    assert added == count == 1976  # the union of the two files' lesson ids
    assert problems == []
    again, count_again, _ = _import(engine, *reversed(files))
    assert (again, count_again) == (0, 1976)
    with Session(engine) as session:
        html_left = session.exec(
            select(func.count()).select_from(Lesson).where(Lesson.insight.contains("&amp;"))  # type: ignore[attr-defined]
        ).one()
    assert html_left == 0
