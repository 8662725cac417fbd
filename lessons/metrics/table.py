"""A metric's table (what the dashboard draws, lists and exports) and its CSV."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any, Literal

Cell = int | float | str | None


Kind = Literal["lines", "bars", "stacked", "barh"]


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


def tidy(value: float) -> int | float:
    """A whole number as an int (a median of an even count is a float), else one decimal."""
    return int(value) if float(value).is_integer() else round(value, 1)


def percent(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


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
