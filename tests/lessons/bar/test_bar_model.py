"""End to end with the real shipped model: log an AAR through the API, then find its lesson in
a before action review among the whole demo bank."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lessons.storage.settings import Settings
from retrieval.embedder import SentenceTransformerEmbedder
from retrieval.fusion import RankingParams
from tests.conftest import Client, app_client

pytestmark = pytest.mark.model

COLD_CHAIN_AAR = {
    "kind": "aar",
    "project": {"name": "Polio campaign, eastern province 2025", "unit": "Public Health"},
    "author": "Grace Mwangi",
    "answers": {
        "planned": "Vaccinate 120,000 children under five in a two-week campaign in March.",
        "actual": "The campaign started five weeks late.",
        "differences": "The cold-chain fridges were procured late and arrived after the "
        "planned start date.",
    },
    "lessons": [
        {
            "title": "Late procurement of cold-chain fridges delayed the vaccination campaign",
            "observation": "The vaccine refrigerators were ordered only after the campaign "
            "budget was approved. Suppliers needed ten weeks, so the fridges arrived five weeks "
            "after the planned start and the vaccination campaign was postponed.",
            "insight": "Procurement lead times for cold-chain equipment were not in the plan.",
            "recommendation": "Start procurement of vaccine fridges and cold boxes as soon as a "
            "campaign is likely, and track supplier lead times in the campaign plan.",
            "polarity": "improve",
            "tags": ["procurement", "cold-chain", "immunisation"],
        }
    ],
}


@pytest.fixture
def model_client(
    model_demo_settings: Settings, real_embedder: SentenceTransformerEmbedder
) -> Iterator[Client]:
    demo = model_demo_settings.model_copy(update={"embedding_model": real_embedder.name})
    yield from app_client(demo, embedder=real_embedder)


def _post_validated_lesson(client: Client) -> int:
    review = client.post("/api/reviews", json=COLD_CHAIN_AAR)
    assert review.status_code == 201, review.text
    lesson_id = int(review.json()["lessons"][0]["id"])
    step = client.post(
        f"/api/lessons/{lesson_id}/transition",
        headers=client.curator,
        json={"to": "validated", "reason": "checked"},
    )
    assert step.status_code == 200
    return lesson_id


def test_bar_on_immunisation_outreach_finds_the_cold_chain_lesson(
    model_client: Client,
) -> None:
    lesson_id = _post_validated_lesson(model_client)
    bar = model_client.post(
        "/api/bar",
        json={
            "brief": "We are planning a new immunisation outreach to reach children in remote "
            "villages next spring, with mobile vaccination teams.",
            "limit": 10,
        },
    )
    assert bar.status_code == 201
    ranked = [r["id"] for r in bar.json()["results"]]
    assert lesson_id in ranked[:3], [r["title"] for r in bar.json()["results"][:5]]
    hit = bar.json()["results"][ranked.index(lesson_id)]
    assert hit["people"][0]["name"] == "Grace Mwangi"


@pytest.mark.parametrize(
    "brief",
    [
        "Migrating the council's case-management system to a new cloud database.",
        "Restoring a wetland and controlling invasive plants with volunteer work parties.",
    ],
)
def test_bar_on_unrelated_work_does_not_rank_the_cold_chain_lesson_first(
    model_client: Client, brief: str
) -> None:
    lesson_id = _post_validated_lesson(model_client)
    bar = model_client.post("/api/bar", json={"brief": brief})
    assert bar.status_code == 201
    results = bar.json()["results"]
    assert results, "the demo bank should offer something for any brief"
    assert results[0]["id"] != lesson_id


def test_long_brief_is_pooled_not_truncated(model_client: Client) -> None:
    lesson_id = _post_validated_lesson(model_client)
    # The immunisation need sits after 600 words of preamble, far past the model's 256 tokens.
    preamble = " ".join(["The programme office has moved buildings this year."] * 75)
    brief = preamble + " We must plan vaccine fridges and cold chain supply for a campaign."
    bar = model_client.post("/api/bar", json={"brief": brief, "limit": 10})
    assert bar.status_code == 201
    assert lesson_id in [r["id"] for r in bar.json()["results"]]


def test_paraphrased_brief_finds_its_lesson(model_client: Client) -> None:
    """A brief sharing almost no words with the lesson (jab drive, refrigerated storage units,
    doses, kick-off for vaccination campaign, fridges, cold-chain, start) still finds it among
    the first three of the whole demo bank, as a match."""
    lesson_id = _post_validated_lesson(model_client)
    bar = model_client.post(
        "/api/bar",
        json={
            "brief": "Last time our jab drive slipped by over a month because the refrigerated "
            "storage units for the doses showed up long after kick-off. How do we avoid that?",
            "limit": 10,
        },
    )
    assert bar.status_code == 201, bar.text
    results = bar.json()["results"]
    ranked = [r["id"] for r in results]
    assert lesson_id in ranked[:3], [r["title"] for r in results[:5]]
    assert results[ranked.index(lesson_id)]["match"] != "weak"
    scores = [r["score"] for r in results]
    assert scores == sorted(scores, reverse=True)  # in the order of the score shown


def test_junk_brief_is_refused_and_finds_nothing(model_client: Client) -> None:
    before = model_client.get("/bar").text.count('href="/bar/')
    refused = model_client.post("/api/bar", json={"brief": "!!! ??? ### 🚑🚑🚑"})
    assert refused.status_code == 422
    assert "no words" in refused.json()["error"]["message"]
    assert model_client.get("/bar").text.count('href="/bar/') == before  # nothing recorded
    found = model_client.get("/api/lessons", params={"q": "!!! ??? ### 🚑🚑🚑"}).json()
    assert found["results"] == []


def test_brief_matching_nothing_says_so_and_names_nobody(model_client: Client) -> None:
    bar = model_client.post(
        "/api/bar",
        json={"brief": "Which sourdough starter gives the crispiest crust on rye bread?"},
    )
    assert bar.status_code == 201, bar.text
    body = bar.json()
    assert body["results"], "the closest lessons are still shown"
    assert all(r["match"] == "weak" for r in body["results"]), [
        (r["title"], r["score"]) for r in body["results"]
    ]
    assert body["summary"]["message"].startswith("No strong matches")
    assert body["people"] == []
    page = model_client.get(f"/bar/{body['id']}")
    assert "No strong matches; the closest lessons are below." in page.text


def test_similar_lessons_stop_at_the_similarity_floor(model_client: Client) -> None:
    lesson_id = _post_validated_lesson(model_client)
    similar = model_client.get(f"/api/lessons/{lesson_id}/similar", params={"limit": 50}).json()
    scores = [r["score"] for r in similar["results"]]
    assert len(scores) < 50  # the demo bank is not all alike
    assert all(score >= RankingParams().similar for score in scores)
