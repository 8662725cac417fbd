"""The metrics page's figures."""

from __future__ import annotations

from lessons.schemas.common import Day, Out

Cell = int | float | str | None


class Metric(Out):
    name: str
    title: str
    definition: str
    columns: list[str]
    rows: list[list[Cell]]
    summary: dict[str, Cell]


class Metrics(Out):
    as_of: Day
    metrics: list[Metric]
