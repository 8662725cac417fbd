"""lessons/handovers/service.py: what the digest asks of handovers (those awaiting a user)."""

from __future__ import annotations

from sqlmodel import Session

from lessons.accounts import users as accounts
from lessons.handovers import service as handovers
from lessons.storage.db import make_engine
from lessons.storage.settings import Settings
from tests.conftest import Client
from tests.ui.handover_support import add_user, handover_payload


def test_awaiting_lists_unacknowledged_handovers_of_the_successor_only(
    client: Client, settings: Settings
) -> None:
    sam = add_user(settings.database_url, "sam")
    first = client.post("/api/reviews", json=handover_payload()).json()["id"]
    second = client.post("/api/reviews", json=handover_payload(held_on="2025-08-01")).json()["id"]
    assert client.post(f"/api/reviews/{first}/acknowledge", headers=sam).status_code == 200
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            sam_id = accounts.find_user(session, username="sam").id
            casey_id = accounts.find_user(session, username="casey").id
            assert sam_id is not None and casey_id is not None
            assert [r.id for r in handovers.awaiting(session, user_id=sam_id)] == [second]
            assert handovers.awaiting(session, user_id=casey_id) == []
    finally:
        engine.dispose()
