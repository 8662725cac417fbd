"""The BAR page's people block: people to talk to linked to their profiles, each lesson that
put them there named, and the peer-assist form (a refusal keeps what was typed)."""

from __future__ import annotations

from tests.conftest import Client, review_payload


def _bar(client: Client) -> dict:
    made = client.post("/api/reviews", json=review_payload())
    lesson_id = made.json()["lessons"][0]["id"]
    client.post(
        f"/api/lessons/{lesson_id}/transition",
        json={"to": "validated", "reason": "ok"},
        headers=client.curator,
    )
    ran = client.post("/api/bar", json={"brief": "fridges for a vaccination campaign"})
    assert ran.status_code == 201, ran.text
    return ran.json()


def test_the_people_block_links_profiles_and_records_a_peer_assist(client: Client) -> None:
    bar = _bar(client)
    amina = bar["people"][0]
    page = client.get(f"/bar/{bar['id']}").text
    assert f'<a href="/people/{amina["id"]}">Amina Diallo</a>' in page
    assert "wrote “Order cold-chain fridges before the campaign is approved”" in page
    assert 'action="/bar/{}/peer-assists"'.format(bar["id"]) in page
    refused = client.post(
        f"/bar/{bar['id']}/peer-assists",
        data={"person_id": str(amina["id"]), "ask": "", "ask_by": "2031-02-01"},
    )
    assert refused.status_code == 422
    assert f'<option value="{amina["id"]}" selected>' in refused.text
    assert 'value="2031-02-01"' in refused.text
    assert 'id="ask-error"' in refused.text
    saved = client.post(
        f"/bar/{bar['id']}/peer-assists",
        data={"person_id": str(amina["id"]), "ask": "When did you order?", "ask_by": ""},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    [request] = client.get(f"/api/bar/{bar['id']}").json()["peer_assists"]
    shown = client.get(saved.headers["location"]).text
    assert "Peer-assist request saved." in shown and "When did you order?" in shown
    empty = client.post(f"/peer-assists/{request['id']}/outcome", data={"outcome": "  "})
    assert empty.status_code == 422 and "say what came of it" in empty.text
    done = client.post(
        f"/peer-assists/{request['id']}/outcome",
        data={"outcome": "Twelve weeks ahead."},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert "Twelve weeks ahead." in client.get(f"/bar/{bar['id']}").text
