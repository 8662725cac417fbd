"""Owners are people (issue 14 item 5): an action's owner is chosen from the people directory
(by id or exact name) in the review form, the tracker and the API; loaded history that names
nobody is kept as imported text; "my actions" lists a person's own open actions, overdue
first; and migration 0016 turns owners who were only a typed name into that text."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from bs4 import BeautifulSoup
from sqlalchemy import Engine
from sqlmodel import Session, select

from lessons.capture import service as capture
from lessons.schemas import Limits, ReviewIn, parse
from lessons.storage.db import MIGRATIONS, make_engine, transaction
from lessons.storage.models import Action, Person
from tests.conftest import Client, add_people
from tests.lessons.actions.test_actions import join
from tests.ui.pages.helpers import row_counts

PAST = (date.today() - timedelta(days=30)).isoformat()
SOON = (date.today() + timedelta(days=3)).isoformat()
LATER = (date.today() + timedelta(days=60)).isoformat()


def _review(actions: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "kind": "aar",
        "project": {"name": "Water points", "unit": "WASH"},
        "answers": {"planned": "Fix 40 pumps."},
        "lessons": [{"title": "Spare parts ran out", "tags": ["spares"]}],
        "actions": actions,
        **extra,
    }


def _person_id(engine: Engine, name: str) -> int:
    with Session(engine) as session:
        person = session.exec(select(Person).where(Person.name == name)).one()
        assert person.id is not None
        return person.id


# --- choosing an owner ---------------------------------------------------------------------------


def test_a_review_names_owners_from_the_directory_by_id_or_exact_name(
    client: Client, engine: Engine
) -> None:
    ana = _person_id(engine, "Ana Lima")
    made = client.post(
        "/api/reviews",
        json=_review(
            [
                {"what": "Stock seals", "owner_id": ana},
                {"what": "Train caretakers", "owner": "  tom REYES "},
                {"what": "Map the pumps"},
            ]
        ),
    )
    assert made.status_code == 201, made.text
    owners = [(a["owner"] or {}).get("name") for a in made.json()["actions"]]
    assert owners == ["Ana Lima", "Tom Reyes", None]
    assert [a["owner_text"] for a in made.json()["actions"]] == ["", "", ""]


def test_an_owner_outside_the_directory_is_refused_and_nothing_is_written(
    client: Client, engine: Engine
) -> None:
    before = row_counts(engine)
    refused = client.post(
        "/api/reviews",
        json=_review(
            [
                {"what": "Stock seals", "owner": "Tom Reyes"},
                {"what": "Train caretakers", "owner": "Nobody Known"},
                {"what": "Map the pumps", "owner_id": 987654},
            ]
        ),
    )
    assert refused.status_code == 422, refused.text
    fields = refused.json()["error"]["fields"]
    assert set(fields) == {"actions.1.owner", "actions.2.owner_id"}  # every problem at once
    assert "people directory" in refused.json()["error"]["message"]
    assert row_counts(engine) == before  # no review, and no person made from the name


def test_id_and_name_naming_two_people_are_refused(client: Client, engine: Engine) -> None:
    ana = _person_id(engine, "Ana Lima")
    refused = client.post(
        "/api/reviews", json=_review([{"what": "x", "owner_id": ana, "owner": "Tom Reyes"}])
    )
    assert refused.status_code == 422
    assert set(refused.json()["error"]["fields"]) == {"actions.0.owner_id"}


def test_patch_changes_the_owner_by_id_or_name_and_refuses_strangers(
    client: Client, engine: Engine
) -> None:
    made = client.post("/api/reviews", json=_review([{"what": "Seals", "owner": "Tom Reyes"}]))
    action_id = made.json()["actions"][0]["id"]
    join(client, made.json()["project"]["id"])
    ines = _person_id(engine, "Ines Moreau")
    by_id = client.patch(f"/api/actions/{action_id}", json={"owner_id": ines})
    assert by_id.status_code == 200 and by_id.json()["owner"]["name"] == "Ines Moreau"
    stranger = client.patch(f"/api/actions/{action_id}", json={"owner": "Zed Unknown"})
    assert stranger.status_code == 422
    assert set(stranger.json()["error"]["fields"]) == {"owner"}
    no_id = client.patch(f"/api/actions/{action_id}", json={"owner_id": 987654})
    assert no_id.status_code == 422 and set(no_id.json()["error"]["fields"]) == {"owner_id"}
    cleared = client.patch(f"/api/actions/{action_id}", json={"owner_id": None})
    assert cleared.status_code == 200 and cleared.json()["owner"] is None
    with Session(engine) as session:
        assert session.exec(select(Person).where(Person.name == "Zed Unknown")).first() is None


def test_someone_known_only_through_hidden_work_cannot_be_chosen_nor_told_apart(
    client: Client, settings: Any, engine: Engine
) -> None:
    """A person named only on a restricted lesson answers as nobody to casey, who may not see
    it: the same refusal, word for word, as a name that is nobody's."""
    add_people(settings.database_url, "Hetty Hidden")
    secret = client.post(
        "/api/reviews",
        json=_review(
            [{"what": "Hush", "owner": "Hetty Hidden", "lesson_index": 0}],
            project={"name": "Secret"},
            lessons=[{"title": "Hush", "sensitivity": "restricted"}],
        ),
        headers=client.curator,
    )
    assert secret.status_code == 201, secret.text
    made = client.post("/api/reviews", json=_review([{"what": "Seals", "owner": "Tom Reyes"}]))
    join(client, made.json()["project"]["id"])
    action_id = made.json()["actions"][0]["id"]
    hidden = client.patch(f"/api/actions/{action_id}", json={"owner": "Hetty Hidden"})
    nobody = client.patch(f"/api/actions/{action_id}", json={"owner": "Hetty Hiddenx"})
    assert hidden.status_code == nobody.status_code == 422
    assert hidden.json()["error"]["message"].replace("Hetty Hidden", "N") == nobody.json()["error"][
        "message"
    ].replace("Hetty Hiddenx", "N")
    hidden_id = _person_id(engine, "Hetty Hidden")
    by_id = client.patch(f"/api/actions/{action_id}", json={"owner_id": hidden_id})
    missing = client.patch(f"/api/actions/{action_id}", json={"owner_id": 987654})
    assert by_id.json()["error"]["message"].replace(str(hidden_id), "N") == missing.json()["error"][
        "message"
    ].replace("987654", "N")
    form = client.get("/reviews/new").text
    assert "Hetty Hidden" not in form and "Tom Reyes" in form  # the datalist of people
    curator = client.patch(
        f"/api/actions/{action_id}", json={"owner": "Hetty Hidden"}, headers=client.curator
    )
    assert curator.status_code == 200


def test_the_review_form_offers_the_directory_and_keeps_an_unknown_owner_typed(
    client: Client,
) -> None:
    form = BeautifulSoup(client.get("/reviews/new").text, "html.parser")
    datalist = form.find("datalist", id="directory-people")
    assert datalist is not None
    assert {"Tom Reyes", "Ana Lima", "casey"} <= {o["value"] for o in datalist.find_all("option")}
    owner = form.find(id="actions-0-owner")
    assert owner is not None and owner["list"] == "directory-people"
    page = client.post(
        "/reviews",
        data={
            "kind": "aar",
            "project.name": "Water points",
            "answers.planned": "Fix 40 pumps.",
            "lessons.0.title": "Spare parts ran out",
            "actions.0.what": "Stock seals",
            "actions.0.owner": "Nobody Known",
        },
    )
    assert page.status_code == 422
    soup = BeautifulSoup(page.text, "html.parser")
    error = soup.find(id="actions-0-owner-error")
    assert error is not None and "directory" in error.get_text()
    kept = soup.find(id="actions-0-owner")
    assert kept is not None and kept["value"] == "Nobody Known"


def test_loaded_history_keeps_an_owner_who_is_nobody_as_imported_text(
    client: Client, engine: Engine
) -> None:
    payload = parse(
        ReviewIn,
        _review(
            [
                {"what": "Fix the rota", "owner": "Ops team", "lesson_index": 0},
                {"what": "Call the supplier", "owner": "ana lima", "lesson_index": 0},
            ]
        ),
        Limits(title=200, text=20_000, brief=20_000, items=100),
    )
    with transaction(engine) as session:
        people_before = len(session.exec(select(Person)).all())
        capture.log_review(session, payload=payload)  # no viewer: loaded data
        assert len(session.exec(select(Person)).all()) == people_before
        actions = session.exec(select(Action).order_by(Action.id)).all()  # type: ignore[arg-type]
        assert [(a.owner_id is None, a.owner_text) for a in actions] == [
            (True, "Ops team"),
            (False, ""),
        ]
    listed = client.get("/api/actions").json()["results"]
    ops = next(a for a in listed if a["what"] == "Fix the rota")
    assert ops["owner"] is None and ops["owner_text"] == "Ops team"
    page = client.get("/actions").text
    assert 'Ops team <span class="hint">(imported; not in the people directory)</span>' in page


# --- my actions ----------------------------------------------------------------------------------


def test_my_actions_lists_my_open_actions_overdue_first(client: Client) -> None:
    made = client.post(
        "/api/reviews",
        json=_review(
            [
                {"what": "Undated", "owner": "casey"},
                {"what": "Later", "owner": "casey", "due": LATER},
                {"what": "Overdue", "owner": "casey", "due": PAST},
                {"what": "Soon", "owner": "casey", "due": SOON},
                {"what": "Not mine", "owner": "Tom Reyes", "due": PAST},
                {"what": "Closed", "owner": "casey", "due": PAST},
            ]
        ),
    )
    assert made.status_code == 201, made.text
    closed = next(a["id"] for a in made.json()["actions"] if a["what"] == "Closed")
    join(client, made.json()["project"]["id"])
    done = client.post(f"/api/actions/{closed}/close", json={"closure_evidence": "done"})
    assert done.status_code == 200
    mine = client.get("/api/actions/mine").json()
    assert [a["what"] for a in mine["results"]] == ["Overdue", "Soon", "Later", "Undated"]
    assert mine["total"] == 4 and mine["results"][0]["overdue"] is True
    page = BeautifulSoup(client.get("/actions/mine").text, "html.parser")
    rows = page.select("table.actions tbody tr")
    assert [r.td.get_text(" ", strip=True).split(" Update")[0] for r in rows] == [
        "Overdue",
        "Soon",
        "Later",
        "Undated",
    ]
    assert "overdue" in (rows[0].get("class") or [])
    assert "1 overdue" in page.get_text(" ", strip=True)
    tom = client.get("/api/actions/mine", headers=client.curator).json()
    assert tom["results"] == []  # kim owns nothing


def test_my_actions_leave_out_my_actions_on_work_i_may_not_see(client: Client) -> None:
    secret = client.post(
        "/api/reviews",
        json=_review(
            [{"what": "Hush", "owner": "casey", "lesson_index": 0, "due": PAST}],
            project={"name": "Secret"},
            lessons=[{"title": "Hush", "sensitivity": "restricted"}],
        ),
        headers=client.curator,
    )
    assert secret.status_code == 201, secret.text
    assert client.get("/api/actions/mine").json() == {"results": [], "total": 0}
    assert "Hush" not in client.get("/actions/mine").text


def test_my_actions_need_a_sign_in(anon_client: Client) -> None:
    assert anon_client.get("/api/actions/mine").status_code == 401
    page = anon_client.get("/actions/mine", follow_redirects=False)
    assert page.status_code in (303, 401)


# --- migration 0016 ---------------------------------------------------------------------------


def test_0016_links_typed_owners_to_directory_people_and_keeps_the_rest_as_text(
    tmp_path: Path,
) -> None:
    """An existing database: owners Amara (a review's author), ' amara okafor' (typed, only an
    owner), Ops team (typed, only an owner) and Priya (a profile, owns an action). After 0016
    the typed Amara is linked to the directory Amara, Ops team is imported text, Priya stays."""
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0010")
        run = connection.exec_driver_sql
        run(
            "INSERT INTO project (id, uid, name, summary, unit, tags, created_at) "
            "VALUES (1, 'p', 'P', '', '', '[]', '2026-01-01')"
        )
        people = [
            (1, "Amara Okafor", ""),
            (2, " amara okafor", ""),
            (3, "Ops team", ""),
            (4, "Priya Raghunathan", "Cold chain lead"),
        ]
        for pid, name, role in people:
            run(
                "INSERT INTO person (id, uid, name, unit, role, expertise, bio, created_at) "
                f"VALUES ({pid}, 'u{pid}', ?, '', ?, '[]', '', '2026-01-01')",
                (name, role),
            )
        run(
            "INSERT INTO review (id, uid, project_id, kind, question_set_version, answers, "
            "author_id, sensitivity, created_at) "
            "VALUES (1, 'r1', 1, 'aar', 1, '{}', 1, 'internal', '2026-01-01')"
        )
        for aid, owner in ((1, 1), (2, 2), (3, 3), (4, 4), (5, 3)):
            run(
                "INSERT INTO action (id, uid, project_id, review_id, what, owner_id, status, "
                f"closure_evidence, created_at) VALUES ({aid}, 'a{aid}', 1, 1, 'Do {aid}', "
                f"{owner}, 'open', '', '2026-01-01')"
            )
        command.upgrade(config, "0016")
        owners = run("SELECT id, owner_id, owner_text FROM action ORDER BY id").all()
    engine.dispose()
    assert [tuple(row) for row in owners] == [
        (1, 1, ""),
        (2, 1, ""),
        (3, None, "Ops team"),
        (4, 4, ""),
        (5, None, "Ops team"),
    ]
