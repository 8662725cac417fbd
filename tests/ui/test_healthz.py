"""/healthz, over real HTTP against a real SQLite file."""

from __future__ import annotations

from starlette.testclient import TestClient

from lessons.storage.settings import Settings
from retrieval.embedder import HashingEmbedder
from tests.ui.api.helpers import get_json, post_review
from ui.app import create_app

# --- /healthz ------------------------------------------------------------------------------


def test_healthz_ready_reports_ok_without_counts(client: TestClient) -> None:
    restricted = {"title": "A restricted lesson", "sensitivity": "restricted"}
    post_review(client, lessons=[restricted], actions=[])
    # Open to anyone, so it must not reveal how many lessons (of any sensitivity) exist.
    assert get_json(client, "/healthz") == {"status": "ok", "model": "hashing"}


def test_healthz_before_startup_is_503(settings: Settings) -> None:
    # Without the lifespan the app cannot answer searches yet.
    client = TestClient(create_app(settings, embedder=HashingEmbedder()))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "starting"}
