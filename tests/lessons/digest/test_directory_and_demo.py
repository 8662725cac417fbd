"""Reaching people: the directory's addresses and accounts from the command line
(`lessonbank people add`, `people set-email`, `users add --person`, `users link`), and the
demo bank, whose action owners are directory people with accounts and addresses, so its
digests have content."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, select

from lessons.storage.models import Person, User
from lessons.storage.settings import Settings
from tests.conftest import Client, run_cli


def _cli(settings: Settings, *args: str, stdin: str = "") -> Any:
    return run_cli(*args, "--database-url", settings.database_url, stdin=stdin)


def test_people_are_added_with_an_address_and_accounts_linked_to_them(
    settings: Settings, engine: Engine, client: Client
) -> None:
    added = _cli(settings, "people", "add", "Rosa Lindqvist", "--email", "rosa@example.org")
    assert added.returncode == 0, added.stderr
    bad = _cli(settings, "people", "set-email", "Rosa Lindqvist", "not an address")
    assert bad.returncode == 2 and "not an e-mail address" in bad.stderr
    nobody = _cli(settings, "people", "set-email", "Nobody Here", "n@example.org")
    assert nobody.returncode == 2 and "Nobody called" in nobody.stderr
    made = _cli(settings, "users", "add", "rosa", "--person", "rosa lindqvist", "--no-password")
    assert made.returncode == 0, made.stderr
    linked = _cli(settings, "users", "link", "casey", "Ana Lima")
    assert linked.returncode == 0, linked.stderr
    with Session(engine) as session:
        rosa = session.exec(select(Person).where(Person.name == "Rosa Lindqvist")).one()
        users = {u.username: u.person_id for u in session.exec(select(User))}
        ana = session.exec(select(Person).where(Person.name == "Ana Lima")).one()
    assert rosa.email == "rosa@example.org" and users["rosa"] == rosa.id
    assert users["casey"] == ana.id
    # casey now owns Ana Lima's actions: "my actions" are the linked person's
    made_review = client.post(
        "/api/reviews",
        json={
            "kind": "aar",
            "project": {"name": "Water points"},
            "answers": {"planned": "x"},
            "lessons": [{"title": "Seals"}],
            "actions": [{"what": "Stock seals", "owner": "Ana Lima", "lesson_index": 0}],
        },
    )
    assert made_review.status_code == 201, made_review.text
    assert [a["what"] for a in client.get("/api/actions/mine").json()["results"]] == ["Stock seals"]
    unknown = _cli(settings, "users", "link", "casey", "Nobody Here")
    assert unknown.returncode == 2 and "people directory" in unknown.stderr


def test_the_demo_banks_digests_have_content(demo_settings: Settings, demo_bank: Any) -> None:
    shown = _cli(demo_settings, "digest", "--dry-run")
    assert shown.returncode == 0, shown.stderr
    digests = [d for d in shown.stdout.split("=" * 72) if d.strip().startswith("To:")]
    assert len(digests) >= 10
    for digest in digests:
        assert "Your actions due or overdue" in digest and "* " in digest
    owners = {p["name"] for p in demo_bank["people"] if p.get("account")}
    named = {d.strip().split("\n", 1)[0].removeprefix("To: ").split(" <")[0] for d in digests}
    assert named <= owners


def test_the_demo_owners_are_directory_people_with_accounts(demo_client: Client) -> None:
    listed = demo_client.get("/api/actions?status=open", headers=demo_client.curator).json()
    assert listed["total"] > 0
    assert all(a["owner"] is not None and a["owner_text"] == "" for a in listed["results"])
