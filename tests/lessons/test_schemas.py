from __future__ import annotations

import pytest

from lessons.errors import ValidationFailed
from lessons.schemas import BarIn, Limits, ReviewIn, normalise_tag, parse
from tests.conftest import review_payload

LIMITS = Limits(title=50, text=100, brief=120, items=3)


@pytest.mark.parametrize(
    ("raw", "tag"),
    [
        ("Cold Chain", "cold-chain"),
        ("  procurement ", "procurement"),
        ("a&b!!c", "a-b-c"),
        ("---", ""),
        ("nasa:category/x", "nasa:category/x"),
    ],
)
def test_normalise_tag(raw: str, tag: str) -> None:
    assert normalise_tag(raw) == tag


def test_parse_dedupes_and_normalises_tags() -> None:
    payload = parse(
        ReviewIn,
        review_payload(lessons=[{"title": "t", "tags": ["A b", "a-b", " "]}], actions=[]),
        Limits(200, 20_000, 20_000, 100),
    )
    assert payload.lessons[0].tags == ["a-b"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"lessons": [{"title": "x" * 51}]}, "lessons.0.title"),
        ({"lessons": [{"title": "ok", "observation": "x" * 101}]}, "lessons.0.observation"),
        ({"answers": {"planned": "x" * 101}}, "answers.planned"),
        ({"lessons": [{"title": "t"}] * 4}, "lessons"),
        ({"project": {"name": "p" * 51}}, "project.name"),
    ],
)
def test_limits_name_the_field(change: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse(ReviewIn, review_payload(actions=[], **change), LIMITS)
    assert field in refused.value.fields


def test_brief_has_its_own_limit() -> None:
    assert parse(BarIn, {"brief": "x" * 120}, LIMITS).brief == "x" * 120
    with pytest.raises(ValidationFailed) as refused:
        parse(BarIn, {"brief": "x" * 121}, LIMITS)
    assert "brief" in refused.value.fields


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": "debrief"}, "kind"),
        ({"project": {}}, "project"),
        ({"lessons": [{"observation": "no title"}]}, "lessons.0.title"),
        ({"lessons": [{"title": "t", "polarity": "meh"}]}, "lessons.0.polarity"),
        ({"actions": [{"what": "a", "lesson_index": 5}]}, "body"),
        ({"unexpected": 1}, "unexpected"),
        (
            {"project": {"name": "p", "start_date": "2025-02-01", "end_date": "2025-01-01"}},
            "project",
        ),
    ],
)
def test_structural_errors_name_the_field(data: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse(ReviewIn, review_payload(**data), Limits(200, 20_000, 20_000, 100))
    assert field in refused.value.fields
