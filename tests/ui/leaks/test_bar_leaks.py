"""A BAR shows its reader no lesson they may not see: not in its results, its people, its
decisions, outcomes, ranks or scores."""

from __future__ import annotations

import json
import re

import pytest
from sqlmodel import Session

from lessons.catalogue import service as catalogue
from lessons.storage.db import make_engine, transaction
from lessons.storage.models import BeforeActionReview, Lesson
from lessons.storage.settings import Settings
from tests.conftest import Client
from tests.ui.leaks.bank import (
    EVERY_STATUS,
    MARK_RESTRICTED,
    QUERY_WORDS,
    SECRET_AUTHOR,
    SECRET_OWNER,
    SECRET_STORY_OWNER,
    SECRET_TAG,
    Bank,
    _large_bank_ranker,
)
from tests.ui.leaks.detect import _echoes, _same_answer, leaks


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
