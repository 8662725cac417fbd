"""Rankings reveal no hidden lesson: scores do not move for one, and similar lessons skip it."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote_plus

from tests.conftest import TOKENS, Client
from tests.ui.leaks.bank import SECRET_PROJECT, SECRET_UNIT, Bank, Seeded, _review
from tests.ui.leaks.detect import leaks

SHOWN_SCORE = re.compile(r'<span class="score">([^<]*)</span>')
# Words few visible lessons hold (with QUERY_WORDS, in every lesson, BM25's IDF is floored).
SCARCE_WORDS = "consent forms campaign supplier twelve weeks"


def _shown_scores(client: Client, anon_client: Client) -> dict[str, Any]:
    """Every ranking figure searches show casey and an anonymous visitor for SCARCE_WORDS: the
    API's search and BAR (each result's score, and the rankers' scores and ranks behind it),
    the BAR page, and the search page."""

    def figures(results: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        parts = ("dense", "dense_rank", "lexical", "lexical_rank")
        return [
            (r.get("lesson_id", r.get("id")), r.get("rank"), r["score"], *map(r["why"].get, parts))
            for r in results
        ]

    q = f"?q={quote_plus(SCARCE_WORDS)}&limit=50"
    brief = {"brief": SCARCE_WORDS, "limit": 20}
    bar = client.post("/api/bar", json=brief)
    page = client.post("/bar", data={"brief": SCARCE_WORDS})
    assert bar.status_code == 201 and page.status_code == 200, (bar.text, page.text)
    shown = {
        "casey /api/lessons": figures(client.get(f"/api/lessons{q}").json()["results"]),
        "casey /api/bar": figures(bar.json()["results"]),
        "casey /api/bar/{id}": figures(
            client.get(f"/api/bar/{bar.json()['id']}").json()["results"]
        ),
        "casey /bar": SHOWN_SCORE.findall(page.text),
        "anonymous /api/lessons": figures(anon_client.get(f"/api/lessons{q}").json()["results"]),
    }
    for who, viewer in (("casey", client), ("anonymous", anon_client)):
        listed = re.sub(r"<[^>]+>", " ", viewer.get(f"/lessons{q}").text)
        shown[f"{who} /lessons"] = re.findall(r"\d+\.\d+", listed)
    assert all(shown.values()), shown
    return shown


def test_scores_shown_do_not_move_when_a_hidden_lesson_holds_the_searched_words(
    client: Client, anon_client: Client, fresh_bank: Bank
) -> None:
    """BM25 over every lesson would tell from a score how many hidden lessons hold a word
    (issue 11 item 3): a restricted lesson full of the searched words changes no figure
    casey or an anonymous visitor is shown."""
    before = _shown_scores(client, anon_client)
    words = f"{SCARCE_WORDS} {SCARCE_WORDS}"
    seed = Seeded("extra", f"Consent {SCARCE_WORDS}", "restricted", "validated", True)
    review = _review({"name": SECRET_PROJECT, "unit": SECRET_UNIT}, [seed])
    review["lessons"][0] |= {"observation": words, "insight": words, "recommendation": words}
    made = client.post("/api/reviews", json=review, headers=client.curator)
    assert made.status_code == 201, made.text
    lesson_id = made.json()["lessons"][0]["id"]
    step = client.post(
        f"/api/lessons/{lesson_id}/transition",
        json={"to": "validated", "reason": "checked"},
        headers=client.curator,
    )
    assert step.status_code == 200, step.text
    found = client.get(f"/api/lessons?q={quote_plus(SCARCE_WORDS)}", headers=client.curator)
    assert lesson_id in {r["id"] for r in found.json()["results"]}, "precondition: it matches"
    assert _shown_scores(client, anon_client) == before


def test_similar_lessons_skip_the_restricted_nearest_neighbour(
    client: Client, anon_client: Client, fresh_bank: Bank
) -> None:
    twin = fresh_bank.lessons["public_twin"]
    restricted = fresh_bank.lessons["restricted"]
    as_curator = client.get(f"/api/lessons/{twin}/similar", headers=client.curator).json()
    assert as_curator["results"][0]["id"] == restricted, "precondition: nearest neighbour"
    bearer = {"Authorization": f"Bearer {TOKENS['casey']}"}
    for viewer, who, headers in (
        ("casey-session", client, {}),
        ("casey-bearer", anon_client, bearer),
        ("anonymous", anon_client, {}),
    ):
        for url in (f"/api/lessons/{twin}/similar?limit=50", f"/lessons/{twin}"):
            shown = who.get(url, headers=headers)
            assert shown.status_code == 200, (viewer, url)
            assert not leaks(shown, fresh_bank, viewer), (viewer, url)
        similar = who.get(f"/api/lessons/{twin}/similar", headers=headers).json()["results"]
        assert similar, viewer  # visible neighbours still come back
        assert restricted not in {r["id"] for r in similar}
