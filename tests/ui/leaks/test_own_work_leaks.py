"""A person's own work — "my actions" (and their daily digest) — holds only what they may
see: casey owns an action on a restricted lesson of the secret project and one on a public
lesson; her own lists name the second and nothing of the first."""

from __future__ import annotations

import html

from tests.conftest import Client
from tests.ui.leaks.bank import MARK_RESTRICTED, SECRET_WORDS, Bank


def test_my_actions_hold_my_visible_action_and_nothing_of_my_hidden_one(
    casey: Client, bank: Bank
) -> None:
    hidden, _ = bank.actions["restricted_spares"]
    shown, _ = bank.actions["public_twin"]
    mine = casey.get("/api/actions/mine")
    page = casey.get("/actions/mine")
    assert [a["what"] for a in mine.json()["results"]] == [shown]
    assert html.escape(shown) in page.text
    for body in (mine.text, page.text):
        assert hidden not in body and html.escape(hidden) not in body
        assert MARK_RESTRICTED not in body.lower()
        assert not [word for word in SECRET_WORDS if word.lower() in body.lower()]
