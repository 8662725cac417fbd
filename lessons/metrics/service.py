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

import csv
import io
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from sqlmodel import Session

from lessons.accounts.access import Viewer
from lessons.curation.themes import Theme
from lessons.metrics import sql
from lessons.storage.models import Decision, utcnow

Cell = int | float | str | None
Kind = Literal["lines", "bars", "stacked", "barh"]

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


def _month_start(month: str) -> date:
    return date(int(month[:4]), int(month[5:]), 1)


def _quarter_start(quarter: str) -> date:
    return date(int(quarter[:4]), 3 * int(quarter[-1]) - 2, 1)


def _month_end(month: str) -> date:
    year, number = int(month[:4]), int(month[5:])
    following = date(year + 1, 1, 1) if number == 12 else date(year, number + 1, 1)
    return date.fromordinal(following.toordinal() - 1)


# --- lessons --------------------------------------------------------------------------------


def lessons_per_month(session: Session, *, counted: Any) -> Metric:
    """Lessons identified, validated and learned per month."""
    counts = sql.stage_months(session, counted)
    stages = ("identified", "validated", "learned")
    starts = sorted({_month_start(month) for _, month in counts})
    months = months_between(starts[0], starts[-1]) if starts else []
    labels = ["Identified", "Validated", "Learned"]
    return Metric(
        name="lessons",
        title="Lessons identified, validated and learned per month",
        definition="The month a lesson first reached each stage (or a later one), from its "
        "lifecycle events; a lesson counts once per stage.",
        columns=["Month", *labels],
        rows=[[m, *(counts.get((s, m), 0) for s in stages)] for m in months],
        kind="lines",
        series=labels,
        unit="lessons",
        summary={
            label: sum(n for (stage, _), n in counts.items() if stage == s)
            for label, s in zip(labels, stages, strict=True)
        },
    )


def time_to_learned(session: Session, *, counted: Any) -> Metric:
    """Days from identified to learned: the distribution and its median."""
    durations = sql.days_to_learned(session, counted)
    rows: list[list[Cell]] = [
        [label, sum(n for d, n in durations if d >= low and (high is None or d <= high))]
        for label, low, high in DAY_BINS
    ]
    learned = sum(n for _, n in durations)
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
            "Lessons learned": learned,
            "Median days": _tidy(_median(durations)) if durations else None,
        },
    )


def _median(counted: list[tuple[int, int]]) -> float:
    """The median of values given as sorted (value, how many times) pairs."""
    total = sum(n for _, n in counted)
    middle = {(total - 1) // 2, total // 2}  # one position, or the two either side
    picked, seen = [], 0
    for value, n in counted:
        picked += [value] * len(middle & set(range(seen, seen + n)))
        seen += n
    return statistics.mean(picked)


# --- actions --------------------------------------------------------------------------------


def actions_per_month(session: Session, *, viewer: Viewer, today: date) -> Metric:
    """Actions opened, closed and overdue per month (those the viewer may see)."""
    opened, closed = sql.action_months(session, viewer)
    totals = sql.action_totals(session, viewer, today)
    first, last = totals.first, totals.last
    months = months_between(first, max(today, last)) if first and last else []
    overdue = sql.overdue_at(session, viewer, [min(_month_end(m), today) for m in months])
    rows: list[list[Cell]] = [
        [month, opened.get(month, 0), closed.get(month, 0), late]
        for month, late in zip(months, overdue, strict=True)
    ]
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
        summary={"Open now": totals.open_now, "Overdue now": totals.overdue_now},
    )


# --- before action reviews ------------------------------------------------------------------


def bar_adoption(session: Session, *, viewer: Viewer) -> Metric:
    """Share of new projects that ran a BAR before (or with) their first review, per quarter,
    among the projects the viewer may know of (one holding only hidden work is not counted)."""
    counts = sql.bar_adoption(session, viewer)
    starts = [_quarter_start(q) for q in counts]
    quarters = quarters_between(min(starts), max(starts)) if starts else []
    return _share_by_quarter(
        name="bar-adoption",
        title="New projects that ran a before action review",
        definition="A project is new in the quarter it started (its start date, else its first "
        "review or BAR). It ran a BAR when its first BAR is dated on or before its first review.",
        quarters=quarters,
        whole=("New projects", Counter({q: n for q, (n, _) in counts.items()})),
        part=("Ran a BAR", Counter({q: ran for q, (_, ran) in counts.items()})),
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


def bar_decisions(session: Session, *, counted: Any) -> Metric:
    """How the lessons BARs surfaced were decided, per quarter of the BAR."""
    labels = {
        Decision.APPLY: "Apply",
        Decision.NOT_RELEVANT: "Not relevant",
        Decision.NOTE: "Note",
        None: "Undecided",
    }
    counts = Counter(sql.bar_decisions(session, counted))
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


def bar_outcomes(session: Session, *, counted: Any) -> Metric:
    """Applied BAR lessons, and those whose outcome was recorded, per quarter of the BAR."""
    counts = sql.bar_outcomes(session, counted)
    return _share_by_quarter(
        name="bar-outcomes",
        title="Applied BAR lessons with an outcome recorded",
        definition="Per quarter of the BAR: lessons the team marked apply, and how many of "
        "those later had what happened recorded.",
        quarters=sorted(counts),
        whole=("Applied", Counter({q: n for q, (n, _) in counts.items()})),
        part=("Outcome recorded", Counter({q: r for q, (_, r) in counts.items()})),
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
