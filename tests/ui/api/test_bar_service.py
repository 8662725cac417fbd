"""A BAR request through the one domain service (`lessons.bar.reading`): one read transaction
and at most one write per request, the answer rendered after the write has committed, and each
result explained once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Connection

import retrieval.bar_ranking
import retrieval.hits
import ui.api.routes
import ui.pages.bar
import ui.shared.bar_view
from lessons.storage.db import WRITE
from tests.conftest import Client, review_payload
from ui.shared.bar_view import bar_context

BRIEF = "cold chain fridges for a vaccine campaign"


@pytest.fixture
def bar_id(client: Client) -> int:
    """A bank of two validated cold-chain lessons (one with an open action), and a BAR."""
    second = dict(review_payload()["lessons"][0])
    second.update(title="Book cold rooms for vaccine storage early", tags=["cold chain"])
    response = client.post(
        "/api/reviews", json=review_payload(lessons=[review_payload()["lessons"][0], second])
    )
    assert response.status_code == 201, response.text
    for lesson in response.json()["lessons"]:
        moved = client.post(
            f"/api/lessons/{lesson['id']}/transition",
            headers=client.curator,
            json={"to": "validated", "reason": ""},
        )
        assert moved.status_code == 200, moved.text
    response = client.post("/api/bar", json={"brief": BRIEF})
    assert response.status_code == 201, response.text
    assert len(response.json()["results"]) == 2
    return int(response.json()["id"])


@pytest.fixture
def log(client: Client) -> Iterator[list[str]]:
    """What the app's database sees, in order: each transaction's start (read or write) and
    end; tests add their own entries."""
    entries: list[str] = []
    engine = client.app.state.lessonbank.engine  # type: ignore[attr-defined]

    def begin(connection: Connection) -> None:
        write = connection.get_execution_options().get(WRITE, False)
        entries.append("begin write" if write else "begin read")

    def end(connection: Connection) -> None:
        entries.append("end")

    event.listen(engine, "begin", begin)
    event.listen(engine, "commit", end)
    event.listen(engine, "rollback", end)
    yield entries
    event.remove(engine, "begin", begin)
    event.remove(engine, "commit", end)
    event.remove(engine, "rollback", end)


def noting(entries: list[str], entry: str, real: Callable[..., Any]) -> Callable[..., Any]:
    """`real`, noting `entry` in `entries` each time it runs."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        entries.append(entry)
        return real(*args, **kwargs)

    return wrapper


def transactions(entries: list[str]) -> list[str]:
    """The transactions `entries` started, read or write."""
    return [e for e in entries if e.startswith("begin")]


def test_running_a_bar_reads_once_writes_once_and_renders_after_the_write(
    client: Client, bar_id: int, log: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ui.api.routes, "bar_json", noting(log, "render", ui.api.routes.bar_json))
    monkeypatch.setattr(ui.api.routes, "run_bar", noting(log, "handler", ui.api.routes.run_bar))
    log.clear()
    response = client.post("/api/bar", json={"brief": BRIEF})
    assert response.status_code == 201, response.text
    # Who is asking is worked out before the handler runs (`viewer_for`), in its own read.
    ours = log[log.index("handler") :]
    assert transactions(ours) == ["begin read", "begin write"]
    # The answer is rendered once, after the write transaction has ended.
    assert ours[-1] == "render" and ours.count("render") == 1
    assert ours.index("render") > ours.index("begin write") + 1
    assert ours[ours.index("begin write") + 1] == "end"


def test_reading_a_bar_as_a_page_opens_one_transaction(
    client: Client, bar_id: int, log: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        ui.shared.bar_view, "bar_json", noting(log, "render", ui.shared.bar_view.bar_json)
    )
    monkeypatch.setattr(ui.pages.bar, "bar_context", noting(log, "handler", bar_context))
    log.clear()
    response = client.get(f"/bar/{bar_id}")
    assert response.status_code == 200, response.text
    assert log[log.index("handler") :] == ["handler", "begin read", "end", "render"]


def test_each_result_is_explained_once(
    client: Client, bar_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    for module in (retrieval.hits, retrieval.bar_ranking):
        monkeypatch.setattr(module, "explain", noting(calls, "explain", module.explain))
    ran = client.post("/api/bar", json={"brief": BRIEF})
    assert ran.status_code == 201, ran.text
    assert len(calls) == len(ran.json()["results"]) == 2
    for path in (f"/api/bar/{bar_id}", f"/bar/{bar_id}"):
        calls.clear()
        assert client.get(path).status_code == 200
        assert len(calls) == 2, path


def test_deciding_writes_then_assembles_the_answer_outside_the_write_lock(
    client: Client, bar_id: int, log: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ui.api.routes, "bar_json", noting(log, "render", ui.api.routes.bar_json))
    monkeypatch.setattr(ui.api.routes, "read_bar", noting(log, "assemble", ui.api.routes.read_bar))
    lesson_id = client.get(f"/api/bar/{bar_id}").json()["results"][0]["id"]
    log.clear()
    response = client.post(
        f"/api/bar/{bar_id}/decisions",
        json={"decisions": [{"lesson_id": lesson_id, "decision": "apply"}]},
    )
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["decision"] == "apply"
    # (A session starts its transaction at its first query, once the assembling has begun.)
    ours = log[log.index("begin write") :]
    assert ours == ["begin write", "end", "assemble", "begin read", "end", "render"]
