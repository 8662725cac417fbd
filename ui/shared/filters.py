"""Jinja filters and globals used by the templates."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from lessons.capture import questions
from lessons.storage.models import LessonStatus, Perspective, Polarity, ReviewKind, Sensitivity
from ui.shared import markdown

LABELS = {
    "aar": "After action review",
    "retrospect": "Retrospect",
    "handover": "Handover",
    "technical_programmatic": "Technical / programmatic",
    "programme_management": "Programme management",
    "not_relevant": "Not relevant",
}


def label(value: Any) -> str:
    text = str(value or "")
    return LABELS.get(text, text.replace("_", " ").capitalize())


def when(value: date | datetime | str | None) -> str:
    """Every date the pages show, in one format: "08 Dec 2026" (and ", 14:05" for a moment).
    ISO text (what the JSON-shaped records hold) is read first."""
    if not value:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        return value.strftime("%d %b %Y, %H:%M")
    return value.strftime("%d %b %Y")


def with_article(noun: str) -> str:
    """ "an after action review", "a retrospect": the article the noun's first letter asks for."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def _get(record: Any, name: str) -> Any:
    return record.get(name) if isinstance(record, dict) else getattr(record, name, None)


def bar_title(bar: Any, length: int = 70) -> str:
    """A before action review named by what it was for: its project and the start of its brief
    (a number says nothing to the team that ran it)."""
    brief = " ".join(str(_get(bar, "brief") or "").split())
    if len(brief) > length:
        brief = brief[: length - 1].rsplit(" ", 1)[0] + "…"
    project = _get(bar, "project")
    name = _get(project, "name") if project is not None else None
    return f"{name}: “{brief}”" if name else f"“{brief}”"


def plain(value: Any) -> str:
    """A recorded value as a reader would write it: lists joined, mappings as "key: value",
    nothing as a dash (the audit log keeps JSON; people read words)."""
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(plain(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{label(k).lower()}: {plain(v)}" for k, v in value.items())
    return str(value)


def changes(before: Any, after: Any) -> list[dict[str, str]]:
    """What one audit row changed, field by field: only the fields whose value differs (all of
    them for a record created or deleted), each with its value before and after, in words."""
    old = before if isinstance(before, dict) else ({"value": before} if before is not None else {})
    new = after if isinstance(after, dict) else ({"value": after} if after is not None else {})
    fields = list(dict.fromkeys([*old, *new]))
    return [
        {"field": label(name), "before": plain(old.get(name)), "after": plain(new.get(name))}
        for name in fields
        if old.get(name) != new.get(name)
    ]


@pass_context
def csrf_field(context: Context) -> Markup:
    """The hidden CSRF field every POST form carries (the token also sets the cookie)."""
    request = context.get("request")
    make_token = request.scope.get("csrftoken") if request is not None else None
    token = make_token() if callable(make_token) else ""
    return Markup('<input type="hidden" name="csrftoken" value="{}">').format(token)


def install(env: Environment) -> None:
    env.globals["csrf_field"] = csrf_field
    env.filters["markdown"] = markdown.render
    env.filters["label"] = label
    env.filters["when"] = when
    env.filters["with_article"] = with_article
    env.filters["bar_title"] = bar_title
    env.globals["changes"] = changes
    env.filters["zip"] = lambda left, right: zip(left, right, strict=False)
    env.globals.update(
        review_kinds=list(ReviewKind),
        polarities=list(Polarity),
        perspectives=list(Perspective),
        sensitivities=list(Sensitivity),
        statuses=list(LessonStatus),
        question_sets=questions.all_current(),
    )
