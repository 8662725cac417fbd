"""Before-action reviews: new projects that ran one, the decisions taken on what they surfaced,
and the outcomes recorded."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlmodel import Session

from lessons.accounts.access import Viewer
from lessons.metrics import sql
from lessons.metrics.periods import quarter_start, quarters_between
from lessons.metrics.table import Cell, Metric, percent
from lessons.storage.models import Decision


def bar_adoption(session: Session, *, viewer: Viewer) -> Metric:
    """Share of new projects that ran a BAR before (or with) their first review, per quarter,
    among the projects the viewer may know of (one holding only hidden work is not counted)."""
    counts = sql.bar_adoption(session, viewer)
    starts = [quarter_start(q) for q in counts]
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
    rows: list[list[Cell]] = [[q, of[q], did[q], percent(did[q], of[q])] for q in quarters]
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
            "Share (%)": percent(sum(did.values()), sum(of.values())),
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
        rows.append([q, sum(row), *row, percent(row[0], decided)])
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
            "Apply share (%)": percent(applied, decided_all),
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
