"""Users, passwords, roles, sign-in and what a user may see. Sessions and API tokens are in
`lessons.accounts.sessions`, project membership in `lessons.accounts.membership`; both are
reachable from here too."""

from __future__ import annotations

import functools
import secrets
import unicodedata
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func
from sqlmodel import Session, col, delete, select

from lessons.accounts import audit
from lessons.accounts.access import CURATOR, STAFF, Viewer
from lessons.accounts.membership import add_member, list_members, member_counts, remove_member
from lessons.accounts.sessions import (
    TOKEN_USE_RESOLUTION,
    create_token,
    end_session,
    end_sessions,
    note_token_use,
    open_session,
    revoke_token,
    token_use_is_stale,
    user_for_session,
    user_for_token,
)
from lessons.errors import NotFound, ValidationFailed
from lessons.people import service as people
from lessons.storage.models import (
    LoginFailure,
    Person,
    ProjectMember,
    Role,
    User,
    utcnow,
)
from lessons.storage.settings import Settings

__all__ = [
    "FAILURE_WINDOW",
    "MAX_FAILURES",
    "MIN_PASSWORD",
    "SIGN_IN_REFUSED",
    "TOKEN_USE_RESOLUTION",
    "add_member",
    "authenticate",
    "change_password",
    "check_password_rules",
    "create_token",
    "create_user",
    "end_session",
    "end_sessions",
    "find_user",
    "get_user",
    "has_password",
    "hasher",
    "link_person",
    "list_members",
    "list_users",
    "member_counts",
    "normal_username",
    "note_token_use",
    "open_session",
    "public_view",
    "remove_member",
    "revoke_token",
    "set_active",
    "set_role",
    "throttled",
    "token_use_is_stale",
    "user_for_session",
    "user_for_token",
    "user_named",
    "viewer",
]


@functools.cache
def hasher() -> PasswordHasher:
    """Argon2 at the cost the settings give, read once (strong unless a test suite lowers it)."""
    settings = Settings()
    return PasswordHasher(
        time_cost=settings.password_time_cost,
        memory_cost=settings.password_memory_kib,
        parallelism=settings.password_parallelism,
    )


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the name is unknown (or cannot sign in with a password), so a
    refusal costs the same argon2 work whether or not the name exists. Made on first use."""
    return hasher().hash(secrets.token_urlsafe(16))


MIN_PASSWORD = 10


# Sign-in throttling: this many failures for a name within the window locks it for the window.
MAX_FAILURES = 5


FAILURE_WINDOW = timedelta(minutes=15)


def normal_username(name: str) -> str:
    """The one form a user name is stored, looked up and throttled in: NFKC (a Kelvin sign or
    full-width letters become plain letters) and full Unicode casefolding (SQLite's lower()
    folds ASCII only). Applied twice over NFKC because casefolding can undo it."""
    once = unicodedata.normalize("NFKC", name.strip()).casefold()
    return unicodedata.normalize("NFKC", once).strip()


def user_named(session: Session, username: str) -> User | None:
    """The user with this name in its normal form, or None."""
    return session.exec(select(User).where(User.username == normal_username(username))).first()


def check_password_rules(password: str, *, username: str) -> None:
    """Refuse passwords that are too short or are the user name."""
    if len(password) < MIN_PASSWORD:
        raise ValidationFailed(
            f"A password needs at least {MIN_PASSWORD} characters.", {"password": "too short"}
        )
    if normal_username(password) == normal_username(username):
        raise ValidationFailed("A password cannot be the user name.", {"password": "is the name"})


def create_user(
    session: Session,
    *,
    username: str,
    password: str | None,
    role: Role,
    actor: str,
    person: Person | None = None,
) -> User:
    """A new user with an argon2-hashed password, linked to `person` (someone already in the
    directory) or else to the Person of the same name. `password=None` makes a user who has no
    password and signs in only through single sign-on."""
    username = normal_username(username)
    if not username or len(username) > 100:
        raise ValidationFailed("A user name has 1 to 100 characters.", {"username": "invalid"})
    if user_named(session, username):
        raise ValidationFailed(f"There is already a user {username!r}.", {"username": "taken"})
    if password is not None:
        check_password_rules(password, username=username)
    person = person or people.find_or_create(session, name=username)
    user = User(
        username=username,
        password_hash=hasher().hash(password) if password is not None else "",
        role=Role(role),
        person_id=person.id if person else None,
        password_changed_at=utcnow() if password is not None else None,
    )
    session.add(user)
    session.flush()
    audit.record(session, actor=actor, action="create", entity=user, after=public_view(user))
    return user


def link_person(session: Session, *, user: User, person: Person, actor: str) -> User:
    """Make `person` (someone in the directory) the one this account writes, owns actions and
    gets its digest as. Audited; the account's former person stays in the directory."""
    before = {**public_view(user), "person_id": user.person_id}
    user.person_id = person.id
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="link_person",
        entity=user,
        before=before,
        after={**public_view(user), "person_id": person.id, "person": person.name},
    )
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
            LoginFailure.username == normal_username(username)[:100], LoginFailure.at >= since
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
    username = normal_username(username)
    if throttled(session, username=username):
        _verify(_dummy_hash(), password)  # a locked name answers no faster than any other
        return None
    user = user_named(session, username)
    usable = user is not None and user.is_active and has_password(user)
    # The same argon2 work for every name: an unknown one is checked against a dummy hash.
    ok = _verify(user.password_hash if user is not None and usable else _dummy_hash(), password)
    if not ok or not usable or user is None:
        session.add(LoginFailure(username=username[:100], client=client[:100]))
        session.flush()
        return None
    if hasher().check_needs_rehash(user.password_hash):
        user.password_hash = hasher().hash(password)
    session.exec(delete(LoginFailure).where(col(LoginFailure.username) == username[:100]))
    return user


def _verify(password_hash: str, password: str) -> bool:
    try:
        return hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def change_password(session: Session, *, user: User, current: str, new: str) -> None:
    """Replace the password after checking the current one (a user without one has none to
    replace: single sign-on users change it with their organisation). Every session of the
    user ends (the browser making the change is given a new one)."""
    if not has_password(user):
        raise ValidationFailed(
            "This account signs in through single sign-on and has no Lessonbank password.",
            {"current": "no password"},
        )
    try:
        hasher().verify(user.password_hash, current)
    except (VerificationError, InvalidHashError):
        raise ValidationFailed("The current password is wrong.", {"current": "wrong"}) from None
    check_password_rules(new, username=user.username)
    user.password_hash = hasher().hash(new)
    user.password_changed_at = utcnow()
    session.add(user)
    end_sessions(session, user=user)
    audit.record(
        session, actor=user.username, actor_user_id=user.id, action="change_password", entity=user
    )


def set_role(session: Session, *, user: User, role: Role, actor: str) -> User:
    """Change a user's role (a permission change: audited). Their sessions end: they sign in
    again under the new role (bearer tokens carry on, and take the new role at once)."""
    before = public_view(user)
    user.role = Role(role)
    session.add(user)
    end_sessions(session, user=user)
    audit.record(
        session, actor=actor, action="set_role", entity=user, before=before, after=public_view(user)
    )
    return user


def set_active(session: Session, *, user: User, active: bool, actor: str) -> User:
    """Disable a user (no sign-in, no token, every session ended) or enable them again (they
    sign in afresh: ended sessions stay ended). Audited."""
    before = public_view(user)
    user.is_active = active
    session.add(user)
    if not active:
        end_sessions(session, user=user)
    audit.record(
        session,
        actor=actor,
        action="enable" if active else "disable",
        entity=user,
        before=before,
        after=public_view(user),
    )
    return user


def get_user(session: Session, *, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"No user with id {user_id}.")
    return user


def find_user(session: Session, *, username: str) -> User:
    user = user_named(session, username)
    if user is None:
        raise NotFound(f"No user {username!r}.")
    return user


def has_users(session: Session) -> bool:
    """Whether any account exists yet (a fresh install has none until the first admin)."""
    return session.exec(select(User.id).limit(1)).first() is not None


def list_users(session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(col(User.username))))


def viewer(session: Session, user: User | None) -> Viewer:
    """What `user` may see: anonymous -> public; contributors -> internal and their projects'
    restricted lessons; curators and admins -> everything (they curate it)."""
    if user is None:
        from lessons.accounts.access import PUBLIC

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
