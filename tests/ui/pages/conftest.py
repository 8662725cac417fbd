"""Fixtures of the page tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from lessons.storage.settings import Settings
from tests.conftest import app_client


@pytest.fixture
def small_client(settings: Settings) -> Iterator[TestClient]:
    """The app with tight limits on the same database file as `settings`."""
    small = settings.model_copy(
        update={
            "max_title_chars": 20,
            "max_text_chars": 200,
            "max_brief_chars": 100,
            "max_request_bytes": 5000,
        }
    )
    yield from app_client(small)
