"""The 404 page for any path the app does not serve."""

from __future__ import annotations

import pytest
from bs4 import Tag
from starlette.testclient import TestClient

from tests.ui.pages.helpers import rendered

# --- the 404 page --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/nothing-here", "/lessons/abc", "/projects/1/extra", "/reviews/-1", "/bar/x"]
)
def test_unknown_page_is_404_error_page(client: TestClient, url: str) -> None:
    page = rendered(client.get(url), "error.html", 404)
    h1 = page.find("h1")
    assert isinstance(h1, Tag)
    assert h1.get_text() == "Not found"
    assert page.find("a", href="/") is not None
