"""Fixtures of the leak suite: one seeded bank per module for the tests that only read, its
viewers' clients, and a fresh bank for the tests that add to it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lessons.storage.settings import Settings
from tests.conftest import Client, app_client, settings_for
from tests.databases import databases
from tests.smtp_server import smtp_server
from tests.ui.leaks.bank import Bank, seed_bank

__all__ = ["smtp_server"]

# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bank_settings(tmp_path_factory: pytest.TempPathFactory, migrated_template: str) -> Settings:
    """One bank for every route test in this module (they only read)."""
    return settings_for(databases().copy(migrated_template, tmp_path_factory.mktemp("leaks")))


@pytest.fixture(scope="module")
def casey(bank_settings: Settings) -> Iterator[Client]:
    yield from app_client(bank_settings)


@pytest.fixture(scope="module")
def bank(casey: Client, bank_settings: Settings) -> Bank:
    return seed_bank(casey, bank_settings.database_url)


@pytest.fixture(scope="module")
def visitor(bank_settings: Settings, bank: Bank) -> Iterator[Client]:
    yield from app_client(bank_settings, as_user=None)


@pytest.fixture(scope="module")
def api(bank_settings: Settings, bank: Bank) -> Iterator[Client]:
    """A client that never signs in: casey's bearer token is its only credential."""
    yield from app_client(bank_settings, as_user=None)


@pytest.fixture(scope="module")
def clients(casey: Client, visitor: Client, api: Client, bank: Bank) -> dict[str, Client]:
    return {"anonymous": visitor, "casey-session": casey, "casey-bearer": api}


# --- BAR, similar lessons, and the member who may see --------------------------------------------


@pytest.fixture
def fresh_bank(client: Client, settings: Settings) -> Bank:
    """A bank of its own, for tests that add to it."""
    return seed_bank(client, settings.database_url)
