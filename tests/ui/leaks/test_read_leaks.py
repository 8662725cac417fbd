"""Every GET route in the table, as each viewer and with every record of each parameter's kind,
reveals no hidden lesson nor counts one (tests/ui/leaks/__init__.py says how); and the filter
hides no more than it must."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import quote_plus, urlencode

import httpx
import pytest
from sqlmodel import Session

from lessons.accounts import users as accounts
from lessons.storage.db import make_engine
from lessons.storage.settings import Settings
from tests.conftest import TOKENS, Client
from tests.ui.leaks.bank import (
    BY_KEY,
    EVERY_STATUS,
    MARK_DELETED,
    MARK_INTERNAL,
    MARK_RESTRICTED,
    MARK_UNVETTED,
    QUERY_WORDS,
    SECRET_TAG,
    SECRET_UNIT,
    SEEDS,
    TAG,
    TRUSTED,
    Bank,
    _large_bank_ranker,
)
from tests.ui.leaks.detect import _echoes, count_problems, leaks
from tests.ui.leaks.routes import PARAM, ROUTE_CASES, VIEWERS


def get_as(viewer: str, clients: dict[str, Client], url: str) -> httpx.Response:
    if viewer == "casey-bearer":
        client = clients[viewer]
        client.cookies.clear()
        return client.get(url, headers={"Authorization": f"Bearer {TOKENS['casey']}"})
    return clients[viewer].get(url)


def fill(path: str, filling: dict[str, tuple[str, str]], bank: Bank) -> str:
    records: dict[str, dict[str, Any]] = {
        "lesson": bank.lessons,
        "project": bank.projects,
        "review": bank.reviews,
        "bar": bank.bars,
        "tag": {"secret": SECRET_TAG, "public": TAG},
        "unit": {"secret": SECRET_UNIT, "public": "Public Health"},
        "person": bank.people,
    }

    def value(match: re.Match[str]) -> str:
        kind, key = filling[match.group(1)]
        return str(records[kind][key])

    return PARAM.sub(value, path)


def query_variants(bank: Bank) -> dict[str, list[tuple[str, str]]]:
    """Query strings every route is asked with: searches that name every marker, and filters
    that would select only hidden lessons."""
    q = f"{MARK_RESTRICTED} {MARK_INTERNAL} {MARK_UNVETTED} {MARK_DELETED} {QUERY_WORDS}"
    every = [("status", s) for s in EVERY_STATUS]
    secret = str(bank.projects["secret"])
    return {
        "plain": [],
        "search-all": [("q", q), ("tag", SECRET_TAG), ("status", "all")],
        "search-every-status": [("q", q), ("tag", TAG), *every],
        "search-trusted": [("q", q)],
        "secret-tag": [("tag", SECRET_TAG), ("status", "all")],
        "secret-tag-every-status": [("tag", SECRET_TAG), *every],
        "secret-project": [
            ("tag", TAG),
            *every,
            ("project_id", secret),
            ("project", secret),
            ("unit", SECRET_UNIT),
        ],
    }


# --- the route tests -----------------------------------------------------------------------------


@pytest.mark.parametrize(("viewer", "path", "filling"), ROUTE_CASES)
def test_get_route_reveals_no_hidden_lesson(
    viewer: str,
    path: str,
    filling: dict[str, tuple[str, str]],
    clients: dict[str, Client],
    bank: Bank,
) -> None:
    url = fill(path, filling, bank)
    # A tag or unit the viewer typed into the path may be repeated back (a feed's title).
    typed = [("path", fill(f"{{{name}}}", {name: kind}, bank)) for name, kind in filling.items()]
    problems = []
    for name, params in query_variants(bank).items():
        full = f"{url}?{urlencode(params)}" if params else url
        response = get_as(viewer, clients, full)
        assert response.status_code < 500, (full, response.status_code, response.text[:500])
        found = leaks(response, bank, viewer, _echoes(url, params + typed))
        found += count_problems(path, params, viewer, response, bank)
        problems += [f"[{name}] {problem}" for problem in found]
    assert not problems, f"GET {url} as {viewer} reveals hidden lessons:\n" + "\n".join(problems)


@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.parametrize("path", ["/lessons", "/api/lessons"])
def test_searches_on_the_large_bank_ranker_reveal_no_hidden_lesson(
    viewer: str,
    path: str,
    clients: dict[str, Client],
    bank: Bank,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ranked = _large_bank_ranker(monkeypatch)
    problems = []
    for name, params in query_variants(bank).items():
        if not any(key == "q" for key, _ in params):
            continue
        full = f"{path}?{urlencode(params)}"
        response = get_as(viewer, clients, full)
        assert response.status_code < 500, (full, response.status_code, response.text[:500])
        found = leaks(response, bank, viewer, _echoes(path, params))
        found += count_problems(path, params, viewer, response, bank)
        problems += [f"[{name}] {problem}" for problem in found]
    assert not problems, f"GET {path} as {viewer} reveals hidden lessons:\n" + "\n".join(problems)
    assert ranked and max(ranked) > 0  # the bounded ranker ran, and found candidates


def test_visible_lessons_do_show_on_the_routes_that_list_them(
    clients: dict[str, Client], bank: Bank
) -> None:
    """The filter hides what it must and no more: each viewer finds what it may see."""
    q = f"?q={quote_plus(QUERY_WORDS)}"
    for viewer in VIEWERS:
        listed = get_as(viewer, clients, "/api/lessons?limit=50").json()
        shown = {r["id"] for r in listed["results"]}
        want = {bank.lessons[s.key] for s in SEEDS if s.visible_to(viewer) and s.status in TRUSTED}
        assert shown == want, viewer
        searched = get_as(viewer, clients, f"/api/lessons{q}&limit=50").json()
        assert bank.lessons["public"] in {r["id"] for r in searched["results"]}, viewer
        page = get_as(viewer, clients, f"/lessons{q}").text
        assert BY_KEY["public"].title in page, viewer
    for viewer in ("casey-session", "casey-bearer"):
        internal = BY_KEY["internal"]
        detail = get_as(viewer, clients, f"/api/lessons/{bank.lessons['internal']}")
        assert detail.status_code == 200, viewer
        assert detail.json()["title"] == internal.title
        assert html.escape(internal.title) in get_as(viewer, clients, "/lessons").text
    anonymous = get_as("anonymous", clients, f"/api/lessons/{bank.lessons['internal']}")
    assert anonymous.status_code == 404


def test_casey_is_not_a_member_of_the_secret_project(bank: Bank, bank_settings: Settings) -> None:
    """The precondition every route test rests on."""
    engine = make_engine(bank_settings.database_url)
    try:
        with Session(engine) as session:
            casey = accounts.find_user(session, username="casey")
            viewer = accounts.viewer(session, casey)
    finally:
        engine.dispose()
    assert bank.projects["secret"] not in viewer.project_ids
    assert not viewer.is_curator
