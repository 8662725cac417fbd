"""HTML forms to input dicts: dotted field names (`lessons.0.title`) become nested data, so
a validation error's path names the very field it belongs to."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData

from lessons.errors import ValidationFailed
from lessons.numbers import read_whole

# Fields typed as comma-separated text in forms but lists in the input models.
LIST_FIELDS = frozenset({"tags"})
# Keys that mean "the form was submitted to grow, not to save".
CONTROL_KEYS = frozenset({"add_lesson", "add_action", "add_work", "add_contact", "csrftoken"})
# No form of ours nests deeper (`lessons.0.title`); a deeper name is not one of our fields.
MAX_DEPTH = 4


def nested(form: FormData) -> dict[str, Any]:
    """`{"lessons.0.title": "x"}` -> `{"lessons": [{"title": "x"}]}`; keeps every typed value."""
    root: dict[str, Any] = {}
    for key, value in form.multi_items():
        if key in CONTROL_KEYS or not isinstance(value, str):
            continue
        parts = key.split(".")
        if len(parts) > MAX_DEPTH:
            continue
        node = root
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):  # a field name reused as a group: keep the first
                break
            node = child
        else:
            node[parts[-1]] = value
    # The form itself stays a mapping, whatever its field names.
    return {key: _listify(value) for key, value in root.items()}


def _listify(node: Any) -> Any:
    """Groups whose keys are all indexes (whole numbers, read as every number is) become
    lists."""
    if not isinstance(node, dict):
        return node
    items = {key: _listify(value) for key, value in node.items()}
    indexes = {key: read_whole(key) for key in items}
    if items and None not in indexes.values():
        return [items[key] for key in sorted(items, key=lambda key: indexes[key] or 0)]
    return items


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _blank(entry: dict[str, Any], ignore: frozenset[str]) -> bool:
    return all(not str(v).strip() for k, v in entry.items() if k not in ignore)


def _prune(value: Any) -> Any:
    """Drop empty strings (an empty date or id means 'not given') and split list fields."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key in LIST_FIELDS and isinstance(item, str):
                out[key] = [t.strip() for t in item.split(",") if t.strip()]
            elif not (isinstance(item, str) and not item.strip()):
                out[key] = _prune(item)
        return out
    if isinstance(value, list):
        return [_prune(item) for item in value]
    return value


SELECT_FIELDS = frozenset({"polarity", "perspective", "sensitivity", "lesson_index"})


def review_input(values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """A review form's values as ReviewIn data, blank lesson and action blocks left out, and
    how to map an error path in that data back to the form field (`lessons.0` -> `lessons.2`)."""
    lessons = _list(values.get("lessons"))
    kept = [
        i for i, le in enumerate(lessons) if isinstance(le, dict) and not _blank(le, SELECT_FIELDS)
    ]
    renumber = {str(old): str(new) for new, old in enumerate(kept)}
    back = {f"lessons.{new}": f"lessons.{old}" for new, old in enumerate(kept)}
    actions: list[dict[str, Any]] = []
    all_actions = _list(values.get("actions"))
    for old, action in enumerate(all_actions):
        if not isinstance(action, dict) or _blank(action, SELECT_FIELDS):
            continue
        back[f"actions.{len(actions)}"] = f"actions.{old}"
        index = str(action.get("lesson_index", "")).strip()
        if index and index not in renumber:
            raise ValidationFailed(
                "An action is tied to a lesson that has no text.",
                {f"actions.{old}.lesson_index": "that lesson is empty: fill it in or pick another"},
            )
        actions.append({**action, "lesson_index": renumber.get(index, "")})
    project = values.get("project") if isinstance(values.get("project"), dict) else {}
    if project and str(project.get("id", "")).strip():
        project = {"id": project["id"]}  # an existing project was chosen: ignore new-project fields
    data = {
        **values,
        "project": project,
        "lessons": [lessons[i] for i in kept],
        "actions": actions,
    }
    return dict(_prune(data)), back


# An error about a whole group is shown beside the field a person would fix.
GROUP_ANCHORS = {"project": "project.name"}


def form_paths(fields: dict[str, str], back: dict[str, str] | None = None) -> dict[str, str]:
    """Error paths of the submitted data renamed to the form fields they came from."""
    back = back or {}
    renamed = {}
    for path, problem in fields.items():
        path = GROUP_ANCHORS.get(path, path)
        head = ".".join(path.split(".")[:2])
        renamed[back.get(head, head) + path[len(head) :]] = problem
    return renamed


def bar_input(values: dict[str, Any]) -> dict[str, Any]:
    """A BAR form's values as BarIn data."""
    data = dict(_prune(values))
    include = data.pop("include_unvalidated", None)
    project = data.get("project")
    if isinstance(project, dict):  # anything else is left for validation to refuse
        if project.get("id"):
            data["project"] = {"id": project["id"]}
        elif not project.get("name"):
            data.pop("project")
    if include:
        filters = data.get("filters")
        data["filters"] = {
            **(filters if isinstance(filters, dict) else {}),
            "status": ["identified", "validated", "actioned", "learned"],
        }
    return data


def redisplay(values: dict[str, Any]) -> dict[str, Any]:
    """Form values in the shapes the templates expect, whatever a tampered form sent:
    groups (`project`, `answers`) as dicts of text, repeats (`lessons`, ...) as lists of them."""
    shaped: dict[str, Any] = {}
    for key, value in values.items():
        if key in ("lessons", "actions", "decisions", "work_in_flight", "contacts"):
            items = value if isinstance(value, list) else []
            shaped[key] = [_texts(item) for item in items if isinstance(item, dict)]
        elif key in ("project", "answers", "filters", "successor"):
            shaped[key] = _texts(value) if isinstance(value, dict) else {}
        else:
            shaped[key] = value if isinstance(value, str) else ""
    return shaped


def _texts(group: dict[str, Any]) -> dict[str, str]:
    return {k: v for k, v in group.items() if isinstance(v, str)}
