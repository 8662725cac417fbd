"""Peer-assist requests reach the person asked: in their digest (the ask, who asked, by when;
not the BAR's brief, which they may not see) and on their own profile, where they record what
came of it; then the digest no longer lists it."""

from __future__ import annotations

from datetime import date, timedelta

from bs4 import BeautifulSoup
from sqlalchemy import Engine

from lessons.people import service as people
from lessons.storage.db import transaction
from tests.conftest import Client

BRIEF = "Jaguarbrief: rebuild the enclosure before the rains"
ASK = "Which supplier delivered the fridges on time?"


def test_a_request_reaches_the_person_asked_who_answers_it_from_their_profile(
    client: Client, engine: Engine
) -> None:
    with transaction(engine) as session:
        casey = people.named(session, name="casey")
        assert casey is not None
        people.set_email(session, person=casey, email="casey@example.org")
        casey_id = casey.id
    # Curator kim's BAR for no project: casey may not read it.
    bar = client.post("/api/bar", json={"brief": BRIEF}, headers=client.curator).json()
    late = (date.today() - timedelta(days=3)).isoformat()
    made = client.post(
        f"/api/bar/{bar['id']}/peer-assists",
        json={"person_id": casey_id, "ask": ASK, "ask_by": late},
        headers=client.curator,
    )
    assert made.status_code == 201, made.text
    assert client.get(f"/bar/{bar['id']}").status_code == 404
    preview = BeautifulSoup(client.get("/digest").text, "html.parser")
    section = preview.find(id="digest-peer_assists")
    assert section is not None, preview.get_text()[:500]
    text = section.get_text(" ", strip=True)
    assert ASK in text and "asked by kim" in text and late in text
    assert "Jaguarbrief" not in preview.get_text()
    profile = client.get(f"/people/{casey_id}")
    assert ASK in profile.text and "Jaguarbrief" not in profile.text
    [asked] = client.get(f"/api/people/{casey_id}").json()["asked"]
    refused = client.post(
        f"/peer-assists/{asked['id']}/outcome", data={"outcome": " ", "from": "profile"}
    )
    assert refused.status_code == 422 and "say what came of it" in refused.text
    done = client.post(
        f"/peer-assists/{asked['id']}/outcome",
        data={"outcome": "Told them: the regional depot.", "from": "profile"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == f"/people/{casey_id}#asked"
    after = BeautifulSoup(client.get("/digest").text, "html.parser")
    assert ASK not in after.get_text()
    kims_view = client.get(f"/api/bar/{bar['id']}", headers=client.curator).json()
    assert kims_view["peer_assists"][0]["outcome"] == "Told them: the regional depot."
