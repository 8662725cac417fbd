"""The route table's guard: a route nobody has listed fails, so it cannot return lessons
unchecked."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

import tests.ui.leaks as leaks_package
from tests.ui.leaks.bank import SEEDS
from tests.ui.leaks.routes import (
    FILLS,
    GET_ROUTES,
    NO_LESSONS,
    OTHER_ROUTES,
    ROUTE_CASES,
    VIEWERS,
    build_app,
    fillings,
    untabled,
)


def leak_tests() -> dict[str, Any]:
    """Every name in the suite's test modules: OTHER_ROUTES names the test that checks each
    route, and the tests sit one module per kind of leak beside this one."""
    names: dict[str, Any] = {}
    for module in pkgutil.iter_modules(leaks_package.__path__):
        if module.name.startswith("test_"):
            names |= vars(importlib.import_module(f"{leaks_package.__name__}.{module.name}"))
    return names


LEAK_TESTS = leak_tests()


def test_every_route_is_in_the_route_table() -> None:
    """A route nobody has listed fails here, so it cannot return lessons unchecked."""
    missing = untabled(build_app())
    assert not missing, (
        "routes the leak test does not know: add a line for each to the table in "
        "tests/ui/leaks/routes.py (see the top of that file)\n" + "\n".join(missing)
    )


def test_other_routes_name_a_test_that_checks_them() -> None:
    for route, how in OTHER_ROUTES.items():
        assert how == NO_LESSONS or callable(LEAK_TESTS.get(how)), (route, how)


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
        'GET_ROUTES:   "/feeds/{id:int}": {"id": "<lesson|project|review|bar|tag|unit|person>"},',
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
        "/people/{id:int}",
        "/api/people",
        "/api/people/{id:int}",
    ):
        kinds = GET_ROUTES[path].values()
        want = len(VIEWERS) * (len(FILLS[next(iter(kinds))]) if kinds else 1)
        assert paths.count(path) == want, path
