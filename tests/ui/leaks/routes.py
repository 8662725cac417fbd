"""The route table of the leak suite (tests/ui/leaks: see its __init__ for what it proves).

ADDING A ROUTE: every route of the app must have a line in the route table below, or
`test_every_route_is_in_the_route_table` fails and names it. One line each:
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Host, Mount, Route, WebSocketRoute

from lessons.metrics import service as metrics
from lessons.storage.settings import Settings
from retrieval.embedder import HashingEmbedder
from tests.ui.leaks.bank import PEOPLE, SEEDS
from ui.app import create_app

# --- the route table (see the top of this file) -------------------------------------------------

# What a path parameter may name, and the seeded records it is filled with (keys of Bank's
# lessons / projects / reviews / bars): every one, hidden or not.
FILLS = {
    "lesson": [seed.key for seed in SEEDS],
    "project": ["secret", "public"],
    "review": ["secret", "public", "purged", "secret_handover", "public_handover"],
    "role": ["secret", "public"],
    "community": ["cold_chain"],
    "bar": ["casey", "kim"],
    "tag": ["secret", "public"],
    "unit": ["secret", "public"],
    "person": list(PEOPLE),
}
GET_ROUTES: dict[str, dict[str, str]] = {
    "/": {},
    "/healthz": {},
    "/login": {},
    "/login/oidc": {},
    "/login/oidc/callback": {},
    "/account/password": {},
    "/lessons": {},
    "/lessons/{id:int}": {"id": "lesson"},
    "/lessons/{id:int}/edit": {"id": "lesson"},
    "/projects": {},
    "/projects/{id:int}": {"id": "project"},
    "/reviews/new": {},
    "/reviews/{id:int}": {"id": "review"},
    "/actions": {},
    "/people": {},
    "/people/{id:int}": {"id": "person"},
    "/people/{id:int}/edit": {"id": "person"},
    "/api/people": {},
    "/api/people/{id:int}": {"id": "person"},
    "/bar": {},
    "/bar/new": {},
    "/bar/{id:int}": {"id": "bar"},
    "/admin": {},
    "/admin/users": {},
    "/admin/audit": {},
    "/admin/audit.csv": {},
    "/admin/deleted": {},
    "/admin/projects": {},  # admins only, as the rest of /admin
    "/admin/projects/{id:int}/members": {"id": "project"},
    "/api/openapi.json": {},
    "/api/lessons": {},
    "/api/lessons/{id:int}": {"id": "lesson"},
    "/api/lessons/{id:int}/similar": {"id": "lesson"},
    "/api/bar/{id:int}": {"id": "bar"},
    "/themes": {},
    "/api/themes": {},
    "/metrics": {},
    "/api/metrics": {},
    **{f"/metrics/{name}.{kind}": {} for name in metrics.NAMES for kind in ("svg", "csv")},
    "/api/lessons/{id:int}/duplicates": {"id": "lesson"},
    "/api/curation/duplicates": {},  # curators only, as the two pages below
    "/curate/duplicates": {},
    "/curate/merge": {},
    "/api/actions": {},
    "/actions/mine": {},  # the viewer's own actions: casey owns one on hidden work
    "/api/actions/mine": {},
    "/digest": {},  # the viewer's own digest (administrators: ?person_id=, anyone's)
    "/taxonomy": {},
    "/api/taxonomy": {},
    "/api/lessons/{id:int}/tag-suggestions": {"id": "lesson"},
    "/feeds/lessons.atom": {},
    "/feeds/tags/{tag}.atom": {"tag": "tag"},
    "/feeds/units/{unit}.atom": {"unit": "unit"},
    "/feeds/projects/{id:int}.atom": {"id": "project"},
    "/curate": {},  # curators only: a contributor gets 403, a visitor the sign-in page
    "/api/curation/queue": {},
    "/api/reviews/{id:int}": {"id": "review"},
    "/roles": {},
    "/roles/{id:int}": {"id": "role"},
    "/api/roles": {},
    "/api/roles/{id:int}": {"id": "role"},
    "/communities": {},
    "/communities/{id:int}": {"id": "community"},
    "/api/communities": {},
    "/api/communities/{id:int}": {"id": "community"},
    "/feeds/communities/{id:int}.atom": {"id": "community"},
}
NO_LESSONS = "answers nothing about lessons"
# The tests that check the routes below (names, so the table can sit above them).
BAR_RUN = "test_bar_for_the_marker_brief_surfaces_no_restricted_lesson"
BAR_DECIDE = "test_bar_of_the_marker_brief_is_not_decidable_on_hidden_lessons"
HIDDEN_WRITES = "test_writes_on_a_hidden_lesson_answer_as_on_a_missing_one"
BAR_OUTCOME = "test_bar_outcome_on_a_hidden_lesson_answers_as_on_a_missing_one"
ACTION_WRITES = "test_writes_on_an_action_of_a_hidden_lesson_answer_as_on_a_missing_one"
HANDOVER_WRITES = "test_writes_on_a_hidden_handover_answer_as_on_a_missing_one"
SHARE_HIDDEN = "test_sharing_a_hidden_lesson_answers_as_sharing_a_missing_one"
PROFILE_WRITES = "test_profile_writes_on_a_hidden_person_answer_as_on_a_missing_one"
ASSIST_WRITES = "test_peer_assists_name_no_hidden_person_and_reach_no_hidden_bar"
OTHER_ROUTES: dict[str, str] = {
    "POST /login": NO_LESSONS,
    "POST /logout": NO_LESSONS,
    "POST /account/password": NO_LESSONS,
    "POST /reviews": NO_LESSONS,  # a redirect, or the form again with what was typed
    "POST /api/reviews": NO_LESSONS,  # the review just written, with its own lessons
    "POST /bar": BAR_RUN,
    "POST /api/bar": BAR_RUN,
    "POST /bar/{id:int}/decisions": BAR_DECIDE,
    "POST /api/bar/{id:int}/decisions": BAR_DECIDE,
    "POST /bar/{id:int}/outcomes": BAR_OUTCOME,
    "POST /api/bar/{id:int}/outcomes": BAR_OUTCOME,
    # Its runner only: a redirect; anyone else 404 (a BAR they cannot see) or 403 (one they can).
    "POST /bar/{id:int}/delete": NO_LESSONS,
    "PATCH /api/lessons/{id:int}": HIDDEN_WRITES,
    "POST /api/lessons/{id:int}/transition": HIDDEN_WRITES,
    "POST /lessons/{id:int}/transition": HIDDEN_WRITES,
    "POST /lessons/{id:int}/edit": HIDDEN_WRITES,
    "POST /lessons/{id:int}/delete": HIDDEN_WRITES,
    "POST /admin/users": NO_LESSONS,
    "POST /admin/users/{id:int}/role": NO_LESSONS,
    "POST /admin/projects/{id:int}/members": NO_LESSONS,
    "POST /admin/projects/{id:int}/members/{user_id:int}/remove": NO_LESSONS,
    "POST /admin/lessons/{id:int}/restore": HIDDEN_WRITES,
    "POST /admin/lessons/{id:int}/purge": HIDDEN_WRITES,
    "POST /api/lessons/{id:int}/merge": HIDDEN_WRITES,  # curators only: refused alike
    "POST /api/merges/{id:int}/undo": HIDDEN_WRITES,
    "POST /merges/{id:int}/undo": HIDDEN_WRITES,
    "POST /curate/merge": HIDDEN_WRITES,
    "POST /lessons/{id:int}/tags": HIDDEN_WRITES,
    "POST /actions/{id:int}": ACTION_WRITES,
    "PATCH /api/actions/{id:int}": ACTION_WRITES,
    "POST /api/actions/{id:int}/close": ACTION_WRITES,
    "POST /api/actions/{id:int}/drop": ACTION_WRITES,
    "POST /api/actions/{id:int}/carry-forward": ACTION_WRITES,
    "POST /reviews/{id:int}/actions": ACTION_WRITES,
    "POST /bar/{id:int}/actions": ACTION_WRITES,
    "PATCH /api/people/{id:int}": PROFILE_WRITES,
    "POST /people/{id:int}/edit": PROFILE_WRITES,
    "POST /api/bar/{id:int}/peer-assists": ASSIST_WRITES,
    "POST /bar/{id:int}/peer-assists": ASSIST_WRITES,
    "POST /api/peer-assists/{id:int}/outcome": ASSIST_WRITES,
    "POST /peer-assists/{id:int}/outcome": ASSIST_WRITES,
    # Curators only (they see every lesson); a redirect, or the taxonomy page again.
    "POST /taxonomy/schemes": NO_LESSONS,
    "POST /taxonomy/terms": NO_LESSONS,
    "POST /taxonomy/terms/{id:int}/rename": NO_LESSONS,
    "POST /taxonomy/terms/{id:int}/merge": NO_LESSONS,
    "POST /taxonomy/terms/{id:int}/move": NO_LESSONS,
    "POST /taxonomy/adopt": NO_LESSONS,
    "POST /api/taxonomy/schemes": NO_LESSONS,
    "POST /api/taxonomy/schemes/{id:int}/terms": NO_LESSONS,
    "PATCH /api/taxonomy/terms/{id:int}": NO_LESSONS,
    "POST /api/taxonomy/terms/{id:int}/merge": NO_LESSONS,
    "POST /api/taxonomy/adopt": NO_LESSONS,
    "POST /curate/lessons/{id:int}/validate": HIDDEN_WRITES,
    "POST /curate/lessons/{id:int}/review": HIDDEN_WRITES,
    "POST /curate/lessons/{id:int}/edit": HIDDEN_WRITES,
    "POST /api/curation/lessons/{id:int}/validate": HIDDEN_WRITES,
    "POST /api/curation/lessons/{id:int}/review": HIDDEN_WRITES,
    "POST /api/reviews/{id:int}/acknowledge": HANDOVER_WRITES,
    "POST /api/reviews/{id:int}/questions": HANDOVER_WRITES,
    "POST /api/follow-ups/{id:int}/answer": HANDOVER_WRITES,
    "POST /api/reviews/{id:int}/reassign": HANDOVER_WRITES,
    "POST /reviews/{id:int}/acknowledge": HANDOVER_WRITES,
    "POST /reviews/{id:int}/questions": HANDOVER_WRITES,
    "POST /reviews/{id:int}/questions/{question_id:int}/answer": HANDOVER_WRITES,
    "POST /reviews/{id:int}/reassign": HANDOVER_WRITES,
    "POST /api/communities/{id:int}/shares": SHARE_HIDDEN,
    "POST /communities/{id:int}/shares": SHARE_HIDDEN,
    # Communities, membership, questions and answers: members' own words, no lesson in them;
    # drawing a lesson from an answer answers with the lesson just written.
    "POST /api/communities": NO_LESSONS,
    "POST /communities": NO_LESSONS,
    "POST /api/communities/{id:int}/membership": NO_LESSONS,
    "POST /communities/{id:int}/membership": NO_LESSONS,
    "POST /api/communities/{id:int}/questions": NO_LESSONS,
    "POST /communities/{id:int}/questions": NO_LESSONS,
    "POST /api/community-questions/{id:int}/answers": NO_LESSONS,
    "POST /communities/{id:int}/questions/{question_id:int}/answers": NO_LESSONS,
    "POST /api/community-answers/{id:int}/lesson": NO_LESSONS,
    "POST /communities/{id:int}/answers/{answer_id:int}/lesson": NO_LESSONS,
}
# Mounted apps that are not routers (their routes cannot be walked).
MOUNTS = {"/static": "the stylesheet and script"}
PARAM = re.compile(r"{(\w+)(?::\w+)?}")


def app_routes(routes: Sequence[BaseRoute], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(method, path) of every route under `routes`, Mount and Host children included; a
    mounted app that is not a router is ("MOUNT", path)."""
    for route in routes:
        if isinstance(route, Mount):
            path = prefix + route.path
            if route.routes:
                yield from app_routes(route.routes, path)
            else:
                yield "MOUNT", path
        elif isinstance(route, Host):
            yield from app_routes(route.routes, prefix)
        elif isinstance(route, Route):
            for method in sorted((route.methods or set()) - {"HEAD"}):
                yield method, prefix + route.path
        elif not isinstance(route, WebSocketRoute):
            raise TypeError(f"the leak suite does not know how to walk {route!r}")


def untabled(app: Starlette) -> list[str]:
    """The routes of `app` the route table does not cover, each with the line to add."""
    missing = []
    for method, path in app_routes(app.routes):
        if method == "GET" and path not in GET_ROUTES:
            names = ", ".join(f'"{n}": "<{"|".join(FILLS)}>"' for n in PARAM.findall(path))
            missing.append(f'GET_ROUTES:   "{path}": {{{names}}},')
        elif method == "MOUNT" and path not in MOUNTS:
            missing.append(f'MOUNTS:       "{path}": "<what it serves>",')
        elif method not in ("GET", "MOUNT") and f"{method} {path}" not in OTHER_ROUTES:
            missing.append(
                f'OTHER_ROUTES: "{method} {path}": "<test that checks it, or NO_LESSONS>",'
            )
    return missing


def fillings(path: str) -> list[dict[str, tuple[str, str]]]:
    """Each way to fill the path's parameters from the table, as {param: (kind, key)}."""
    kinds = GET_ROUTES[path]
    options: list[dict[str, tuple[str, str]]] = [{}]
    for name in PARAM.findall(path):
        kind = kinds.get(name)
        assert kind in FILLS, f"GET_ROUTES[{path!r}] must map {name!r} to one of {sorted(FILLS)}"
        options = [{**o, name: (kind, key)} for o in options for key in FILLS[kind]]
    return options


def build_app() -> Starlette:
    settings = Settings(
        database_url="sqlite://", embedding_model="hashing", load_demo=False, secret_key="x"
    )
    return create_app(settings, embedder=HashingEmbedder())


VIEWERS = ("anonymous", "casey-session", "casey-bearer")

# Known leaks, each a bug report: (viewer, path, filling) -> reason; marked strict xfail.
KNOWN_LEAKS: dict[tuple[str, str, str], str] = {}


def _label(filling: dict[str, tuple[str, str]]) -> str:
    return ",".join(f"{name}={kind}:{key}" for name, (kind, key) in filling.items())


def route_cases() -> list[Any]:
    """(viewer, path, filling) for every GET route of a freshly built app that is in the
    table (the ones that are not fail `test_every_route_is_in_the_route_table`)."""
    paths = sorted({p for m, p in app_routes(build_app().routes) if m == "GET"} & set(GET_ROUTES))
    cases = []
    for viewer in VIEWERS:
        for path in paths:
            for filling in fillings(path):
                label = _label(filling)
                reason = KNOWN_LEAKS.get((viewer, path, label))
                marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
                cases.append(
                    pytest.param(
                        viewer, path, filling, id=f"{viewer} GET {path} {label}", marks=marks
                    )
                )
    return cases


ROUTE_CASES = route_cases()
