"""Single sign-on: which Lessonbank user a verified OpenID Connect identity is.

The ID token has been verified before this is called (signature, issuer, audience, nonce,
expiry); this decides who that person is here, and whether they may sign in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlmodel import Session

from lessons.accounts import audit
from lessons.accounts import users as accounts
from lessons.storage.models import Role, User

SSO_ACTOR = "single sign-on"


def username_from_claims(claims: Mapping[str, Any], names: Sequence[str]) -> str | None:
    """The first of `names` that the token carries as a non-empty string. An `email` the
    provider says is unverified is not used: anyone could have typed it."""
    for name in names:
        value = claims.get(name)
        if not isinstance(value, str) or not value.strip():
            continue
        if name == "email" and claims.get("email_verified") is False:
            return None
        return value.strip()
    return None


def sign_in(
    session: Session,
    *,
    claims: Mapping[str, Any],
    claim_names: Sequence[str],
    create_users: bool,
    issuer: str,
) -> User | None:
    """The active user these verified claims name, or None (unknown, disabled, no usable name):
    the caller shows the same refusal as a wrong password. An unknown user is created, as a
    contributor and never more, only when `create_users` is on. Audited either way."""
    username = username_from_claims(claims, claim_names)
    detail = {"via": "oidc", "issuer": issuer, "subject": str(claims.get("sub", ""))}
    user = None
    if username is not None and len(username) <= 100:
        user = accounts.user_named(session, username)
        if user is None and create_users:
            user = accounts.create_user(
                session, username=username, password=None, role=Role.CONTRIBUTOR, actor=SSO_ACTOR
            )
    if user is None or not user.is_active:
        audit.record(
            session,
            actor=(username or "(no user name claim)")[:200],
            action="sign_in_refused",
            entity_name="user",
            entity_id=user.id if user else None,
            after=detail,
        )
        return None
    audit.record(
        session,
        actor=user.username,
        actor_user_id=user.id,
        action="sign_in",
        entity=user,
        after=detail,
    )
    return user
