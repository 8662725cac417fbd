"""The months and quarters metrics are counted by, as labels (`2025-03`, `2025-Q1`)."""

from __future__ import annotations

from datetime import date


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


def month_start(month: str) -> date:
    return date(int(month[:4]), int(month[5:]), 1)


def quarter_start(quarter: str) -> date:
    return date(int(quarter[:4]), 3 * int(quarter[-1]) - 2, 1)


def month_end(month: str) -> date:
    year, number = int(month[:4]), int(month[5:])
    following = date(year + 1, 1, 1) if number == 12 else date(year, number + 1, 1)
    return date.fromordinal(following.toordinal() - 1)
