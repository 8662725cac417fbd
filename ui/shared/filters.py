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


def when(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%d %b %Y, %H:%M")
    return value.strftime("%d %b %Y")


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
    env.filters["zip"] = lambda left, right: zip(left, right, strict=False)
    env.globals.update(
        review_kinds=list(ReviewKind),
        polarities=list(Polarity),
        perspectives=list(Perspective),
        sensitivities=list(Sensitivity),
        statuses=list(LessonStatus),
        question_sets=questions.all_current(),
    )
