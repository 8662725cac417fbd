"""OpenID Connect sign-in through Authlib: `/login/oidc` sends the browser to the provider
(with state, nonce and a PKCE challenge); `/login/oidc/callback` takes the code back, has
Authlib fetch and verify the ID token (signature against the provider's keys, issuer,
audience, nonce, expiry), and signs the named user in exactly as a password would.

Nothing is fetched until someone starts a sign-in, and then only from the configured provider.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import httpx2
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.starlette_client import OAuth, StarletteOAuth2App
from joserfc.errors import JoseError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from lessons.accounts import sso
from lessons.accounts import users as accounts
from lessons.storage.db import transaction
from lessons.storage.settings import Settings
from ui.pages.auth import login_page, open_session, safe_next, start_session
from ui.shared.state import app_state

log = logging.getLogger("lessonbank")

DISCOVERY = "/.well-known/openid-configuration"
NEXT_KEY = "oidc_next"
# What the provider may say went wrong (RFC 6749 4.1.2.1, OIDC Core 3.1.2.6); anything else
# is shown as a plain failure. The provider's free-text description is logged, never shown.
PROVIDER_ERRORS = {
    "access_denied": "the sign-in was cancelled or refused",
    "login_required": "you are not signed in there",
    "consent_required": "Lessonbank has not been allowed to use your account",
    "interaction_required": "the provider needs you to do something first",
    "temporarily_unavailable": "the provider is busy",
    "server_error": "the provider had a problem",
}
# The provider could not be reached or answered with something that is not OpenID Connect.
UNREACHABLE = (httpx2.HTTPError, ValueError, TypeError, KeyError, RuntimeError)


class ProviderMisconfigured(Exception):
    """The discovery document names another issuer than the one configured."""


class NoIdToken(Exception):
    """The token response carried no ID token: an OAuth answer, not an OpenID Connect sign-in."""


def issuer(settings: Settings) -> str:
    """The configured issuer, whether it was given as the issuer or its discovery URL."""
    url = settings.oidc_issuer.strip()
    return url.removesuffix(DISCOVERY).rstrip("/")


def client_secret(settings: Settings) -> str:
    if settings.oidc_client_secret:
        return settings.oidc_client_secret
    if settings.oidc_client_secret_file:
        return Path(settings.oidc_client_secret_file).read_text(encoding="utf-8").strip()
    return ""


def make_client(settings: Settings) -> StarletteOAuth2App | None:
    """The provider's client, or None when single sign-on is not configured."""
    if not settings.oidc_enabled:
        return None
    secret = client_secret(settings)
    scopes = settings.oidc_scopes.split()
    client_kwargs: dict[str, Any] = {
        # `openid` makes it OpenID Connect: an ID token, and a nonce that Authlib checks
        "scope": " ".join(scopes if "openid" in scopes else ["openid", *scopes]),
        "code_challenge_method": "S256",
        "timeout": 10.0,
    }
    if not secret:  # a public client: PKCE alone binds the code to this browser's flow
        client_kwargs["token_endpoint_auth_method"] = "none"
    client: StarletteOAuth2App = OAuth().register(
        "oidc",
        client_id=settings.oidc_client_id.strip(),
        client_secret=secret or None,
        server_metadata_url=issuer(settings) + DISCOVERY,
        client_kwargs=client_kwargs,
    )
    return client


def _client(request: Request) -> StarletteOAuth2App:
    client: StarletteOAuth2App | None = getattr(request.app.state, "oidc", None)
    if client is None:
        raise HTTPException(404)
    return client


async def _issuer(client: StarletteOAuth2App, settings: Settings) -> str:
    """The issuer the provider announces, which must be the configured one (OIDC Discovery
    4.3): a look-alike document cannot hand out keys for another issuer."""
    metadata = await client.load_server_metadata()
    announced = str(metadata.get("issuer", ""))
    if announced.rstrip("/") != issuer(settings):
        raise ProviderMisconfigured(announced)
    return announced


def _failed(request: Request, reason: str, status: int = 400) -> Response:
    label = app_state(request).settings.oidc_label
    target = safe_next(str(request.session.get(NEXT_KEY, "/")))
    message = f"Signing in with {label} did not work: {reason}. Please try again."
    return login_page(request, target=target, message=message, status=status)


def _unreachable(request: Request, exc: Exception) -> Response:
    log.warning("single sign-on provider failed: %r", exc)
    return _failed(request, "the sign-in service could not be reached or answered wrongly", 502)


async def start(request: Request) -> Response:
    client = _client(request)
    settings = app_state(request).settings
    redirect_uri = settings.oidc_redirect_url or str(request.url_for("oidc_callback"))
    try:
        await _issuer(client, settings)
        response: Response = await client.authorize_redirect(request, redirect_uri)
    except (ProviderMisconfigured, *UNREACHABLE) as exc:
        return _unreachable(request, exc)
    request.session[NEXT_KEY] = safe_next(request.query_params.get("next", "/"))
    return response


async def _verified_claims(request: Request, client: StarletteOAuth2App) -> dict[str, Any]:
    """The ID token's claims, checked by Authlib; audience and issuer exactly as configured."""
    settings = app_state(request).settings
    announced = await _issuer(client, settings)
    options = {
        "iss": {"essential": True, "value": announced},
        "aud": {"essential": True, "value": settings.oidc_client_id.strip()},
        "sub": {"essential": True},
        "exp": {"essential": True},
    }
    token = await client.authorize_access_token(request, claims_options=options)
    claims = token.get("userinfo")
    if not claims:
        raise NoIdToken()
    return dict(claims)


async def callback(request: Request) -> Response:
    client = _client(request)
    settings = app_state(request).settings
    try:
        claims = await _verified_claims(request, client)
    except AuthlibBaseError as exc:  # the provider's error, a bad state, a refused code
        error = str(getattr(exc, "error", "") or "")
        log.info("single sign-on refused: %r %r", error, getattr(exc, "description", ""))
        return _failed(request, PROVIDER_ERRORS.get(error, "the sign-in response was not valid"))
    except (JoseError, NoIdToken) as exc:  # a bad signature, issuer, audience, nonce, expiry
        log.warning("single sign-on ID token rejected: %r", exc)
        return _failed(request, "the sign-in could not be verified")
    except (ProviderMisconfigured, *UNREACHABLE) as exc:
        return _unreachable(request, exc)
    target = safe_next(str(request.session.get(NEXT_KEY, "/")))

    def sign_in() -> str | None:
        # a GET that writes (the audit row, perhaps a new user): take the write lock first
        with transaction(app_state(request).engine, write=True) as session:
            user = sso.sign_in(
                session,
                claims=claims,
                claim_names=settings.oidc_username_claims.replace(",", " ").split(),
                create_users=settings.oidc_create_users,
                issuer=str(claims.get("iss", "")),
            )
            return open_session(request, session, user) if user else None

    session_id = await run_in_threadpool(sign_in)  # database work stays off the event loop
    if session_id is None:
        return login_page(request, target=target, message=accounts.SIGN_IN_REFUSED, status=401)
    start_session(request, session_id)
    return RedirectResponse(target, status_code=303)


routes = [
    Route("/login/oidc", start, methods=["GET"], name="oidc_start"),
    Route("/login/oidc/callback", callback, methods=["GET"], name="oidc_callback"),
]
