"""The filter is membership, not 'hide everything restricted': a member sees the secret
project's lessons."""

from __future__ import annotations

import html
import re

from lessons.accounts import users as accounts
from lessons.storage.db import make_engine, transaction
from lessons.storage.settings import Settings
from tests.conftest import Client, app_client
from tests.ui.leaks.bank import BY_KEY, MARK_RESTRICTED, QUERY_WORDS, SECRET_TAG, TRUSTED, Bank
from tests.ui.leaks.detect import expected_count


def test_project_member_sees_the_restricted_lessons(
    client: Client, settings: Settings, fresh_bank: Bank
) -> None:
    """The same requests, once casey is a member, do show the restricted lessons: the filter
    is membership, not 'hide everything restricted'."""
    engine = make_engine(settings.database_url)
    try:
        with transaction(engine) as session:
            user = accounts.find_user(session, username="casey")
            accounts.add_member(
                session, project_id=fresh_bank.projects["secret"], user=user, actor="kim"
            )
    finally:
        engine.dispose()
    restricted = fresh_bank.lessons["restricted"]
    for member in app_client(settings):
        for url in (f"/api/lessons/{restricted}", f"/lessons/{restricted}"):
            shown = member.get(url)
            assert shown.status_code == 200, url
            assert BY_KEY["restricted"].title in shown.text
        found = member.get(f"/api/lessons?q={MARK_RESTRICTED}&limit=50").json()
        assert restricted in {r["id"] for r in found["results"]}
        tagged = member.get(f"/api/lessons?tag={SECRET_TAG}").json()
        assert tagged["total"] == 2  # both validated restricted lessons; the pending one is not
        twin = fresh_bank.lessons["public_twin"]
        similar = member.get(f"/api/lessons/{twin}/similar").json()["results"]
        assert similar[0]["id"] == restricted
        bar = member.post("/api/bar", json={"brief": f"{MARK_RESTRICTED} {QUERY_WORDS}"})
        assert restricted in {r["id"] for r in bar.json()["results"]}
        actions = member.get("/actions?status=open").text
        assert fresh_bank.actions["restricted"][0] in html.unescape(actions)
        home = re.search(r"(\d+) lessons from", member.get("/").text)
        assert home and int(home.group(1)) == expected_count("casey-session", statuses=TRUSTED) + 2
        # Still not the pending one, and never the deleted one.
        assert member.get(f"/api/lessons/{fresh_bank.lessons['public_deleted']}").status_code == 404
