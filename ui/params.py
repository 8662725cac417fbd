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
