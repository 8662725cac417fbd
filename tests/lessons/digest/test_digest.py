"""The daily digest (issue 14 item 5): `lessonbank digest` sends each person with an address
and an active account their actions due or overdue, through a real SMTP server on 127.0.0.1
(aiosmtpd), once a day; --dry-run prints; nothing restricted reaches someone who may not see
it; the preview page shows one's own digest (administrators anyone's)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from bs4 import BeautifulSoup
from sqlalchemy import Engine
from sqlmodel import Session, select

from lessons.digest import deliveries
from lessons.digest import run as digests
from lessons.people import service as people
from lessons.storage.db import transaction
from lessons.storage.models import DigestDelivery, Person
from lessons.storage.settings import Settings
from tests.conftest import Client, run_cli
from tests.smtp_server import Mailbox

TODAY = date.today()
OVERDUE = (TODAY - timedelta(days=12)).isoformat()
SOON = (TODAY + timedelta(days=2)).isoformat()
LATER = (TODAY + timedelta(days=40)).isoformat()
SECRET = "Ocelotsecret: re-key the enclosure locks"
HOSTILE = 'Fix <b>the</b> pump & check "seals"'
CASEY, KIM, TOM = "casey@example.org", "kim@example.org", "tom.reyes@example.org"


def _addresses(engine: Engine) -> None:
    with transaction(engine) as session:
        for name, email in (("casey", CASEY), ("kim", KIM), ("Tom Reyes", TOM)):
            person = people.named(session, name=name)
            assert person is not None
            people.set_email(session, person=person, email=email)


def _bank(client: Client, engine: Engine) -> None:
    """casey owns an overdue action, one due soon, one due later and one on a restricted
    lesson of a project she is not in; kim owns one overdue; Tom Reyes (no account) too."""
    _addresses(engine)
    made = client.post(
        "/api/reviews",
        json={
            "kind": "aar",
            "project": {"name": "Water points"},
            "answers": {"planned": "Fix 40 pumps."},
            "lessons": [{"title": "Spare parts ran out"}],
            "actions": [
                {"what": HOSTILE, "owner": "casey", "due": OVERDUE, "lesson_index": 0},
                {"what": "Train caretakers", "owner": "casey", "due": SOON},
                {"what": "Map the pumps", "owner": "casey", "due": LATER},
                {"what": "Order seals", "owner": "kim", "due": OVERDUE},
                {"what": "Call the supplier", "owner": "Tom Reyes", "due": OVERDUE},
            ],
        },
    )
    assert made.status_code == 201, made.text
    secret = client.post(
        "/api/reviews",
        json={
            "kind": "aar",
            "project": {"name": "Ocelot enclosure"},
            "answers": {"planned": "Rebuild it."},
            "lessons": [{"title": "Ocelotlesson: lock the gate", "sensitivity": "restricted"}],
            "actions": [{"what": SECRET, "owner": "casey", "due": OVERDUE, "lesson_index": 0}],
        },
        headers=client.curator,
    )
    assert secret.status_code == 201, secret.text


def _send(settings: Settings, box: Mailbox, *args: str, **env: str) -> Any:
    return run_cli("digest", "--database-url", settings.database_url, *args, env=box.env(**env))


def test_digests_go_through_smtp_to_each_person_with_only_what_they_may_see(
    client: Client, engine: Engine, settings: Settings, smtp_server: Mailbox
) -> None:
    _bank(client, engine)
    done = _send(settings, smtp_server)
    assert done.returncode == 0, done.stderr
    assert "2 sent" in done.stdout
    assert sorted(r for d in smtp_server.delivered for r in d.recipients) == [CASEY, KIM]
    (casey,) = smtp_server.to(CASEY)
    assert casey.sender == "lessonbank@example.org"
    mail = casey.message
    assert mail["To"] == CASEY and mail["From"] == "Lessonbank <lessonbank@example.org>"
    assert mail["Subject"] == f"Lessonbank digest, {TODAY.isoformat()}: 1 overdue, 1 due soon"
    assert mail["Auto-Submitted"] == "auto-generated"
    text, html = casey.part("plain"), casey.part("html")
    assert "Your actions due or overdue" in text and "Your actions due or overdue" in html
    assert text.index(HOSTILE) < text.index("Train caretakers")  # overdue first
    assert "[OVERDUE]" in text and "https://lessons.example.org/actions/mine#action-" in text
    assert "Map the pumps" not in text + html  # due beyond the digest's week
    assert "Fix &lt;b&gt;the&lt;/b&gt; pump &amp; check" in html and "<b>the</b>" not in html
    for body in (text, html, str(mail["Subject"])):
        assert "Ocelot" not in body and "ocelot" not in body.lower()
    (kim,) = smtp_server.to(KIM)
    assert "Order seals" in kim.part("plain") and HOSTILE not in kim.part("plain")


def test_a_second_run_the_same_day_sends_nothing_again(
    client: Client, engine: Engine, settings: Settings, smtp_server: Mailbox
) -> None:
    _bank(client, engine)
    assert _send(settings, smtp_server).returncode == 0
    again = _send(settings, smtp_server)
    assert again.returncode == 0 and "0 sent, 2 already sent today" in again.stdout
    assert len(smtp_server.delivered) == 2
    with Session(engine) as session:
        rows = session.exec(select(DigestDelivery)).all()
    assert sorted((r.address, r.status, r.day) for r in rows) == [
        (CASEY, "sent", TODAY),
        (KIM, "sent", TODAY),
    ]


def test_a_refused_message_is_sent_by_the_next_run(
    client: Client, engine: Engine, settings: Settings, smtp_server: Mailbox
) -> None:
    _bank(client, engine)
    smtp_server.refusals.append("451 Try again later")
    first = _send(settings, smtp_server)
    assert first.returncode == 1 and "451" in first.stderr
    assert smtp_server.delivered == []  # the server refused; the run stopped there
    second = _send(settings, smtp_server)
    assert second.returncode == 0 and "2 sent" in second.stdout
    assert sorted(r for d in smtp_server.delivered for r in d.recipients) == [CASEY, KIM]


def test_starttls_is_required_unless_turned_off(
    client: Client, engine: Engine, settings: Settings, smtp_server: Mailbox
) -> None:
    """The default security is STARTTLS: a server that cannot upgrade gets nothing (the
    digest is not sent in the clear), and the next run tries again."""
    _bank(client, engine)
    refused = _send(settings, smtp_server, LESSONBANK_SMTP_SECURITY="starttls")
    assert refused.returncode == 1 and "STARTTLS" in refused.stderr
    assert smtp_server.delivered == []
    with Session(engine) as session:
        assert session.exec(select(DigestDelivery)).all() == []
    password = _send(
        settings, smtp_server, LESSONBANK_SMTP_USERNAME="lb", LESSONBANK_SMTP_PASSWORD="pw"
    )
    assert password.returncode == 2 and "never sent unencrypted" in password.stderr


def test_dry_run_prints_the_digests_and_sends_and_records_nothing(
    client: Client, engine: Engine, settings: Settings, smtp_server: Mailbox
) -> None:
    _bank(client, engine)
    shown = _send(settings, smtp_server, "--dry-run")
    assert shown.returncode == 0, shown.stderr
    assert f"To: casey <{CASEY}>" in shown.stdout and f"To: kim <{KIM}>" in shown.stdout
    assert HOSTILE in shown.stdout and "Ocelot" not in shown.stdout
    assert TOM not in shown.stdout  # no account: no digest
    assert "2 digests shown, none sent" in shown.stdout
    assert smtp_server.delivered == []
    with Session(engine) as session:
        assert session.exec(select(DigestDelivery)).all() == []
    only = _send(settings, smtp_server, "--dry-run", "--person", "kim")
    assert f"To: kim <{KIM}>" in only.stdout and CASEY not in only.stdout


def test_mail_is_off_without_a_host(client: Client, engine: Engine, settings: Settings) -> None:
    _bank(client, engine)
    off = run_cli("digest", "--database-url", settings.database_url)
    assert off.returncode == 0 and "mail is off" in off.stderr and off.stdout == ""


def test_a_disabled_account_or_no_address_gets_no_digest(
    client: Client, engine: Engine, settings: Settings
) -> None:
    _bank(client, engine)
    disabled = run_cli("users", "disable", "kim", "--database-url", settings.database_url)
    assert disabled.returncode == 0
    with transaction(engine) as session:
        casey = people.named(session, name="casey")
        assert casey is not None
        people.set_email(session, person=casey, email="")
    shown: list[str] = []
    report = digests.run(engine, settings, today=TODAY, dry_run=True, show=shown.append)
    assert shown == [] and report.printed == 0


# --- the preview page ----------------------------------------------------------------------------


def test_the_preview_shows_my_own_digest(client: Client, engine: Engine) -> None:
    _bank(client, engine)
    page = BeautifulSoup(client.get("/digest").text, "html.parser")
    section = page.find(id="digest-actions")
    assert section is not None
    items = [li.get_text(" ", strip=True) for li in section.find_all("li")]
    assert [i.split(" Overdue")[0].split(" due ")[0] for i in items][:1] == [HOSTILE]
    assert len(items) == 2 and "Train caretakers" in items[1]
    assert CASEY in page.get_text() and "Ocelot" not in page.get_text()
    assert "1 overdue, 1 due soon" in page.get_text()


def test_only_administrators_preview_someone_elses_digest(client: Client, engine: Engine) -> None:
    _bank(client, engine)
    with Session(engine) as session:
        ids = {p.name: p.id for p in session.exec(select(Person))}
    assert client.get(f"/digest?person_id={ids['kim']}").status_code == 403
    assert client.get("/digest?person_id=987654").status_code == 403  # alike: nothing told
    assert client.get(f"/digest?person_id={ids['casey']}").status_code == 200
    seen = client.get(f"/digest?person_id={ids['casey']}", headers=client.admin)
    assert seen.status_code == 200
    text = BeautifulSoup(seen.text, "html.parser").get_text()
    assert "casey\u2019s daily digest" in text and HOSTILE in text
    assert "Ocelot" not in text  # casey's digest: what casey may see, even shown to an admin
    missing = client.get("/digest?person_id=987654", headers=client.admin)
    assert missing.status_code == 404
    tom = client.get(f"/digest?person_id={ids['Tom Reyes']}", headers=client.admin)
    assert "has no active account, so no digest is sent" in tom.text


def test_a_day_is_claimed_once_per_person(engine: Engine) -> None:
    """Two runs racing for the same digest: the second claim fails, and a released claim
    (a failed send) can be claimed again."""
    with transaction(engine) as session:
        casey = people.named(session, name="casey")
        assert casey is not None and casey.id is not None
        person_id = casey.id
    for expected in (True, False):
        with transaction(engine, write=True) as session:
            got = deliveries.claim(session, person_id=person_id, day=TODAY, address=CASEY)
        assert got is expected
    with transaction(engine, write=True) as session:
        deliveries.release(session, person_id=person_id, day=TODAY)
    with transaction(engine, write=True) as session:
        assert deliveries.claim(session, person_id=person_id, day=TODAY, address=CASEY)
        deliveries.confirm(session, person_id=person_id, day=TODAY)
    with transaction(engine, write=True) as session:
        deliveries.release(session, person_id=person_id, day=TODAY)  # a sent one stays
        assert not deliveries.claim(session, person_id=person_id, day=TODAY, address=CASEY)


def test_an_address_that_is_not_plain_gets_no_digest(
    client: Client, engine: Engine, settings: Settings
) -> None:
    """Only an import could store one (the directory refuses it): it never reaches a header."""
    _bank(client, engine)
    with transaction(engine) as session:
        casey = people.named(session, name="casey")
        assert casey is not None
        casey.email = "casey@example.org\nBcc: all@example.org"
        session.add(casey)
    shown: list[str] = []
    digests.run(engine, settings, today=TODAY, dry_run=True, show=shown.append)
    assert [s.split("\n", 1)[0] for s in shown] == [f"To: kim <{KIM}>"]
