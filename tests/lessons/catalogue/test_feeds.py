"""Atom feeds of newly validated lessons: order by validation time, filtering by tag (narrower
terms included), unit and project, by what the reader may see, escaping, absolute links, and
discovery links in the pages' <head>."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

from bs4 import BeautifulSoup

from lessons.storage.settings import Settings
from tests.conftest import TOKENS, Client, app_client

ATOM = "{http://www.w3.org/2005/Atom}"


def entries(response: Any) -> list[ElementTree.Element]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/atom+xml")
    root = ElementTree.fromstring(response.content)
    assert root.tag == f"{ATOM}feed"
    return root.findall(f"{ATOM}entry")


def titles(response: Any) -> list[str]:
    return [e.findtext(f"{ATOM}title") or "" for e in entries(response)]


def review(
    client: Client, project: str, unit: str, lessons: list[dict[str, Any]], **headers: str
) -> list[int]:
    made = client.post(
        "/api/reviews",
        json={
            "kind": "aar",
            "project": {"name": project, "unit": unit},
            "answers": {"planned": "x"},
            "lessons": lessons,
        },
        headers=headers or None,
    )
    assert made.status_code == 201, made.text
    return [le["id"] for le in made.json()["lessons"]]


def validate(client: Client, lesson_id: int) -> None:
    step = client.post(
        f"/api/lessons/{lesson_id}/transition",
        json={"to": "validated", "reason": "ok"},
        headers=client.curator,
    )
    assert step.status_code == 200, step.text


def bank(client: Client) -> dict[str, int]:
    """Public, internal and restricted lessons, validated in a known order, and one left
    identified."""
    public, internal, pending = review(
        client,
        "Cold chain",
        "Health",
        [
            {"title": "Public fridge lesson", "tags": ["fridges"], "sensitivity": "public"},
            {"title": "Internal fridge lesson", "tags": ["fridges"], "sensitivity": "internal"},
            {"title": "Pending public lesson", "tags": ["fridges"], "sensitivity": "public"},
        ],
    )
    (restricted,) = review(
        client,
        "Secret",
        "Marine",
        [{"title": "Restricted fridge lesson", "tags": ["fridges"], "sensitivity": "restricted"}],
        Authorization=client.curator["Authorization"],
    )
    for lesson_id in (internal, restricted, public):  # public is validated last: newest
        validate(client, lesson_id)
    return {"public": public, "internal": internal, "restricted": restricted, "pending": pending}


def test_anonymous_readers_get_public_validated_lessons_only(
    client: Client, anon_client: Client
) -> None:
    bank(client)
    assert titles(anon_client.get("/feeds/lessons.atom")) == ["Public fridge lesson"]


def test_signed_in_and_token_readers_get_what_they_may_see_newest_validation_first(
    client: Client, anon_client: Client
) -> None:
    bank(client)
    want = ["Public fridge lesson", "Internal fridge lesson"]
    assert titles(client.get("/feeds/lessons.atom")) == want
    bearer = {"Authorization": f"Bearer {TOKENS['casey']}"}
    assert titles(anon_client.get("/feeds/lessons.atom", headers=bearer)) == want
    curator = titles(anon_client.get("/feeds/lessons.atom", headers=client.curator))
    assert curator == ["Public fridge lesson", "Restricted fridge lesson", "Internal fridge lesson"]


def test_feeds_per_tag_unit_and_project(client: Client) -> None:
    ids = bank(client)
    project = client.get(f"/api/lessons/{ids['public']}").json()["project"]["id"]
    both = ["Public fridge lesson", "Internal fridge lesson"]
    assert titles(client.get("/feeds/tags/fridges.atom")) == both
    assert titles(client.get("/feeds/lessons.atom?tag=fridges")) == both
    assert titles(client.get("/feeds/tags/boats.atom")) == []
    assert titles(client.get("/feeds/units/Health.atom")) == both
    assert titles(client.get("/feeds/units/Marine.atom")) == []
    assert titles(client.get(f"/feeds/projects/{project}.atom")) == both
    assert titles(client.get(f"/feeds/lessons.atom?project={project}&unit=Health")) == both
    # A broader taxonomy term's feed holds its narrower terms' lessons.
    made = client.post(
        "/api/taxonomy/schemes", json={"key": "org", "name": "Org"}, headers=client.curator
    ).json()
    parent = client.post(
        f"/api/taxonomy/schemes/{made['id']}/terms",
        json={"name": "cold-chain"},
        headers=client.curator,
    ).json()["terms"][0]["id"]
    client.post(
        f"/api/taxonomy/schemes/{made['id']}/terms",
        json={"name": "fridges", "parent_id": parent},
        headers=client.curator,
    )
    assert titles(client.get("/feeds/tags/cold-chain.atom")) == both


def test_bad_feed_parameters_are_4xx(client: Client) -> None:
    assert client.get("/feeds/lessons.atom?project=abc").status_code == 422
    assert client.get("/feeds/lessons.atom?project=0").status_code == 422
    assert client.get("/feeds/tags/%21%21.atom").status_code == 422
    assert client.get("/feeds/projects/999999.atom").status_code == 404


def test_entries_are_escaped_and_link_absolutely_to_the_lesson(client: Client) -> None:
    script = "<script>alert('x')</script>"
    (lesson_id,) = review(
        client,
        "Escapes",
        "Health",
        [
            {
                "title": f"Title {script} & more",
                "observation": f"Seen {script}\x0b here",
                "recommendation": f"Do {script}",
                "tags": ["fridges"],
                "sensitivity": "public",
            }
        ],
    )
    validate(client, lesson_id)
    response = client.get("/feeds/lessons.atom")
    assert b"<script>" not in response.content
    root = ElementTree.fromstring(response.content)
    assert root.iter("script") is not None and not list(root.iter("script"))
    [entry] = root.findall(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}title") == f"Title {script} & more"
    content = entry.find(f"{ATOM}content")
    assert content is not None and content.get("type") == "text"
    assert script in (content.text or "") and not list(content)
    summary = entry.find(f"{ATOM}summary")
    assert summary is not None and summary.get("type") == "text"
    link = entry.find(f"{ATOM}link")
    assert link is not None
    assert link.get("href") == f"https://testserver/lessons/{lesson_id}"
    assert entry.findtext(f"{ATOM}id") == f"https://testserver/lessons/{lesson_id}"
    assert [c.get("term") for c in entry.findall(f"{ATOM}category")] == ["fridges"]
    self_link = root.find(f"{ATOM}link[@rel='self']")
    assert self_link is not None and self_link.get("href", "").startswith("https://testserver/")


def test_pages_announce_their_feeds_in_the_head(client: Client) -> None:
    ids = bank(client)
    project = client.get(f"/api/lessons/{ids['public']}").json()["project"]["id"]

    def feeds(url: str) -> list[str]:
        head = BeautifulSoup(client.get(url).text, "html.parser").head
        assert head is not None
        return [
            str(link["href"])
            for link in head.find_all("link", rel="alternate", type="application/atom+xml")
        ]

    assert feeds("/lessons") == ["/feeds/lessons.atom"]
    assert feeds("/lessons?tag=fridges") == ["/feeds/lessons.atom", "/feeds/tags/fridges.atom"]
    assert feeds(f"/projects/{project}") == [
        f"/feeds/projects/{project}.atom",
        "/feeds/units/Health.atom",
    ]
    assert "/feeds/lessons.atom" in feeds("/")


def test_feed_of_an_unknown_project_for_anonymous_readers_does_not_name_it(
    settings: Settings, client: Client
) -> None:
    ids = bank(client)
    secret_project = client.get(f"/api/lessons/{ids['restricted']}", headers=client.curator).json()[
        "project"
    ]["id"]
    for anonymous in app_client(settings, as_user=None):
        feed = anonymous.get(f"/feeds/projects/{secret_project}.atom")
        missing = anonymous.get("/feeds/projects/999999.atom")
        # A project holding only restricted work answers exactly as a missing one.
        assert feed.status_code == missing.status_code == 404
        assert feed.text.replace(str(secret_project), "ID") == missing.text.replace("999999", "ID")
        assert "Secret" not in feed.text
