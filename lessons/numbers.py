"""The one reading of a whole number typed by a person or sent in a query string or form.

`str.isdigit` is true for '²' and '٣', which `int` refuses or reads as other digits, and
`int` accepts '1_000' and '+1'; every query and form parameter goes through `whole_number`
instead, so a number is ASCII digits only and anything else is a clear 422."""

from __future__ import annotations

from lessons.errors import ValidationFailed

# The largest integer SQLite holds: the bound of a number typed into a query or form.
LARGEST = 2**63 - 1
# The largest record id: id columns are INTEGER, 32 bits on PostgreSQL (SQLite's go further,
# but the schema is one for both backends). A larger id cannot exist and must not reach the
# database, where PostgreSQL would refuse the parameter itself (a 500, not a 404).
LARGEST_ID = 2**31 - 1
_MAX_DIGITS = len(str(LARGEST))


def read_whole(raw: object, *, low: int = 0, high: int = LARGEST) -> int | None:
    """`raw` as an integer from `low` to `high`, or None if it is not one (surrounding spaces
    allowed; signs, underscores and non-ASCII digits are not)."""
    text = raw.strip() if isinstance(raw, str) else ""
    if not (0 < len(text) <= _MAX_DIGITS and text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if low <= value <= high else None


def whole_number(
    raw: object, name: str, *, low: int = 0, high: int = LARGEST, label: str = ""
) -> int:
    """`raw` as an integer from `low` to `high`, or a ValidationFailed naming field `name`
    (`label` is how the message calls it: "The page number")."""
    value = read_whole(raw, low=low, high=high)
    if value is None:
        bounds = f"a whole number from {low}" + (f" to {high}" if high < LARGEST else " up")
        raise ValidationFailed(f"{label or name} must be {bounds}.", {name: bounds})
    return value
