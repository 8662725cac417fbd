"""No handler blocks the event loop (issue 11, item 17).

The rule: a handler that does blocking work (the database, argon2, the model) is a plain `def`,
which Starlette runs in its threadpool; an `async def` handler only awaits (reads the body)
and hands blocking work to `run_in_threadpool`. One slow sign-in on the loop stalls every
request, so these tests detect the blocking itself, not its timing: every SQL statement,
password hash and embedding records whether it ran on the thread that runs the event loop."""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Iterator
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, event
from starlette.routing import BaseRoute, Mount, Route

from lessons.storage.settings import Settings
from retrieval.embedder import HashingEmbedder
from tests.conftest import PASSWORD, Client, review_payload, sign_in
from ui.app import create_app


class LoopWatch:
    """Where blocking work ran: a list of (what, where in our code) for each call made on a
    thread that is running an event loop."""

    def __init__(self) -> None:
        self.on_loop: list[tuple[str, str]] = []

    def check(self, what: str) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # a worker thread: blocking is fine here
            return
        ours = [
            f"{'/'.join(frame.filename.rsplit('/', 2)[-2:])}:{frame.lineno} {frame.name}"
            for frame in traceback.extract_stack()
            if "/ui/" in frame.filename
        ]
        self.on_loop.append((what, ours[-1] if ours else "?"))


@pytest.fixture
def watch(monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopWatch]:
    found = LoopWatch()

    def on_sql(*_: Any) -> None:
        found.check("SQL")

    def watched(name: str, original: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            found.check(name)
            return original(*args, **kwargs)

        return call

    event.listen(Engine, "before_cursor_execute", on_sql)
    for method in ("hash", "verify"):
        original = getattr(PasswordHasher, method)
        monkeypatch.setattr(PasswordHasher, method, watched(f"argon2 {method}", original))
    monkeypatch.setattr(HashingEmbedder, "encode", watched("embedding", HashingEmbedder.encode))
    try:
        yield found
    finally:
        event.remove(Engine, "before_cursor_execute", on_sql)


@pytest.fixture
def admin(settings: Settings) -> Iterator[Client]:
    app = create_app(settings, embedder=HashingEmbedder())
    with Client(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        sign_in(client, "ada")
        yield client


def test_the_watch_sees_blocking_work_on_the_loop(watch: LoopWatch) -> None:
    """The detector itself: a hash inside a coroutine is caught, one in a thread is not."""

    async def on_loop() -> None:
        PasswordHasher().hash("x")
        await asyncio.to_thread(PasswordHasher().hash, "y")

    asyncio.run(on_loop())
    assert [what for what, _ in watch.on_loop] == ["argon2 hash"]


def test_sign_in_hashes_and_writes_off_the_loop(admin: Client, watch: LoopWatch) -> None:
    admin.post("/logout")
    admin.get("/login")
    for password in ("wrong", PASSWORD):
        admin.post("/login", data={"username": "casey", "password": password})
    assert watch.on_loop == [], sorted(set(watch.on_loop))


def _routes(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, str]]:
    for route in routes:
        if isinstance(route, Route) and route.methods:
            for method in sorted(route.methods - {"HEAD"}):
                yield method, prefix + route.path
        elif isinstance(route, Mount) and route.routes:
            yield from _routes(list(route.routes), prefix + route.path)


def _fill(path: str, ids: dict[str, int]) -> str:
    for name, value in ids.items():
        path = path.replace(f"{{{name}:int}}", str(value)).replace(f"{{{name}}}", str(value))
    return path.replace("{tag}", "cold-chain").replace("{unit}", "Public%20Health")


# Routes that end the session or remove the records the others use go last.
LAST = ("/logout", "/purge", "/delete", "/remove", "/undo")


def test_no_route_does_blocking_work_on_the_loop(admin: Client, watch: LoopWatch) -> None:
    """Every route of the app, as an admin (so role checks let the handler go on), with an
    empty body and with the ids of real records: none reads the database, hashes or embeds
    on the event loop."""
    made = admin.post("/api/reviews", json=review_payload())
    assert made.status_code == 201, made.text
    review = made.json()
    bar = admin.post("/api/bar", json={"brief": "Order cold chain fridges early"})
    assert bar.status_code == 201, bar.text
    ids = {
        "id": review["lessons"][0]["id"],
        "user_id": 1,
        "review": review["id"],
    }
    routes = sorted(
        _routes(list(admin.app.routes)),  # type: ignore[attr-defined]
        key=lambda route: route[1].endswith(LAST),
    )
    assert len(routes) > 60
    watch.on_loop.clear()
    answered = []
    for method, path in routes:
        url = _fill(path, ids)
        if method == "GET":
            response = admin.get(url)
        elif url.startswith("/api"):
            response = admin.request(method, url, json={})
        else:
            response = admin.request(method, url, data={"name": "x"})
        answered.append(response.status_code)
    # The sweep reached the handlers' work, not only their refusals.
    assert sum(status < 400 for status in answered) > len(routes) // 2, answered
    assert all(status < 500 for status in answered), answered
    assert watch.on_loop == [], "\n".join(sorted({f"{w}: {at}" for w, at in watch.on_loop}))
