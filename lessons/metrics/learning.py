"""Lessons through the lifecycle: identified, validated and learned per month, and the days from
identified to learned."""

from __future__ import annotations

import statistics
from typing import Any

from sqlmodel import Session

from lessons.metrics import sql
from lessons.metrics.periods import month_start, months_between
from lessons.metrics.table import Cell, Metric, tidy

# Bins of the identified-to-learned distribution: (label, first day, last day or None).
DAY_BINS: tuple[tuple[str, int, int | None], ...] = (
    ("under 1 month", 0, 29),
    ("1-3 months", 30, 89),
    ("3-6 months", 90, 181),
    ("6-12 months", 182, 364),
    ("1 year or more", 365, None),
)


def lessons_per_month(session: Session, *, counted: Any) -> Metric:
    """Lessons identified, validated and learned per month."""
    counts = sql.stage_months(session, counted)
    stages = ("identified", "validated", "learned")
    starts = sorted({month_start(month) for _, month in counts})
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
            "Median days": tidy(_median(durations)) if durations else None,
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
