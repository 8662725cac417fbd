"""Accounts end to end: sign-in, throttling, roles, tokens, CSRF, headers and the audit log."""

from __future__ import annotations

import subprocess
from pathlib import Path

import argon2
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from lessons.accounts import users as accounts
from lessons.curation import lifecycle
from lessons.storage.db import transaction
from lessons.storage.models import AuditEvent, utcnow
from lessons.storage.settings import Settings
from tests.conftest import PASSWORD, TOKENS, Client, app_client, review_payload, run_cli


def _lesson(client: Client, **lesson: object) -> int:
    body = review_payload(lessons=[{"title": "Order fridges early", **lesson}], actions=[])
    response = client.post("/api/reviews", json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["lessons"][0]["id"])


def test_sign_in_sets_a_hardened_session_cookie(anon_client: Client) -> None:
    anon_client.get("/login")
    response = anon_client.post(
        "/login",
        data={"username": "casey", "password": PASSWORD, "next": "/projects"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/projects"
    cookie = next(
        v
        for k, v in response.headers.multi_items()
        if k == "set-cookie" and v.startswith("lessonbank_session=")
    )
    assert {"httponly", "secure", "samesite=lax"} <= {p.strip().lower() for p in cookie.split(";")}
    assert anon_client.get("/projects").status_code == 200


@pytest.mark.parametrize(
    "target", ["//evil.example/x", "https://evil.example/", "javascript:1", "/\\evil.example/x"]
)
def test_sign_in_never_redirects_off_site(anon_client: Client, target: str) -> None:
    anon_client.get("/login")
    response = anon_client.post(
        "/login",
        data={"username": "casey", "password": PASSWORD, "next": target},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


def test_wrong_password_is_refused_then_the_name_is_locked(anon_client: Client) -> None:
    anon_client.get("/login")
    for _ in range(accounts.MAX_FAILURES):
        wrong = anon_client.post("/login", data={"username": "casey", "password": "nope"})
        assert wrong.status_code == 401
        assert "do not match" in wrong.text
    right = anon_client.post("/login", data={"username": "casey", "password": PASSWORD})
    assert right.status_code == 401  # locked for the window, even with the right password


def test_unknown_user_gets_the_same_answer_as_a_wrong_password(anon_client: Client) -> None:
    anon_client.get("/login")
    unknown = anon_client.post("/login", data={"username": "nobody", "password": "x" * 12})
    wrong = anon_client.post("/login", data={"username": "casey", "password": "x" * 12})
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.context["message"] == wrong.context["message"]  # type: ignore[attr-defined]


def test_sign_out_ends_the_session(client: Client) -> None:
    assert client.post("/logout", follow_redirects=False).status_code == 303
    assert client.get("/projects", follow_redirects=False).status_code == 303


def test_anonymous_visitor_gets_the_read_only_partner_view(
    client: Client, anon_client: Client
) -> None:
    public = _lesson(client, sensitivity="public")
    internal = _lesson(client, sensitivity="internal")
    for lesson_id in (public, internal):
        client.post(
            f"/api/lessons/{lesson_id}/transition", headers=client.curator, json={"to": "validated"}
        )
    unvalidated = _lesson(client, sensitivity="public")
    listed = [le["id"] for le in anon_client.get("/api/lessons").json()["results"]]
    assert listed == [public]
    assert anon_client.get(f"/api/lessons/{internal}").status_code == 404
    assert anon_client.get(f"/api/lessons/{unvalidated}").status_code == 404
    for path in ("/reviews/new", "/bar/new", "/projects", "/actions", "/people", "/bar"):
        response = anon_client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
    refused = anon_client.post("/api/reviews", json=review_payload())
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
    assert anon_client.post("/api/bar", json={"brief": "x"}).status_code == 401


def test_contributor_may_not_curate_but_a_curator_may(client: Client, engine: Engine) -> None:
    lesson_id = _lesson(client)
    denied = client.post(f"/api/lessons/{lesson_id}/transition", json={"to": "validated"})
    assert denied.status_code == 403
    allowed = client.post(
        f"/api/lessons/{lesson_id}/transition",
        headers=client.curator,
        json={"to": "validated", "reason": "checked"},
    )
    assert allowed.status_code == 200
    with Session(engine) as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "transition")).one()
    assert (event.actor, event.entity, event.entity_id) == ("kim", "lesson", lesson_id)
    assert (event.before, event.after) == (
        {"status": "identified", "review_due": None},
        {
            "status": "validated",
            "reason": "checked",
            "review_due": lifecycle.next_review(today=utcnow().date()).isoformat(),
        },
    )


def test_author_edits_own_lesson_and_the_edit_is_audited(client: Client, engine: Engine) -> None:
    body = review_payload(author=None, lessons=[{"title": "Mine"}], actions=[])
    mine = client.post("/api/reviews", json=body).json()["lessons"][0]["id"]
    theirs = _lesson(client)  # written by "Amina Diallo", not casey
    assert client.patch(f"/api/lessons/{mine}", json={"title": "Mine, better"}).status_code == 200
    assert client.patch(f"/api/lessons/{theirs}", json={"title": "Hijack"}).status_code == 403
    with Session(engine) as session:
        edit = session.exec(select(AuditEvent).where(AuditEvent.action == "edit")).one()
    assert edit.before is not None and edit.after is not None
    assert (edit.before["title"], edit.after["title"], edit.actor) == (
        "Mine",
        "Mine, better",
        "casey",
    )


def test_form_post_without_csrf_token_is_refused(client: Client, engine: Engine) -> None:
    raw = Client(client.app, base_url="https://testserver")
    raw.cookies = client.cookies  # the signed-in session, but a forged form without the token
    response = super(Client, raw).request(
        "POST", "/reviews", data={"kind": "aar", "project.name": "X", "answers.planned": "y"}
    )
    assert response.status_code == 403
    # The one error page (error.html, in the site's layout), not a page of its own.
    assert response.headers["content-type"].startswith("text/html")
    assert "lessonbank.css" in response.text and "reload the page" in response.text
    api = super(Client, raw).request("POST", "/api/reviews", json=review_payload())
    assert api.status_code == 403 and api.json()["error"]["code"] == "csrf"


def test_bearer_token_works_without_cookies_and_stops_when_revoked(
    settings: Settings, engine: Engine
) -> None:
    for client in app_client(settings, as_user=None):
        headers = {"Authorization": f"Bearer {TOKENS['casey']}"}
        assert (
            client.post("/api/reviews", json=review_payload(), headers=headers).status_code == 201
        )
        with transaction(engine) as session:
            user = accounts.find_user(session, username="casey")
            for token_id in range(1, 4):  # revoke every template token
                accounts.revoke_token(session, token_id=token_id, actor="test")
        assert user.id is not None
        refused = client.post("/api/reviews", json=review_payload(), headers=headers)
        assert refused.status_code == 401


def test_password_change_signs_out_other_sessions(settings: Settings) -> None:
    for first in app_client(settings):
        for second in app_client(settings):
            response = second.post(
                "/account/password", data={"current": PASSWORD, "new": "a brand new passphrase"}
            )
            assert response.status_code == 200 and "is changed" in response.text
            assert second.get("/projects", follow_redirects=False).status_code == 200
        assert first.get("/projects", follow_redirects=False).status_code == 303


@pytest.mark.parametrize(
    ("current", "new", "field"),
    [
        ("wrong password!", "a brand new passphrase", "current"),
        (PASSWORD, "short", "password"),
        (PASSWORD, "casey", "password"),
    ],
)
def test_password_change_refusals(client: Client, current: str, new: str, field: str) -> None:
    response = client.post("/account/password", data={"current": current, "new": new})
    assert response.status_code == 422
    assert field in response.context["errors"]  # type: ignore[attr-defined]


@pytest.mark.parametrize("path", ["/", "/lessons", "/api/lessons", "/nope", "/api/nope", "/login"])
def test_security_headers_on_every_response(anon_client: Client, path: str) -> None:
    headers = anon_client.get(path).headers
    csp = headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"


def test_no_template_has_inline_script_or_style() -> None:
    templates = Path(__file__).parents[2] / "ui" / "templates"
    for template in templates.glob("*.html"):
        text = template.read_text()
        assert "<script" not in text and "style=" not in text and " on" + "click" not in text, (
            template.name
        )


def test_cli_users_add_reads_stdin_and_tokens_create_prints_the_token_last(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    env = {"LESSONBANK_EMBEDDING_MODEL": "hashing", "LESSONBANK_SECRET_KEY": "cli-test-key"}

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return run_cli(*args, "--database-url", url, stdin=stdin, env=env)

    added = run("users", "add", "ada", "--role", "admin", stdin="a long enough password\n")
    assert added.returncode == 0, added.stderr
    short = run("users", "add", "bob", stdin="short\n")
    assert short.returncode == 2 and "at least" in short.stderr
    token = run("tokens", "create", "ada").stdout.strip().splitlines()[-1]
    assert token.startswith("lb_")
    sso_only = run("users", "add", "sam", "--no-password")  # reads no password at all
    assert sso_only.returncode == 0, sso_only.stderr
    listed = run("users", "list").stdout
    assert "ada\tadmin" in listed and "bob" not in listed
    assert "sam\tcontributor (single sign-on only)" in listed
    disabled = run("users", "disable", "SAM")  # any case: names are compared normalised
    assert disabled.returncode == 0 and "sam is now disabled" in disabled.stdout
    assert "sam\tcontributor (inactive)" in run("users", "list").stdout
    assert run("users", "enable", "sam").returncode == 0


def test_passwords_are_hashed_with_rfc_9106_strength_unless_the_environment_lowers_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The suite runs with argon2's cheapest parameters (tests/conftest.py); a real install,
    whose environment sets none of them, hashes with RFC 9106's low-memory profile."""
    strong = argon2.profiles.RFC_9106_LOW_MEMORY
    try:
        with monkeypatch.context() as production_environment:
            for name in ("TIME_COST", "MEMORY_KIB", "PARALLELISM"):
                production_environment.delenv(f"LESSONBANK_PASSWORD_{name}")
            accounts.hasher.cache_clear()
            production = accounts.hasher()
            stored = production.hash(PASSWORD)
    finally:
        accounts.hasher.cache_clear()  # the rest of the suite hashes cheaply again
    assert (production.time_cost, production.memory_cost, production.parallelism) == (
        strong.time_cost,
        strong.memory_cost,
        strong.parallelism,
    )
    assert argon2.extract_parameters(stored) == strong
    # The suite's own hashes are cheap, and a production hash still verifies under them.
    assert (accounts.hasher().time_cost, accounts.hasher().memory_cost) == (1, 8)
    assert accounts.hasher().verify(stored, PASSWORD)
