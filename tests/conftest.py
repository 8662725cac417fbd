"""Shared fixtures: a real SQLite file per test, the app over real HTTP (TestClient), and the
real shipped model for tests of retrieval behaviour (loaded once per session)."""

from __future__ import annotations

import contextlib
import functools
import io
import os
import subprocess
import sys
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.testclient import TestClient

import ui.app
from data import DEMO_BANK
from lessons.accounts import users as accounts
from lessons.imports.seed import read_bank
from lessons.people import service as people
from lessons.storage.db import make_engine, migrate, transaction
from lessons.storage.models import Role
from lessons.storage.settings import Settings
from retrieval.embedder import Embedder, HashingEmbedder, SentenceTransformerEmbedder, load_embedder
from tests import contract
from tests.databases import (
    BACKENDS,
    CURRENT,
    Databases,
    PostgreSQLServer,
    SQLiteFiles,
    databases,
)
from tests.pg_support import pg_bank_url, pg_template  # noqa: F401  (PostgreSQL fixtures)
from tests.postgres import pg_server  # noqa: F401
from ui.app import create_app, prepare
from ui.cli.main import main as cli_main

# The suite's clients send many searches and BARs a minute (the leak sweep, the fuzzer, the
# scripts' smoke tests): rate limits are off unless a test sets them (tests/ui/test_throttle.py).
os.environ.setdefault("LESSONBANK_RATE_LIMIT_SEARCH", "")
os.environ.setdefault("LESSONBANK_RATE_LIMIT_BAR", "")
# Argon2 at its cheapest (argon2.profiles.CHEAPEST): a sign-in costs microseconds instead of a
# quarter second, and the suite signs in hundreds of times. Production keeps RFC 9106's profile
# (tests/ui/test_auth.py holds the defaults).
os.environ.setdefault("LESSONBANK_PASSWORD_TIME_COST", "1")
os.environ.setdefault("LESSONBANK_PASSWORD_MEMORY_KIB", "8")
os.environ.setdefault("LESSONBANK_PASSWORD_PARALLELISM", "1")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend",
        choices=BACKENDS,
        default="sqlite",
        help="the database every test runs on: SQLite files (default) or a real PostgreSQL "
        "server started for the session (tests/databases.py)",
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("backend") == "postgresql":
        # psycopg warns when a connection is garbage-collected unclosed (an engine dropped
        # without dispose(), its pooled connections with it); sqlite3 does not on this
        # Python, so the suite never had to dispose every engine it makes. Not an error here.
        unclosed = r"<psycopg\.Connection object at .* was deleted while still open"
        config.addinivalue_line("filterwarnings", f"ignore:{unclosed}:ResourceWarning")
        warnings.filterwarnings("ignore", unclosed, ResourceWarning)  # at exit, after the tests


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("backend") != "postgresql":
        return
    for item in items:
        for marker in item.iter_markers("sqlite_only"):
            item.add_marker(pytest.mark.skip(reason=f"about SQLite itself: {marker.args[0]}"))


@pytest.fixture(scope="session", autouse=True)
def database_backend(request: pytest.FixtureRequest) -> Iterator[Databases]:
    """The backend --backend selects; on PostgreSQL one server for this test process."""
    if request.config.getoption("backend") != "postgresql":
        yield CURRENT.databases
        return
    server = PostgreSQLServer()
    CURRENT.databases = server
    try:
        yield server
    finally:
        CURRENT.databases = SQLiteFiles()
        server.stop()


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """An empty database at the newest schema, made once by the real migrations; each test
    gets its own copy (a real database of its own, without paying for every migration again)."""
    url = databases().empty(tmp_path_factory.mktemp("template"), "template")
    engine = make_engine(url)
    migrate(engine)
    TOKENS.update(make_users(engine))
    engine.dispose()
    databases().seal(url)
    return url


@pytest.fixture(scope="session", autouse=True)
def compiled_templates() -> Iterator[None]:
    """Every app in the session shares one Jinja environment. Each app would otherwise compile
    every template it renders again (about 50 ms each); the templates are files a run does not
    change, and the environment holds only constants (ui/filters.install)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ui.app, "templates", functools.cache(ui.app.templates))
        yield


@pytest.fixture
def settings(tmp_path: Path, migrated_template: str) -> Iterator[Settings]:
    """Settings for a fresh database of its own, the fast hashing embedder and no demo bank."""
    url = databases().copy(migrated_template, tmp_path)
    yield settings_for(url)
    databases().drop(url)


def settings_for(database_url: str) -> Settings:
    """Settings for tests on `database_url`: the hashing embedder, no demo bank."""
    return Settings(
        database_url=database_url,
        embedding_model="hashing",
        load_demo=False,
        secret_key="test-secret-key",
    )


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings.database_url)  # a copy of the template: already migrated
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


PASSWORD = "correct horse battery staple"
USERS = {"casey": Role.CONTRIBUTOR, "kim": Role.CURATOR, "ada": Role.ADMIN}


class Client(TestClient):
    """A browser-like client: it sends the CSRF token back as a browser form would (field for
    forms, header otherwise) whenever it holds the cookie. `curator` and `admin` are bearer
    headers for steps a contributor may not take."""

    curator: dict[str, str]
    admin: dict[str, str]

    def request(self, method: str, url: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        token = self.cookies.get("csrftoken")
        if token and method.upper() not in ("GET", "HEAD", "OPTIONS"):
            data = kwargs.get("data")
            if isinstance(data, dict) and "csrftoken" not in data:
                kwargs["data"] = {**data, "csrftoken": token}
            headers = dict(kwargs.get("headers") or {})
            headers.setdefault("x-csrftoken", token)
            kwargs["headers"] = headers
        response = super().request(method, url, **kwargs)
        contract.check(response)  # every API answer as its response model declares
        return response


# Bearer tokens of the template's accounts (every test database is a copy, so they hold).
TOKENS: dict[str, str] = {}


# People in every test database's directory besides the accounts' own: action owners are
# chosen from the directory (review_payload's action is Tom Reyes's).
DIRECTORY = ("Tom Reyes", "Ana Lima", "Ines Moreau")


def add_people(database: str | TestClient, *names: str) -> None:
    """Add these names to the people directory of the database (its URL, or the app of a
    running client), as an administrator would before they own actions."""
    if isinstance(database, TestClient):
        add_people_with(database.app.state.lessonbank.engine, names)  # type: ignore[attr-defined]
        return
    engine = make_engine(database)
    try:
        add_people_with(engine, names)
    finally:
        engine.dispose()


def add_people_with(engine: Engine, names: Sequence[str]) -> None:
    with transaction(engine) as session:
        for name in names:
            people.add_to_directory(session, name=name)


def make_users(engine: Engine) -> dict[str, str]:
    """Real accounts, one per role, and a bearer token for each (argon2 is slow on purpose:
    made once, in the template); and the directory's other people."""
    tokens = {}
    add_people_with(engine, DIRECTORY)
    with transaction(engine) as session:
        for name, role in USERS.items():
            user = accounts.create_user(
                session, username=name, password=PASSWORD, role=role, actor="test"
            )
            tokens[name] = accounts.create_token(session, user=user, name="test", actor="test")
    return tokens


def sign_in(client: TestClient, username: str) -> None:
    client.get("/login")  # sets the CSRF cookie, as a browser visiting the page would
    response = client.post(
        "/login", data={"username": username, "password": PASSWORD}, follow_redirects=False
    )
    assert response.status_code == 303, response.text


def app_client(
    settings: Settings, *, as_user: str | None = "casey", embedder: Embedder | None = None
) -> Iterator[Client]:
    """A Client on the app for `settings` (whose database is a copy of the template)."""
    tokens = TOKENS
    app = create_app(settings, embedder=embedder or HashingEmbedder())
    with Client(app, base_url="https://testserver") as client:
        client.curator = {"Authorization": f"Bearer {tokens['kim']}"}
        client.admin = {"Authorization": f"Bearer {tokens['ada']}"}
        if as_user:
            sign_in(client, as_user)
        yield client


@pytest.fixture
def client(settings: Settings) -> Iterator[Client]:
    """The whole app over HTTP on an empty bank (hashing embedder), signed in as contributor
    `casey`; `client.curator` / `client.admin` hold bearer headers for the other roles."""
    yield from app_client(settings)


@pytest.fixture
def anon_client(settings: Settings) -> Iterator[Client]:
    """The app for a visitor who has not signed in (the partner view)."""
    yield from app_client(settings, as_user=None)


@pytest.fixture(scope="session")
def demo_bank() -> dict[str, Any]:
    return read_bank(DEMO_BANK)


def demo_bank_template(directory: Path, migrated_template: str, embedder: Embedder) -> str:
    """A copy of the migrated template with the demo bank loaded and embedded by `embedder`,
    through the app's own start-up (`prepare`), as `serve` makes it on first start."""
    url = databases().copy(migrated_template, directory, "demo")
    demo = Settings(database_url=url, embedding_model=embedder.name)
    engine, _ = prepare(demo, embedder)
    engine.dispose()
    databases().seal(url)
    return url


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory, migrated_template: str) -> str:
    """The demo bank with the hashing embedder, made once: loading it costs about a second,
    and dozens of tests read it."""
    directory = tmp_path_factory.mktemp("demo-template")
    return demo_bank_template(directory, migrated_template, HashingEmbedder())


@pytest.fixture(scope="session")
def model_demo_template(
    tmp_path_factory: pytest.TempPathFactory,
    migrated_template: str,
    real_embedder: SentenceTransformerEmbedder,
) -> str:
    """The demo bank embedded by the real model, made once: embedding it costs seconds."""
    directory = tmp_path_factory.mktemp("model-demo-template")
    return demo_bank_template(directory, migrated_template, real_embedder)


def on_copy_of(template: str, settings: Settings) -> Settings:
    """`settings` on a copy of `template` with load_demo on: the app starts on a bank that
    already has projects, as a restarted demo install does, so it keeps what it finds."""
    databases().replace(settings.database_url, template)
    return settings.model_copy(update={"load_demo": True})


@pytest.fixture
def demo_settings(settings: Settings, demo_template: str) -> Settings:
    """`settings` on a copy of the demo bank (hashing embedder)."""
    return on_copy_of(demo_template, settings)


@pytest.fixture
def model_demo_settings(settings: Settings, model_demo_template: str) -> Settings:
    """`settings` on a copy of the demo bank embedded by the real model (`real_embedder`)."""
    return on_copy_of(model_demo_template, settings)


@pytest.fixture
def demo_client(demo_settings: Settings) -> Iterator[Client]:
    """The app over HTTP with the demo bank loaded (hashing embedder), signed in as `casey`."""
    yield from app_client(demo_settings)


@pytest.fixture(scope="session")
def real_embedder() -> SentenceTransformerEmbedder:
    """The shipped all-MiniLM-L6-v2, loaded offline once for every test that needs it."""
    embedder = load_embedder("all-MiniLM-L6-v2")
    assert isinstance(embedder, SentenceTransformerEmbedder)
    return embedder


def review_payload(**overrides: Any) -> dict[str, Any]:
    """A valid POST /api/reviews body; tests change one thing at a time."""
    payload: dict[str, Any] = {
        "kind": "aar",
        "project": {"name": "Measles catch-up 2025", "unit": "Public Health"},
        "author": "Amina Diallo",
        "held_on": "2025-06-30",
        "answers": {
            "planned": "Vaccinate 40,000 children in six weeks.",
            "actual": "Started three weeks late because the fridges arrived late.",
        },
        "lessons": [
            {
                "title": "Order cold-chain fridges before the campaign is approved",
                "observation": "Cold-chain fridges arrived three weeks late and the vaccination "
                "campaign started late.",
                "insight": "Procurement began only after budget approval; lead time is 12 weeks.",
                "recommendation": "Start procurement of cold-chain equipment at the draft plan.",
                "polarity": "improve",
                "perspective": "operational",
                "tags": ["procurement", "cold chain"],
                "sensitivity": "internal",
            }
        ],
        "actions": [
            {
                "what": "Add a lead-time check to the plan template",
                "owner": "Tom Reyes",
                "due": "2025-09-30",
                "lesson_index": 0,
            }
        ],
    }
    payload.update(overrides)
    return payload


def run_cli(
    *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m ui.cli.main ARGS` as a process runs it (the same main(), its environment, a piped
    stdin, its stdout, stderr and exit status) but inside the test process: a real process
    spends seconds importing torch before it starts. tests/ui/cli/test_cli.py's `serve` test still
    starts a real one, which holds the `-m ui.cli.main` entry point."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        for name, value in (env or {}).items():
            patch.setenv(name, value)
        patch.setattr(sys, "stdin", io.StringIO(stdin))  # piped: not a terminal
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli_main(list(args))
            except SystemExit as exit:  # argparse's refusals, as the interpreter reports them
                code = exit.code if isinstance(exit.code, int) else 0 if exit.code is None else 1
                if isinstance(exit.code, str):
                    print(exit.code, file=sys.stderr)
    return subprocess.CompletedProcess(["ui.cli.main", *args], code, out.getvalue(), err.getvalue())
