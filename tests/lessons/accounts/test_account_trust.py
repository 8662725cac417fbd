"""Issue 11, accounts: user names normalised once, authorship that cannot be forged, sign-in
timing that does not tell whether a name exists, revocable sessions, and edits to validated
lessons that go back for curation."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text
from sqlmodel import Session, select

from lessons.accounts import sso
from lessons.accounts import users as accounts
from lessons.storage.db import MIGRATIONS, make_engine, transaction
from lessons.storage.models import AuditEvent, Lesson, Review, Role, User, UserSession, utcnow
from lessons.storage.settings import Settings
from tests.conftest import PASSWORD, Client, app_client, review_payload, sign_in

KELVIN_KAI = "\u212aai"  # KELVIN SIGN + "ai": NFKC makes it "Kai"
FULLWIDTH_KAI = "\uff2b\uff21\uff29"  # full-width K, A, I


def _add_user(engine: Engine, name: str, role: Role = Role.CONTRIBUTOR) -> User:
    with transaction(engine, write=True) as session:
        return accounts.create_user(
            session, username=name, password=PASSWORD, role=role, actor="test"
        )


def _signed_in(client: Client) -> bool:
    response = client.get("/projects", follow_redirects=False)
    assert response.status_code in (200, 303)
    return response.status_code == 200


# --- item 9: one normal form for user names --------------------------------------------------


def test_a_kelvin_sign_name_is_the_same_user_and_shares_its_lock(
    engine: Engine, anon_client: Client
) -> None:
    _add_user(engine, "kai")
    anon_client.get("/login")
    for _ in range(accounts.MAX_FAILURES):
        wrong = anon_client.post("/login", data={"username": KELVIN_KAI, "password": "nope" * 3})
        assert wrong.status_code == 401
    for name in (KELVIN_KAI, "kai", "KAI"):
        locked = anon_client.post("/login", data={"username": name, "password": PASSWORD})
        assert locked.status_code == 401, name


def test_a_name_that_normalises_to_a_taken_one_is_refused(engine: Engine) -> None:
    _add_user(engine, "kai")
    with transaction(engine, write=True) as session:
        for name in (FULLWIDTH_KAI, KELVIN_KAI, " Kai "):
            with pytest.raises(accounts.ValidationFailed, match="already a user"):
                accounts.create_user(
                    session, username=name, password=PASSWORD, role=Role.CONTRIBUTOR, actor="t"
                )
    with Session(engine) as session:
        names = [u.username for u in session.exec(select(User))]
    assert names.count("kai") == 1 and len([n for n in names if "ai" in n.casefold()]) == 1


def test_stored_names_are_normalised_and_sign_in_finds_them(
    engine: Engine, anon_client: Client
) -> None:
    user = _add_user(engine, FULLWIDTH_KAI)
    assert user.username == "kai"
    anon_client.get("/login")
    for name in (KELVIN_KAI, "Kai", FULLWIDTH_KAI):
        anon_client.cookies.delete("lessonbank_session")
        ok = anon_client.post(
            "/login", data={"username": name, "password": PASSWORD}, follow_redirects=False
        )
        assert ok.status_code == 303, name


def test_single_sign_on_matches_the_normalised_name(engine: Engine) -> None:
    _add_user(engine, "kai")
    with transaction(engine, write=True) as session:
        user = sso.sign_in(
            session,
            claims={"sub": "s1", "preferred_username": FULLWIDTH_KAI},
            claim_names=["preferred_username"],
            create_users=False,
            issuer="https://id.example",
        )
        assert user is not None and user.username == "kai"


def _alembic(engine: Engine, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def _old_user(engine: Engine, name: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO user (username, password_hash, role, is_active, created_at) "
                "VALUES (:name, '', 'contributor', 1, '2026-01-01 00:00:00')"
            ),
            {"name": name},
        )


@pytest.fixture
def bare_engine(tmp_path) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    yield engine
    engine.dispose()


def test_migration_normalises_existing_names(bare_engine: Engine) -> None:
    _alembic(bare_engine, "0005")
    _old_user(bare_engine, FULLWIDTH_KAI)
    _old_user(bare_engine, "Ada")
    _alembic(bare_engine, "0007")
    with bare_engine.connect() as connection:
        names = sorted(r[0] for r in connection.execute(text("SELECT username FROM user")))
    assert names == ["ada", "kai"]


def test_migration_refuses_names_that_clash_and_names_them(bare_engine: Engine) -> None:
    _alembic(bare_engine, "0005")
    _old_user(bare_engine, "kai")
    _old_user(bare_engine, KELVIN_KAI)
    with pytest.raises(RuntimeError) as refused:
        _alembic(bare_engine, "0007")
    message = str(refused.value)
    assert "kai" in message and repr(KELVIN_KAI) in message and "rename" in message
    with bare_engine.connect() as connection:  # nothing half-done
        names = {r[0] for r in connection.execute(text("SELECT username FROM user"))}
    assert names == {"kai", KELVIN_KAI}


# --- item 10: the actor is the signed-in user --------------------------------------------------


def test_a_typed_author_cannot_impersonate_the_recorder(client: Client, engine: Engine) -> None:
    response = client.post(
        "/api/reviews", json=review_payload(author="ada", actions=[])
    )  # casey names the admin
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["author"]["name"] == "ada" and body["recorded_by"] == "casey"
    lesson_id = body["lessons"][0]["id"]
    [created] = client.get(f"/api/lessons/{lesson_id}").json()["history"]
    assert created["actor"] == "casey"
    assert "ada" in created["reason"]  # whose words, beside who recorded them
    with Session(engine) as session:
        casey = session.exec(select(User).where(User.username == "casey")).one()
        ada = session.exec(select(User).where(User.username == "ada")).one()
        event = session.exec(
            select(AuditEvent).where(AuditEvent.entity == "review", AuditEvent.action == "create")
        ).one()
        review = session.get(Review, body["id"])
        assert review is not None
        assert (review.recorded_by_id, review.author_id) == (casey.id, ada.person_id)
    assert (event.actor, event.actor_user_id) == ("casey", casey.id)
    assert event.after is not None
    assert event.after["recorded_by"] == {"user_id": casey.id, "username": "casey"}
    assert event.after["author"] == {"person_id": ada.person_id, "name": "ada"}


def test_the_review_form_records_the_signed_in_user_too(client: Client, engine: Engine) -> None:
    client.get("/reviews/new")
    response = client.post(
        "/reviews",
        data={
            "kind": "aar",
            "project.name": "Form project",
            "author": "ada",
            "answers.planned": "Plan",
            "lessons.0.title": "A lesson from the form",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    with Session(engine) as session:
        lesson = session.exec(select(Lesson).where(Lesson.title == "A lesson from the form")).one()
        event = session.exec(
            select(AuditEvent).where(AuditEvent.entity == "review", AuditEvent.action == "create")
        ).one()
        assert lesson.id is not None
    assert event.actor == "casey"
    history = client.get(f"/api/lessons/{lesson.id}").json()["history"]
    assert history[0]["actor"] == "casey"
    review_page = client.get(response.headers["location"]).text
    assert "by ada" in review_page and "recorded by casey" in review_page


# --- item 11: sign-in takes as long for a name that does not exist -----------------------------


def test_an_unknown_name_costs_a_hash_like_a_known_one(anon_client: Client) -> None:
    anon_client.get("/login")
    known, unknown = [], []
    for i in range(accounts.MAX_FAILURES - 1):  # stay under the lock
        for name, times in (("casey", known), (f"nobody{i}", unknown)):
            start = time.perf_counter()
            answer = anon_client.post("/login", data={"username": name, "password": "x" * 12})
            times.append(time.perf_counter() - start)
            assert answer.status_code == 401
    # the fastest of each: scheduling noise only ever adds time
    assert min(unknown) >= 0.5 * min(known), (known, unknown)


# --- item 12: sessions end on the server ---------------------------------------------------


def _copy_of(client: Client, settings: Settings) -> Iterator[Client]:
    """Another browser holding a copy of `client`'s session cookie."""
    for other in app_client(settings, as_user=None):
        other.cookies.set("lessonbank_session", client.cookies["lessonbank_session"])
        yield other


def test_a_copied_cookie_stops_working_after_logout(client: Client, settings: Settings) -> None:
    for copy in _copy_of(client, settings):
        assert _signed_in(copy)
        assert client.post("/logout", follow_redirects=False).status_code == 303
        assert not _signed_in(copy)


def test_a_role_change_ends_the_users_sessions(
    client: Client, settings: Settings, engine: Engine
) -> None:
    assert _signed_in(client)
    with transaction(engine, write=True) as session:
        casey = accounts.find_user(session, username="casey")
        accounts.set_role(session, user=casey, role=Role.CURATOR, actor="ada")
    assert not _signed_in(client)
    sign_in(client, "casey")  # a new sign-in works, with the new role
    assert client.get("/curate").status_code == 200


def test_disabling_a_user_ends_sessions_for_good(client: Client, engine: Engine) -> None:
    assert _signed_in(client)
    with transaction(engine, write=True) as session:
        casey = accounts.find_user(session, username="casey")
        accounts.set_active(session, user=casey, active=False, actor="ada")
    assert not _signed_in(client)
    with transaction(engine, write=True) as session:
        casey = accounts.find_user(session, username="casey")
        accounts.set_active(session, user=casey, active=True, actor="ada")
    assert not _signed_in(client)  # enabling again does not bring the old session back
    with Session(engine) as session:
        actions = [e.action for e in session.exec(select(AuditEvent))]
    assert {"disable", "enable"} <= set(actions)


def test_a_session_past_its_hours_ends_on_the_server(client: Client, engine: Engine) -> None:
    assert _signed_in(client)
    with transaction(engine, write=True) as session:
        for row in session.exec(select(UserSession)):
            row.expires_at = utcnow() - timedelta(seconds=1)
            session.add(row)
    assert not _signed_in(client)  # whatever the cookie's own max-age says


def test_a_password_change_ends_other_copies_but_not_this_session(
    client: Client, settings: Settings
) -> None:
    for copy in _copy_of(client, settings):
        changed = client.post(
            "/account/password", data={"current": PASSWORD, "new": "a brand new passphrase"}
        )
        assert changed.status_code == 200 and "is changed" in changed.text
        assert _signed_in(client)
        assert not _signed_in(copy)  # same cookie as before the change: ended


# --- item 13 (lesson edits): a validated lesson changed by a non-curator is curated again -----


def _validated_lesson(client: Client, **lesson: object) -> int:
    body = review_payload(author=None, lessons=[{"title": "Order fridges early", **lesson}])
    body["actions"] = []
    created = client.post("/api/reviews", json=body)
    assert created.status_code == 201, created.text
    lesson_id = int(created.json()["lessons"][0]["id"])
    validated = client.post(
        f"/api/lessons/{lesson_id}/transition",
        headers=client.curator,
        json={"to": "validated", "reason": "checked"},
    )
    assert validated.status_code == 200
    return lesson_id


@pytest.mark.parametrize(
    "patch",
    [
        {"recommendation": "Order the fridges whenever"},
        {"title": "Order fridges late"},
        {"sensitivity": "public"},
    ],
)
def test_a_contributor_edit_to_a_validated_lesson_goes_back_for_curation(
    client: Client, anon_client: Client, patch: dict[str, str]
) -> None:
    lesson_id = _validated_lesson(client, sensitivity="public" if "title" in patch else "internal")
    edited = client.patch(f"/api/lessons/{lesson_id}", json=patch)
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert body["status"] == "identified"
    last = body["history"][-1]
    assert (last["from_status"], last["to_status"], last["actor"]) == (
        "validated",
        "identified",
        "casey",
    )
    assert "curat" in last["reason"]
    assert anon_client.get(f"/api/lessons/{lesson_id}").status_code == 404  # never published
    queue = client.get("/api/curation/queue?section=validate", headers=client.curator).json()
    assert lesson_id in [item["id"] for item in queue["sections"]["validate"]["results"]]


@pytest.mark.parametrize(
    "patch", [{"sensitivity": "restricted"}, {"tags": ["cold chain"]}, {"polarity": "sustain"}]
)
def test_narrowing_or_retagging_a_validated_lesson_keeps_it_validated(
    client: Client, patch: dict[str, object]
) -> None:
    lesson_id = _validated_lesson(client)
    edited = client.patch(f"/api/lessons/{lesson_id}", json=patch)
    assert edited.status_code == 200 and edited.json()["status"] == "validated"


def test_a_curator_edit_to_a_validated_lesson_keeps_it_validated(client: Client) -> None:
    lesson_id = _validated_lesson(client)
    edited = client.patch(
        f"/api/lessons/{lesson_id}",
        headers=client.curator,
        json={"title": "Order fridges at the draft plan", "sensitivity": "public"},
    )
    assert edited.status_code == 200 and edited.json()["status"] == "validated"
