"""The people pages: find people for a topic, a profile, and editing one's own profile (the
form keeps what was typed when it is refused)."""

from __future__ import annotations

from tests.conftest import Client, review_payload


def _me(client: Client) -> int:
    listed = client.get("/api/people?limit=50").json()["results"]
    return next(p["id"] for p in listed if p["name"] == "casey")


def test_people_search_page_shows_why_and_links_to_profiles(client: Client) -> None:
    made = client.post("/api/reviews", json=review_payload())
    lesson_id = made.json()["lessons"][0]["id"]
    client.post(
        f"/api/lessons/{lesson_id}/transition",
        json={"to": "validated", "reason": "ok"},
        headers=client.curator,
    )
    page = client.get("/people?q=fridges+arrived+late").text
    assert "Amina Diallo" in page
    assert "wrote “Order cold-chain fridges before the campaign is approved”" in page
    amina = made.json()["author"]["id"]
    assert f'href="/people/{amina}"' in page
    profile = client.get(f"/people/{amina}").text
    assert "Order cold-chain fridges before the campaign is approved" in profile
    assert "Edit this profile" not in profile


def test_editing_ones_own_profile_and_a_refusal_keeps_what_was_typed(client: Client) -> None:
    me = _me(client)
    form = client.get(f"/people/{me}/edit")
    assert form.status_code == 200 and "How to reach you" in form.text
    refused = client.post(
        f"/people/{me}/edit",
        data={
            "role": "Logistics officer",
            "unit": "Supply",
            "expertise": "cold chain, " + "x" * 101,
            "bio": "I fix fridges.",
            "contact": "casey@example.org",
        },
    )
    assert refused.status_code == 422
    assert "I fix fridges." in refused.text and "casey@example.org" in refused.text
    assert "at most 100 characters" in refused.text
    saved = client.post(
        f"/people/{me}/edit",
        data={
            "role": "Logistics officer",
            "unit": "Supply",
            "expertise": "cold chain, solar fridges\nprocurement",
            "bio": "I fix fridges.",
            "contact": "casey@example.org",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303 and saved.headers["location"] == f"/people/{me}"
    profile = client.get(f"/api/people/{me}").json()
    assert profile["expertise"] == ["cold chain", "solar fridges", "procurement"]
    assert profile["contact"] == "casey@example.org"
    page = client.get(f"/people/{me}").text
    assert "Edit this profile" in page and "casey@example.org" in page


def test_someone_elses_profile_form_is_refused(client: Client) -> None:
    kim = next(
        p["id"] for p in client.get("/api/people?limit=50").json()["results"] if p["name"] == "kim"
    )
    assert client.get(f"/people/{kim}/edit").status_code == 403
    assert client.post(f"/people/{kim}/edit", data={"role": "x"}).status_code == 403
