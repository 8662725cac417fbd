"""Themes: lessons that recur across projects."""

from __future__ import annotations

from lessons.schemas.actions import Action
from lessons.schemas.common import Out, ProjectName
from lessons.schemas.lessons import LessonBrief


class ThemeLesson(LessonBrief):
    year: int


class Theme(Out):
    label: str
    central_lesson_id: int
    tags: list[str]
    project_count: int
    open_project_count: int
    projects: list[ProjectName]
    years: list[int]
    lessons: list[ThemeLesson]
    learned_lesson_ids: list[int]
    open_actions: list[Action]


class Themes(Out):
    themes: list[Theme]
    threshold: float
    min_projects: int
