"""The action tracker and carry-forward: filters, overdue, closure evidence, owner and due
edits (audited), and settling a project's open actions in the next review (form and page) and
from a BAR, end to end over HTTP."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from bs4 import BeautifulSoup
from sqlmodel import select

from lessons.storage.db import make_engine, transaction
from lessons.storage.models import Action, AuditEvent
from lessons.storage.settings import Settings
from tests.conftest import Client

PAST = (date.today() - timedelta(days=30)).isoformat()
FUTURE = (date.today() + timedelta(days=60)).isoformat()


def first_review(
    client: Client, project: str = "Water points", *, member: bool = True, **headers: str
) -> dict[str, Any]:
    made = client.post(
        "/api/reviews",
        json={
            "kind": "aar",
            "project": {"name": project, "unit": "WASH"},
            "answers": {"planned": "Fix 40 pumps."},
            "lessons": [{"title": "Spare parts ran out", "tags": ["spares"]}],
            "actions": [
                {"what": "Stock spare seals", "owner": "Ana Lima", "due": PAST, "lesson_index": 0},
                {"what": "Train caretakers", "owner": "Tom Reyes", "due": FUTURE},
                {"what": "Map the pumps", "owner": "Ana Lima", "due": FUTURE},
            ],
        },
        headers=headers or None,
    )
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    # The tracker is worked by the project's team: casey joins it (README, Access).
    if member:
        join(client, body["project"]["id"])
    return body


def join(client: Client, project_id: int, username: str = "casey") -> None:
    """An admin makes `username` a member of the project."""
    added = client.post(
        f"/admin/projects/{project_id}/members",
        data={"username": username},
        headers=client.admin,
        follow_redirects=False,
    )
    assert added.status_code in (200, 303), added.text


def later_review(client: Client, earlier: dict[str, Any]) -> dict[str, Any]:
    """A retrospect of the same project, where the earlier review's open actions are settled."""
    made = client.post(
        "/api/reviews",
        json={
            "kind": "retrospect",
            "project": {"id": earlier["project"]["id"]},
            "answers": {"objectives": "Finish."},
        },
    )
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


def ids(body: dict[str, Any]) -> dict[str, int]:
    return {a["what"]: a["id"] for a in body["actions"]}


def action_row(settings: Settings, action_id: int) -> Action:
    engine = make_engine(settings.database_url)
    try:
        with transaction(engine) as session:
            action = session.get(Action, action_id)
            assert action is not None
            return action
    finally:
        engine.dispose()


def audit_rows(settings: Settings, action_id: int) -> list[AuditEvent]:
    engine = make_engine(settings.database_url)
    try:
        with transaction(engine) as session:
            return list(
                session.exec(
                    select(AuditEvent).where(
                        AuditEvent.entity == "action", AuditEvent.entity_id == action_id
                    )
                )
            )
    finally:
        engine.dispose()


# --- the tracker ------------------------------------------------------------------------------


def test_api_filters_by_owner_project_status_and_overdue(client: Client) -> None:
    water = first_review(client)
    first_review(client, "Roads")
    everything = client.get("/api/actions").json()
    assert everything["total"] == 6
    overdue = client.get("/api/actions?overdue=true").json()["results"]
    assert [a["what"] for a in overdue] == ["Stock spare seals", "Stock spare seals"]
    assert all(a["overdue"] for a in overdue)
    project = water["project"]["id"]
    mine = client.get(f"/api/actions?project_id={project}").json()["results"]
    assert {a["project"]["name"] for a in mine} == {"Water points"}
    owner = mine[0]["owner"]["id"]
    by_owner = client.get(f"/api/actions?owner_id={owner}&project_id={project}").json()["results"]
    assert {a["owner"]["name"] for a in by_owner} == {mine[0]["owner"]["name"]}
    assert client.get("/api/actions?status=done").json()["total"] == 0


@pytest.mark.parametrize(
    "query", ["status=closed", "overdue=maybe", "owner_id=abc", "project_id=0", "owner_id=-1"]
)
def test_api_refuses_bad_filters(client: Client, query: str) -> None:
    answer = client.get(f"/api/actions?{query}")
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "invalid"


def test_tracker_page_filters_and_marks_overdue_in_words(client: Client) -> None:
    first_review(client)
    page = client.get("/actions")
    soup = BeautifulSoup(page.text, "html.parser")
    overdue_rows = soup.select("tr.overdue")
    assert len(overdue_rows) == 1
    assert "Overdue" in overdue_rows[0].text and "Stock spare seals" in overdue_rows[0].text
    only = client.get("/actions?overdue=1")
    assert "Train caretakers" not in only.text and "Stock spare seals" in only.text
    assert "1 overdue" in only.text


def test_closing_as_done_needs_evidence_and_is_audited(client: Client, settings: Settings) -> None:
    action_id = ids(first_review(client))["Stock spare seals"]
    refused = client.patch(f"/api/actions/{action_id}", json={"status": "done"})
    assert refused.status_code == 422
    assert refused.json()["error"]["fields"] == {"closure_evidence": "required"}
    assert action_row(settings, action_id).status == "open"
    done = client.post(
        f"/api/actions/{action_id}/close", json={"closure_evidence": "Seals in the store, GRN 42"}
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "done" and done.json()["closed_at"]
    again = client.post(f"/api/actions/{action_id}/close", json={"closure_evidence": "x"})
    assert again.status_code == 422
    [event] = audit_rows(settings, action_id)
    assert event.before and event.before["status"] == "open"
    assert event.after and event.after["closure_evidence"] == "Seals in the store, GRN 42"
    assert event.actor == "casey"


def test_owner_and_due_are_editable_and_dropping_needs_a_reason(
    client: Client, settings: Settings
) -> None:
    action_id = ids(first_review(client))["Train caretakers"]
    edited = client.patch(
        f"/api/actions/{action_id}", json={"owner": "Ines Moreau", "due": "2031-01-31"}
    )
    assert edited.status_code == 200
    assert edited.json()["owner"]["name"] == "Ines Moreau"
    assert edited.json()["due"] == "2031-01-31"
    assert client.post(f"/api/actions/{action_id}/drop", json={"reason": ""}).status_code == 422
    dropped = client.post(f"/api/actions/{action_id}/drop", json={"reason": "Caretakers left"})
    assert dropped.json()["status"] == "dropped"
    assert dropped.json()["closure_evidence"] == "Caretakers left"
    events = audit_rows(settings, action_id)
    assert [e.after["owner"] for e in events if e.after] == ["Ines Moreau", "Ines Moreau"]


def test_tracker_form_keeps_what_was_typed_beside_the_error(client: Client) -> None:
    action_id = ids(first_review(client))["Map the pumps"]
    page = client.post(
        f"/actions/{action_id}",
        data={
            "status": "done",
            "closure_evidence": "",
            "owner": "New Owner",
            "due": FUTURE,
            "next": "/actions?status=all",
        },
    )
    assert page.status_code == 422
    soup = BeautifulSoup(page.text, "html.parser")
    assert soup.find(id=f"row-{action_id}-closure_evidence-error") is not None
    owner = soup.find(id=f"a{action_id}-owner")
    assert owner is not None and owner["value"] == "New Owner"
    details = soup.find(id=f"action-{action_id}")
    assert details is not None and details.find("details", open=True) is not None
    saved = client.post(
        f"/actions/{action_id}",
        data={"status": "done", "closure_evidence": "Map on the wiki", "owner": "", "due": ""},
        follow_redirects=False,
    )
    assert saved.status_code == 303 and saved.headers["location"].endswith("saved=1")
    body = client.get("/api/actions?status=done").json()["results"]
    assert body[0]["owner"] is None and body[0]["due"] is None


def test_actions_on_hidden_lessons_are_not_listed(client: Client) -> None:
    secret = first_review(
        client, "Secret", member=False, Authorization=client.curator["Authorization"]
    )
    listed = {a["id"] for a in client.get("/api/actions").json()["results"]}
    hidden = ids(secret)["Stock spare seals"]  # on an internal lesson: visible to casey
    assert hidden in listed
    restricted = client.post(
        "/api/reviews",
        json={
            "kind": "aar",
            "project": {"name": "Secret"},
            "answers": {"planned": "x"},
            "lessons": [{"title": "Hush", "sensitivity": "restricted"}],
            "actions": [{"what": "Hush action", "lesson_index": 0}],
        },
        headers=client.curator,
    ).json()
    hush = restricted["actions"][0]["id"]
    assert hush not in {a["id"] for a in client.get("/api/actions").json()["results"]}
    assert "Hush action" not in client.get("/actions?status=all").text
    assert client.patch(f"/api/actions/{hush}", json={"owner": "x"}).status_code == 404
    curator = client.get("/api/actions", headers=client.curator).json()
    assert hush in {a["id"] for a in curator["results"]}


# --- carry forward ----------------------------------------------------------------------------


def test_new_review_form_settles_earlier_open_actions_end_to_end(
    client: Client, settings: Settings
) -> None:
    earlier = first_review(client)
    project = earlier["project"]["id"]
    by_what = ids(earlier)
    form = client.get(f"/reviews/new?project_id={project}")
    soup = BeautifulSoup(form.text, "html.parser")
    section = soup.find(id="open-actions")
    assert section is not None
    assert {"Stock spare seals", "Train caretakers", "Map the pumps"} <= set(
        legend.text for legend in section.find_all("legend")
    )
    rows = {
        int(field["value"]): field["name"].split(".")[1]
        for field in section.find_all("input", attrs={"type": "hidden"})
    }
    row = {what: rows[action_id] for what, action_id in by_what.items()}
    data = {
        "kind": "aar",
        "project.id": str(project),
        "answers.planned": "Fix the rest of the pumps.",
        **{f"carry.{i}.action_id": str(a) for a, i in rows.items()},
        f"carry.{row['Stock spare seals']}.decision": "carry",
        f"carry.{row['Train caretakers']}.decision": "done",
        f"carry.{row['Map the pumps']}.decision": "dropped",
        f"carry.{row['Map the pumps']}.note": "A national map now exists",
    }
    # Closing as done without evidence: nothing is saved, the form comes back as typed.
    refused = client.post("/reviews", data=data)
    assert refused.status_code == 422
    soup = BeautifulSoup(refused.text, "html.parser")
    assert soup.find(id=f"carry-{row['Train caretakers']}-note-error") is not None
    checked = soup.find(id=f"carry-{row['Map the pumps']}-dropped")
    assert checked is not None and checked.has_attr("checked")
    note = soup.find(id=f"carry-{row['Map the pumps']}-note")
    assert note is not None and note.text == "A national map now exists"
    assert action_row(settings, by_what["Train caretakers"]).status == "open"
    data[f"carry.{row['Train caretakers']}.note"] = "Caretakers trained, register signed"
    saved = client.post("/reviews", data=data, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    new_review = int(saved.headers["location"].rsplit("/", 1)[1])
    carried = action_row(settings, by_what["Stock spare seals"])
    assert carried.status == "open" and carried.carried_to_review_id == new_review
    assert action_row(settings, by_what["Train caretakers"]).status == "done"
    dropped = action_row(settings, by_what["Map the pumps"])
    assert dropped.status == "dropped" and dropped.closure_evidence == "A national map now exists"
    page = client.get(f"/reviews/{new_review}")
    assert "Carried forward into this review" in page.text
    assert "Stock spare seals" in page.text


def test_review_page_and_api_carry_forward(client: Client, settings: Settings) -> None:
    earlier = first_review(client)
    by_what = ids(earlier)
    later = later_review(client, earlier)
    page = client.get(f"/reviews/{later['id']}")
    soup = BeautifulSoup(page.text, "html.parser")
    section = soup.find(id="open-actions")
    assert section is not None and "Stock spare seals" in section.text
    assert section.find("form", action=f"/reviews/{later['id']}/actions") is not None
    # The API: carry into the later review; its own review or another project's is refused.
    seals = by_what["Stock spare seals"]
    assert (
        client.post(
            f"/api/actions/{seals}/carry-forward", json={"review_id": earlier["id"]}
        ).status_code
        == 422
    )
    other = first_review(client, "Roads")
    assert (
        client.post(
            f"/api/actions/{seals}/carry-forward", json={"review_id": other["id"]}
        ).status_code
        == 422
    )
    assert (
        client.post(f"/api/actions/{seals}/carry-forward", json={"review_id": 10**9}).status_code
        == 404
    )
    carried = client.post(f"/api/actions/{seals}/carry-forward", json={"review_id": later["id"]})
    assert carried.status_code == 200, carried.text
    assert carried.json()["carried_to_review_id"] == later["id"]
    assert carried.json()["status"] == "open"
    # The page form: drop one, with a reason.
    caretakers = by_what["Train caretakers"]
    form = BeautifulSoup(client.get(f"/reviews/{later['id']}").text, "html.parser")
    row = next(
        f["name"].split(".")[1]
        for f in form.find_all("input", attrs={"type": "hidden"})
        if f.get("value") == str(caretakers)
    )
    saved = client.post(
        f"/reviews/{later['id']}/actions",
        data={
            f"carry.{row}.action_id": str(caretakers),
            f"carry.{row}.decision": "dropped",
            f"carry.{row}.note": "Done by the district instead",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert action_row(settings, caretakers).status == "dropped"
    assert [e.action for e in audit_rows(settings, seals)] == ["carry_forward"]
    nothing = client.post(f"/reviews/{later['id']}/actions", data={})
    assert nothing.status_code == 422


def test_bar_page_shows_the_projects_open_actions_and_settles_them(
    client: Client, settings: Settings
) -> None:
    earlier = first_review(client)
    by_what = ids(earlier)
    bar = client.post(
        "/api/bar", json={"brief": "Fix pumps", "project": {"id": earlier["project"]["id"]}}
    ).json()
    page = client.get(f"/bar/{bar['id']}")
    soup = BeautifulSoup(page.text, "html.parser")
    section = soup.find(id="open-actions")
    assert section is not None and "Map the pumps" in section.text
    rows = {
        f["value"]: f["name"].split(".")[1]
        for f in section.find_all("input", attrs={"type": "hidden"})
        if f["name"].endswith("action_id")
    }
    seals, pumps = by_what["Stock spare seals"], by_what["Map the pumps"]
    refused = client.post(
        f"/bar/{bar['id']}/actions",
        data={
            f"carry.{rows[str(pumps)]}.action_id": str(pumps),
            f"carry.{rows[str(pumps)]}.decision": "done",
        },
    )
    assert refused.status_code == 422
    assert "say what shows it is done" in refused.text
    saved = client.post(
        f"/bar/{bar['id']}/actions",
        data={
            f"carry.{rows[str(seals)]}.action_id": str(seals),
            f"carry.{rows[str(seals)]}.decision": "carry",
            f"carry.{rows[str(pumps)]}.action_id": str(pumps),
            f"carry.{rows[str(pumps)]}.decision": "done",
            f"carry.{rows[str(pumps)]}.note": "Pump map published",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert action_row(settings, seals).status == "open"
    assert action_row(settings, pumps).status == "done"
    after = BeautifulSoup(client.get(f"/bar/{bar['id']}").text, "html.parser")
    section = after.find(id="open-actions")
    assert section is not None
    assert "Carried forward into this work" in section.text and "Stock spare seals" in section.text
    assert "Map the pumps" not in section.text
    # A BAR with no project has nothing to settle.
    loose = client.post("/api/bar", json={"brief": "Fix pumps"}).json()
    assert "open-actions" not in client.get(f"/bar/{loose['id']}").text


def test_bar_page_saves_lesson_decisions_and_open_actions_with_one_button(
    client: Client, settings: Settings
) -> None:
    """Issue 15 item 3: the BAR page is one form. A refused save keeps both the lesson
    decisions and the open-action choices, naming every problem at once; a good save keeps
    both parts (on main, the open-actions form threw away an unsaved Apply and its note)."""
    earlier = first_review(client)
    pumps = ids(earlier)["Map the pumps"]
    bar = client.post(
        "/api/bar",
        json={
            "brief": "Spare parts ran out",
            "project": {"id": earlier["project"]["id"]},
            "filters": {"status": ["identified"]},
        },
    ).json()
    assert bar["results"], "the BAR surfaced no lesson to decide on"
    lesson = bar["results"][0]["id"]
    soup = BeautifulSoup(client.get(f"/bar/{bar['id']}").text, "html.parser")
    forms = [f for f in soup.find_all("form") if f.find(attrs={"name": "carry.0.action_id"})]
    assert len(forms) == 1 and forms[0]["action"] == f"/bar/{bar['id']}/decisions"
    assert forms[0].find(attrs={"name": "decisions.0.decision"}) is not None
    row = next(
        f["name"].split(".")[1]
        for f in forms[0].find_all("input", attrs={"type": "hidden"})
        if f.get("value") == str(pumps)
    )
    data = {
        "decisions.0.lesson_id": str(lesson),
        "decisions.0.decision": "apply",
        "decisions.0.note": "Ask Ana about the pump map",
        f"carry.{row}.action_id": str(pumps),
        f"carry.{row}.decision": "done",
    }
    refused = client.post(f"/bar/{bar['id']}/decisions", data=data)
    assert refused.status_code == 422
    page = BeautifulSoup(refused.text, "html.parser")
    assert "say what shows it is done" in page.text
    note = page.find("textarea", attrs={"name": "decisions.0.note"})
    assert note is not None and note.text == "Ask Ana about the pump map"
    applied = page.find("input", attrs={"name": "decisions.0.decision", "value": "apply"})
    assert applied is not None and applied.has_attr("checked")
    done = page.find("input", attrs={"name": f"carry.{row}.decision", "value": "done"})
    assert done is not None and done.has_attr("checked")
    assert client.get(f"/api/bar/{bar['id']}").json()["results"][0]["decision"] is None
    assert action_row(settings, pumps).status == "open"

    data[f"carry.{row}.note"] = "Pump map published"
    saved = client.post(f"/bar/{bar['id']}/decisions", data=data, follow_redirects=False)
    assert saved.status_code == 303
    result = client.get(f"/api/bar/{bar['id']}").json()["results"][0]
    assert (result["decision"], result["note"]) == ("apply", "Ask Ana about the pump map")
    assert action_row(settings, pumps).status == "done"


def test_tracker_form_enforces_the_api_length_limits(client: Client, settings: Settings) -> None:
    """The HTML row form and PATCH /api/actions/{id} refuse the same over-long owner, and the
    form keeps what was typed beside the error (issue 11, item 16)."""
    action_id = ids(first_review(client))["Map the pumps"]
    too_long = "O" * (settings.max_title_chars + 1)
    api = client.patch(f"/api/actions/{action_id}", json={"owner": too_long})
    assert api.status_code == 422 and "owner" in api.json()["error"]["fields"]
    page = client.post(
        f"/actions/{action_id}",
        data={"status": "open", "closure_evidence": "", "owner": too_long, "due": FUTURE},
    )
    assert page.status_code == 422
    soup = BeautifulSoup(page.text, "html.parser")
    error = soup.find(id=f"row-{action_id}-owner-error")
    assert error is not None and str(settings.max_title_chars) in error.text
    owner = soup.find(id=f"a{action_id}-owner")
    assert owner is not None and owner["value"] == too_long
    listed = client.get("/api/actions").json()["results"]
    assert [a["owner"]["name"] for a in listed if a["id"] == action_id] == ["Ana Lima"]


def test_carry_forward_form_holds_notes_to_the_api_limit(
    client: Client, settings: Settings
) -> None:
    """Closing an open action from a review page's carry-forward form: a note longer than the
    API allows for closure evidence is refused beside its row, and the action stays open."""
    earlier = first_review(client)
    later = later_review(client, earlier)
    seals = ids(earlier)["Stock spare seals"]
    too_long = "n" * (settings.max_text_chars + 1)
    api = client.post(f"/api/actions/{seals}/close", json={"closure_evidence": too_long})
    assert api.status_code == 422 and "closure_evidence" in api.json()["error"]["fields"]
    page = client.post(
        f"/reviews/{later['id']}/actions",
        data={
            "carry.0.action_id": str(seals),
            "carry.0.decision": "done",
            "carry.0.note": too_long,
        },
    )
    assert page.status_code == 422
    assert str(settings.max_text_chars) in BeautifulSoup(page.text, "html.parser").text
    assert action_row(settings, seals).status == "open"
