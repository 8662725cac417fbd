"""Learning-loop metrics, each a small table: what the dashboard draws, lists and exports.

Every figure is computed over the lessons the viewer may see (`lessons.access`), never
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
- recurring themes: projects, lessons and open actions per theme (`lessons.themes`).
"""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from sqlmodel import Session, col, select

from lessons.access import Viewer, action_clause, visible_lesson_ids, visible_project_ids
from lessons.models import (
    Action,
    ActionStatus,
    BarItem,
    BeforeActionReview,
    Decision,
    Lesson,
    LessonEvent,
    LessonStatus,
    Project,
    Review,
    utcnow,
)
from lessons.schemas import SearchFilters
from lessons.themes import Theme

Cell = int | float | str | None
Kind = Literal["lines", "bars", "stacked", "barh"]

_STAGES = (
    LessonStatus.IDENTIFIED,
    LessonStatus.VALIDATED,
    LessonStatus.ACTIONED,
    LessonStatus.LEARNED,
)
# Bins of the identified-to-learned distribution: (label, first day, last day or None).
DAY_BINS: tuple[tuple[str, int, int | None], ...] = (
    ("under 1 month", 0, 29),
    ("1-3 months", 30, 89),
    ("3-6 months", 90, 181),
    ("6-12 months", 182, 364),
    ("1 year or more", 365, None),
)


@dataclass(frozen=True)
class Metric:
    """One chart's numbers: the first column names the rows (a month, a bin, a theme); the
    columns in `series` are drawn; `summary` holds headline figures (a median, a share)."""

    name: str
    title: str
    definition: str
    columns: list[str]
    rows: list[list[Cell]]
    kind: Kind
    series: list[str]
    unit: str = ""
    summary: dict[str, Cell] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "definition": self.definition,
            "columns": self.columns,
            "rows": self.rows,
            "summary": self.summary,
        }


# --- which lessons count --------------------------------------------------------------------


def counted_lesson_ids(session: Session, *, viewer: Viewer) -> set[int]:
    """Lessons the viewer may see, in any state, never deleted ones."""
    query = visible_lesson_ids(viewer, SearchFilters(status=list(LessonStatus))).where(
        col(Lesson.deleted_at).is_(None)
    )
    return {i for i in session.exec(query) if i is not None}


# --- periods --------------------------------------------------------------------------------


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def quarter_of(day: date) -> str:
    return f"{day.year:04d} Q{(day.month - 1) // 3 + 1}"


def months_between(first: date, last: date) -> list[str]:
    """Every month from `first`'s to `last`'s, inclusive."""
    months = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def quarters_between(first: date, last: date) -> list[str]:
    quarters = []
    year, q = first.year, (first.month - 1) // 3 + 1
    while (year, q) <= (last.year, (last.month - 1) // 3 + 1):
        quarters.append(f"{year:04d} Q{q}")
        year, q = (year + 1, 1) if q == 4 else (year, q + 1)
    return quarters


def _quarter_start(quarter: str) -> date:
    return date(int(quarter[:4]), 3 * int(quarter[-1]) - 2, 1)


def _month_end(month: str) -> date:
    year, number = int(month[:4]), int(month[5:])
    following = date(year + 1, 1, 1) if number == 12 else date(year, number + 1, 1)
    return date.fromordinal(following.toordinal() - 1)


# --- lessons --------------------------------------------------------------------------------


def _stage_dates(session: Session, ids: set[int]) -> dict[int, dict[str, datetime]]:
    """For each lesson, when it first reached each stage (or a later one)."""
    reached: dict[int, dict[str, datetime]] = defaultdict(dict)
    if not ids:
        return reached
    events = session.exec(
        select(LessonEvent.lesson_id, LessonEvent.to_status, LessonEvent.at)
        .where(col(LessonEvent.lesson_id).in_(sorted(ids)))
        .order_by(col(LessonEvent.at), col(LessonEvent.id))
    )
    for lesson_id, to_status, at in events:
        if to_status not in _STAGES:
            continue
        position = _STAGES.index(LessonStatus(to_status))
        for stage in _STAGES[: position + 1]:
            reached[lesson_id].setdefault(stage, at)
        # The stage an event itself names, to tell "identified" from "arrived validated".
        reached[lesson_id].setdefault(f"first:{to_status}", at)
    return reached


def lessons_per_month(session: Session, *, ids: set[int]) -> Metric:
    """Lessons identified, validated and learned per month."""
    reached = _stage_dates(session, ids)
    stages = (LessonStatus.IDENTIFIED, LessonStatus.VALIDATED, LessonStatus.LEARNED)
    counts: Counter[tuple[str, str]] = Counter()
    days = []
    for dates in reached.values():
        for stage in stages:
            if stage in dates:
                counts[(month_of(dates[stage].date()), stage)] += 1
                days.append(dates[stage].date())
    months = months_between(min(days), max(days)) if days else []
    labels = ["Identified", "Validated", "Learned"]
    return Metric(
        name="lessons",
        title="Lessons identified, validated and learned per month",
        definition="The month a lesson first reached each stage (or a later one), from its "
        "lifecycle events; a lesson counts once per stage.",
        columns=["Month", *labels],
        rows=[[m, *(counts[(m, s)] for s in stages)] for m in months],
        kind="lines",
        series=labels,
        unit="lessons",
        summary={
            label: sum(counts[(m, s)] for m in months)
            for label, s in zip(labels, stages, strict=True)
        },
    )


def time_to_learned(session: Session, *, ids: set[int]) -> Metric:
    """Days from identified to learned: the distribution and its median."""
    durations = []
    for dates in _stage_dates(session, ids).values():
        if "first:identified" in dates and LessonStatus.LEARNED in dates:
            start, end = dates["first:identified"], dates[LessonStatus.LEARNED]
            durations.append(max(0, (end.date() - start.date()).days))
    rows: list[list[Cell]] = [
        [label, sum(1 for d in durations if d >= low and (high is None or d <= high))]
        for label, low, high in DAY_BINS
    ]
    return Metric(
        name="time-to-learned",
        title="Time from identified to learned",
        definition="Days from a lesson's first identified event to its first learned event, "
        "for lessons that went through both.",
        columns=["Time to learned", "Lessons"],
        rows=rows if durations else [],
        kind="bars",
        series=["Lessons"],
        unit="lessons",
        summary={
            "Lessons learned": len(durations),
            "Median days": _tidy(statistics.median(durations)) if durations else None,
        },
    )


# --- actions --------------------------------------------------------------------------------


def actions_per_month(session: Session, *, viewer: Viewer, today: date) -> Metric:
    """Actions opened, closed and overdue per month (those the viewer may see)."""
    actions = session.exec(select(Action).where(action_clause(viewer))).all()
    opened: Counter[str] = Counter(month_of(a.created_at.date()) for a in actions)
    closed: Counter[str] = Counter(
        month_of(a.closed_at.date())
        for a in actions
        if a.closed_at is not None and a.status != ActionStatus.OPEN
    )
    firsts = [a.created_at.date() for a in actions]
    months = months_between(min(firsts), max(today, *firsts)) if firsts else []
    rows: list[list[Cell]] = []
    for month in months:
        end = min(_month_end(month), today)
        overdue = sum(
            1
            for a in actions
            if a.created_at.date() <= end
            and a.due is not None
            and a.due < end
            and not (
                a.status != ActionStatus.OPEN
                and a.closed_at is not None
                and a.closed_at.date() <= end
            )
        )
        rows.append([month, opened[month], closed[month], overdue])
    return Metric(
        name="actions",
        title="Actions opened, closed and overdue per month",
        definition="Opened: created that month. Closed: marked done or dropped that month. "
        "Overdue: open at the month's end (today, for this month) and due before it.",
        columns=["Month", "Opened", "Closed", "Overdue at month end"],
        rows=rows,
        kind="lines",
        series=["Opened", "Closed", "Overdue at month end"],
        unit="actions",
        summary={
            "Open now": sum(1 for a in actions if a.status == ActionStatus.OPEN),
            "Overdue now": sum(1 for a in actions if a.is_overdue(today)),
        },
    )


# --- before action reviews ------------------------------------------------------------------


def bar_adoption(session: Session, *, viewer: Viewer) -> Metric:
    """Share of new projects that ran a BAR before (or with) their first review, per quarter,
    among the projects the viewer may know of (one holding only hidden work is not counted)."""
    first_review: dict[int, date] = {}
    for project_id, held_on, created_at in session.exec(
        select(col(Review.project_id), col(Review.held_on), col(Review.created_at))
    ):
        day = held_on or created_at.date()
        first_review[project_id] = min(day, first_review.get(project_id, day))
    first_bar: dict[int, date] = {}
    for bar_project, bar_created in session.exec(
        select(BeforeActionReview.project_id, BeforeActionReview.created_at).where(
            col(BeforeActionReview.project_id).is_not(None)
        )
    ):
        assert bar_project is not None
        day = bar_created.date()
        first_bar[bar_project] = min(day, first_bar.get(bar_project, day))
    new: Counter[str] = Counter()
    ran: Counter[str] = Counter()
    for project in session.exec(
        select(Project).where(col(Project.id).in_(visible_project_ids(viewer)))
    ):
        assert project.id is not None
        review, bar = first_review.get(project.id), first_bar.get(project.id)
        known = [d for d in (review, bar) if d is not None]
        start = project.start_date or (min(known) if known else project.created_at.date())
        quarter = quarter_of(start)
        new[quarter] += 1
        if bar is not None and (review is None or bar <= review):
            ran[quarter] += 1
    starts = [_quarter_start(q) for q in new]
    quarters = quarters_between(min(starts), max(starts)) if starts else []
    return _share_by_quarter(
        name="bar-adoption",
        title="New projects that ran a before action review",
        definition="A project is new in the quarter it started (its start date, else its first "
        "review or BAR). It ran a BAR when its first BAR is dated on or before its first review.",
        quarters=quarters,
        whole=("New projects", new),
        part=("Ran a BAR", ran),
        unit="projects",
    )


def _share_by_quarter(
    *,
    name: str,
    title: str,
    definition: str,
    quarters: list[str],
    whole: tuple[str, Counter[str]],
    part: tuple[str, Counter[str]],
    unit: str,
) -> Metric:
    """A count per quarter, how many of those did something, and the share that did."""
    (whole_name, of), (part_name, did) = whole, part
    rows: list[list[Cell]] = [[q, of[q], did[q], _percent(did[q], of[q])] for q in quarters]
    return Metric(
        name=name,
        title=title,
        definition=definition,
        columns=["Quarter", whole_name, part_name, "Share (%)"],
        rows=rows,
        kind="bars",
        series=[whole_name, part_name],
        unit=unit,
        summary={
            whole_name: sum(of.values()),
            part_name: sum(did.values()),
            "Share (%)": _percent(sum(did.values()), sum(of.values())),
        },
    )


def _bar_items(session: Session, ids: set[int]) -> list[tuple[BarItem, date]]:
    rows = session.exec(
        select(BarItem, BeforeActionReview.created_at)
        .join(BeforeActionReview, col(BeforeActionReview.id) == col(BarItem.bar_id))
        .where(col(BarItem.lesson_id).in_(sorted(ids)))
    )
    return [(item, created_at.date()) for item, created_at in rows]


def bar_decisions(session: Session, *, ids: set[int]) -> Metric:
    """How the lessons BARs surfaced were decided, per quarter of the BAR."""
    labels = {
        Decision.APPLY: "Apply",
        Decision.NOT_RELEVANT: "Not relevant",
        Decision.NOTE: "Note",
        None: "Undecided",
    }
    counts: Counter[tuple[str, str | None]] = Counter()
    for item, day in _bar_items(session, ids):
        decision = item.decision if item.decision in labels else None
        counts[(quarter_of(day), decision)] += 1
    quarters = sorted({q for q, _ in counts})
    rows: list[list[Cell]] = []
    for q in quarters:
        row = [counts[(q, d)] for d in labels]
        decided = sum(row[:3])
        rows.append([q, sum(row), *row, _percent(row[0], decided)])
    surfaced = sum(counts.values())
    applied = sum(n for (_, d), n in counts.items() if d == Decision.APPLY)
    decided_all = sum(n for (_, d), n in counts.items() if d is not None)
    return Metric(
        name="bar-decisions",
        title="Lessons surfaced by BARs, and what teams decided",
        definition="Per quarter of the BAR: the lessons it surfaced and the team's decision on "
        "each. Apply share is of the decided lessons.",
        columns=["Quarter", "Surfaced", *labels.values(), "Apply share (%)"],
        rows=rows,
        kind="stacked",
        series=list(labels.values()),
        unit="lessons",
        summary={
            "Surfaced": surfaced,
            "Marked apply": applied,
            "Apply share (%)": _percent(applied, decided_all),
        },
    )


def bar_outcomes(session: Session, *, ids: set[int]) -> Metric:
    """Applied BAR lessons, and those whose outcome was recorded, per quarter of the BAR."""
    applied: Counter[str] = Counter()
    recorded: Counter[str] = Counter()
    for item, day in _bar_items(session, ids):
        if item.decision == Decision.APPLY:
            applied[quarter_of(day)] += 1
            if item.outcome.strip():
                recorded[quarter_of(day)] += 1
    return _share_by_quarter(
        name="bar-outcomes",
        title="Applied BAR lessons with an outcome recorded",
        definition="Per quarter of the BAR: lessons the team marked apply, and how many of "
        "those later had what happened recorded.",
        quarters=sorted(applied),
        whole=("Applied", applied),
        part=("Outcome recorded", recorded),
        unit="lessons",
    )


# --- themes ---------------------------------------------------------------------------------


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


# --- all of them ----------------------------------------------------------------------------

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
    ids: set[int] | None = None,
) -> Metric:
    """One metric by name, for `viewer`. `themes` is called only for the themes metric (the
    grouping is retrieval's work; the caller supplies it); `ids` are the counted lessons, when
    the caller has them already."""
    if name not in NAMES:
        raise KeyError(name)
    today = today or utcnow().date()
    if name == "themes":
        return recurring_themes(themes())
    if name == "bar-adoption":
        return bar_adoption(session, viewer=viewer)
    ids = counted_lesson_ids(session, viewer=viewer) if ids is None else ids
    if name == "lessons":
        return lessons_per_month(session, ids=ids)
    if name == "time-to-learned":
        return time_to_learned(session, ids=ids)
    if name == "actions":
        return actions_per_month(session, viewer=viewer, today=today)
    if name == "bar-decisions":
        return bar_decisions(session, ids=ids)
    return bar_outcomes(session, ids=ids)


def compute_all(
    session: Session,
    *,
    viewer: Viewer,
    themes: Callable[[], Sequence[Theme]],
    today: date | None = None,
) -> list[Metric]:
    """Every metric, in dashboard order."""
    ids = counted_lesson_ids(session, viewer=viewer)
    return [
        compute(session, viewer=viewer, name=name, themes=themes, today=today, ids=ids)
        for name in NAMES
    ]


def _tidy(value: float) -> int | float:
    """A whole number as an int (a median of an even count is a float), else one decimal."""
    return int(value) if float(value).is_integer() else round(value, 1)


def _percent(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


# --- CSV ------------------------------------------------------------------------------------


def to_csv(metric: Metric) -> str:
    """The metric's table as CSV, spreadsheet-safe: no text cell starts with a formula
    character (a theme is named after a lesson title, which anyone may write)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_safe(c) for c in metric.columns])
    for row in metric.rows:
        writer.writerow([_safe(c) if isinstance(c, str) else "" if c is None else c for c in row])
    return out.getvalue()


def _safe(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
