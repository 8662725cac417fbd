"""What a response must not hold (a hidden lesson's marker, title, id, open action, or the
secret project's words), and the counts it may show."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import quote, quote_plus

import httpx

from tests.ui.leaks.bank import BY_KEY, EVERY_STATUS, SECRET_WORDS, SEEDS, TRUSTED, Bank

# --- what a response must not hold ---------------------------------------------------------------

LESSON_LINK = re.compile(r"/lessons/(\d+)(?!\d)")
HIDDEN_INPUT_ID = re.compile(r"lesson_id\"?\s+value=\"(\d+)\"")
COUNT_TEXT = re.compile(r"(\d+)\s+(?:related\s+)?lessons?\b")
ID_LIST_KEYS = {"near_copies", "hidden_copies", "lesson_ids"}


def _echoes(url: str, params: list[tuple[str, str]]) -> list[str]:
    """What a page may repeat of the request itself (the search box, the path in a link)."""
    # Short or numeric values (a status, an id) would also erase unrelated text: keep to the
    # free text and the path.
    values = [v for _, v in params if len(v) >= 6 and not v.isdigit()] + [url.split("?")[0]]
    out = []
    for value in values:
        out += [value, html.escape(value), quote_plus(value), quote(value, safe="")]
    return sorted(set(out), key=len, reverse=True)


def _strip(body: str, echoes: list[str]) -> str:
    for echo in echoes:
        body = re.sub(re.escape(echo) + r"(?!\d)", " ", body)
    return body


def _json_lesson_ids(value: Any) -> Iterator[int]:
    """Lesson ids named in a JSON document: lesson_id fields, near-copy lists, and the id of
    anything shaped like a lesson (it has a title)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "lesson_id" and isinstance(item, int):
                yield item
            elif key in ID_LIST_KEYS and isinstance(item, list):
                yield from (i for i in item if isinstance(i, int))
            elif key == "id" and "title" in value and isinstance(item, int):
                yield item
            else:
                yield from _json_lesson_ids(item)
    elif isinstance(value, list):
        for item in value:
            yield from _json_lesson_ids(item)


def _rank_gaps(value: Any) -> Iterator[list[int]]:
    """Lists of ranked items whose ranks are not 1..n: a gap counts a hidden lesson."""
    if isinstance(value, dict):
        for item in value.values():
            yield from _rank_gaps(item)
    elif isinstance(value, list):
        ranks = [i["rank"] for i in value if isinstance(i, dict) and isinstance(i.get("rank"), int)]
        if ranks and sorted(ranks) != list(range(1, len(ranks) + 1)):
            yield ranks
        for item in value:
            yield from _rank_gaps(item)


def leaks(
    response: httpx.Response, bank: Bank, viewer: str, echoes: Sequence[str] = ()
) -> list[str]:
    """Every way `response` reveals a lesson hidden from `viewer` (empty when it does not)."""
    hidden = bank.hidden(viewer)
    hidden_ids = bank.hidden_ids(viewer)
    body = _strip(response.text, list(echoes))
    lowered = body.lower()
    found = []
    for marker in sorted({seed.marker for seed in hidden if seed.marker}):
        if marker in lowered:
            at = lowered.index(marker)
            found.append(f"marker {marker!r}: ...{body[max(0, at - 80) : at + 80]!r}...")
    for seed in hidden:
        if seed.title in body or html.escape(seed.title) in body:
            found.append(f"title of {seed.key!r}")
    for word in SECRET_WORDS:  # no viewer here is in the secret project or a curator
        if word.lower() in lowered or html.escape(word).lower() in lowered:
            at = lowered.find(word.lower())
            found.append(f"secret word or name {word!r}: ...{body[max(0, at - 80) : at + 80]!r}")
    for what, action_owner in (bank.actions[s.key] for s in hidden if s.key in bank.actions):
        if what in body or html.escape(what) in body:
            found.append(f"action {what!r} (owner {action_owner}) on a hidden lesson")
    linked = {int(i) for i in LESSON_LINK.findall(body) + HIDDEN_INPUT_ID.findall(body)}
    if linked & hidden_ids:
        found.append(f"links or form fields to hidden lessons {sorted(linked & hidden_ids)}")
    if "json" in response.headers.get("content-type", ""):
        document = response.json()
        named = set(_json_lesson_ids(document)) & hidden_ids
        if named:
            found.append(f"JSON lesson ids of hidden lessons {sorted(named)}")
        found += [f"ranks with gaps {ranks}" for ranks in _rank_gaps(document)]
    return found


# --- counts --------------------------------------------------------------------------------------


def expected_count(viewer: str, *, statuses: set[str], tag: str = "", project: str = "") -> int:
    """How many seeded lessons `viewer` may see under these filters."""
    return sum(
        1
        for seed in SEEDS
        if seed.visible_to(viewer)
        and seed.status in statuses
        and (not tag or tag in seed.tags)
        and (not project or seed.secret_project == (project == "secret"))
    )


def count_problems(
    path: str, params: list[tuple[str, str]], viewer: str, response: httpx.Response, bank: Bank
) -> list[str]:
    """Counts a route shows, against the lessons the viewer may see: exact where the route's
    filters are known, an upper bound anywhere else a count appears."""
    if response.status_code != 200:
        return []
    query = dict(params)
    statuses_given = [v for k, v in params if k == "status"]
    visible_any = sum(1 for seed in SEEDS if seed.visible_to(viewer))
    problems = []
    if "json" in response.headers.get("content-type", ""):
        document = response.json()
        totals = [document["total"]] if isinstance(document, dict) and "total" in document else []
        results = document.get("results") if isinstance(document, dict) else None
        if isinstance(results, list) and len(results) > visible_any:
            problems.append(f"{len(results)} results; only {visible_any} visible")
        if path == "/api/lessons":
            statuses = set(statuses_given) or TRUSTED
            project = next(
                (k for k, i in bank.projects.items() if str(i) == query.get("project_id")), ""
            )
            tags = [v for k, v in params if k == "tag"]
            want = expected_count(viewer, statuses=statuses, tag=tags[0] if tags else "")
            if project:
                want = expected_count(
                    viewer, statuses=statuses, tag=tags[0] if tags else "", project=project
                )
            # A search ranks every lesson the filters admit: its total counts them all too.
            (total,) = totals
            if total != want or len(document["results"]) > total:
                problems.append(f"total {total} ({len(document['results'])} shown); {want} visible")
        problems += [f"total {t}; only {visible_any} visible" for t in totals if t > visible_any]
        return problems
    text = re.sub(r"<[^>]+>", " ", response.text)
    shown = [int(n) for n in COUNT_TEXT.findall(text)]
    problems += [
        f"page says {n} lessons; only {visible_any} visible" for n in shown if n > visible_any
    ]
    if path == "/lessons":
        status = query.get("status", "")
        statuses = set(EVERY_STATUS) if status == "all" else {status} if status else TRUSTED
        statuses = statuses if statuses <= set(EVERY_STATUS) else TRUSTED
        want = expected_count(viewer, statuses=statuses, tag=query.get("tag", ""))
        # "N lessons." when listing; "N lessons match “q” well" or "No lesson matches" searching.
        said = re.search(r'<p(?: id="search-count")?>(?:(\d+) lessons?|No lesson)', response.text)
        assert said, "the lessons page no longer says how many lessons match"
        total = int(said.group(1) or 0)
        if (total > want) if query.get("q") else (total != want):
            problems.append(f"lessons page says {total}; {want} visible")
    if path == "/":
        said = re.search(r"(\d+) lessons from (\d+) projects, and (\d+) open actions", text)
        assert said, "the home page no longer shows its counts"
        lessons, projects, open_actions = (int(n) for n in said.groups())
        known = len({seed.secret_project for seed in SEEDS if seed.visible_to(viewer)})
        if projects != known:
            problems.append(f"home says {projects} projects; {known} hold work {viewer} may see")
        want = expected_count(viewer, statuses=TRUSTED)
        visible_actions = sum(1 for key in bank.actions if BY_KEY[key].visible_to(viewer))
        if lessons != want:
            problems.append(f"home says {lessons} lessons; {want} visible")
        if open_actions != visible_actions:
            problems.append(f"home says {open_actions} open actions; {visible_actions} visible")
    return problems


def _same_answer(first: str, second: str, first_id: int, second_id: int) -> bool:
    """Two answers are the same but for the id each was asked about."""
    ids = re.compile(rf"\b(?:{first_id}|{second_id})\b")
    return ids.sub("ID", first) == ids.sub("ID", second)
