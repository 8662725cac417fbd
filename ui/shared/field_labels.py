"""A validation problem in the form's own words: `lessons.0.title: at most 200 characters (got
347)` becomes `Lesson 1 title: at most 200 characters (you typed 347)`. The API keeps the
machine-readable paths; only the web form's messages are rewritten, keyed by the same paths so
each one still lands beside its field."""

from __future__ import annotations

import re
from collections.abc import Mapping

# Repeated groups as the form heads each block ("Lesson 1", "Action 2").
GROUPS = {
    "lessons": "Lesson",
    "actions": "Action",
    "work_in_flight": "Work in flight",
    "contacts": "Contact",
    "decisions": "Decision",
    "carry": "Open action",
}
# Fields whose label is not their name with spaces.
NAMES = {
    "held_on": "Held on",
    "carry": "Open actions from earlier reviews",
    "author": "Whose words",
    "project": "Project",
    "project.id": "Project",
    "project.name": "Project name",
    "due": "due date",
    "lesson_index": "for lesson",
    "what": "what",
}
# Pydantic's and the limits' phrasing, as a person would say it.
_PHRASES = [
    (re.compile(r"^Field required$"), "required"),
    (re.compile(r"\(got (\d+)\)"), r"(you typed \1)"),
    (re.compile(r"^Extra inputs are not permitted$"), "not a field of this form"),
    (re.compile(r"^Input should be a valid date.*"), "a date such as 2025-06-30"),
]


def field_label(path: str, questions: Mapping[str, str] | None = None) -> str:
    """`lessons.0.title` -> `Lesson 1 title`; `answers.planned` -> the question's text."""
    if path in NAMES:
        return NAMES[path]
    parts = path.split(".")
    if parts[0] == "answers" and len(parts) == 2 and questions and parts[1] in questions:
        return questions[parts[1]]
    words: list[str] = []
    for i, part in enumerate(parts):
        if part.isdigit() and i > 0 and parts[i - 1] in GROUPS:
            words[-1] = f"{GROUPS[parts[i - 1]]} {int(part) + 1}"
        else:
            words.append(NAMES.get(part, part.replace("_", " ")) if i else _first(part))
    return " ".join(words)


def _first(part: str) -> str:
    text = NAMES.get(part, part.replace("_", " "))
    return text[:1].upper() + text[1:]


def in_words(problem: str) -> str:
    for pattern, replacement in _PHRASES:
        problem = pattern.sub(replacement, problem)
    return problem


def labelled(
    fields: Mapping[str, str], questions: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Each problem prefixed by its field's label, still keyed by the field's path."""
    return {path: f"{field_label(path, questions)}: {in_words(p)}" for path, p in fields.items()}
