"""Actions per month: opened, closed, and overdue at the month's end."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

from lessons.accounts.access import Viewer
from lessons.metrics import sql
from lessons.metrics.periods import month_end, months_between
from lessons.metrics.table import Cell, Metric


def actions_per_month(session: Session, *, viewer: Viewer, today: date) -> Metric:
    """Actions opened, closed and overdue per month (those the viewer may see)."""
    opened, closed = sql.action_months(session, viewer)
    totals = sql.action_totals(session, viewer, today)
    first, last = totals.first, totals.last
    months = months_between(first, max(today, last)) if first and last else []
    overdue = sql.overdue_at(session, viewer, [min(month_end(m), today) for m in months])
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
