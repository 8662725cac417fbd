"""OpenID Connect sign-in end to end: the app over HTTP and a real provider on 127.0.0.1
(tests/oidc_provider.py), with Authlib doing discovery, the code exchange and ID-token checks."""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse

import httpx2
import pytest
from sqlmodel import Session, select

from lessons.accounts import users as accounts
from lessons.storage.db import make_engine, transaction
from lessons.storage.models import AuditEvent, Role, User
from lessons.storage.settings import Settings
from tests.conftest import PASSWORD, Client, app_client, sign_in
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider, ProviderServer

CALLBACK = "https://testserver/login/oidc/callback"


@pytest.fixture(scope="module")
def provider_server() -> Iterator[ProviderServer]:
    server = ProviderServer()
    yield server
    server.stop()


@pytest.fixture
def provider(provider_server: ProviderServer) -> Provider:
    provider_server.provider.reset()
    return provider_server.provider


@pytest.fixture
def sso_settings(settings: Settings, provider: Provider, tmp_path: Path) -> Settings:
    """Single sign-on configured as an operator would: the secret kept in a file."""
    secret_file = tmp_path / "oidc_secret"
    secret_file.write_text(CLIENT_SECRET + "\n", encoding="utf-8")
    return settings.model_copy(
        update={
            "oidc_issuer": provider.issuer,
            "oidc_client_id": CLIENT_ID,
            "oidc_client_secret_file": str(secret_file),
            "oidc_label": "Example SSO",
        }
    )


@pytest.fixture
def sso(sso_settings: Settings) -> Iterator[Client]:
    yield from app_client(sso_settings, as_user=None)


def start(client: Client, next_path: str = "/projects") -> str:
    """Begin at /login/oidc; the provider's authorize URL the browser is sent to."""
    response = client.get("/login/oidc", params={"next": next_path}, follow_redirects=False)
    assert response.status_code == 302, response.text
    return str(response.headers["location"])


def at_provider(authorize_url: str) -> str:
    """The browser at the provider (real HTTP): where it is sent back to."""
    response = httpx2.get(authorize_url, follow_redirects=False, trust_env=False)
    assert response.status_code == 302, response.text
    back = str(response.headers["location"])
    assert back.startswith(CALLBACK + "?")
    return back


def sso_sign_in(client: Client, next_path: str = "/projects") -> httpx2.Response:
    """The whole round trip; the app's answer to the callback (not followed)."""
    back = at_provider(start(client, next_path))
    response: httpx2.Response = client.get(back, follow_redirects=False)
    assert response.status_code < 500, response.text
    return response


def signed_in_as(client: Client) -> str | None:
    """Who the session is for, from a page only a signed-in user may see."""
    response = client.get("/projects", follow_redirects=False)
    if response.status_code != 200:
        assert response.status_code == 303  # anonymous: sent to sign in
        return None
    return str(response.context["viewer"].name)  # type: ignore[attr-defined]


def session_keys(client: Client) -> set[str]:
    """The keys in the signed session cookie (its payload is base64 JSON before the signature)."""
    payload = client.cookies["lessonbank_session"].split(".")[0]
    return set(json.loads(base64.b64decode(payload + "==")))


def audit_rows(settings: Settings, action: str) -> list[AuditEvent]:
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)))
    finally:
        engine.dispose()


def user_named(settings: Settings, name: str) -> User | None:
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            return session.exec(select(User).where(User.username == name)).first()
    finally:
        engine.dispose()


def assert_refused(response: httpx2.Response, client: Client, status: int, words: str) -> None:
    assert response.status_code == status, response.text
    assert words in response.text
    assert signed_in_as(client) is None


# --- configured or not ---------------------------------------------------------------------


def test_single_sign_on_is_hidden_and_off_when_not_configured(anon_client: Client) -> None:
    page = anon_client.get("/login?next=/projects")
    assert page.status_code == 200 and "Sign in with" not in page.text
    assert anon_client.get("/login/oidc", follow_redirects=False).status_code == 404
    assert anon_client.get("/login/oidc/callback?code=x&state=y").status_code == 404


def test_issuer_without_client_id_leaves_it_off(settings: Settings, provider: Provider) -> None:
    half = settings.model_copy(update={"oidc_issuer": provider.issuer})
    assert not half.oidc_enabled
    for client in app_client(half, as_user=None):
        assert "Sign in with" not in client.get("/login").text
        assert client.get("/login/oidc", follow_redirects=False).status_code == 404
    assert provider.paths == []  # not even discovery


def test_login_page_offers_the_provider_and_passwords_still_work(sso: Client) -> None:
    page = sso.get("/login?next=/projects")
    assert "Sign in with Example SSO" in page.text
    assert 'href="/login/oidc?next=%2Fprojects"' in page.text
    sign_in(sso, "kim")  # the password form alongside
    assert signed_in_as(sso) == "kim"


# --- the happy path ------------------------------------------------------------------------


def test_known_user_signs_in_and_the_session_works(
    sso: Client, provider: Provider, sso_settings: Settings
) -> None:
    authorize = start(sso, "/projects?page=2")
    asked = {k: v[0] for k, v in parse_qs(urlparse(authorize).query).items()}
    assert authorize.startswith(provider.issuer + "/authorize?")
    assert asked["client_id"] == CLIENT_ID and asked["redirect_uri"] == CALLBACK
    assert set(asked["scope"].split()) == {"openid", "email", "profile"}
    assert len(asked["state"]) >= 20 and len(asked["nonce"]) >= 20
    assert asked["code_challenge_method"] == "S256"

    response = sso.get(at_provider(authorize), follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/projects?page=2"
    assert provider.paths == [
        "/.well-known/openid-configuration",  # once: Authlib keeps it
        "/authorize",
        "/token",
        "/jwks",
    ]
    assert signed_in_as(sso) == "casey"
    assert sso.get("/reviews/new").status_code == 200
    # the secret came from the file, and the provider saw the PKCE verifier
    assert provider.token_requests[0]["code_verifier"]
    # a fresh session, set exactly as a password sign-in sets it: no flow state left behind
    assert session_keys(sso) == {"sid"}  # only the server-side session's id
    [event] = audit_rows(sso_settings, "sign_in")
    assert event.actor == "casey" and event.entity == "user"
    assert event.after == {"via": "oidc", "issuer": provider.issuer, "subject": "sub-casey"}


def test_signing_in_replaces_an_earlier_session(sso: Client, provider: Provider) -> None:
    sign_in(sso, "kim")
    assert signed_in_as(sso) == "kim"
    assert sso_sign_in(sso).status_code == 303
    assert signed_in_as(sso) == "casey"


def test_sign_out_after_single_sign_on(sso: Client) -> None:
    assert sso_sign_in(sso).status_code == 303
    sso.get("/login")  # the CSRF cookie, as a page would have set it
    assert sso.post("/logout", follow_redirects=False).status_code == 303
    assert signed_in_as(sso) is None


def test_issuer_may_be_given_as_the_discovery_url(
    sso_settings: Settings, provider: Provider
) -> None:
    url = provider.issuer + "/.well-known/openid-configuration"
    for client in app_client(sso_settings.model_copy(update={"oidc_issuer": url}), as_user=None):
        assert sso_sign_in(client).status_code == 303
        assert signed_in_as(client) == "casey"


# --- who may sign in -----------------------------------------------------------------------


def test_unknown_user_is_refused_like_a_wrong_password(
    sso: Client, provider: Provider, sso_settings: Settings
) -> None:
    provider.username = "newcomer"
    response = sso_sign_in(sso)
    assert_refused(response, sso, 401, "do not match")
    assert response.context["message"] == accounts.SIGN_IN_REFUSED  # type: ignore[attr-defined]
    assert user_named(sso_settings, "newcomer") is None
    [event] = audit_rows(sso_settings, "sign_in_refused")
    assert event.actor == "newcomer" and event.entity_id is None


def test_disabled_user_is_refused(sso: Client, provider: Provider, sso_settings: Settings) -> None:
    engine = make_engine(sso_settings.database_url)
    with transaction(engine) as session:
        user = accounts.find_user(session, username="casey")
        user.is_active = False
        session.add(user)
    engine.dispose()
    response = sso_sign_in(sso)
    assert_refused(response, sso, 401, "do not match")
    assert response.context["message"] == accounts.SIGN_IN_REFUSED  # type: ignore[attr-defined]


def test_unknown_user_is_created_as_a_contributor_when_allowed(
    sso_settings: Settings, provider: Provider
) -> None:
    provider.username = "newcomer"
    provider.claims = {"roles": ["admin"], "groups": ["admin"]}  # asks for more: ignored
    allowed = sso_settings.model_copy(update={"oidc_create_users": True})
    for client in app_client(allowed, as_user=None):
        assert sso_sign_in(client).status_code == 303
        assert signed_in_as(client) == "newcomer"
        created = user_named(allowed, "newcomer")
        assert created is not None and created.role == Role.CONTRIBUTOR
        assert not accounts.has_password(created)
        assert client.get("/admin", follow_redirects=False).status_code == 403
        # no password to change, and none to sign in with
        page = client.get("/account/password")
        assert page.status_code == 200 and "no Lessonbank password" in page.text
        assert 'name="current"' not in page.text
        refused = client.post("/account/password", data={"current": "", "new": "x" * 12})
        assert refused.status_code == 409 and "no Lessonbank password" in refused.text
        client.post("/logout")
        for password in ("", "x" * 12):
            attempt = client.post("/login", data={"username": "newcomer", "password": password})
            assert attempt.status_code == 401
    assert created is not None
    [created_event] = [
        e for e in audit_rows(allowed, "create") if e.entity == "user" and e.entity_id == created.id
    ]
    assert created_event.actor == "single sign-on"
    assert created_event.after == {"username": "newcomer", "role": "contributor", "is_active": True}


def test_a_user_with_a_password_can_still_change_it_after_single_sign_on(sso: Client) -> None:
    assert sso_sign_in(sso).status_code == 303
    page = sso.get("/account/password")
    assert 'name="current"' in page.text and "no Lessonbank password" not in page.text
    changed = sso.post("/account/password", data={"current": PASSWORD, "new": "y" * 12})
    assert changed.status_code == 200 and "Your password is changed" in changed.text


def test_email_is_the_fallback_name_only_when_verified(
    sso_settings: Settings, provider: Provider
) -> None:
    allowed = sso_settings.model_copy(update={"oidc_create_users": True})
    provider.claims = {"preferred_username": None, "email": "Pat@Example.org"}
    for client in app_client(allowed, as_user=None):
        assert sso_sign_in(client).status_code == 303
        assert signed_in_as(client) == "pat@example.org"  # stored in its normal form
    provider.claims = {
        "preferred_username": None,
        "email": "lee@example.org",
        "email_verified": False,
    }
    for client in app_client(allowed, as_user=None):
        assert_refused(sso_sign_in(client), client, 401, "do not match")
    assert user_named(allowed, "lee@example.org") is None


def test_the_username_claim_is_configurable(sso_settings: Settings, provider: Provider) -> None:
    provider.username = "someone-else"
    provider.claims = {"upn": "kim"}
    by_upn = sso_settings.model_copy(update={"oidc_username_claims": "upn"})
    for client in app_client(by_upn, as_user=None):
        assert sso_sign_in(client).status_code == 303
        assert signed_in_as(client) == "kim"


# --- the token must be genuine -------------------------------------------------------------


@pytest.mark.parametrize("how", ["payload", "key"])
def test_tampered_token_is_refused(sso: Client, provider: Provider, how: str) -> None:
    provider.tamper = how
    assert_refused(sso_sign_in(sso), sso, 400, "could not be verified")


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        ({"aud": "another-client"}, "audience"),
        ({"aud": ["another-client"], "azp": CLIENT_ID}, "audience (Authlib alone accepts this)"),
        ({"iss": "https://issuer.example"}, "issuer"),
        ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}, "expired"),
        ({"sub": None}, "no subject"),
    ],
)
def test_token_with_wrong_claims_is_refused(
    sso: Client, provider: Provider, claims: dict[str, object], why: str
) -> None:
    provider.claims = claims
    assert_refused(sso_sign_in(sso), sso, 400, "could not be verified")


def test_wrong_nonce_is_refused(sso: Client, provider: Provider) -> None:
    provider.nonce = "a-nonce-from-another-sign-in"
    assert_refused(sso_sign_in(sso), sso, 400, "could not be verified")


def test_token_response_without_an_id_token_is_refused(sso: Client, provider: Provider) -> None:
    provider.id_token = False
    assert_refused(sso_sign_in(sso), sso, 400, "could not be verified")


def test_wrong_state_is_refused(sso: Client, provider: Provider) -> None:
    back = urlparse(at_provider(start(sso)))
    query = {k: v[0] for k, v in parse_qs(back.query).items()}
    forged = f"{CALLBACK}?{urlencode({**query, 'state': 'not-the-state'})}"
    assert_refused(sso.get(forged), sso, 400, "not valid")
    assert provider.token_requests == []  # the code was never even spent


def test_callback_in_another_browser_is_refused(
    sso: Client, provider: Provider, sso_settings: Settings
) -> None:
    """Login CSRF: an attacker's code and state, replayed in a victim's browser."""
    back = at_provider(start(sso))
    for victim in app_client(sso_settings, as_user=None):
        assert_refused(victim.get(back), victim, 400, "not valid")


def test_a_callback_works_once(sso: Client, provider: Provider) -> None:
    back = at_provider(start(sso))
    assert sso.get(back, follow_redirects=False).status_code == 303
    sso.cookies.clear()
    assert_refused(sso.get(back), sso, 400, "not valid")


def test_callback_with_nothing_is_refused(sso: Client) -> None:
    assert_refused(sso.get("/login/oidc/callback"), sso, 400, "not valid")
    assert_refused(sso.get("/login/oidc/callback?code=x&state=y"), sso, 400, "not valid")


def test_wrong_client_secret_is_refused(sso_settings: Settings, provider: Provider) -> None:
    wrong = sso_settings.model_copy(update={"oidc_client_secret": "not-the-secret"})
    for client in app_client(wrong, as_user=None):
        assert_refused(sso_sign_in(client), client, 400, "not valid")
    assert provider.token_requests  # the provider was asked, and said no


@pytest.mark.parametrize("error", ["access_denied", "something_unheard_of"])
def test_provider_error_is_a_clear_refusal(sso: Client, provider: Provider, error: str) -> None:
    provider.error = error
    response = sso_sign_in(sso)
    expected = "cancelled or refused" if error == "access_denied" else "not valid"
    assert_refused(response, sso, 400, expected)
    assert "Signing in with Example SSO did not work" in response.text
    assert "555-0100" not in response.text  # the provider's free text is never shown
    assert provider.token_requests == []


# --- where it leads ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target", ["//evil.example/x", "https://evil.example/", "/\\evil.example/x", "javascript:1"]
)
def test_next_never_leads_off_site(sso: Client, target: str) -> None:
    response = sso_sign_in(sso, target)
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert signed_in_as(sso) == "casey"


def test_unreachable_provider_is_a_bad_gateway_page_not_a_crash(sso_settings: Settings) -> None:
    """The one 5xx here, on purpose: the fault is upstream, and the page says so."""
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    nowhere = sso_settings.model_copy(update={"oidc_issuer": f"http://127.0.0.1:{port}"})
    for client in app_client(nowhere, as_user=None):
        response = client.get("/login/oidc", follow_redirects=False)
        assert response.status_code == 502
        assert "could not be reached" in response.text and "Traceback" not in response.text
        assert "Sign in with Example SSO" in response.text  # the page still offers both ways


def test_provider_announcing_another_issuer_is_not_trusted(sso: Client, provider: Provider) -> None:
    provider.announced_issuer = "https://issuer.example"
    response = sso.get("/login/oidc", follow_redirects=False)
    assert response.status_code == 502 and "could not be reached" in response.text
    assert provider.authorize_requests == []  # never sent there to sign in
