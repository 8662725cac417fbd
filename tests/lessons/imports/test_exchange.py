from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, func, select

from lessons.accounts import access
from lessons.bar import service as bar
from lessons.curation import lifecycle
from lessons.imports.exchange import export_bank, import_bank
from lessons.imports.seed import load_bank
from lessons.schemas import BarIn, DecisionIn
from lessons.storage.db import make_engine, migrate
from lessons.storage.models import Lesson, LessonStatus, Project


def _seeded(engine: Engine, bank: dict[str, Any]) -> dict[str, Any]:
    with Session(engine) as session:
        load_bank(session, bank)
        lesson = session.exec(select(Lesson).where(Lesson.status == "validated")).first()
        assert lesson is not None and lesson.id is not None
        lifecycle.transition(session, lesson=lesson, to=LessonStatus.ACTIONED, actor="c")
        record = bar.record(
            session,
            payload=BarIn(brief="A new campaign"),
            surfaced=[bar.Surfaced(lesson_id=lesson.id, score=0.5)],
            model="m",
        )
        bar.decide(
            session,
            bar=record,
            viewer=access.CURATOR,
            decisions=[DecisionIn(lesson_id=lesson.id, decision="apply", note="yes")],
        )
        session.commit()
        return export_bank(session)


def _without_times(document: dict[str, Any]) -> dict[str, Any]:
    document = copy.deepcopy(document)
    document.pop("exported_at")
    return document


def _fresh(tmp_path: Path, name: str) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / name}")
    migrate(engine)
    return engine


def test_export_import_round_trip_is_lossless(
    engine: Engine, tmp_path: Path, demo_bank: dict[str, Any]
) -> None:
    exported = _seeded(engine, demo_bank)
    other = _fresh(tmp_path, "copy.db")
    with Session(other) as session:
        report = import_bank(session, exported)
        session.commit()
        assert report.errors == []
        again = export_bank(session)
    assert _without_times(again) == _without_times(exported)
    assert len(exported["lessons"]) >= 60
    assert any(b["items"] and b["items"][0]["decision"] == "apply" for b in exported["bars"])
    assert any(len(le["events"]) >= 2 for le in exported["lessons"])


def test_reimport_updates_in_place_without_duplicates(
    engine: Engine, tmp_path: Path, demo_bank: dict[str, Any]
) -> None:
    exported = _seeded(engine, demo_bank)
    other = _fresh(tmp_path, "copy.db")
    with Session(other) as session:
        import_bank(session, exported)
        session.commit()
        edited = copy.deepcopy(exported)
        edited["lessons"][0]["title"] = "A corrected title"
        report = import_bank(session, edited)
        session.commit()
        assert report.added == {}
        assert report.updated["lessons"] == len(exported["lessons"])
        assert session.exec(select(func.count()).select_from(Lesson)).one() == len(
            exported["lessons"]
        )
        again = export_bank(session)
    assert again["lessons"][0]["title"] == "A corrected title"
    assert again["lessons"][0]["events"] == exported["lessons"][0]["events"]
    assert again["lessons"][0]["tags"] == exported["lessons"][0]["tags"]


def test_import_reports_bad_records_and_keeps_good_ones(engine: Engine) -> None:
    document = {
        "format": "lessonbank-export",
        "version": 1,
        "projects": [
            {"uid": "p1", "name": "Good project"},
            {"uid": "p2"},  # no name
            "not even an object",
        ],
        "lessons": [
            {"uid": "l1", "title": "Good lesson", "project": "p1", "tags": ["x"]},
            {"uid": "l2", "title": "Orphan", "project": "missing-project"},
            {"uid": "l3", "title": "Bad date", "review_due": "someday"},
        ],
    }
    with Session(engine) as session:
        report = import_bank(session, document)
        session.commit()
        titles = session.exec(select(Lesson.title)).all()
        projects = session.exec(select(Project.name)).all()
    assert titles == ["Good lesson"]
    assert projects == ["Good project"]
    assert len(report.errors) == 4
    assert any(e.startswith("projects[1]") for e in report.errors)
    assert any(e.startswith("lessons[1]") and "missing-project" in e for e in report.errors)
    assert any(e.startswith("lessons[2]") for e in report.errors)


def test_import_refuses_a_file_that_is_not_an_export(engine: Engine) -> None:
    with Session(engine) as session:
        report = import_bank(session, {"projects": []})
    assert report.errors and "not a Lessonbank export" in report.errors[0]
