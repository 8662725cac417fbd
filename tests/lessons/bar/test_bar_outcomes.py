"""Outcomes of applied BAR lessons: recorded later by the team, through the API and the BAR
page, audited, and only on lessons the recorder may see and the team applied."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import Engine
from sqlmodel import Session, select

from lessons.imports.exchange import export_bank, import_bank
from lessons.imports.seed import load_bank
from lessons.storage.db import make_engine, migrate, transaction
from lessons.storage.models import AuditEvent, BarItem
from tests.conftest import Client, review_payload


@pytest.fixture
def decided(client: Client) -> dict[str, Any]:
    """A BAR that surfaced two lessons: the first applied, the second marked not relevant."""
    body = review_payload()
    body["lessons"].append(
        {
            "title": "Put a budget line for cold boxes in the fridge procurement plan",
            "observation": "Cold boxes for outreach teams had no budget line, so procurement "
            "of cold boxes waited for a reallocation.",
            "tags": ["budget"],
        }
    )
    made = client.post("/api/reviews", json=body)
    assert made.status_code == 201, made.text
    ids = [le["id"] for le in made.json()["lessons"]]
    for lesson_id in ids:
        step = client.post(
            f"/api/lessons/{lesson_id}/transition",
            json={"to": "validated", "reason": "ok"},
            headers=client.curator,
        )
        assert step.status_code == 200, step.text
    bar = client.post("/api/bar", json={"brief": "cold-chain fridges procurement", "limit": 5})
    assert bar.status_code == 201, bar.text
    bar_id = bar.json()["id"]
    decisions = [
        {"lesson_id": ids[0], "decision": "apply"},
        {"lesson_id": ids[1], "decision": "not_relevant"},
    ]
    answer = client.post(f"/api/bar/{bar_id}/decisions", json={"decisions": decisions})
    assert answer.status_code == 200, answer.text
    return {"bar": bar_id, "applied": ids[0], "other": ids[1]}


def _item(engine: Engine, bar_id: int, lesson_id: int) -> BarItem:
    with Session(engine) as session:
        return session.exec(
            select(BarItem).where(BarItem.bar_id == bar_id, BarItem.lesson_id == lesson_id)
        ).one()


def test_api_records_the_outcome_of_an_applied_lesson(
    client: Client, decided: dict[str, Any], engine: Engine
) -> None:
    answer = client.post(
        f"/api/bar/{decided['bar']}/outcomes",
        json={"outcomes": [{"lesson_id": decided["applied"], "outcome": "Arrived on time."}]},
    )
    assert answer.status_code == 200, answer.text
    result = next(r for r in answer.json()["results"] if r["id"] == decided["applied"])
    assert result["outcome"] == "Arrived on time."
    assert result["outcome_at"] is not None
    item = _item(engine, decided["bar"], decided["applied"])
    assert item.outcome == "Arrived on time." and item.outcome_at is not None
    with Session(engine) as session:
        (event,) = session.exec(select(AuditEvent).where(AuditEvent.action == "outcome")).all()
    assert event.actor == "casey" and event.entity == "bar" and event.entity_id == decided["bar"]
    assert event.before == {str(decided["applied"]): ""}
    assert event.after == {str(decided["applied"]): "Arrived on time."}


def test_api_corrects_an_outcome_and_audits_what_it_was(
    client: Client, decided: dict[str, Any], engine: Engine
) -> None:
    url = f"/api/bar/{decided['bar']}/outcomes"
    for text in ("First account.", "Corrected account."):
        outcome = {"lesson_id": decided["applied"], "outcome": text}
        assert client.post(url, json={"outcomes": [outcome]}).status_code == 200
    with Session(engine) as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "outcome")).all()
    assert [e.before for e in events][-1] == {str(decided["applied"]): "First account."}
    assert _item(engine, decided["bar"], decided["applied"]).outcome == "Corrected account."


@pytest.mark.parametrize(
    ("outcome", "field"),
    [
        ({"lesson_id": "other", "outcome": "It helped."}, "outcomes.0.lesson_id"),
        ({"lesson_id": 10**9, "outcome": "It helped."}, "outcomes.0.lesson_id"),
        ({"lesson_id": "applied", "outcome": "   "}, "outcomes.0.outcome"),
        ({"lesson_id": "applied"}, "outcomes.0.outcome"),
        ({"lesson_id": "applied", "outcome": "x", "score": 3}, "outcomes.0.score"),
    ],
)
def test_api_refuses_bad_outcomes_with_the_field_named(
    client: Client, decided: dict[str, Any], engine: Engine, outcome: dict[str, Any], field: str
) -> None:
    if isinstance(outcome["lesson_id"], str):
        outcome = {**outcome, "lesson_id": decided[outcome["lesson_id"]]}
    answer = client.post(f"/api/bar/{decided['bar']}/outcomes", json={"outcomes": [outcome]})
    assert answer.status_code == 422, answer.text
    assert field in answer.json()["error"]["fields"]
    assert _item(engine, decided["bar"], decided["applied"]).outcome == ""


def test_api_outcome_of_a_lesson_not_applied_says_to_apply_it_first(
    client: Client, decided: dict[str, Any]
) -> None:
    answer = client.post(
        f"/api/bar/{decided['bar']}/outcomes",
        json={"outcomes": [{"lesson_id": decided["other"], "outcome": "Helped anyway."}]},
    )
    assert answer.status_code == 422
    assert "apply" in answer.json()["error"]["fields"]["outcomes.0.lesson_id"]


@pytest.mark.parametrize("body", [{}, {"outcomes": []}, [], {"outcomes": "x"}])
def test_api_refuses_a_malformed_body(client: Client, decided: dict[str, Any], body: Any) -> None:
    answer = client.post(f"/api/bar/{decided['bar']}/outcomes", json=body)
    assert answer.status_code in (400, 422)
    assert answer.json()["error"]["code"] in ("invalid", "invalid_json")


def test_api_outcome_needs_a_signed_in_user(
    anon_client: Client, client: Client, decided: dict[str, Any]
) -> None:
    del client
    answer = anon_client.post(
        f"/api/bar/{decided['bar']}/outcomes",
        json={"outcomes": [{"lesson_id": decided["applied"], "outcome": "x"}]},
    )
    assert answer.status_code in (401, 403)


def test_api_outcome_on_a_missing_bar_is_404(client: Client) -> None:
    answer = client.post(
        "/api/bar/999/outcomes", json={"outcomes": [{"lesson_id": 1, "outcome": "x"}]}
    )
    assert answer.status_code == 404


def test_bar_page_offers_an_outcome_form_for_applied_lessons_only(
    client: Client, decided: dict[str, Any]
) -> None:
    page = client.get(f"/bar/{decided['bar']}")
    soup = BeautifulSoup(page.text, "html.parser")
    forms = soup.select(f"form[action='/bar/{decided['bar']}/outcomes']")
    assert [f.find("input", attrs={"name": "lesson_id"})["value"] for f in forms] == [
        str(decided["applied"])
    ]
    (form,) = forms
    assert form.find("input", attrs={"name": "csrftoken"}) is not None
    textarea = form.find("textarea", attrs={"name": "outcome"})
    assert soup.find("label", attrs={"for": textarea["id"]}) is not None


def test_bar_page_form_saves_the_outcome_and_shows_it(
    client: Client, decided: dict[str, Any]
) -> None:
    saved = client.post(
        f"/bar/{decided['bar']}/outcomes",
        data={"lesson_id": str(decided["applied"]), "outcome": "Fridges came <on time> & early."},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == (
        f"/bar/{decided['bar']}?outcome=1#outcome-{decided['applied']}"
    )
    page = client.get(saved.headers["location"])
    assert "Outcome saved." in page.text
    assert "Fridges came &lt;on time&gt; &amp; early." in page.text


def test_bar_page_form_keeps_the_typing_and_puts_the_error_beside_the_field(
    client: Client, decided: dict[str, Any]
) -> None:
    page = client.post(
        f"/bar/{decided['bar']}/outcomes",
        data={"lesson_id": str(decided["other"]), "outcome": "My careful account."},
    )
    assert page.status_code == 422
    # The lesson was not applied, so it has no form: the message says why at the top.
    assert "Only a lesson the team applied has an outcome." in page.text
    blank = client.post(
        f"/bar/{decided['bar']}/outcomes",
        data={"lesson_id": str(decided["applied"]), "outcome": "  "},
    )
    assert blank.status_code == 422
    soup = BeautifulSoup(blank.text, "html.parser")
    error = soup.find(id=f"outcome-{decided['applied']}-error")
    assert error is not None and "say what happened" in error.text
    textarea = soup.find(id=f"outcome-{decided['applied']}-text")
    assert textarea["aria-describedby"] == f"outcome-{decided['applied']}-error"
    too_long = "It went well. " * 1500  # over the 20,000-character limit
    refused = client.post(
        f"/bar/{decided['bar']}/outcomes",
        data={"lesson_id": str(decided["applied"]), "outcome": too_long},
    )
    assert refused.status_code == 422
    soup = BeautifulSoup(refused.text, "html.parser")
    kept = soup.find(id=f"outcome-{decided['applied']}-text")
    assert kept.text == too_long  # what was typed comes back, to shorten rather than retype
    assert "at most 20000 characters" in soup.find(id=f"outcome-{decided['applied']}-error").text


def test_export_and_import_keep_outcomes(
    engine: Engine, tmp_path: Path, demo_bank: dict[str, Any]
) -> None:
    with transaction(engine, write=True) as session:
        load_bank(session, demo_bank)
    with Session(engine) as session:
        exported = export_bank(session)
    outcomes = [
        (item["outcome"], item["outcome_at"])
        for bar in exported["bars"]
        for item in bar["items"]
        if item["outcome"]
    ]
    assert len(outcomes) >= 5 and all(at for _, at in outcomes)
    other = make_engine(f"sqlite:///{tmp_path / 'copy.db'}")
    migrate(other)
    with transaction(other, write=True) as session:
        assert import_bank(session, exported).errors == []
    with Session(other) as session:
        again = export_bank(session)
    other.dispose()
    assert [
        (item["outcome"], item["outcome_at"])
        for bar in again["bars"]
        for item in bar["items"]
        if item["outcome"]
    ] == outcomes
