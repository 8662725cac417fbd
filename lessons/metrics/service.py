"""Learning-loop metrics, each a small table: what the dashboard draws, lists and exports.

Every figure is computed over the lessons the viewer may see (`lessons.accounts.access`), never
deleted ones; actions and BAR items count only when their lesson is one of those (an action on
no lesson counts, as on the actions page). Definitions, as the dashboard states them:

- lessons identified / validated / learned per month: the month a lesson first reached that
  stage or a later one (identified < validated < actioned < learned), from its lifecycle events;
  a lesson reopened and validated again counts once.
- time to learned: days from a lesson's first identified event to its first learned event, for
  lessons that went through both (imported lessons that arrived learned are left out).
- actions per month: opened (created), closed (done or dropped), and overdue at the month's end
  (or today, for the current month): open then and due before then.
- new projects that ran a BAR, per quarter: a project is new in the quarter it started (its
  start date, else its first review or BAR); it ran a BAR when its first BAR is dated on or
  before its first review (or it has a BAR and no review yet).
- BAR decisions per quarter of the BAR: lessons surfaced, and how many the team marked apply,
  not relevant or note, or left undecided.
- BAR outcomes per quarter of the BAR: applied lessons, and those with an outcome recorded.
- recurring themes: projects, lessons and open actions per theme (`lessons.curation.themes`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

from sqlmodel import Session

from lessons.accounts.access import Viewer
from lessons.curation.themes import Theme
from lessons.metrics import sql
from lessons.metrics.actions import actions_per_month
from lessons.metrics.bars import bar_adoption, bar_decisions, bar_outcomes
from lessons.metrics.learning import lessons_per_month, time_to_learned
from lessons.metrics.table import Cell, Metric, to_csv
from lessons.storage.models import utcnow

__all__ = ["NAMES", "Metric", "compute", "compute_all", "recurring_themes", "to_csv"]


def recurring_themes(themes: Sequence[Theme]) -> Metric:
    """Projects, lessons and open actions per recurring theme."""
    rows: list[list[Cell]] = [
        [t.label, len(t.projects), len(t.lessons), len(t.open_actions)] for t in themes
    ]
    return Metric(
        name="themes",
        title="Recurring themes: met in three or more projects, not yet learned",
        definition="Lessons grouped by meaning; a theme's lessons that are not yet learned come "
        "from three or more projects. Projects counts every project in the theme.",
        columns=["Theme", "Projects", "Lessons", "Open actions"],
        rows=rows,
        kind="barh",
        series=["Projects"],
        unit="projects",
        summary={"Themes": len(themes)},
    )


NAMES = (
    "lessons",
    "time-to-learned",
    "actions",
    "bar-adoption",
    "bar-decisions",
    "bar-outcomes",
    "themes",
)


def compute(
    session: Session,
    *,
    viewer: Viewer,
    name: str,
    themes: Callable[[], Sequence[Theme]],
    today: date | None = None,
) -> Metric:
    """One metric by name, for `viewer`. `themes` is called only for the themes metric (the
    grouping is retrieval's work; the caller supplies it)."""
    if name not in NAMES:
        raise KeyError(name)
    today = today or utcnow().date()
    if name == "themes":
        return recurring_themes(themes())
    if name == "bar-adoption":
        return bar_adoption(session, viewer=viewer)
    if name == "actions":
        return actions_per_month(session, viewer=viewer, today=today)
    counted = sql.counted_lessons(viewer)  # the access filter, inside each aggregate
    if name == "lessons":
        return lessons_per_month(session, counted=counted)
    if name == "time-to-learned":
        return time_to_learned(session, counted=counted)
    if name == "bar-decisions":
        return bar_decisions(session, counted=counted)
    return bar_outcomes(session, counted=counted)


def compute_all(
    session: Session,
    *,
    viewer: Viewer,
    themes: Callable[[], Sequence[Theme]],
    today: date | None = None,
) -> list[Metric]:
    """Every metric, in dashboard order."""
    return [
        compute(session, viewer=viewer, name=name, themes=themes, today=today) for name in NAMES
    ]
