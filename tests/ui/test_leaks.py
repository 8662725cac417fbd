"""The leak proof: no route reveals a lesson its viewer may not see (DESIGN.md, Sensitivity).

ADDING A ROUTE: every route of the app must have a line in the route table below, or
`test_every_route_is_in_the_route_table` fails and names it. One line each:

    GET routes, in GET_ROUTES:    "/feeds/lessons.atom": {},
                                  "/curation/duplicates/{id:int}": {"id": "lesson"},
        (path as in app.routes; each path parameter mapped to what it names, a key of FILLS)
    other routes, in OTHER_ROUTES: "POST /curation/merge": "test_that_checks_it",
        (or NO_LESSONS when the route answers nothing about lessons)

Every GET route in the table is then requested as an anonymous visitor, as contributor
`casey` signed in, and as `casey` with a bearer token and no cookies, with every record of each
parameter's kind, and with and without search and filter parameters. A bank is seeded with
restricted lessons in a project `casey` is not a member of, an internal lesson, a public lesson
not yet validated and a soft-deleted one, each carrying a marker word found nowhere else and
written to be the best match for the queries used. No answer may hold a hidden lesson's marker,
title, id or open action, nor count it.

The secret project also holds what leaked in issue 11, so each kind would fail here: a review
story and an action on no lesson, a restricted lesson merged into a public one (with its tag
and open action), a review whose restricted lesson was purged, people named only on that
work, and curator kim's BAR with a brief of its own. None of their words, names, the secret
project's name or tag may show to anyone outside the project, nor be counted (the home
page's project count included).
"""

from __future__ import annotations

import html
import json
import re
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus, urlencode

import httpx
import pytest
from sqlmodel import Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Host, Mount, Route, WebSocketRoute

from lessons.accounts import users as accounts
from lessons.catalogue import service as catalogue
from lessons.metrics import service as metrics
from lessons.storage.db import make_engine, transaction
from lessons.storage.models import BeforeActionReview, Lesson, LessonStatus
from lessons.storage.settings import Settings
from retrieval import bm25, lexical
from retrieval.embedder import HashingEmbedder
from tests.conftest import TOKENS, Client, app_client
from ui.app import create_app

# --- the seeded bank -----------------------------------------------------------------------------

MARK_RESTRICTED = "zebrafishquarantine"
MARK_INTERNAL = "okapiinternalmemo"
MARK_UNVETTED = "narwhalunvetted"
MARK_DELETED = "quokkadeleted"
QUERY_WORDS = "cold chain fridges procurement lead time"
TAG = "cold-chain"
SECRET_TAG = "aquarium-biosecurity"
SECRET_PROJECT = "Aquarium biosecurity programme"
SECRET_UNIT = "Marine Labs"
PUBLIC_PROJECT = "Cold chain programme"
SECRET_AUTHOR = "Ravi Okafor"
SECRET_OWNER = "Quillon Abernathy-Vos"
SECRET_STORY_OWNER = "Wilhelmina Stroud-Ng"  # owns an action on no lesson, on the secret review
MARK_STORY = "ibexstoryline"  # the secret review's answers and its action on no lesson
MARK_BRIEF = "pangolinbriefing"  # curator kim's BAR brief
MARK_PURGED = "tapirpurged"  # a review whose only (restricted) lesson was purged
# What nobody outside the secret project may read, whatever the page: words and names.
SECRET_WORDS = (
    MARK_STORY,
    MARK_BRIEF,
    MARK_PURGED,
    SECRET_PROJECT,
    SECRET_TAG,
    SECRET_AUTHOR,
    SECRET_OWNER,
    SECRET_STORY_OWNER,
)
TRUSTED = {"validated", "actioned", "learned"}
EVERY_STATUS = [str(s) for s in LessonStatus]

# The public twin and the restricted lesson differ by the marker alone: each is the other's
# nearest neighbour, and a near-copy of it.
TWIN_TITLE = "Order cold chain fridges before procurement lead time runs out"
TWIN_TEXT = {
    "observation": "The cold chain fridges arrived three weeks late because procurement "
    "started after approval and the supplier lead time is twelve weeks.",
    "insight": "Procurement lead time for cold chain fridges is longer than the campaign "
    "planning window.",
    "recommendation": "Start procurement of cold chain fridges when the plan is drafted.",
}


@dataclass(frozen=True)
class Seeded:
    """One seeded lesson and who may see it."""

    key: str
    title: str
    sensitivity: str
    status: str  # after seeding
    secret_project: bool
    marker: str = ""
    tags: tuple[str, ...] = (TAG,)
    deleted: bool = False
    text: dict[str, str] = field(default_factory=dict)

    def visible_to(self, viewer: str) -> bool:
        """DESIGN.md: anonymous sees public validated lessons; casey, a contributor outside
        the secret project, sees public and internal ones; nobody but curators sees deleted."""
        if self.deleted:
            return False
        if viewer == "anonymous":
            return self.sensitivity == "public" and self.status in TRUSTED
        return self.sensitivity in ("public", "internal")

    def body(self) -> dict[str, Any]:
        return {
            "title": self.title,
            **(
                self.text
                or {
                    "observation": f"{self.marker} cold chain fridges procurement lead time.",
                    "insight": f"{self.marker} lead time for fridges is long.",
                    "recommendation": f"Plan {self.marker} procurement early.",
                }
            ),
            "polarity": "improve",
            "perspective": "operational",
            "tags": list(self.tags),
            "sensitivity": self.sensitivity,
        }


def _marked(text: dict[str, str], marker: str) -> dict[str, str]:
    """The text with the marker in one section: one word more keeps it a near-copy."""
    return {**text, "observation": f"{marker.capitalize()}: {text['observation']}"}


SEEDS = (
    Seeded(
        "restricted",
        f"{MARK_RESTRICTED.capitalize()}: {TWIN_TITLE}",
        "restricted",
        "validated",
        True,
        MARK_RESTRICTED,
        (TAG, SECRET_TAG),
        text=_marked(TWIN_TEXT, MARK_RESTRICTED),
    ),
    Seeded(
        "restricted_spares",
        f"{MARK_RESTRICTED.capitalize()}: cold chain spare parts have a procurement lead time",
        "restricted",
        "validated",
        True,
        MARK_RESTRICTED,
        (TAG, SECRET_TAG),
    ),
    Seeded(
        "restricted_pending",
        f"{MARK_RESTRICTED.capitalize()}: check cold chain fridge logs during procurement",
        "restricted",
        "identified",
        True,
        MARK_RESTRICTED,
        (TAG, SECRET_TAG),
    ),
    # Merged by kim into the public lesson below: nothing of it may move there.
    Seeded(
        "restricted_merged",
        f"{MARK_RESTRICTED.capitalize()}: cold chain fridges from the secret store",
        "restricted",
        "merged",
        True,
        MARK_RESTRICTED,
        (TAG, SECRET_TAG),
    ),
    Seeded(
        "public",
        "Cold chain fridges need a procurement lead time buffer",
        "public",
        "validated",
        False,
        text={"observation": "Fridges for the cold chain came late.", "insight": "Lead time."},
    ),
    Seeded("public_twin", TWIN_TITLE, "public", "validated", False, text=TWIN_TEXT),
    Seeded(
        "public_other",
        "Translate consent forms before the campaign starts",
        "public",
        "validated",
        False,
        tags=("consent",),
        text={"observation": "Consent forms were only in English."},
    ),
    Seeded(
        "internal",
        f"{MARK_INTERNAL.capitalize()}: cold chain fridge procurement lead time memo",
        "internal",
        "validated",
        False,
        MARK_INTERNAL,
    ),
    Seeded(
        "public_unvetted",
        f"{MARK_UNVETTED.capitalize()}: cold chain fridges procurement lead time draft",
        "public",
        "identified",
        False,
        MARK_UNVETTED,
    ),
    Seeded(
        "public_deleted",
        f"{MARK_DELETED.capitalize()}: cold chain fridges procurement lead time, withdrawn",
        "public",
        "validated",
        False,
        MARK_DELETED,
        deleted=True,
    ),
)
BY_KEY = {seed.key: seed for seed in SEEDS}


@dataclass
class Bank:
    """Ids of what was seeded, by the names this file uses."""

    lessons: dict[str, int]
    projects: dict[str, int]
    reviews: dict[str, int]
    bars: dict[str, int]
    actions: dict[str, tuple[str, str]]  # lesson key -> (action text, owner name)

    def hidden(self, viewer: str) -> list[Seeded]:
        return [seed for seed in SEEDS if not seed.visible_to(viewer)]

    def hidden_ids(self, viewer: str) -> set[int]:
        return {self.lessons[seed.key] for seed in self.hidden(viewer)}


def _review(project: dict[str, Any], seeds: list[Seeded], **extra: Any) -> dict[str, Any]:
    return {
        "kind": "aar",
        "project": project,
        "answers": {"planned": "Run the work as planned.", "actual": "It ran late."},
        "lessons": [seed.body() for seed in seeds],
        **extra,
    }


def seed_bank(client: Client, engine_url: str) -> Bank:
    """Seed through the API: restricted lessons by curator kim in a project casey is not a
    member of, the rest by casey; kim validates; each runs a BAR; one lesson is soft-deleted."""
    secret = [s for s in SEEDS if s.secret_project]
    public = [s for s in SEEDS if not s.secret_project]
    actions = {
        "restricted": (f"{MARK_RESTRICTED.capitalize()}: add the fridge lead time", SECRET_OWNER),
        "restricted_merged": (f"{MARK_RESTRICTED.capitalize()}: empty the store", SECRET_OWNER),
        "public": ("Add a lead-time buffer to the plan template", "Tom Reyes"),
        "internal": (f"{MARK_INTERNAL.capitalize()}: brief the cold chain team", "Ines Moreau"),
    }

    def action_list(seeds: list[Seeded]) -> list[dict[str, Any]]:
        keys = [s.key for s in seeds]
        return [
            {"what": what, "owner": owner, "due": "2031-03-31", "lesson_index": keys.index(key)}
            for key, (what, owner) in actions.items()
            if key in keys
        ]

    made = client.post(
        "/api/reviews",
        json=_review(
            {"name": SECRET_PROJECT, "unit": SECRET_UNIT},
            secret,
            author=SECRET_AUTHOR,
            answers={"planned": f"Run the {MARK_STORY} work.", "actual": "It ran late."},
            actions=[
                *action_list(secret),
                {"what": f"{MARK_STORY}: audit the tank seals", "owner": SECRET_STORY_OWNER},
            ],
        ),
        headers=client.curator,
    )
    assert made.status_code == 201, made.text
    secret_review = made.json()
    made = client.post(
        "/api/reviews",
        json=_review({"name": PUBLIC_PROJECT, "unit": "Public Health"}, public)
        | {"actions": action_list(public)},
    )
    assert made.status_code == 201, made.text
    public_review = made.json()
    ids = {s.key: le["id"] for s, le in zip(secret, secret_review["lessons"], strict=True)}
    ids |= {s.key: le["id"] for s, le in zip(public, public_review["lessons"], strict=True)}
    for seed in SEEDS:
        if seed.status == "validated":
            step = client.post(
                f"/api/lessons/{ids[seed.key]}/transition",
                json={"to": "validated", "reason": "checked"},
                headers=client.curator,
            )
            assert step.status_code == 200, step.text
    merged = client.post(
        f"/api/lessons/{ids['public']}/merge",
        json={"duplicates": [ids["restricted_merged"]]},
        headers=client.curator,
    )
    assert merged.status_code == 200, merged.text
    purged = client.post(
        "/api/reviews",
        json=_review(
            {"id": secret_review["project"]["id"]},
            [],
            answers={"planned": f"Keep the {MARK_PURGED} plan.", "actual": "Done."},
            lessons=[
                {"title": f"{MARK_PURGED.capitalize()}: withdrawn", "sensitivity": "restricted"}
            ],
            author=SECRET_AUTHOR,
        ),
        headers=client.curator,
    )
    assert purged.status_code == 201, purged.text
    engine = make_engine(engine_url)
    try:
        with transaction(engine) as session:
            for seed in SEEDS:
                if seed.deleted:
                    lesson = session.get(Lesson, ids[seed.key])
                    assert lesson is not None
                    catalogue.delete_lesson(session, lesson=lesson, actor="kim")
            gone = session.get(Lesson, purged.json()["lessons"][0]["id"])
            assert gone is not None
            catalogue.delete_lesson(session, lesson=gone, actor="kim")
            catalogue.purge_lesson(session, lesson=gone, actor="kim")
    finally:
        engine.dispose()
    bars = {}
    for who, brief, headers in (
        ("casey", QUERY_WORDS, {}),
        ("kim", f"{MARK_BRIEF} {QUERY_WORDS}", client.curator),
    ):
        ran = client.post("/api/bar", json={"brief": brief, "limit": 10}, headers=headers)
        assert ran.status_code == 201, ran.text
        bars[who] = ran.json()["id"]
    return Bank(
        lessons=ids,
        projects={
            "secret": secret_review["project"]["id"],
            "public": public_review["project"]["id"],
        },
        reviews={
            "secret": secret_review["id"],
            "public": public_review["id"],
            "purged": purged.json()["id"],
        },
        bars=bars,
        actions=actions,
    )


def _settings(path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{path}",
        embedding_model="hashing",
        load_demo=False,
        secret_key="test-secret-key",
    )


# --- the route table (see the top of this file) -------------------------------------------------

# What a path parameter may name, and the seeded records it is filled with (keys of Bank's
# lessons / projects / reviews / bars): every one, hidden or not.
FILLS = {
    "lesson": [seed.key for seed in SEEDS],
    "project": ["secret", "public"],
    "review": ["secret", "public", "purged"],
    "bar": ["casey", "kim"],
    "tag": ["secret", "public"],
    "unit": ["secret", "public"],
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
    "/projects": {},
    "/projects/{id:int}": {"id": "project"},
    "/reviews/new": {},
    "/reviews/{id:int}": {"id": "review"},
    "/actions": {},
    "/people": {},
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
    "/taxonomy": {},
    "/api/taxonomy": {},
    "/api/lessons/{id:int}/tag-suggestions": {"id": "lesson"},
    "/feeds/lessons.atom": {},
    "/feeds/tags/{tag}.atom": {"tag": "tag"},
    "/feeds/units/{unit}.atom": {"unit": "unit"},
    "/feeds/projects/{id:int}.atom": {"id": "project"},
    "/curate": {},  # curators only: a contributor gets 403, a visitor the sign-in page
    "/api/curation/queue": {},
}
NO_LESSONS = "answers nothing about lessons"
# The tests that check the routes below (names, so the table can sit above them).
BAR_RUN = "test_bar_for_the_marker_brief_surfaces_no_restricted_lesson"
BAR_DECIDE = "test_bar_of_the_marker_brief_is_not_decidable_on_hidden_lessons"
HIDDEN_WRITES = "test_writes_on_a_hidden_lesson_answer_as_on_a_missing_one"
BAR_OUTCOME = "test_bar_outcome_on_a_hidden_lesson_answers_as_on_a_missing_one"
ACTION_WRITES = "test_writes_on_an_action_of_a_hidden_lesson_answer_as_on_a_missing_one"
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
    "PATCH /api/lessons/{id:int}": HIDDEN_WRITES,
    "POST /api/lessons/{id:int}/transition": HIDDEN_WRITES,
    "POST /lessons/{id:int}/transition": HIDDEN_WRITES,
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
            raise TypeError(f"test_leaks does not know how to walk {route!r}")


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
        said = re.search(r"<p>(\d+) lessons?", response.text)
        assert said, "the lessons page no longer says how many lessons match"
        total = int(said.group(1))
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


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bank_settings(tmp_path_factory: pytest.TempPathFactory, migrated_template: Path) -> Settings:
    """One bank for every route test in this module (they only read)."""
    path = tmp_path_factory.mktemp("leaks") / "lessonbank.db"
    shutil.copyfile(migrated_template, path)
    return _settings(path)


@pytest.fixture(scope="module")
def casey(bank_settings: Settings) -> Iterator[Client]:
    yield from app_client(bank_settings)


@pytest.fixture(scope="module")
def bank(casey: Client, bank_settings: Settings) -> Bank:
    return seed_bank(casey, bank_settings.database_url)


@pytest.fixture(scope="module")
def visitor(bank_settings: Settings, bank: Bank) -> Iterator[Client]:
    yield from app_client(bank_settings, as_user=None)


@pytest.fixture(scope="module")
def api(bank_settings: Settings, bank: Bank) -> Iterator[Client]:
    """A client that never signs in: casey's bearer token is its only credential."""
    yield from app_client(bank_settings, as_user=None)


def get_as(viewer: str, clients: dict[str, Client], url: str) -> httpx.Response:
    if viewer == "casey-bearer":
        client = clients[viewer]
        client.cookies.clear()
        return client.get(url, headers={"Authorization": f"Bearer {TOKENS['casey']}"})
    return clients[viewer].get(url)


@pytest.fixture(scope="module")
def clients(casey: Client, visitor: Client, api: Client, bank: Bank) -> dict[str, Client]:
    return {"anonymous": visitor, "casey-session": casey, "casey-bearer": api}


def fill(path: str, filling: dict[str, tuple[str, str]], bank: Bank) -> str:
    records: dict[str, dict[str, Any]] = {
        "lesson": bank.lessons,
        "project": bank.projects,
        "review": bank.reviews,
        "bar": bank.bars,
        "tag": {"secret": SECRET_TAG, "public": TAG},
        "unit": {"secret": SECRET_UNIT, "public": "Public Health"},
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


def _large_bank_ranker(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Rank as on a bank too large for FTS5's bm25(): bounded candidates, and so few postings
    read that they are narrowed to lessons holding the rarest terms together. Returns the
    number of candidates of each ranking, as it happens (so a test can tell it ran)."""
    monkeypatch.setattr(lexical, "IN_MEMORY", False)  # FTS5 read per query
    monkeypatch.setattr(lexical, "EXACT_LIMIT", 0)
    monkeypatch.setattr(bm25, "CANDIDATE_POSTINGS", 4)
    found: list[int] = []
    candidates = bm25.candidates

    def counted(*args: Any, **kwargs: Any) -> Any:
        ids = candidates(*args, **kwargs)
        found.append(len(ids))
        return ids

    monkeypatch.setattr(bm25, "candidates", counted)
    return found


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


def test_every_route_is_in_the_route_table() -> None:
    """A route nobody has listed fails here, so it cannot return lessons unchecked."""
    missing = untabled(build_app())
    assert not missing, (
        "routes the leak test does not know: add a line for each to the table in "
        "tests/ui/test_leaks.py (see the top of that file)\n" + "\n".join(missing)
    )


def test_other_routes_name_a_test_that_checks_them() -> None:
    for route, how in OTHER_ROUTES.items():
        assert how == NO_LESSONS or callable(globals().get(how)), (route, how)


def test_a_new_route_fails_until_it_is_in_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    """The guard itself, on a real app with routes added as a later change would add them."""

    async def lessons_feed(request: Request) -> Response:
        return JSONResponse([])

    app = build_app()
    app.router.routes += [
        Route("/feeds/{id:int}", lessons_feed),
        Route("/curation/merge", lessons_feed, methods=["POST"]),
        Mount("/exports", app=JSONResponse([])),
        Mount("/curation", routes=[Route("/queue", lessons_feed)]),
    ]
    assert untabled(app) == [
        'GET_ROUTES:   "/feeds/{id:int}": {"id": "<lesson|project|review|bar|tag|unit>"},',
        'OTHER_ROUTES: "POST /curation/merge": "<test that checks it, or NO_LESSONS>",',
        'MOUNTS:       "/exports": "<what it serves>",',
        'GET_ROUTES:   "/curation/queue": {},',
    ]
    monkeypatch.setitem(GET_ROUTES, "/feeds/{id:int}", {"id": "lesson"})
    assert "/feeds/{id:int}" not in "\n".join(untabled(app))
    assert [f["id"] for f in fillings("/feeds/{id:int}")] == [
        ("lesson", seed.key) for seed in SEEDS
    ]


def test_route_table_covers_the_lesson_routes() -> None:
    """The cases include the routes known to return lessons (so an empty or broken walk
    cannot pass the leak test vacuously), each with every record of its parameter's kind."""
    paths = [case.values[1] for case in ROUTE_CASES]
    for path in (
        "/",
        "/lessons",
        "/lessons/{id:int}",
        "/api/lessons",
        "/api/lessons/{id:int}",
        "/api/lessons/{id:int}/similar",
        "/api/bar/{id:int}",
        "/bar/{id:int}",
        "/projects/{id:int}",
        "/reviews/{id:int}",
        "/actions",
        "/people",
    ):
        kinds = GET_ROUTES[path].values()
        want = len(VIEWERS) * (len(FILLS[next(iter(kinds))]) if kinds else 1)
        assert paths.count(path) == want, path


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


# --- BAR, similar lessons, and the member who may see --------------------------------------------


@pytest.fixture
def fresh_bank(client: Client, settings: Settings) -> Bank:
    """A bank of its own, for tests that add to it."""
    return seed_bank(client, settings.database_url)


@pytest.mark.parametrize("ranker", ["small bank", "large bank"])
def test_bar_for_the_marker_brief_surfaces_no_restricted_lesson(
    client: Client, fresh_bank: Bank, ranker: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ranked = _large_bank_ranker(monkeypatch) if ranker == "large bank" else [1]
    brief = f"{MARK_RESTRICTED} {QUERY_WORDS}"
    secret_people = {SECRET_OWNER, SECRET_AUTHOR, SECRET_STORY_OWNER, "kim"}
    for body in (
        {"brief": brief, "limit": 50},
        {"brief": brief, "limit": 50, "filters": {"status": EVERY_STATUS}},
        {"brief": brief, "limit": 50, "filters": {"tags": [SECRET_TAG], "status": EVERY_STATUS}},
    ):
        made = client.post("/api/bar", json=body)
        assert made.status_code == 201, made.text
        bar = made.json()
        echoes = _echoes("/api/bar", [("brief", brief), ("tag", SECRET_TAG)])  # casey typed them
        assert not leaks(made, fresh_bank, "casey-session", echoes), body
        assert bar["results"] or body.get("filters", {}).get("tags") == [SECRET_TAG]
        people = {p["name"] for p in bar["people"]}
        people |= {p["name"] for r in bar["results"] for p in r["people"]}
        assert not people & secret_people, people
        owners = {(a["owner"] or {}).get("name") for r in bar["results"] for a in r["open_actions"]}
        assert not owners & secret_people, owners
        hidden = fresh_bank.hidden_ids("casey-session")
        assert not {a["lesson_id"] for r in bar["results"] for a in r["open_actions"]} & hidden
        for url in (f"/api/bar/{bar['id']}", f"/bar/{bar['id']}"):
            shown = client.get(url)
            assert shown.status_code == 200
            assert not leaks(shown, fresh_bank, "casey-session", echoes), url
            assert SECRET_OWNER not in shown.text
    # Naming the secret project (casey may not know of it) answers as naming a missing one.
    named = [
        client.post("/api/bar", json={"brief": brief, "project": {"id": project_id}})
        for project_id in (fresh_bank.projects["secret"], 10**9)
    ]
    assert [n.status_code for n in named] == [404, 404]
    assert _same_answer(named[0].text, named[1].text, fresh_bank.projects["secret"], 10**9)
    form = client.post("/bar", data={"brief": brief, "include_unvalidated": "1"})
    assert form.status_code == 200, form.text
    assert not leaks(form, fresh_bank, "casey-session", _echoes("/bar", [("brief", brief)]))
    assert ranked and max(ranked) > 0


def test_bar_of_the_marker_brief_is_not_decidable_on_hidden_lessons(
    client: Client, fresh_bank: Bank
) -> None:
    """Deciding on a restricted lesson the BAR did not show is refused the same way as on a
    lesson that does not exist: the answer tells nothing."""
    brief = f"{MARK_RESTRICTED} {QUERY_WORDS}"
    bar = client.post("/api/bar", json={"brief": brief}).json()
    hidden = fresh_bank.lessons["restricted"]
    answers = [
        client.post(
            f"/api/bar/{bar['id']}/decisions",
            json={"decisions": [{"lesson_id": lesson_id, "decision": "apply"}]},
        )
        for lesson_id in (hidden, 10**9)
    ]
    assert [a.status_code for a in answers] == [422, 422]
    first, second = (a.json()["error"] for a in answers)
    assert first["fields"] == second["fields"]
    assert MARK_RESTRICTED not in json.dumps(first).lower()
    forms = [
        client.post(
            f"/bar/{bar['id']}/decisions",
            data={"decisions.0.lesson_id": str(lesson_id), "decisions.0.decision": "apply"},
            follow_redirects=False,
        )
        for lesson_id in (hidden, 10**9)
    ]
    assert [f.status_code for f in forms] == [422, 422]
    assert not leaks(forms[0], fresh_bank, "casey-session", _echoes("/bar", [("brief", brief)]))
    assert _same_answer(forms[0].text, forms[1].text, hidden, 10**9)


def test_bar_outcome_on_a_hidden_lesson_answers_as_on_a_missing_one(
    client: Client, fresh_bank: Bank
) -> None:
    """casey's BAR surfaced the internal lesson and he applied it; curator kim then restricts
    it. casey recording an outcome on it is refused exactly as on a lesson that does not
    exist (only a BAR's runner, its project's members and curators may use it at all)."""
    bar_id = fresh_bank.bars["casey"]
    hidden = fresh_bank.lessons["internal"]
    surfaced = client.get(f"/api/bar/{bar_id}").json()["results"]
    assert hidden in {r["id"] for r in surfaced}
    applied = client.post(
        f"/api/bar/{bar_id}/decisions",
        json={"decisions": [{"lesson_id": hidden, "decision": "apply"}]},
    )
    assert applied.status_code == 200, applied.text
    restricted = client.patch(
        f"/api/lessons/{hidden}", json={"sensitivity": "restricted"}, headers=client.curator
    )
    assert restricted.status_code == 200, restricted.text
    answers = [
        client.post(
            f"/api/bar/{bar_id}/outcomes",
            json={"outcomes": [{"lesson_id": lesson_id, "outcome": "It helped."}]},
        )
        for lesson_id in (hidden, 10**9)
    ]
    assert [a.status_code for a in answers] == [422, 422]
    first, second = (a.json()["error"] for a in answers)
    assert first == second
    forms = [
        client.post(
            f"/bar/{bar_id}/outcomes",
            data={"lesson_id": str(lesson_id), "outcome": "It helped."},
            follow_redirects=False,
        )
        for lesson_id in (hidden, 10**9)
    ]
    assert [f.status_code for f in forms] == [422, 422]
    assert not leaks(forms[0], fresh_bank, "casey-session", _echoes(f"/bar/{bar_id}", []))
    assert _same_answer(forms[0].text, forms[1].text, hidden, 10**9)


def _same_answer(first: str, second: str, first_id: int, second_id: int) -> bool:
    """Two answers are the same but for the id each was asked about."""
    ids = re.compile(rf"\b(?:{first_id}|{second_id})\b")
    return ids.sub("ID", first) == ids.sub("ID", second)


def test_writes_on_a_hidden_lesson_answer_as_on_a_missing_one(
    client: Client, anon_client: Client, settings: Settings, fresh_bank: Bank
) -> None:
    """Editing, moving, deleting, restoring or purging a lesson casey may not see answers
    exactly as for an id that does not exist, and changes nothing: no write is an oracle."""
    missing = 10**9
    bearer = {"Authorization": f"Bearer {TOKENS['casey']}"}
    writes: list[tuple[str, str, dict[str, Any]]] = [
        ("PATCH", "/api/lessons/{id}", {"json": {"title": "Renamed by casey"}}),
        ("POST", "/api/lessons/{id}/transition", {"json": {"to": "validated"}}),
        ("POST", "/lessons/{id}/transition", {"data": {"to": "validated"}}),
        ("POST", "/lessons/{id}/delete", {"data": {}}),
        ("POST", "/admin/lessons/{id}/restore", {"data": {}}),
        ("POST", "/admin/lessons/{id}/purge", {"data": {}}),
        ("POST", "/api/lessons/{id}/merge", {"json": {"duplicates": [1]}}),
        ("POST", "/merges/{id}/undo", {"data": {}}),
        ("POST", "/lessons/{id}/tags", {"data": {"tags": "cold-chain"}}),
        ("POST", "/curate/lessons/{id}/validate", {"data": {"decision": "accept"}}),
        ("POST", "/curate/lessons/{id}/review", {"data": {"decision": "confirm"}}),
        ("POST", "/curate/lessons/{id}/edit", {"data": {"title": "Renamed by casey"}}),
        ("POST", "/api/curation/lessons/{id}/validate", {"json": {"decision": "accept"}}),
        ("POST", "/api/curation/lessons/{id}/review", {"json": {"decision": "confirm"}}),
    ]
    engine = make_engine(settings.database_url)
    try:
        before = _lesson_rows(engine)
        for key in ("restricted", "restricted_pending", "public_deleted"):
            hidden = fresh_bank.lessons[key]
            for method, path, body in writes:
                for who, headers in ((client, {}), (anon_client, bearer)):
                    answers = [
                        who.request(
                            method,
                            path.format(id=lesson_id),
                            headers=headers,
                            follow_redirects=False,
                            **body,
                        )
                        for lesson_id in (hidden, missing)
                    ]
                    where = (key, method, path, "bearer" if headers else "session")
                    assert answers[0].status_code == answers[1].status_code, where
                    assert 400 <= answers[0].status_code < 500, where
                    assert _same_answer(answers[0].text, answers[1].text, hidden, missing), where
        assert _lesson_rows(engine) == before
    finally:
        engine.dispose()


def _lesson_rows(engine: Any) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.exec_driver_sql("SELECT * FROM lesson ORDER BY id"))


def test_writes_on_an_action_of_a_hidden_lesson_answer_as_on_a_missing_one(
    client: Client, anon_client: Client, settings: Settings, fresh_bank: Bank
) -> None:
    """Editing, closing, dropping or carrying forward the action on a restricted lesson casey
    may not see, or the action on no lesson of its review, answers exactly as for an action
    that does not exist, and changes nothing."""
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            # The action on the restricted lesson, and the one on no lesson of its review.
            hidden_actions = [
                row[0]
                for row in connection.exec_driver_sql(
                    "SELECT id FROM action WHERE lesson_id = ? "
                    "OR (lesson_id IS NULL AND review_id = ?)",
                    (fresh_bank.lessons["restricted"], fresh_bank.reviews["secret"]),
                )
            ]
        assert len(hidden_actions) == 2
        secret_review = fresh_bank.reviews["secret"]
        bar = client.post(
            "/api/bar",
            json={"brief": QUERY_WORDS, "project": {"id": fresh_bank.projects["public"]}},
        ).json()["id"]
        missing = 10**9
        bearer = {"Authorization": f"Bearer {TOKENS['casey']}"}
        writes: list[tuple[str, str, dict[str, Any]]] = [
            (
                "PATCH",
                "/api/actions/{id}",
                {"json": {"status": "dropped", "closure_evidence": "x"}},
            ),
            ("POST", "/api/actions/{id}/close", {"json": {"closure_evidence": "done"}}),
            ("POST", "/api/actions/{id}/drop", {"json": {"reason": "no longer needed"}}),
            ("POST", "/api/actions/{id}/carry-forward", {"json": {"review_id": secret_review}}),
            ("POST", "/actions/{id}", {"data": {"status": "done", "closure_evidence": "x"}}),
        ]
        before = _action_rows(engine)
        for hidden in hidden_actions:
            for method, path, body in writes:
                for who, headers in ((client, {}), (anon_client, bearer)):
                    answers = [
                        who.request(
                            method,
                            path.format(id=action_id),
                            headers=headers,
                            follow_redirects=False,
                            **body,
                        )
                        for action_id in (hidden, missing)
                    ]
                    where = (method, path, "bearer" if headers else "session")
                    assert answers[0].status_code == answers[1].status_code == 404, where
                    assert _same_answer(answers[0].text, answers[1].text, hidden, missing), where
            # Settling open actions where a team starts again, naming the hidden action.
            for url in (f"/reviews/{secret_review}/actions", f"/bar/{bar}/actions"):
                answers = [
                    client.post(
                        url,
                        data={"carry.0.action_id": str(action_id), "carry.0.decision": "dropped"},
                        follow_redirects=False,
                    )
                    for action_id in (hidden, missing)
                ]
                # 422 on casey's BAR; 404 on the secret review, which casey may not open at all.
                assert answers[0].status_code == answers[1].status_code in (404, 422), url
                assert _same_answer(answers[0].text, answers[1].text, hidden, missing), url
                assert not leaks(answers[0], fresh_bank, "casey-session"), url
        assert _action_rows(engine) == before
    finally:
        engine.dispose()


def _action_rows(engine: Any) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.exec_driver_sql("SELECT * FROM action ORDER BY id"))


def test_a_bar_shows_its_reader_nothing_of_what_they_may_no_longer_see(
    client: Client, settings: Settings, fresh_bank: Bank
) -> None:
    """A BAR is read by its runner, its project's members and curators, and a project BAR
    ranks only what all of them may see; what a reader may not see can still be in it when a
    lesson is restricted later. Ranks, scores and near-copies of casey's BAR, after kim
    restricts a lesson it surfaced, are the same as those of a BAR run over what casey may
    still see: nothing in them counts the lesson that ranked above."""
    engine = make_engine(settings.database_url)
    try:
        with transaction(engine) as session:  # no visible near-copy of the restricted twin
            twin = session.get(Lesson, fresh_bank.lessons["public_twin"])
            assert twin is not None
            catalogue.delete_lesson(session, lesson=twin, actor="kim")
    finally:
        engine.dispose()
    brief = {"brief": QUERY_WORDS, "limit": 20}
    everything = client.post("/api/bar", json=brief)
    assert everything.status_code == 201
    ranked = [r["id"] for r in everything.json()["results"]]
    internal = fresh_bank.lessons["internal"]
    assert internal in ranked[:-1], "precondition: it ranks above a lesson casey still sees"
    restricted = client.patch(
        f"/api/lessons/{internal}", json={"sensitivity": "restricted"}, headers=client.curator
    )
    assert restricted.status_code == 200, restricted.text
    public_only = client.post(
        "/api/bar", json=brief | {"filters": {"project_id": fresh_bank.projects["public"]}}
    )
    assert public_only.status_code == 201
    seen = [client.get(f"/api/bar/{bar.json()['id']}").json() for bar in (everything, public_only)]
    assert seen[0]["results"], "casey sees the lessons of his BAR he may still see"
    assert internal not in {r["id"] for r in seen[0]["results"]}
    assert seen[0]["results"] == seen[1]["results"]
    assert seen[0]["people"] == seen[1]["people"]


# A BAR page's results: each lesson's link, match badge and the score line shown with it.
PAGE_RESULT = re.compile(
    r'<h3><a href="/lessons/(\d+)">.*?<span class="badge match-(\w+)">.*?'
    r'<span class="score">([^<]*)</span>',
    re.S,
)


def test_a_bar_page_scores_for_its_reader_without_the_feedback_they_may_no_longer_see(
    client: Client, settings: Settings, fresh_bank: Bank
) -> None:
    """The ranking moves the brief toward its best first-pass lessons (pseudo-relevance
    feedback) and scores every lesson against the moved brief, so a stored BAR's scores count
    the lessons that formed its feedback. After kim restricts one of them, casey's page of his
    BAR shows the order, bands and scores of a BAR run over what he may still see: the
    feedback taken again from the lessons he sees, nothing of the one he no longer does."""
    engine = make_engine(settings.database_url)
    try:
        with transaction(engine) as session:  # no visible near-copy of the restricted twin
            twin = session.get(Lesson, fresh_bank.lessons["public_twin"])
            assert twin is not None
            catalogue.delete_lesson(session, lesson=twin, actor="kim")
        brief = {"brief": QUERY_WORDS, "limit": 20}
        everything = client.post("/api/bar", json=brief)
        assert everything.status_code == 201
        internal = fresh_bank.lessons["internal"]
        with Session(engine) as session:
            bar = session.get(BeforeActionReview, everything.json()["id"])
            assert bar is not None and bar.feedback is not None
            formed_by = [
                row[0] for row in bar.feedback["pool"][: bar.feedback["params"]["prf_depth"]]
            ]
        assert internal in formed_by, "precondition: the lesson kim restricts formed the feedback"
    finally:
        engine.dispose()
    restricted = client.patch(
        f"/api/lessons/{internal}", json={"sensitivity": "restricted"}, headers=client.curator
    )
    assert restricted.status_code == 200, restricted.text
    public_only = client.post(
        "/api/bar", json=brief | {"filters": {"project_id": fresh_bank.projects["public"]}}
    )
    assert public_only.status_code == 201
    pages = [client.get(f"/bar/{made.json()['id']}") for made in (everything, public_only)]
    assert all(page.status_code == 200 for page in pages)
    shown = [PAGE_RESULT.findall(page.text) for page in pages]
    assert shown[0], "casey sees the lessons of his BAR he may still see"
    assert str(internal) not in {lesson_id for lesson_id, _, _ in shown[0]}
    assert shown[0] == shown[1]


SHOWN_SCORE = re.compile(r'<span class="score">([^<]*)</span>')
# Words few visible lessons hold (with QUERY_WORDS, in every lesson, BM25's IDF is floored).
SCARCE_WORDS = "consent forms campaign supplier twelve weeks"


def _shown_scores(client: Client, anon_client: Client) -> dict[str, Any]:
    """Every ranking figure searches show casey and an anonymous visitor for SCARCE_WORDS: the
    API's search and BAR (each result's score, and the rankers' scores and ranks behind it),
    the BAR page, and the search page."""

    def figures(results: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        parts = ("dense", "dense_rank", "lexical", "lexical_rank")
        return [
            (r.get("lesson_id", r.get("id")), r.get("rank"), r["score"], *map(r["why"].get, parts))
            for r in results
        ]

    q = f"?q={quote_plus(SCARCE_WORDS)}&limit=50"
    brief = {"brief": SCARCE_WORDS, "limit": 20}
    bar = client.post("/api/bar", json=brief)
    page = client.post("/bar", data={"brief": SCARCE_WORDS})
    assert bar.status_code == 201 and page.status_code == 200, (bar.text, page.text)
    shown = {
        "casey /api/lessons": figures(client.get(f"/api/lessons{q}").json()["results"]),
        "casey /api/bar": figures(bar.json()["results"]),
        "casey /api/bar/{id}": figures(
            client.get(f"/api/bar/{bar.json()['id']}").json()["results"]
        ),
        "casey /bar": SHOWN_SCORE.findall(page.text),
        "anonymous /api/lessons": figures(anon_client.get(f"/api/lessons{q}").json()["results"]),
    }
    for who, viewer in (("casey", client), ("anonymous", anon_client)):
        listed = re.sub(r"<[^>]+>", " ", viewer.get(f"/lessons{q}").text)
        shown[f"{who} /lessons"] = re.findall(r"\d+\.\d+", listed)
    assert all(shown.values()), shown
    return shown


def test_scores_shown_do_not_move_when_a_hidden_lesson_holds_the_searched_words(
    client: Client, anon_client: Client, fresh_bank: Bank
) -> None:
    """BM25 over every lesson would tell from a score how many hidden lessons hold a word
    (issue 11 item 3): a restricted lesson full of the searched words changes no figure
    casey or an anonymous visitor is shown."""
    before = _shown_scores(client, anon_client)
    words = f"{SCARCE_WORDS} {SCARCE_WORDS}"
    seed = Seeded("extra", f"Consent {SCARCE_WORDS}", "restricted", "validated", True)
    review = _review({"name": SECRET_PROJECT, "unit": SECRET_UNIT}, [seed])
    review["lessons"][0] |= {"observation": words, "insight": words, "recommendation": words}
    made = client.post("/api/reviews", json=review, headers=client.curator)
    assert made.status_code == 201, made.text
    lesson_id = made.json()["lessons"][0]["id"]
    step = client.post(
        f"/api/lessons/{lesson_id}/transition",
        json={"to": "validated", "reason": "checked"},
        headers=client.curator,
    )
    assert step.status_code == 200, step.text
    found = client.get(f"/api/lessons?q={quote_plus(SCARCE_WORDS)}", headers=client.curator)
    assert lesson_id in {r["id"] for r in found.json()["results"]}, "precondition: it matches"
    assert _shown_scores(client, anon_client) == before


def test_similar_lessons_skip_the_restricted_nearest_neighbour(
    client: Client, anon_client: Client, fresh_bank: Bank
) -> None:
    twin = fresh_bank.lessons["public_twin"]
    restricted = fresh_bank.lessons["restricted"]
    as_curator = client.get(f"/api/lessons/{twin}/similar", headers=client.curator).json()
    assert as_curator["results"][0]["id"] == restricted, "precondition: nearest neighbour"
    bearer = {"Authorization": f"Bearer {TOKENS['casey']}"}
    for viewer, who, headers in (
        ("casey-session", client, {}),
        ("casey-bearer", anon_client, bearer),
        ("anonymous", anon_client, {}),
    ):
        for url in (f"/api/lessons/{twin}/similar?limit=50", f"/lessons/{twin}"):
            shown = who.get(url, headers=headers)
            assert shown.status_code == 200, (viewer, url)
            assert not leaks(shown, fresh_bank, viewer), (viewer, url)
        similar = who.get(f"/api/lessons/{twin}/similar", headers=headers).json()["results"]
        assert similar, viewer  # visible neighbours still come back
        assert restricted not in {r["id"] for r in similar}


def test_project_member_sees_the_restricted_lessons(
    client: Client, settings: Settings, fresh_bank: Bank
) -> None:
    """The same requests, once casey is a member, do show the restricted lessons: the filter
    is membership, not 'hide everything restricted'."""
    engine = make_engine(settings.database_url)
    try:
        with transaction(engine) as session:
            user = accounts.find_user(session, username="casey")
            accounts.add_member(
                session, project_id=fresh_bank.projects["secret"], user=user, actor="kim"
            )
    finally:
        engine.dispose()
    restricted = fresh_bank.lessons["restricted"]
    for member in app_client(settings):
        for url in (f"/api/lessons/{restricted}", f"/lessons/{restricted}"):
            shown = member.get(url)
            assert shown.status_code == 200, url
            assert BY_KEY["restricted"].title in shown.text
        found = member.get(f"/api/lessons?q={MARK_RESTRICTED}&limit=50").json()
        assert restricted in {r["id"] for r in found["results"]}
        tagged = member.get(f"/api/lessons?tag={SECRET_TAG}").json()
        assert tagged["total"] == 2  # both validated restricted lessons; the pending one is not
        twin = fresh_bank.lessons["public_twin"]
        similar = member.get(f"/api/lessons/{twin}/similar").json()["results"]
        assert similar[0]["id"] == restricted
        bar = member.post("/api/bar", json={"brief": f"{MARK_RESTRICTED} {QUERY_WORDS}"})
        assert restricted in {r["id"] for r in bar.json()["results"]}
        actions = member.get("/actions?status=open").text
        assert fresh_bank.actions["restricted"][0] in html.unescape(actions)
        home = re.search(r"(\d+) lessons from", member.get("/").text)
        assert home and int(home.group(1)) == expected_count("casey-session", statuses=TRUSTED) + 2
        # Still not the pending one, and never the deleted one.
        assert member.get(f"/api/lessons/{fresh_bank.lessons['public_deleted']}").status_code == 404


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
