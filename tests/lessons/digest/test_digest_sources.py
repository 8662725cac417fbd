"""The digest's sections from handovers and communities (issue 14 item 5): a handover awaits
its successor until acknowledged and a follow-up question awaits its leaver until answered; a
follower hears of lessons newly validated in their communities; each only as the reader may
see, through a real SMTP server on 127.0.0.1."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from lessons.storage.settings import Settings
from tests.conftest import Client
from tests.lessons.digest.test_digest import CASEY, KIM, _addresses, _send
from tests.smtp_server import Mailbox
from tests.ui.handover_support import handover_payload


def _texts(box: Mailbox, address: str) -> str:
    (mail,) = box.to(address)
    return mail.part("plain")


def test_a_handover_awaits_its_successor_and_a_question_its_leaver(
    client: Client, engine: Engine, settings: Settings, smtp_server: Mailbox
) -> None:
    _addresses(engine)
    made = client.post(
        "/api/reviews",
        json=handover_payload(successor={"username": "kim"}, actions=[], contacts=[]),
    )
    assert made.status_code == 201, made.text
    review_id = made.json()["id"]
    asked = client.post(
        f"/api/reviews/{review_id}/questions",
        json={"question": "Where are the spare seals kept?"},
        headers=client.curator,
    )
    assert asked.status_code in (200, 201), asked.text
    assert _send(settings, smtp_server).returncode == 0
    kim, casey = _texts(smtp_server, KIM), _texts(smtp_server, CASEY)
    assert "Handovers awaiting you" in kim and "Cold chain logistics lead" in kim
    assert f"/reviews/{review_id}" in kim
    assert "Where are the spare seals kept?" in casey and "kim" in casey
    smtp_server.delivered.clear()
    ack = client.post(f"/api/reviews/{review_id}/acknowledge", headers=client.curator)
    assert ack.status_code == 200, ack.text


def test_followers_hear_of_new_lessons_they_may_see_in_their_communities(
    client: Client, engine: Engine, settings: Settings, smtp_server: Mailbox
) -> None:
    _addresses(engine)
    made = client.post(
        "/api/communities",
        json={"name": "Cold chain practitioners", "tags": ["cold-chain"]},
        headers=client.curator,
    )
    assert made.status_code == 201, made.text
    community = made.json()["id"]
    joined = client.post(f"/api/communities/{community}/membership", json={"member": True})
    assert joined.status_code == 200, joined.text
    lessons: dict[str, Any] = {}
    for title, sensitivity, project in (
        ("Log fridge temperatures twice a day", "internal", "Water points"),
        ("Ocelotfridge: the secret store's logs", "restricted", "Ocelot enclosure"),
    ):
        posted = client.post(
            "/api/reviews",
            json={
                "kind": "aar",
                "project": {"name": project},
                "answers": {"planned": "x"},
                "lessons": [{"title": title, "tags": ["cold-chain"], "sensitivity": sensitivity}],
            },
            headers=client.curator,
        )
        assert posted.status_code == 201, posted.text
        lesson_id = posted.json()["lessons"][0]["id"]
        moved = client.post(
            f"/api/lessons/{lesson_id}/transition",
            json={"to": "validated", "reason": "checked"},
            headers=client.curator,
        )
        assert moved.status_code == 200, moved.text
        lessons[title] = lesson_id
    assert _send(settings, smtp_server).returncode == 0
    casey = _texts(smtp_server, CASEY)
    assert "New lessons in your communities" in casey
    assert "Log fridge temperatures twice a day" in casey and "Cold chain practitioners" in casey
    assert "Ocelot" not in casey
    # kim, its facilitator and a curator, may see the restricted lesson: her digest has both
    kim = _texts(smtp_server, KIM)
    assert "Log fridge temperatures twice a day" in kim and "Ocelotfridge" in kim
