"""Users, passwords, roles, API tokens and project membership."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func
from sqlmodel import Session, col, delete, select

from lessons import audit, people
from lessons.access import CURATOR, STAFF, Viewer
from lessons.errors import Forbidden, NotFound, ValidationFailed
from lessons.models import ApiToken, LoginFailure, ProjectMember, Role, User, utcnow

_HASHER = PasswordHasher()
MIN_PASSWORD = 10
# Sign-in throttling: this many failures for a name within the window locks it for the window.
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
# A token's last use is recorded to the minute: writing it on every request would make every
# API read wait for the write lock.
TOKEN_USE_RESOLUTION = timedelta(minutes=1)


def check_password_rules(password: str, *, username: str) -> None:
    """Refuse passwords that are too short or are the user name."""
    if len(password) < MIN_PASSWORD:
        raise ValidationFailed(
            f"A password needs at least {MIN_PASSWORD} characters.", {"password": "too short"}
        )
    if password.strip().lower() == username.lower():
        raise ValidationFailed("A password cannot be the user name.", {"password": "is the name"})


def create_user(
    session: Session, *, username: str, password: str | None, role: Role, actor: str
) -> User:
    """A new user with an argon2-hashed password, linked to the Person of the same name.
    `password=None` makes a user who has no password and signs in only through single sign-on."""
    username = username.strip()
    if not username or len(username) > 100:
        raise ValidationFailed("A user name has 1 to 100 characters.", {"username": "invalid"})
    if session.exec(select(User).where(func.lower(User.username) == username.lower())).first():
        raise ValidationFailed(f"There is already a user {username!r}.", {"username": "taken"})
    if password is not None:
        check_password_rules(password, username=username)
    person = people.find_or_create(session, name=username)
    user = User(
        username=username,
        password_hash=_HASHER.hash(password) if password is not None else "",
        role=Role(role),
        person_id=person.id if person else None,
        password_changed_at=utcnow() if password is not None else None,
    )
    session.add(user)
    session.flush()
    audit.record(session, actor=actor, action="create", entity=user, after=public_view(user))
    return user


def has_password(user: User) -> bool:
    """False for a user who signs in only through single sign-on (an empty hash never verifies)."""
    return bool(user.password_hash)


def public_view(user: User) -> dict[str, object]:
    """A user as the audit log keeps it: never the password hash."""
    return {"username": user.username, "role": user.role, "is_active": user.is_active}


def throttled(session: Session, *, username: str) -> bool:
    """True when this name has failed too often lately."""
    since = utcnow() - FAILURE_WINDOW
    failures = session.exec(
        select(func.count()).where(
            func.lower(LoginFailure.username) == username.lower(), LoginFailure.at >= since
        )
    ).one()
    return int(failures) >= MAX_FAILURES


SIGN_IN_REFUSED = "That user name and password do not match, or the account is locked."


def authenticate(
    session: Session, *, username: str, password: str, client: str = ""
) -> User | None:
    """The user with this name and password, or None: the caller shows one message for every
    cause (so it does not tell whether the name exists) and commits, so the recorded failure
    counts towards the lock."""
    if throttled(session, username=username):
        return None
    user = session.exec(select(User).where(func.lower(User.username) == username.lower())).first()
    try:
        ok = (
            user is not None
            and user.is_active
            and has_password(user)
            and _HASHER.verify(user.password_hash, password)
        )
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or user is None:
        session.add(LoginFailure(username=username[:100], client=client[:100]))
        session.flush()
        return None
    if _HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = _HASHER.hash(password)
    session.exec(delete(LoginFailure).where(col(LoginFailure.username) == username))
    return user


def change_password(session: Session, *, user: User, current: str, new: str) -> None:
    """Replace the password after checking the current one (a user without one has none to
    replace: single sign-on users change it with their organisation)."""
    if not has_password(user):
        raise ValidationFailed(
            "This account signs in through single sign-on and has no Lessonbank password.",
            {"current": "no password"},
        )
    try:
        _HASHER.verify(user.password_hash, current)
    except (VerificationError, InvalidHashError):
        raise ValidationFailed("The current password is wrong.", {"current": "wrong"}) from None
    check_password_rules(new, username=user.username)
    user.password_hash = _HASHER.hash(new)
    user.password_changed_at = utcnow()
    session.add(user)
    audit.record(session, actor=user.username, action="change_password", entity=user)


def set_role(session: Session, *, user: User, role: Role, actor: str) -> User:
    """Change a user's role (a permission change: audited)."""
    before = public_view(user)
    user.role = Role(role)
    session.add(user)
    audit.record(
        session, actor=actor, action="set_role", entity=user, before=before, after=public_view(user)
    )
    return user


def get_user(session: Session, *, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"No user with id {user_id}.")
    return user


def find_user(session: Session, *, username: str) -> User:
    user = session.exec(select(User).where(func.lower(User.username) == username.lower())).first()
    if user is None:
        raise NotFound(f"No user {username!r}.")
    return user


def list_users(session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(col(User.username))))


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, *, user: User, name: str, actor: str) -> str:
    """A new bearer token for `user`; only its hash is kept, so this is the one time it shows."""
    token = "lb_" + secrets.token_urlsafe(32)
    assert user.id is not None
    row = ApiToken(user_id=user.id, name=name[:100] or "token", token_hash=_hash_token(token))
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
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == _hash_token(token))).first()
    return None if row is None or row.revoked_at is not None else row


def add_member(session: Session, *, project_id: int, user: User, actor: str) -> None:
    """Let `user` see the project's restricted lessons (a permission change: audited)."""
    assert user.id is not None
    if session.get(ProjectMember, (project_id, user.id)) is None:
        session.add(ProjectMember(project_id=project_id, user_id=user.id))
        audit.record(
            session,
            actor=actor,
            action="add_member",
            entity_name="project",
            entity_id=project_id,
            after={"user": user.username},
        )


def remove_member(session: Session, *, project_id: int, user: User, actor: str) -> None:
    """Stop `user` seeing the project's restricted lessons (audited; a no-op if not a member)."""
    assert user.id is not None
    row = session.get(ProjectMember, (project_id, user.id))
    if row is not None:
        session.delete(row)
        audit.record(
            session,
            actor=actor,
            action="remove_member",
            entity_name="project",
            entity_id=project_id,
            before={"user": user.username},
        )


def list_members(session: Session, *, project_id: int) -> list[User]:
    """The users who may see the project's restricted lessons, by name."""
    return list(
        session.exec(
            select(User)
            .join(ProjectMember, col(ProjectMember.user_id) == col(User.id))
            .where(ProjectMember.project_id == project_id)
            .order_by(col(User.username))
        )
    )


def member_counts(session: Session) -> dict[int, int]:
    """Members per project id (projects without members are absent)."""
    rows = session.exec(
        select(ProjectMember.project_id, func.count()).group_by(col(ProjectMember.project_id))
    )
    return {project_id: count for project_id, count in rows}


def viewer(session: Session, user: User | None) -> Viewer:
    """What `user` may see: anonymous -> public; contributors -> internal and their projects'
    restricted lessons; curators and admins -> everything (they curate it)."""
    if user is None:
        from lessons.access import PUBLIC

        return PUBLIC
    if user.role in (Role.CURATOR, Role.ADMIN):
        return Viewer(
            name=user.username,
            sensitivities=CURATOR.sensitivities,
            is_curator=True,
            user_id=user.id,
            person_id=user.person_id,
            role=user.role,
        )
    member_of = session.exec(
        select(ProjectMember.project_id).where(ProjectMember.user_id == user.id)
    ).all()
    return Viewer(
        name=user.username,
        sensitivities=STAFF.sensitivities,
        project_ids=frozenset(member_of),
        user_id=user.id,
        person_id=user.person_id,
        role=user.role,
    )


def require_role(viewer: Viewer, *roles: Role) -> None:
    """Forbidden unless the viewer is signed in with one of `roles`."""
    if viewer.role not in roles:
        raise Forbidden("You do not have permission to do that.")
