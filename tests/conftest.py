"""Shared fixtures: a real SQLite file per test, the app over real HTTP (TestClient), and the
real shipped model for tests of retrieval behaviour (loaded once per session)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.testclient import TestClient

from data import DEMO_BANK
from lessons.db import make_engine, migrate
from lessons.seed import read_bank
from lessons.settings import Settings
from retrieval.embedder import HashingEmbedder, SentenceTransformerEmbedder, load_embedder
from ui.app import create_app


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty database at the newest schema, made once by the real migrations; each test
    gets its own copy (a real file of its own, without paying for every migration again)."""
    path = tmp_path_factory.mktemp("template") / "lessonbank.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture
def settings(tmp_path: Path, migrated_template: Path) -> Settings:
    """Settings for a fresh SQLite file, the fast hashing embedder and no demo bank."""
    shutil.copyfile(migrated_template, tmp_path / "lessonbank.db")
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'lessonbank.db'}",
        embedding_model="hashing",
        load_demo=False,
    )


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings.database_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The whole app over HTTP on an empty bank, with the hashing embedder."""
    with TestClient(create_app(settings, embedder=HashingEmbedder())) as client:
        yield client


@pytest.fixture(scope="session")
def demo_bank() -> dict[str, Any]:
    return read_bank(DEMO_BANK)


@pytest.fixture
def demo_client(settings: Settings) -> Iterator[TestClient]:
    """The app over HTTP with the demo bank loaded (hashing embedder)."""
    demo = settings.model_copy(update={"load_demo": True})
    with TestClient(create_app(demo, embedder=HashingEmbedder())) as client:
        yield client


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
