"""Shared by the handover tests (API, pages, leaks): another account to hand over to, and a
handover's body."""

from __future__ import annotations

from typing import Any

from lessons.accounts import users as accounts
from lessons.storage.db import make_engine, transaction
from lessons.storage.models import Role
from tests.conftest import PASSWORD


def add_user(database_url: str, username: str, role: Role = Role.CONTRIBUTOR) -> dict[str, str]:
    """A new account (with the tests' password: cheap under the tests' argon2 settings) and
    its bearer header."""
    engine = make_engine(database_url)
    try:
        with transaction(engine, write=True) as session:
            user = accounts.create_user(
                session, username=username, password=PASSWORD, role=role, actor="test"
            )
            token = accounts.create_token(session, user=user, name="test", actor="test")
    finally:
        engine.dispose()
    return {"Authorization": f"Bearer {token}"}


def handover_payload(**overrides: Any) -> dict[str, Any]:
    """A valid handover for POST /api/reviews, from casey to sam."""
    payload: dict[str, Any] = {
        "kind": "handover",
        "project": {"name": "District cold chain", "unit": "Public Health"},
        "held_on": "2025-07-01",
        "role": "Cold chain logistics lead",
        "successor": {"username": "sam"},
        "answers": {
            "role": "Keeps vaccine fridges running across the district.",
            "where_things_are": "Fridge logs are in the shared drive, folder Cold chain/Logs.",
            "risks": "Two fridges at Kamuli are past their service date.",
        },
        "work_in_flight": [
            {"what": "Replace Kamuli fridges", "status": "quotes in", "next_step": "order"},
        ],
        "contacts": [{"name": "Tom Reyes", "why": "Runs the Kamuli store"}],
        "actions": [{"what": "Service the Kamuli fridges", "owner": "casey", "due": "2031-01-31"}],
    }
    payload.update(overrides)
    return payload
