"""Issue 11's sensitivity leaks and who-may-change-what, one test per finding, over HTTP.

Each builds the situation the adversarial review reproduced (a restricted review in a project
contributor `casey` is not a member of, unless a test makes him one) and checks every place
it leaked. The rules they pin down are in lessons/accounts/access.py and README's access table.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from lessons.catalogue import service as catalogue
from lessons.storage.db import make_engine, transaction
from lessons.storage.models import Lesson
from lessons.storage.settings import Settings
from tests.conftest import TOKENS, Client, add_people, app_client

SECRET_PROJECT = "Ocelot enclosure rebuild"
SECRET_AUTHOR = "Bartholomew Quince"
SECRET_OWNER = "Henrietta Valdoro"
STORY = "ocelotstory: the keeper left the enclosure open"
STORY_ACTION = "Ocelotaction: re-train the night keepers"
SECRET_TAG = "ocelot-escape"
MISSING = 999_999


def restricted_review(client: Client, **extra: Any) -> dict[str, Any]:
    """Curator kim logs a review of restricted lessons in a project casey is not in, with an
    action on no lesson (the kind the review page hid and every other path showed)."""
    body = {
        "kind": "aar",
        "project": {"name": SECRET_PROJECT, "unit": "Big Cats"},
        "author": SECRET_AUTHOR,
        "answers": {"planned": "Rebuild the enclosure.", "actual": STORY},
        "lessons": [
            {
                "title": "Ocelotlesson: lock the double gate",
                "observation": "The double gate was left open.",
                "tags": [SECRET_TAG],
                "sensitivity": "restricted",
            }
        ],
        "actions": [{"what": STORY_ACTION, "owner": SECRET_OWNER, "due": "2030-01-31"}],
        **extra,
    }
    add_people(client, SECRET_OWNER)
    made = client.post("/api/reviews", json=body, headers=client.curator)
    assert made.status_code == 201, made.text
    review: dict[str, Any] = made.json()
    return review


def public_review(client: Client, project: str = "Giraffe house", **extra: Any) -> dict[str, Any]:
    body = {
        "kind": "aar",
        "project": {"name": project, "unit": "Hoofstock"},
        "answers": {"planned": "Open the new house."},
        "lessons": [{"title": "Giraffes need a taller door", "sensitivity": "public"}],
        **extra,
    }
    made = client.post("/api/reviews", json=body, headers=client.curator)
    assert made.status_code == 201, made.text
    review: dict[str, Any] = made.json()
    for lesson in review["lessons"]:
        validate(client, lesson["id"])
    return review


def validate(client: Client, lesson_id: int) -> None:
    step = client.post(
        f"/api/lessons/{lesson_id}/transition", json={"to": "validated"}, headers=client.curator
    )
    assert step.status_code == 200, step.text


def join(client: Client, project_id: int, username: str = "casey") -> None:
    added = client.post(
        f"/admin/projects/{project_id}/members",
        data={"username": username},
        headers=client.admin,
        follow_redirects=False,
    )
    assert added.status_code in (200, 303), added.text


def same_but_id(first: str, second: str, first_id: int, second_id: int) -> bool:
    ids = re.compile(rf"\b(?:{first_id}|{second_id})\b")
    return ids.sub("ID", first) == ids.sub("ID", second)


@pytest.fixture
def bearer_client(settings: Settings) -> Iterator[Client]:
    """casey with a bearer token and no cookies."""
    for client in app_client(settings, as_user=None):
        client.headers["Authorization"] = f"Bearer {TOKENS['casey']}"
        yield client


# --- 1. actions on no lesson ---------------------------------------------------------------------


def test_an_action_on_no_lesson_of_a_restricted_review_shows_nowhere(
    client: Client, anon_client: Client, bearer_client: Client
) -> None:
    public = public_review(client)
    before = {who: client.get("/metrics/actions.csv").text for who in ("casey",)}
    secret = restricted_review(client)
    action_id = secret["actions"][0]["id"]
    project_id = secret["project"]["id"]
    for who in (client, anon_client, bearer_client):
        for url in (
            "/",
            "/actions?status=all",
            "/api/actions",
            f"/api/actions?project_id={project_id}",
            f"/projects/{project_id}",
            f"/reviews/new?project_id={project_id}",
            f"/bar/new?project_id={project_id}",
            f"/projects/{public['project']['id']}",
            "/metrics/actions.csv",
        ):
            shown = who.get(url)
            assert shown.status_code < 500, url
            assert "Ocelotaction" not in shown.text, url
            assert SECRET_OWNER not in shown.text, url
    # The chart's figures do not count it either.
    assert client.get("/metrics/actions.csv").text == before["casey"]
    # Writing to it answers exactly as for an action that does not exist.
    for method, path, body in (
        ("PATCH", "/api/actions/{id}", {"json": {"owner": "casey"}}),
        ("POST", "/api/actions/{id}/drop", {"json": {"reason": "not needed"}}),
        ("POST", "/actions/{id}", {"data": {"status": "dropped", "closure_evidence": "x"}}),
    ):
        answers = [
            client.request(method, path.format(id=i), follow_redirects=False, **body)
            for i in (action_id, MISSING)
        ]
        assert answers[0].status_code == answers[1].status_code == 404, path
        assert same_but_id(answers[0].text, answers[1].text, action_id, MISSING), path
    curator = client.get("/api/actions", headers=client.curator).json()
    assert action_id in {a["id"] for a in curator["results"]}


# --- 13. who may change an action ----------------------------------------------------------------


def test_an_action_is_changed_only_by_its_owner_the_projects_members_and_curators(
    client: Client,
) -> None:
    """casey sees the actions of an internal review in a project he is not in, but may change
    only the one he owns, until he joins the project."""
    made = client.post(
        "/api/reviews",
        json={
            "kind": "aar",
            "project": {"name": "Penguin pool"},
            "answers": {"planned": "Refill the pool."},
            "lessons": [{"title": "Check the pool filter weekly", "sensitivity": "internal"}],
            "actions": [
                {"what": "Replace the pool filter", "owner": "Tom Reyes", "lesson_index": 0},
                {"what": "Write the filter rota", "owner": "casey"},
            ],
        },
        headers=client.curator,
    ).json()
    others, own = (a["id"] for a in made["actions"])
    assert others in {a["id"] for a in client.get("/api/actions").json()["results"]}
    refused = client.patch(f"/api/actions/{others}", json={"owner": "casey"})
    assert refused.status_code == 403, refused.text
    assert "owner" in refused.json()["error"]["message"]
    assert client.post(f"/api/actions/{others}/drop", json={"reason": "x"}).status_code == 403
    form = client.post(f"/actions/{others}", data={"status": "dropped", "closure_evidence": "x"})
    assert form.status_code == 403
    settle = client.post(
        f"/reviews/{made['id']}/actions",
        data={"carry.0.action_id": str(others), "carry.0.decision": "dropped", "carry.0.note": "x"},
    )
    assert settle.status_code == 422
    listed = client.get(f"/api/actions?project_id={made['project']['id']}").json()["results"]
    assert {a["status"] for a in listed} == {"open"}  # nothing changed
    assert client.patch(f"/api/actions/{own}", json={"due": "2031-01-01"}).status_code == 200
    join(client, made["project"]["id"])
    assert client.patch(f"/api/actions/{others}", json={"due": "2031-01-01"}).status_code == 200
    curator = client.patch(
        f"/api/actions/{others}", json={"due": "2032-01-01"}, headers=client.curator
    )
    assert curator.status_code == 200


# --- 2. merges across audiences ------------------------------------------------------------------


def test_merging_a_restricted_duplicate_moves_nothing_of_it_into_a_public_lesson(
    client: Client, anon_client: Client
) -> None:
    public = public_review(client)
    canonical = public["lessons"][0]["id"]
    secret = restricted_review(
        client,
        actions=[{"what": STORY_ACTION, "owner": SECRET_OWNER, "lesson_index": 0}],
    )
    duplicate = secret["lessons"][0]["id"]
    merged = client.post(
        f"/api/lessons/{canonical}/merge",
        json={"duplicates": [duplicate]},
        headers=client.curator,
    )
    assert merged.status_code == 200, merged.text
    for who in (anon_client, client):
        detail = who.get(f"/api/lessons/{canonical}").json()
        assert SECRET_TAG not in detail["tags"]
        assert detail["actions"] == []
        for url in (
            f"/lessons/{canonical}",
            "/lessons",
            "/",
            "/feeds/lessons.atom",
            f"/api/lessons?q={SECRET_TAG}",
            f"/api/lessons/{canonical}/tag-suggestions",
        ):
            shown = who.get(url)
            assert SECRET_TAG not in shown.text and "Ocelotaction" not in shown.text, url
        tagged = who.get(f"/api/lessons?tag={SECRET_TAG}").json()
        assert tagged["total"] == 0
    # The duplicate keeps its tag and its open action, for those who may read it.
    kept = client.get(f"/api/lessons/{duplicate}", headers=client.curator).json()
    assert SECRET_TAG in kept["tags"] and [a["what"] for a in kept["actions"]] == [STORY_ACTION]


# --- 4. people named only on restricted work -----------------------------------------------------


def test_people_named_only_on_restricted_work_are_not_named(client: Client) -> None:
    secret = restricted_review(client)
    project_id = secret["project"]["id"]
    other = client.post(  # the same project's internal review, by someone else
        "/api/reviews",
        json={
            "kind": "aar",
            "project": {"id": project_id},
            "author": "Amina Diallo",
            "answers": {"planned": "Paint the fence."},
            "lessons": [{"title": "Keep a spare padlock at the gate", "sensitivity": "internal"}],
        },
        headers=client.curator,
    )
    assert other.status_code == 201, other.text
    for url in ("/people", f"/reviews/{secret['id']}", "/actions?status=all", "/api/actions"):
        shown = client.get(url)
        assert SECRET_AUTHOR not in shown.text, url
        assert SECRET_OWNER not in shown.text, url
    assert "Amina Diallo" in client.get("/people").text
    # The project shows for its internal lesson; the restricted review is not listed.
    project = client.get(f"/projects/{project_id}")
    assert project.status_code == 200
    assert "Keep a spare padlock" in project.text and "Amina Diallo" in project.text
    assert SECRET_AUTHOR not in project.text
    join(client, project_id)
    assert SECRET_AUTHOR in client.get("/people").text
    assert SECRET_AUTHOR in client.get(f"/projects/{project_id}").text


# --- 5 and 13. BARs: who may read and decide, and counts of what is hidden -----------------------


def test_a_bar_is_read_and_decided_by_its_runner_the_projects_members_and_curators(
    client: Client,
) -> None:
    public = public_review(client)
    project = {"id": public["project"]["id"]}
    brief = "Ocelotbrief: how do we keep a rebuilt enclosure shut"
    bar = client.post(
        "/api/bar", json={"brief": brief, "project": project}, headers=client.curator
    ).json()
    lesson_id = public["lessons"][0]["id"]
    decision = {"decisions": [{"lesson_id": lesson_id, "decision": "apply"}]}
    for url in ("/bar", f"/projects/{project['id']}"):
        assert "Ocelotbrief" not in client.get(url).text, url
    answers = [client.get(f"/api/bar/{i}") for i in (bar["id"], MISSING)]
    assert [a.status_code for a in answers] == [404, 404]
    assert same_but_id(answers[0].text, answers[1].text, bar["id"], MISSING)
    pages = [client.get(f"/bar/{i}") for i in (bar["id"], MISSING)]
    assert [p.status_code for p in pages] == [404, 404]
    assert same_but_id(pages[0].text, pages[1].text, bar["id"], MISSING)
    decided = client.post(f"/api/bar/{bar['id']}/decisions", json=decision)
    assert decided.status_code == 404
    # Its runner reads her own; a member of the project reads and decides.
    own = client.post("/api/bar", json={"brief": "giraffe door height"}).json()
    assert client.get(f"/api/bar/{own['id']}").status_code == 200
    join(client, project["id"])
    assert client.get(f"/api/bar/{bar['id']}").json()["brief"] == brief
    assert client.post(f"/api/bar/{bar['id']}/decisions", json=decision).status_code == 200


def test_a_project_bar_shows_its_members_as_many_results_as_it_ranked(client: Client) -> None:
    """A curator's BAR for a project ranks only what its members may see: a member never finds
    fewer results than the limit while more visible lessons match (which counts hidden ones)."""
    public = public_review(
        client,
        lessons=[
            {"title": f"Giraffe door lesson {n}: measure the door", "sensitivity": "public"}
            for n in range(4)
        ],
    )
    for n in range(3):  # validated restricted lessons of another project, the best matches
        hidden = restricted_review(
            client,
            lessons=[
                {
                    "title": f"Ocelotlesson {n}: giraffe door measure the door",
                    "observation": "giraffe door measure the door " * 3,
                    "sensitivity": "restricted",
                }
            ],
        )
        validate(client, hidden["lessons"][0]["id"])
    join(client, public["project"]["id"])
    everything = client.post(
        "/api/bar", json={"brief": "giraffe door measure", "limit": 4}, headers=client.curator
    ).json()
    assert "Ocelotlesson" in str(everything), "precondition: restricted lessons rank first"
    body = {"brief": "giraffe door measure", "limit": 4, "project": {"id": public["project"]["id"]}}
    bar = client.post("/api/bar", json=body, headers=client.curator).json()
    seen = client.get(f"/api/bar/{bar['id']}").json()
    assert len(seen["results"]) == 4
    assert "Ocelotlesson" not in str(seen)


# --- 6. purges -----------------------------------------------------------------------------------


def test_purging_a_restricted_lesson_keeps_its_reviews_story_closed(
    client: Client, settings: Settings
) -> None:
    secret = restricted_review(client)
    engine = make_engine(settings.database_url)
    try:
        with transaction(engine) as session:
            lesson = session.get(Lesson, secret["lessons"][0]["id"])
            assert lesson is not None
            catalogue.delete_lesson(session, lesson=lesson, actor="kim")
            catalogue.purge_lesson(session, lesson=lesson, actor="kim")
    finally:
        engine.dispose()
    for url in (f"/reviews/{secret['id']}", "/actions?status=all", "/people", "/"):
        shown = client.get(url)
        assert "ocelotstory" not in shown.text, url
        assert "Ocelotaction" not in shown.text and SECRET_AUTHOR not in shown.text, url
    curator = client.get(f"/reviews/{secret['id']}", headers=client.curator)
    assert "ocelotstory" in curator.text


# --- 7. projects holding only restricted work ----------------------------------------------------


def test_a_project_holding_only_restricted_work_is_neither_counted_nor_named(
    client: Client, anon_client: Client
) -> None:
    public_review(client)

    def projects_on_home(who: Client) -> int:
        said = re.search(r"from (\d+) projects", who.get("/").text)
        assert said
        return int(said.group(1))

    before = {id(who): projects_on_home(who) for who in (client, anon_client)}
    adoption = client.get("/metrics/bar-adoption.csv").text
    secret = restricted_review(client)
    project_id = secret["project"]["id"]
    for who in (client, anon_client):
        assert projects_on_home(who) == before[id(who)]
        feeds = [who.get(f"/feeds/projects/{i}.atom") for i in (project_id, MISSING)]
        assert [f.status_code for f in feeds] == [404, 404]
        assert same_but_id(feeds[0].text, feeds[1].text, project_id, MISSING)
    for url in ("/projects", "/reviews/new", "/bar/new", "/actions"):
        assert SECRET_PROJECT not in client.get(url).text, url
    pages = [client.get(f"/projects/{i}") for i in (project_id, MISSING)]
    assert [p.status_code for p in pages] == [404, 404]
    assert client.get("/metrics/bar-adoption.csv").text == adoption
    join(client, project_id)
    assert SECRET_PROJECT in client.get("/projects").text


# --- 8. merged hidden lessons cost what missing ids cost -----------------------------------------


def test_a_hidden_merged_lesson_answers_with_the_work_of_a_missing_id(
    client: Client, anon_client: Client
) -> None:
    """Timing is measured here by what it comes from: the statements the request runs."""
    public = public_review(client)
    secret = restricted_review(client)
    hidden = secret["lessons"][0]["id"]
    merged = client.post(
        f"/api/lessons/{public['lessons'][0]['id']}/merge",
        json={"duplicates": [hidden]},
        headers=client.curator,
    )
    assert merged.status_code == 200, merged.text
    statements: list[str] = []

    def counted(*args: Any) -> None:
        statements.append(str(args[2]))

    for who in (anon_client, client):
        for url in ("/api/lessons/{id}", "/lessons/{id}"):
            runs = {}
            for lesson_id in (hidden, MISSING, hidden):
                event.listen(Engine, "before_cursor_execute", counted)
                try:
                    answer = who.get(url.format(id=lesson_id), follow_redirects=False)
                finally:
                    event.remove(Engine, "before_cursor_execute", counted)
                assert answer.status_code == 404
                runs[lesson_id] = list(statements)
                statements.clear()
            assert len(runs[hidden]) == len(runs[MISSING]), (url, runs[hidden], runs[MISSING])
