"""The actions page (ui/pages/actions.py): one tab per status."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.ui.pages.helpers import context, demo_action_statuses, rendered


@pytest.mark.parametrize("tab", ["open", "done", "dropped", "all"])
def test_actions_page_each_tab_lists_its_actions(
    demo_client: TestClient, demo_bank: dict[str, Any], tab: str
) -> None:
    response = demo_client.get(f"/actions?status={tab}")
    page = rendered(response, "actions.html")
    ctx = context(response)
    assert ctx["filters"]["status"] == tab
    statuses = demo_action_statuses(demo_bank)
    expected = len(statuses) if tab == "all" else statuses.count(tab)
    assert expected > 0
    assert len(ctx["actions"]) == expected
    if tab != "all":
        assert {a.status for a in ctx["actions"]} == {tab}
    assert len(page.select("tbody tr")) == expected
    current = page.select("#f-status option[selected]")
    assert [o["value"] for o in current] == [tab]


def test_actions_page_defaults_to_open(demo_client: TestClient) -> None:
    response = demo_client.get("/actions")
    rendered(response, "actions.html")
    assert context(response)["filters"]["status"] == "open"
    assert {a.status for a in context(response)["actions"]} == {"open"}


def test_actions_page_empty_tab_says_so(client: TestClient) -> None:
    page = rendered(client.get("/actions?status=done"), "actions.html")
    assert "No actions match." in page.get_text()
