"""Before action review pages (ui/pages/bar.py): the form, the list, a BAR and its decisions."""

from __future__ import annotations

from typing import Any

import pytest
from bs4 import Tag
from sqlalchemy import Engine
from starlette.testclient import TestClient

from lessons.storage.settings import Settings
from tests.ui.pages.helpers import (
    assert_error_beside,
    assert_kept,
    context,
    element,
    field_value,
    labelled,
    post_review,
    rendered,
    row_counts,
    validate,
)

# --- before action reviews -----------------------------------------------------------------


def test_bar_form_page_offers_projects(client: TestClient) -> None:
    project_id = post_review(client)["project"]["id"]
    response = client.get(f"/bar/new?project_id={project_id}")
    page = rendered(response, "bar_form.html")
    assert [p.id for p in context(response)["project_choices"]] == [project_id]
    assert "The brief" in labelled(page, "brief")
    assert field_value(page, "project.id") == str(project_id)
    assert labelled(page, "include_unvalidated")


def test_bar_list_page_empty_then_lists_bars(client: TestClient) -> None:
    page = rendered(client.get("/bar"), "bars.html")
    assert "None yet." in page.get_text()
    bar_id = client.post("/api/bar", json={"brief": "Cold chain for a polio round"}).json()["id"]
    response = client.get("/bar")
    page = rendered(response, "bars.html")
    assert [b.id for b in context(response)["bars"]] == [bar_id]
    link = page.find("a", href=f"/bar/{bar_id}")
    assert isinstance(link, Tag)
    assert "Cold chain for a polio round" in page.get_text()


def test_bar_page_shows_results_with_decision_controls(client: TestClient) -> None:
    review = post_review(client)
    lesson_id = review["lessons"][0]["id"]
    validate(client, lesson_id)
    bar = client.post("/api/bar", json={"brief": "cold chain fridges", "run_by": "Jo"}).json()
    response = client.get(f"/bar/{bar['id']}")
    page = rendered(response, "bar.html")
    ctx = context(response)
    assert ctx["bar"] == bar
    assert ctx["saved"] is False
    assert page.find("a", href=f"/lessons/{lesson_id}") is not None
    assert field_value(page, "decisions.0.lesson_id") == str(lesson_id)
    radios = page.find_all("input", attrs={"name": "decisions.0.decision"})
    assert [r["value"] for r in radios] == ["apply", "not_relevant", "note"]
    for radio in radios:
        assert page.find("label", attrs={"for": radio["id"]}) is not None
    people = page.get_text()
    assert "Amina Diallo" in people
    assert "Tom Reyes" in people
    assert "Add a lead-time check to the plan template" in people


def test_bar_page_without_results_says_so(client: TestClient) -> None:
    bar = client.post("/api/bar", json={"brief": "anything"}).json()
    page = rendered(client.get(f"/bar/{bar['id']}"), "bar.html")
    assert "No lessons matched." in page.get_text()
    # Nothing to decide on (a peer assist may still be asked for).
    assert page.select_one("main form[action$='/decisions'] button[type=submit]") is None


@pytest.mark.parametrize("bar_id", [999, 2**63, 2**64])
def test_bar_page_unknown_id_is_404(client: TestClient, bar_id: int) -> None:
    rendered(client.get(f"/bar/{bar_id}"), "error.html", 404)


@pytest.mark.parametrize(("include", "surfaced"), [(False, False), (True, True)])
def test_bar_form_post_redirects_to_the_recorded_bar(
    client: TestClient, include: bool, surfaced: bool
) -> None:
    lesson_id = post_review(client)["lessons"][0]["id"]  # identified, not validated
    form = {
        "brief": "cold chain fridges late",
        "run_by": "Jo",
        "project.id": "",
        "project.name": "",
    }
    if include:
        form["include_unvalidated"] = "1"
    response = client.post("/bar", data=form, follow_redirects=False)
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/bar/")
    bar = client.get(f"/api{location}").json()
    assert bar["brief"] == "cold chain fridges late"
    assert bar["run_by"] == "Jo"
    assert bar["project"] is None
    assert (lesson_id in [r["id"] for r in bar["results"]]) is surfaced
    rendered(client.get(location), "bar.html")


def test_bar_form_new_project_name_creates_it(client: TestClient, engine: Engine) -> None:
    response = client.post(
        "/bar", data={"brief": "A new thing", "project.name": "Polio round 2026"}
    )
    page = rendered(response, "bar.html")  # followed the redirect
    assert "Polio round 2026" in page.get_text()
    assert row_counts(engine)["project"] == 1


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"brief": "", "run_by": "Jo", "project.name": "Typed project"}, "brief"),
        ({"brief": "   ", "run_by": "Jo"}, "brief"),
        ({"brief": "b" * 101, "run_by": "Jo"}, "brief"),
        ({"brief": "Fridges", "project.id": "999", "run_by": "Jo"}, "project.id"),
    ],
)
def test_bar_form_invalid_rerenders_with_values_and_error(
    small_client: TestClient, engine: Engine, form: dict[str, str], field: str
) -> None:
    response = small_client.post("/bar", data=form, follow_redirects=False)
    page = rendered(response, "bar_form.html", 422)
    assert field in context(response)["errors"]
    assert_error_beside(page, field)
    assert_kept(page, form)
    counts = row_counts(engine)
    assert (counts["bar"], counts["project"]) == (0, 0)


def test_bar_form_tampered_project_field_is_not_a_server_error(
    client: TestClient, engine: Engine
) -> None:
    response = client.post("/bar", data={"brief": "Fridges", "project": "Measles"})
    rendered(response, "bar_form.html", 422)
    assert row_counts(engine)["bar"] == 0


def test_bar_form_limit_above_max_is_refused(
    client: TestClient, engine: Engine, settings: Settings
) -> None:
    response = client.post(
        "/bar",
        data={"brief": "Fridges", "limit": str(settings.bar_max_limit * 100)},
        follow_redirects=False,
    )
    assert response.status_code == 422
    assert row_counts(engine)["bar"] == 0


@pytest.fixture
def bar_with_three(client: TestClient) -> dict[str, Any]:
    # Three different lessons (near-copies would be folded into one result).
    lessons = [
        {"title": title, "observation": observation, "tags": ["cold-chain"]}
        for title, observation in (
            ("Order fridges early", "The fridges arrived after the campaign began."),
            ("Check fridge temperatures", "Nobody logged fridge temperatures at weekends."),
            ("Train fridge staff", "Clinic staff could not reset the fridge alarms."),
        )
    ]
    review = post_review(client, lessons=lessons, actions=[])
    for lesson in review["lessons"]:
        validate(client, lesson["id"])
    bar: dict[str, Any] = client.post("/api/bar", json={"brief": "cold chain fridges"}).json()
    assert len(bar["results"]) == 3
    return bar


def test_bar_decisions_form_saves_each_decision_and_note(
    client: TestClient, bar_with_three: dict[str, Any]
) -> None:
    bar_id = bar_with_three["id"]
    ids = [r["id"] for r in bar_with_three["results"]]
    form = {}
    for i, (lesson_id, decision) in enumerate(
        zip(ids, ["apply", "not_relevant", "note"], strict=True)
    ):
        form[f"decisions.{i}.lesson_id"] = str(lesson_id)
        form[f"decisions.{i}.decision"] = decision
        form[f"decisions.{i}.note"] = f"note {i}"
    response = client.post(f"/bar/{bar_id}/decisions", data=form, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/bar/{bar_id}?saved=1"

    saved = client.get(f"/api/bar/{bar_id}").json()
    assert [(r["id"], r["decision"], r["note"]) for r in saved["results"]] == [
        (ids[0], "apply", "note 0"),
        (ids[1], "not_relevant", "note 1"),
        (ids[2], "note", "note 2"),
    ]
    response = client.get(response.headers["location"])
    page = rendered(response, "bar.html")
    assert context(response)["saved"] is True
    assert page.find(attrs={"role": "status"}) is not None
    checked = page.select("input[type=radio][checked]")
    assert [(r["name"], r["value"]) for r in checked] == [
        ("decisions.0.decision", "apply"),
        ("decisions.1.decision", "not_relevant"),
        ("decisions.2.decision", "note"),
    ]
    assert field_value(page, "decisions.1.note") == "note 1"


def test_bar_decisions_form_some_undecided_saves_only_the_chosen(
    client: TestClient, bar_with_three: dict[str, Any]
) -> None:
    bar_id = bar_with_three["id"]
    ids = [r["id"] for r in bar_with_three["results"]]
    form = {f"decisions.{i}.lesson_id": str(lesson_id) for i, lesson_id in enumerate(ids)}
    form["decisions.1.decision"] = "apply"
    response = client.post(f"/bar/{bar_id}/decisions", data=form, follow_redirects=False)
    assert response.status_code == 303
    saved = client.get(f"/api/bar/{bar_id}").json()
    assert [r["decision"] for r in saved["results"]] == [None, "apply", None]


def test_bar_decisions_form_nothing_chosen_is_422_with_message(
    client: TestClient, engine: Engine, bar_with_three: dict[str, Any]
) -> None:
    bar_id = bar_with_three["id"]
    form = {
        f"decisions.{i}.lesson_id": str(r["id"]) for i, r in enumerate(bar_with_three["results"])
    }
    before = row_counts(engine)
    response = client.post(f"/bar/{bar_id}/decisions", data=form, follow_redirects=False)
    page = rendered(response, "bar.html", 422)
    alert = page.find(attrs={"role": "alert"})
    assert isinstance(alert, Tag)
    assert "Choose apply, not relevant or note" in alert.get_text()
    assert element(page, id="decisions-error").get_text(strip=True)
    assert client.get(f"/api/bar/{bar_id}").json() == bar_with_three
    assert row_counts(engine) == before


def test_bar_decisions_form_rejected_keeps_the_typed_note(
    client: TestClient, bar_with_three: dict[str, Any]
) -> None:
    form = {
        "decisions.0.lesson_id": str(bar_with_three["results"][0]["id"]),
        "decisions.0.note": "Ask Ana about the supplier",
    }
    response = client.post(f"/bar/{bar_with_three['id']}/decisions", data=form)
    page = rendered(response, "bar.html", 422)
    assert field_value(page, "decisions.0.note") == "Ask Ana about the supplier"


def test_bar_decisions_form_rejected_keeps_typed_choices(
    client: TestClient, bar_with_three: dict[str, Any]
) -> None:
    first = bar_with_three["results"][0]["id"]
    form = {
        "decisions.0.lesson_id": str(first),
        "decisions.0.decision": "not_relevant",
        "decisions.0.note": "Different supplier",
        "decisions.1.lesson_id": "999999",
        "decisions.1.decision": "apply",
    }
    response = client.post(f"/bar/{bar_with_three['id']}/decisions", data=form)
    page = rendered(response, "bar.html", 422)
    assert "decisions.1.lesson_id" in context(response)["errors"]
    checked = page.select("input[type=radio][checked]")
    assert [(r["name"], r["value"]) for r in checked] == [("decisions.0.decision", "not_relevant")]
    assert field_value(page, "decisions.0.note") == "Different supplier"
    assert client.get(f"/api/bar/{bar_with_three['id']}").json() == bar_with_three


@pytest.mark.parametrize(
    ("lesson_id", "decision"),
    [("999999", "apply"), ("abc", "apply"), ("FIRST", "maybe")],
)
def test_bar_decisions_form_bad_decision_is_422_and_saves_nothing(
    client: TestClient, bar_with_three: dict[str, Any], lesson_id: str, decision: str
) -> None:
    first = str(bar_with_three["results"][0]["id"])
    form = {
        "decisions.0.lesson_id": first if lesson_id == "FIRST" else lesson_id,
        "decisions.0.decision": decision,
    }
    response = client.post(f"/bar/{bar_with_three['id']}/decisions", data=form)
    page = rendered(response, "bar.html", 422)
    alert = page.find(attrs={"role": "alert"})
    assert isinstance(alert, Tag)
    assert alert.get_text(strip=True)
    assert client.get(f"/api/bar/{bar_with_three['id']}").json() == bar_with_three
