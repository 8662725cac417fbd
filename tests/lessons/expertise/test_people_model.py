"""With the real shipped model on the demo bank: BARs and people searches for briefs written
as users write them (not the lessons' own sentences) name a sensible first person to talk to.

"Sensible" is decided from the bank's content, not from a run: the people who wrote the
reviews of the project that answers the brief, or hold the matching expertise."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lessons.storage.settings import Settings
from retrieval.embedder import SentenceTransformerEmbedder
from tests.conftest import Client, app_client

pytestmark = pytest.mark.model

# brief -> the people it would make sense to call first
BRIEFS = {
    "We're planning a vaccination drive in the hill districts next spring and I'm worried "
    "the fridges won't turn up in time": {"Amara Okafor", "Priya Raghunathan"},
    "We're migrating client case records to a new case management system next year - what "
    "should we plan for before go-live?": {"Dev Malhotra"},
    "setting up phone-based cash payments for families hit by the drought": {"Joaquín Herrera"},
    "recruiting volunteers to count frogs and newts in the ponds this spring": {"Kenji Watanabe"},
}


@pytest.fixture
def model_client(
    model_demo_settings: Settings, real_embedder: SentenceTransformerEmbedder
) -> Iterator[Client]:
    demo = model_demo_settings.model_copy(update={"embedding_model": real_embedder.name})
    yield from app_client(demo, embedder=real_embedder)


@pytest.mark.parametrize("brief", list(BRIEFS), ids=lambda b: b[:40])
def test_a_bar_names_a_sensible_first_person_to_talk_to(model_client: Client, brief: str) -> None:
    ran = model_client.post("/api/bar", json={"brief": brief})
    assert ran.status_code == 201, ran.text
    people = ran.json()["people"]
    assert people, brief
    first = people[0]
    assert first["name"] in BRIEFS[brief], [(p["name"], p["why"]) for p in people[:3]]
    assert first["why"] and first["profile"] == f"/people/{first['id']}"


@pytest.mark.parametrize("brief", list(BRIEFS), ids=lambda b: b[:40])
def test_people_search_names_the_same_sensible_first_person(
    model_client: Client, brief: str
) -> None:
    found = model_client.get("/api/people", params={"q": brief, "limit": 5}).json()["results"]
    assert found and found[0]["name"] in BRIEFS[brief], [(p["name"], p["why"]) for p in found]
