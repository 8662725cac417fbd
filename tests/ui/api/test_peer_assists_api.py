"""Peer-assist requests on a BAR: the team records whom (a directory person), what to ask and
by when, the BAR shows them, and the team or the person asked records what came of it."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session, select

from lessons.accounts import users
from lessons.bar import assists
from lessons.storage.db import transaction
from lessons.storage.models import AuditEvent, Role
from tests.conftest import Client
from tests.ui.api.conftest import Bank


def _person(client: Client, name: str) -> int:
    listed = client.get("/api/people?limit=50").json()["results"]
    return next(p["id"] for p in listed if p["name"] == name)


def test_a_request_is_recorded_on_the_bar_and_its_outcome_later(
    client: Client, bank: Bank, session: Session
) -> None:
    bar = bank.bar
    amina = bar["people"][0]
    made = client.post(
        f"/api/bar/{bar['id']}/peer-assists",
        json={
            "person_id": amina["id"],
            "ask": "How early did you order the fridges?",
            "ask_by": "2031-02-01",
        },
    )
    assert made.status_code == 201, made.text
    [request] = made.json()["peer_assists"]
    assert request["person"]["name"] == amina["name"]
    assert request["person"]["profile"] == f"/people/{amina['id']}"
    assert (request["ask"], request["ask_by"], request["requested_by"]) == (
        "How early did you order the fridges?",
        "2031-02-01",
        "casey",
    )
    assert request["outcome"] == "" and request["outcome_at"] is None
    assert client.get(f"/api/bar/{bar['id']}").json()["peer_assists"] == [request]
    # Open requests reach the person asked (the digest reads them).
    assert [a.id for a in assists.addressed_to(session, person_id=amina["id"])] == [request["id"]]
    done = client.post(
        f"/api/peer-assists/{request['id']}/outcome",
        json={"outcome": "Order at the draft plan; she sent the supplier list."},
    )
    assert done.status_code == 200, done.text
    assert done.json()["outcome"].startswith("Order at the draft plan")
    assert done.json()["outcome_at"] is not None
    session.rollback()  # a new read: the app committed since
    assert assists.addressed_to(session, person_id=amina["id"]) == []
    actions = [e.action for e in session.exec(select(AuditEvent)).all()]
    assert {"peer_assist", "peer_assist_outcome"} <= set(actions)
    # The person asked sees it on their profile, as a reader of the BAR may.
    profile = client.get(f"/api/people/{amina['id']}").json()
    assert [r["id"] for r in profile["contributions"]["peer_assists"]] == [request["id"]]


def test_the_person_asked_records_the_outcome_without_using_the_bar(
    client: Client, bank: Bank, anon_client: Client, engine: Engine
) -> None:
    with transaction(engine) as session:
        dana = users.create_user(
            session, username="dana", password="x" * 12, role=Role.CONTRIBUTOR, actor="test"
        )
        token = users.create_token(session, user=dana, name="t", actor="test")
    dana_id = _person(client, "dana")
    made = client.post(
        f"/api/bar/{bank.bar['id']}/peer-assists", json={"person_id": dana_id, "ask": "Tips?"}
    )
    request_id = made.json()["peer_assists"][0]["id"]
    as_dana = {"Authorization": f"Bearer {token}"}
    assert anon_client.get(f"/api/bar/{bank.bar['id']}", headers=as_dana).status_code == 404
    by_dana = anon_client.post(
        f"/api/peer-assists/{request_id}/outcome",
        json={"outcome": "Called them on Monday."},
        headers=as_dana,
    )
    assert by_dana.status_code == 200 and by_dana.json()["outcome"] == "Called them on Monday."
    by_team = client.post(f"/api/peer-assists/{request_id}/outcome", json={"outcome": "Done."})
    assert by_team.status_code == 200 and by_team.json()["outcome"] == "Done."


def test_bad_requests_are_refused_in_words(client: Client, bank: Bank) -> None:
    bar_id = bank.bar["id"]
    amina = bank.bar["people"][0]["id"]
    cases = [
        ({"person_id": amina, "ask": ""}, "ask"),
        ({"person_id": amina, "ask": "Hi", "ask_by": "next week"}, "ask_by"),
        ({"ask": "Hi"}, "person_id"),
        ({"person_id": 10**9, "ask": "Hi"}, "person_id"),
    ]
    for body, field in cases:
        refused = client.post(f"/api/bar/{bar_id}/peer-assists", json=body)
        assert refused.status_code == 422, body
        assert field in refused.json()["error"]["fields"], (body, refused.json())
    empty = client.post("/api/peer-assists/1/outcome", json={"outcome": " "})
    assert empty.status_code == 422
    assert client.post("/api/peer-assists/999/outcome", json={"outcome": "x"}).status_code == 404
