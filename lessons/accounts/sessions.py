"""Signed-in sessions and API bearer tokens. Only their hashes are stored, so the tables alone
sign no one in."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlmodel import Session, col, delete, select

from lessons.accounts import audit
from lessons.errors import NotFound
from lessons.storage.models import (
    ApiToken,
    User,
    UserSession,
    utcnow,
)

# A token's last use is recorded to the minute: writing it on every request would make every
# API read wait for the write lock.
TOKEN_USE_RESOLUTION = timedelta(minutes=1)


def hash_secret(token: str) -> str:
    """What is stored of a session id or token: its SHA-256, never the secret itself."""
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(session: Session, *, user: User, lifetime: timedelta) -> str:
    """A new server-side session for `user`: the random id for the (signed) cookie. Only its
    hash is stored, so the table alone signs no one in."""
    assert user.id is not None
    session_id = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        UserSession(
            id_hash=hash_secret(session_id),
            user_id=user.id,
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    # Expired sessions of anyone go as new ones come (sign-ins are rare; the table stays small).
    session.exec(delete(UserSession).where(col(UserSession.expires_at) < now))
    session.flush()
    return session_id


def user_for_session(session: Session, *, session_id: str) -> User | None:
    """The active user of a live session, or None (ended, expired, or user disabled)."""
    row = session.get(UserSession, hash_secret(session_id))
    if row is None or _aware(row.expires_at) <= utcnow():
        return None
    user = session.get(User, row.user_id)
    return user if user is not None and user.is_active else None


def end_session(session: Session, *, session_id: str) -> None:
    """Sign out: the session stops working, in this browser and any copy of its cookie."""
    session.exec(delete(UserSession).where(col(UserSession.id_hash) == hash_secret(session_id)))


def end_sessions(session: Session, *, user: User) -> None:
    """End every session of `user`, wherever their cookies are."""
    session.exec(delete(UserSession).where(col(UserSession.user_id) == user.id))


def _aware(moment: datetime) -> datetime:
    """SQLite hands datetimes back without a zone; they were stored in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)


def create_token(session: Session, *, user: User, name: str, actor: str) -> str:
    """A new bearer token for `user`; only its hash is kept, so this is the one time it shows."""
    token = "lb_" + secrets.token_urlsafe(32)
    assert user.id is not None
    row = ApiToken(user_id=user.id, name=name[:100] or "token", token_hash=hash_secret(token))
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="create_token",
        entity=row,
        after={"user": user.username, "name": row.name},
    )
    return token


def revoke_token(session: Session, *, token_id: int, actor: str) -> None:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"No token with id {token_id}.")
    row.revoked_at = utcnow()
    session.add(row)
    audit.record(session, actor=actor, action="revoke_token", entity=row)


def user_for_token(session: Session, *, token: str) -> User | None:
    """The active user a bearer token belongs to, or None (unknown, revoked or inactive).
    Only reads: `note_token_use` records the use, in a writing transaction of its own."""
    row = _live_token(session, token)
    if row is None:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    return user


def token_use_is_stale(session: Session, *, token: str) -> bool:
    """Whether the token's last use is older than TOKEN_USE_RESOLUTION (so worth writing)."""
    row = _live_token(session, token)
    if row is None:
        return False
    last = row.last_used_at
    return last is None or utcnow() - last > TOKEN_USE_RESOLUTION


def note_token_use(session: Session, *, token: str) -> None:
    """Record that the token was used now (for admins deciding what to revoke)."""
    row = _live_token(session, token)
    if row is not None:
        row.last_used_at = utcnow()
        session.add(row)


def _live_token(session: Session, token: str) -> ApiToken | None:
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == hash_secret(token))).first()
    return None if row is None or row.revoked_at is not None else row
