"""A person's own work — "my actions" and their daily digest (preview page and the e-mail a
real SMTP server receives) — holds only what they may see: casey owns an action on a
restricted lesson of the secret project and one on a public lesson, both due on the same day;
her own lists name the second and nothing of the first."""

from __future__ import annotations

import html
from datetime import date, timedelta

import pytest

from lessons.catalogue import service as catalogue
from lessons.digest import run as digests
from lessons.people import service as people
from lessons.storage.db import make_engine, transaction
from lessons.storage.settings import Settings
from tests.conftest import Client
from tests.smtp_server import Mailbox
from tests.ui.leaks.bank import MARK_RESTRICTED, SECRET_WORDS, Bank

DUE = date(2031, 3, 31)  # every action of the leak bank is due then
CASEY = "casey@example.org"


def _clean(body: str, hidden: str) -> list[str]:
    """What of casey's hidden action, its marker or the secret project's words `body` holds."""
    lowered = body.lower()
    found = [hidden] if hidden in body or html.escape(hidden) in body else []
    found += [MARK_RESTRICTED] if MARK_RESTRICTED in lowered else []
    return found + [word for word in SECRET_WORDS if word.lower() in lowered]


def test_my_actions_hold_my_visible_action_and_nothing_of_my_hidden_one(
    casey: Client, bank: Bank
) -> None:
    hidden, _ = bank.actions["restricted_spares"]
    shown, _ = bank.actions["public_twin"]
    mine = casey.get("/api/actions/mine")
    page = casey.get("/actions/mine")
    assert [a["what"] for a in mine.json()["results"]] == [shown]
    assert html.escape(shown) in page.text
    assert _clean(mine.text, hidden) == [] and _clean(page.text, hidden) == []


@pytest.fixture
def casey_has_an_address(bank_settings: Settings, bank: Bank) -> None:
    engine = make_engine(bank_settings.database_url)
    with transaction(engine) as session:
        person = people.named(session, name="casey")
        assert person is not None
        people.set_email(session, person=person, email=CASEY)
    engine.dispose()


def test_my_digest_holds_my_visible_action_and_nothing_of_my_hidden_one(
    casey: Client,
    bank: Bank,
    bank_settings: Settings,
    casey_has_an_address: None,
    smtp_server: Mailbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hidden, _ = bank.actions["restricted_spares"]
    shown, _ = bank.actions["public_twin"]
    day = DUE - timedelta(days=2)
    monkeypatch.setattr(catalogue, "today", lambda: day)
    preview = casey.get("/digest")
    assert html.escape(shown) in preview.text
    assert _clean(preview.text, hidden) == []
    settings = bank_settings.model_copy(
        update={
            "smtp_host": smtp_server.host,
            "smtp_port": smtp_server.port,
            "smtp_security": "none",
            "smtp_sender": "lessonbank@example.org",
        }
    )
    engine = make_engine(bank_settings.database_url)
    try:
        report = digests.run(engine, settings, today=day)
    finally:
        engine.dispose()
    assert report.sent == [CASEY]
    (mail,) = smtp_server.to(CASEY)
    text, body = mail.part("plain"), mail.part("html")
    assert shown in text and html.escape(shown) in body
    assert _clean(text, hidden) == [] and _clean(body, hidden) == []
    assert _clean(str(mail.message["Subject"]), hidden) == []
    assert str(mail.message["Subject"]).endswith(": 1 due soon")  # one, not two
