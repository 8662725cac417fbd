"""`lessonbank users ...`, `tokens ...` and `members ...`: accounts from the command line.

The first admin is made here; a fresh install has no users and no default password.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable

from sqlalchemy import Engine
from sqlmodel import Session

from lessons.accounts import users as accounts
from lessons.accounts.access import CURATOR
from lessons.capture import projects
from lessons.errors import DomainError
from lessons.people import service as people
from lessons.storage.db import make_engine, migrate, transaction
from lessons.storage.models import Person, Role
from ui.cli.options import settings_from_args


def _read_password(username: str) -> str:
    """From standard input when it is not a terminal (scripts), else asked twice."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass(f"Password for {username}: ")
    if getpass.getpass("Again: ") != first:
        raise DomainError("The two passwords differ.")
    return first


def _engine(args: argparse.Namespace) -> Engine:
    engine = make_engine(settings_from_args(args).database_url)
    migrate(engine)
    return engine


def _directory_person(session: Session, name: str) -> Person:
    person = people.named(session, name=name)
    if person is None:
        raise DomainError(
            f"Nobody called {name!r} is in the people directory "
            "(add them with `lessonbank people add`)."
        )
    return person


def cmd_users_add(args: argparse.Namespace) -> int:
    password = None if args.no_password else _read_password(args.name)
    with transaction(_engine(args), write=True) as session:
        person = _directory_person(session, args.person) if args.person else None
        user = accounts.create_user(
            session,
            username=args.name,
            password=password,
            role=Role(args.role),
            actor="command line",
            person=person,
        )
        print(f"Added {user.username} ({user.role}).")
    return 0


def cmd_users_link(args: argparse.Namespace) -> int:
    """Link an account to a person in the directory: their actions and digest become its."""
    with transaction(_engine(args), write=True) as session:
        user = accounts.find_user(session, username=args.name)
        person = _directory_person(session, args.person)
        accounts.link_person(session, user=user, person=person, actor="command line")
        print(f"{user.username} is now {person.name} in the people directory.")
    return 0


def cmd_users_list(args: argparse.Namespace) -> int:
    with transaction(_engine(args)) as session:
        for user in accounts.list_users(session):
            state = "" if user.is_active else " (inactive)"
            state += "" if accounts.has_password(user) else " (single sign-on only)"
            person = f"\t{user.person.name}" if user.person else ""
            print(f"{user.username}\t{user.role}{state}{person}")
    return 0


def cmd_users_role(args: argparse.Namespace) -> int:
    with transaction(_engine(args), write=True) as session:
        user = accounts.find_user(session, username=args.name)
        accounts.set_role(session, user=user, role=Role(args.role), actor="command line")
        print(f"{user.username} is now {user.role}.")
    return 0


def cmd_users_active(args: argparse.Namespace) -> int:
    """Disable a user (every session ends; tokens stop) or enable them again."""
    active = args.users == "enable"
    with transaction(_engine(args), write=True) as session:
        user = accounts.find_user(session, username=args.name)
        accounts.set_active(session, user=user, active=active, actor="command line")
        print(f"{user.username} is now {'enabled' if active else 'disabled'}.")
    return 0


def cmd_tokens_create(args: argparse.Namespace) -> int:
    with transaction(_engine(args), write=True) as session:
        user = accounts.find_user(session, username=args.name)
        token = accounts.create_token(
            session, user=user, name=args.label or "api", actor="command line"
        )
    print(f"API token for {args.name} (shown once; keep it secret):", file=sys.stderr)
    print(token)  # the last line of output: scripts take it from here
    return 0


def cmd_tokens_revoke(args: argparse.Namespace) -> int:
    with transaction(_engine(args), write=True) as session:
        accounts.revoke_token(session, token_id=args.id, actor="command line")
    print(f"Token {args.id} revoked.")
    return 0


def cmd_members_remove(args: argparse.Namespace) -> int:
    with transaction(_engine(args), write=True) as session:
        user = accounts.find_user(session, username=args.user)
        project = projects.get(session, project_id=args.project_id, viewer=CURATOR)
        accounts.remove_member(session, project_id=args.project_id, user=user, actor="command line")
        print(f"{user.username} is no longer a member of {project.name}.")
    return 0


def cmd_members_list(args: argparse.Namespace) -> int:
    with transaction(_engine(args)) as session:
        projects.get(session, project_id=args.project_id, viewer=CURATOR)
        for user in accounts.list_members(session, project_id=args.project_id):
            print(f"{user.username}\t{user.role}")
    return 0


def cmd_members_add(args: argparse.Namespace) -> int:
    with transaction(_engine(args), write=True) as session:
        user = accounts.find_user(session, username=args.user)
        project = projects.get(session, project_id=args.project_id, viewer=CURATOR)
        assert project.id is not None
        accounts.add_member(session, project_id=project.id, user=user, actor="command line")
        print(f"{user.username} is a member of {project.name}.")
    return 0


Handler = Callable[[argparse.Namespace], int]


def guarded(handler: Handler) -> Handler:
    """Domain errors become a one-line message and exit status 2."""

    def run(args: argparse.Namespace) -> int:
        try:
            return int(handler(args))
        except DomainError as exc:
            print(exc.message, file=sys.stderr)
            return 2

    return run


def add_parsers(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    roles = [r.value for r in Role]
    users = sub.add_parser("users", help="manage users").add_subparsers(dest="users", required=True)
    add = users.add_parser("add", parents=[common], help="add a user (password from stdin)")
    add.add_argument("name")
    add.add_argument("--role", choices=roles, default=Role.CONTRIBUTOR.value)
    add.add_argument(
        "--no-password",
        action="store_true",
        help="no password: the user signs in only through single sign-on (OpenID Connect)",
    )
    add.add_argument(
        "--person", help="the person in the people directory the user is (default: a new one)"
    )
    add.set_defaults(func=guarded(cmd_users_add))
    link = users.add_parser(
        "link", parents=[common], help="make a user a person already in the people directory"
    )
    link.add_argument("name")
    link.add_argument("person", help="the person's name in the directory")
    link.set_defaults(func=guarded(cmd_users_link))
    listing = users.add_parser("list", parents=[common], help="list users")
    listing.set_defaults(func=guarded(cmd_users_list))
    role = users.add_parser("set-role", parents=[common], help="change a user's role")
    role.add_argument("name")
    role.add_argument("role", choices=roles)
    role.set_defaults(func=guarded(cmd_users_role))
    for verb, what in (
        ("disable", "stop a user signing in, ending their sessions"),
        ("enable", "let a disabled user sign in again"),
    ):
        toggle = users.add_parser(verb, parents=[common], help=what)
        toggle.add_argument("name")
        toggle.set_defaults(func=guarded(cmd_users_active))

    tokens = sub.add_parser("tokens", help="manage API tokens").add_subparsers(
        dest="tokens", required=True
    )
    create = tokens.add_parser("create", parents=[common], help="make an API token for a user")
    create.add_argument("name", help="the user the token acts as")
    create.add_argument("--label", help="what the token is for")
    create.set_defaults(func=guarded(cmd_tokens_create))
    revoke = tokens.add_parser("revoke", parents=[common], help="revoke a token by id")
    revoke.add_argument("id", type=int)
    revoke.set_defaults(func=guarded(cmd_tokens_revoke))

    members = sub.add_parser("members", help="project membership").add_subparsers(
        dest="members", required=True
    )
    member = members.add_parser(
        "add", parents=[common], help="let a user see a project's restricted lessons"
    )
    member.add_argument("project_id", type=int)
    member.add_argument("user")
    member.set_defaults(func=guarded(cmd_members_add))
    unmember = members.add_parser(
        "remove", parents=[common], help="stop a user seeing a project's restricted lessons"
    )
    unmember.add_argument("project_id", type=int)
    unmember.add_argument("user")
    unmember.set_defaults(func=guarded(cmd_members_remove))
    listing = members.add_parser("list", parents=[common], help="a project's members")
    listing.add_argument("project_id", type=int)
    listing.set_defaults(func=guarded(cmd_members_list))
