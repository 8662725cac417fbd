"""The demo bank: big enough, varied enough, and loaded through the real capture path."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlmodel import Session, func, select

from lessons.imports.seed import load_bank
from lessons.storage.models import Action, Lesson, LessonTag, Project, Review


def test_demo_bank_loads_with_the_promised_breadth(
    session: Session, demo_bank: dict[str, Any]
) -> None:
    added = load_bank(session, demo_bank)
    projects = session.exec(select(Project)).all()
    lessons = session.exec(select(Lesson)).all()
    assert len(projects) >= 12
    assert added == len(lessons) >= 60
    kinds = {r.kind for r in session.exec(select(Review)).all()}
    assert kinds == {"aar", "retrospect", "handover"}
    statuses = {le.status for le in lessons}
    assert {"identified", "validated", "actioned", "learned"} <= statuses
    open_actions = session.exec(
        select(func.count()).select_from(Action).where(Action.status == "open")
    ).one()
    assert open_actions >= 5


def test_demo_bank_has_lessons_that_recur_across_projects(
    session: Session, demo_bank: dict[str, Any]
) -> None:
    load_bank(session, demo_bank)
    projects_by_tag: dict[str, set[int]] = defaultdict(set)
    for tag, project_id in session.exec(
        select(LessonTag.tag, Lesson.project_id).join(Lesson)
    ).all():
        projects_by_tag[tag].add(project_id or 0)
    recurring = [tag for tag, ids in projects_by_tag.items() if len(ids) >= 3]
    assert len(recurring) >= 4


def test_loading_twice_adds_nothing(session: Session, demo_bank: dict[str, Any]) -> None:
    first = load_bank(session, demo_bank)
    assert first > 0
    assert load_bank(session, demo_bank) == 0
    assert session.exec(select(func.count()).select_from(Lesson)).one() == first
