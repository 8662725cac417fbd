"""Whole numbers from query strings and forms, read one way (lessons.numbers): absent or
blank means the default, anything but ASCII digits in range is a 422 naming the parameter."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lessons.numbers import LARGEST, whole_number


def int_param(
    params: Mapping[str, Any],
    name: str,
    default: int,
    *,
    low: int = 0,
    high: int = LARGEST,
    label: str = "",
) -> int:
    """`params[name]` as a whole number from `low` to `high`; `default` when absent or blank."""
    raw = params.get(name)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return default
    return whole_number(raw, name, low=low, high=high, label=label)


def id_param(params: Mapping[str, Any], name: str, *, label: str = "") -> int | None:
    """`params[name]` as a record id (1 up), or None when absent or blank."""
    raw = params.get(name)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    return whole_number(raw, name, low=1, label=label)


# The furthest any list is paged: beyond every table this app holds, so a huge offset is
# refused in words rather than sent to the database.
MAX_OFFSET = 10**9
# The highest page number a paged page answers (a later one shows the last page).
MAX_PAGE = 10**6


def paging(params: Mapping[str, Any], *, default: int, most: int) -> tuple[int, int]:
    """(limit, offset) of a paged API list: `limit` from 1 to `most` (`default` when absent),
    `offset` from 0 up to MAX_OFFSET."""
    return (
        int_param(params, "limit", default, low=1, high=most),
        int_param(params, "offset", 0, high=MAX_OFFSET),
    )


def page_number(params: Mapping[str, Any]) -> int:
    """`page` of a paged HTML page, 1 when absent."""
    return int_param(params, "page", 1, low=1, high=MAX_PAGE, label="The page number")
