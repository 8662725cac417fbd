"""A handover's parts as the review form sends them (`successor.username`, rows of work
in flight and key contacts) turned into ReviewIn data, blank rows left out."""

from __future__ import annotations

from typing import Any

# Repeating groups of the handover fieldset, each grown by its own button.
ROWS = {"add_work": "work_in_flight", "add_contact": "contacts"}


def handover_parts(data: dict[str, Any], back: dict[str, str]) -> dict[str, Any]:
    """`data` (from `forms.review_input`) with the handover's parts in ReviewIn's shapes;
    `back` learns how each kept row maps to the form's row."""
    data = dict(data)
    successor = data.pop("successor", None)
    if not isinstance(successor, dict) or successor.get("username"):
        data["successor"] = successor  # given (or malformed: validation names it)
    for key in ROWS.values():
        rows = data.get(key)
        if not isinstance(rows, list):
            continue
        kept: list[dict[str, Any]] = []
        for old, row in enumerate(rows):
            if isinstance(row, dict) and any(str(v).strip() for v in row.values()):
                back[f"{key}.{len(kept)}"] = f"{key}.{old}"
                kept.append(row)
        data[key] = kept
    return data


def grow(values: dict[str, Any], key: str) -> dict[str, Any]:
    """The form's values with one more (empty) row of `key`."""
    rows = values.get(key)
    return {**values, key: [*(rows if isinstance(rows, list) else [{}]), {}]}
