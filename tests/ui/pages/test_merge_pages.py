"""Duplicates and merges over real HTTP: merged lessons' links redirect, the canonical lesson
shows its sources and merge history, the review page flags possible duplicates, the curators'
list and merge form, undo, the JSON endpoints and their refusals, and the demo bank."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from bs4 import BeautifulSoup, Tag

from lessons.storage.settings import Settings
from retrieval.embedder import SentenceTransformerEmbedder
from tests.conftest import TOKENS, Client, app_client

FRIDGES = {
    "observation": "The cold chain fridges arrived three weeks late because procurement started "
    "after the budget was approved.",
    "insight": "Supplier lead time for fridges is twelve weeks.",
    "recommendation": "Start fridge procurement when the plan is drafted.",
}


def _lesson(title: str, **fields: Any) -> dict[str, Any]:
    return {"title": title, **FRIDGES, "tags": ["cold-chain"], **fields}


def _post(
    client: Client,
    project: str,
    *lessons: dict[str, Any],
    headers: dict[str, str] | None = None,
    actions: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    made = client.post(
        "/api/reviews",
        json={
            "kind": "aar",
            "project": {"name": project},
            "held_on": "2025-04-01",
            "answers": {"planned": "Deliver.", "actual": "Late."},
            "lessons": list(lessons),
            "actions": actions or [],
        },
        headers=headers or {},
    )
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


def _validate(client: Client, lesson_id: int) -> None:
    step = client.post(
        f"/api/lessons/{lesson_id}/transition", json={"to": "validated"}, headers=client.curator
    )
    assert step.status_code == 200, step.text


@pytest.fixture
def pair(client: Client) -> dict[str, int]:
    """A validated public lesson and a newly identified near-copy from another project (with
    an open action), logged by casey."""
    old = _post(client, "Cold chain 2024", _lesson("Order fridges early", sensitivity="public"))
    new = _post(
        client,
        "Measles catch-up 2025",
        _lesson("Order fridges before approval", sensitivity="public"),
        actions=[{"what": "Add a lead-time check", "owner": "Tom Reyes", "lesson_index": 0}],
    )
    _validate(client, old["lessons"][0]["id"])
    return {
        "old": old["lessons"][0]["id"],
        "new": new["lessons"][0]["id"],
        "new_review": new["id"],
        "old_review": old["id"],
    }


def _merge(client: Client, canonical: int, *dups: int, **body: Any) -> httpx.Response:
    return client.post(
        f"/api/lessons/{canonical}/merge",
        json={"duplicates": list(dups), **body},
        headers=client.curator,
    )


def _soup(response: httpx.Response, template: str, status: int = 200) -> BeautifulSoup:
    assert response.status_code == status, response.text[:2000]
    assert response.template.name == template  # type: ignore[attr-defined]
    return BeautifulSoup(response.text, "html.parser")


# --- merged lessons stay reachable ---------------------------------------------------------------


def test_a_merged_lessons_page_redirects_to_the_canonical_lesson(
    client: Client, anon_client: Client, pair: dict[str, int]
) -> None:
    _validate(client, pair["new"])
    assert _merge(client, pair["old"], pair["new"], reason="same fridges").status_code == 200
    for who in (client, anon_client):
        moved = who.get(f"/lessons/{pair['new']}", follow_redirects=False)
        assert moved.status_code == 303
        assert moved.headers["location"] == f"/lessons/{pair['old']}#merged-{pair['new']}"
    page = _soup(client.get(f"/lessons/{pair['new']}"), "lesson.html")
    source = page.find(id=f"merged-{pair['new']}")
    assert isinstance(source, Tag)
    text = source.get_text(" ", strip=True)
    assert "Measles catch-up 2025" in text and "Order fridges before approval" in text
    assert source.find("a", href=f"/reviews/{pair['new_review']}") is not None
    assert "same fridges" in text


def test_the_api_gives_the_merged_lesson_with_where_it_went(
    client: Client, anon_client: Client, pair: dict[str, int]
) -> None:
    _validate(client, pair["new"])
    _merge(client, pair["old"], pair["new"])
    merged = client.get(f"/api/lessons/{pair['new']}").json()
    assert merged["status"] == "merged"
    into = merged["merged_into"]  # the lesson's short form
    assert (into["id"], into["title"], into["status"]) == (
        pair["old"],
        "Order fridges early",
        "validated",
    )
    canonical = client.get(f"/api/lessons/{pair['old']}").json()
    assert canonical["merged_into"] is None
    (source,) = canonical["also_identified_in"]
    assert source["id"] == pair["new"]
    assert source["project"]["name"] == "Measles catch-up 2025"
    assert source["review"]["id"] == pair["new_review"]
    assert (source["status_before"], source["date"]) == ("validated", "2025-04-01")
    assert [m["merged_id"] for m in canonical["merges"]] == [pair["new"]]
    # A partner cannot read a merged lesson itself, but its link leads on.
    followed = anon_client.get(f"/api/lessons/{pair['new']}", follow_redirects=False)
    assert followed.status_code == 303
    assert followed.headers["location"] == f"/api/lessons/{pair['old']}"
    assert anon_client.get(f"/api/lessons/{pair['new']}").json()["id"] == pair["old"]


def test_merged_lessons_leave_search_and_similar(client: Client, pair: dict[str, int]) -> None:
    _validate(client, pair["new"])
    _merge(client, pair["old"], pair["new"])
    found = client.get("/api/lessons?q=fridges procurement lead time").json()
    assert [r["id"] for r in found["results"]] == [pair["old"]]
    similar = client.get(f"/api/lessons/{pair['old']}/similar").json()
    assert pair["new"] not in [r["id"] for r in similar["results"]]
    listed = client.get("/api/lessons?status=merged").json()
    assert [r["id"] for r in listed["results"]] == [pair["new"]]


# --- the JSON merge and undo ---------------------------------------------------------------------


def test_api_merge_and_undo_round_trip(client: Client, pair: dict[str, int]) -> None:
    merged = _merge(client, pair["old"], pair["new"], keep_text=pair["new"], reason="same")
    assert merged.status_code == 200, merged.text
    body = merged.json()
    assert body["title"] == "Order fridges before approval"
    (row,) = body["merges"]
    assert (row["merged_id"], row["text_taken"], row["undone_at"]) == (pair["new"], True, None)
    detail = client.get(f"/api/lessons/{pair['old']}").json()
    assert [a["what"] for a in detail["actions"]] == ["Add a lead-time check"]
    undone = client.post(
        f"/api/merges/{row['id']}/undo", json={"reason": "not the same"}, headers=client.curator
    )
    assert undone.status_code == 200, undone.text
    result = undone.json()
    assert result["text_restored"] is True and result["notes"] == []
    assert result["canonical"]["title"] == "Order fridges early"
    assert (result["merge"]["undone_by"], result["merge"]["undo_reason"]) == ("kim", "not the same")
    back = client.get(f"/api/lessons/{pair['new']}").json()
    assert (back["status"], back["merged_into"]) == ("identified", None)
    assert [a["what"] for a in back["actions"]] == ["Add a lead-time check"]
    again = client.post(f"/api/merges/{row['id']}/undo", json={}, headers=client.curator)
    assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_transition"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({}, 422, "duplicates"),
        ({"duplicates": []}, 422, "duplicates"),
        ({"duplicates": ["x"]}, 422, "duplicates.0"),
        ({"duplicates": [True]}, 422, "duplicates.0"),
        ({"duplicates": [0]}, 422, "duplicates.0"),
        ({"duplicates": ["NEW"], "keep_text": "mine"}, 422, "keep_text"),
        ({"duplicates": ["NEW"], "keep_text": 999}, 422, "keep_text"),
        ({"duplicates": ["NEW"], "extra": 1}, 422, "extra"),
        ({"duplicates": ["OLD"]}, 422, "duplicates"),
        ({"duplicates": [99999]}, 404, "duplicates"),
    ],
)
def test_api_merge_refuses_bad_input(
    client: Client, pair: dict[str, int], body: dict[str, Any], status: int, field: str
) -> None:
    swap = {"NEW": pair["new"], "OLD": pair["old"]}
    if isinstance(body.get("duplicates"), list):
        body = {
            **body,
            "duplicates": [swap.get(d, d) if isinstance(d, str) else d for d in body["duplicates"]],
        }
    answer = client.post(f"/api/lessons/{pair['old']}/merge", json=body, headers=client.curator)
    assert answer.status_code == status, answer.text
    assert field in answer.json()["error"]["fields"]
    assert client.get(f"/api/lessons/{pair['new']}").json()["status"] == "identified"


def test_api_merge_refusals_that_are_lifecycle_conflicts(
    client: Client, pair: dict[str, int]
) -> None:
    third = _post(client, "Third", _lesson("Fridges again", sensitivity="public"))
    third = third["lessons"][0]["id"]
    assert _merge(client, pair["old"], pair["new"]).status_code == 200
    into_merged = _merge(client, pair["new"], third)
    assert into_merged.status_code == 409
    assert into_merged.json()["error"]["fields"] == {"canonical": "merged"}
    chained = _merge(client, third, pair["old"])
    assert chained.status_code == 409 and "do not chain" in chained.json()["error"]["message"]


def test_api_merge_refuses_to_widen_who_reads_restricted_text(client: Client) -> None:
    secret = _post(
        client,
        "Secret",
        _lesson("Secret fridges", sensitivity="restricted"),
        headers=client.curator,
    )["lessons"][0]["id"]
    public = _post(client, "Open", _lesson("Open fridges", sensitivity="public"))["lessons"][0][
        "id"
    ]
    narrower = _merge(client, secret, public)
    assert narrower.status_code == 422
    assert narrower.json()["error"]["fields"] == {"canonical": "narrower audience than a duplicate"}
    exposing = _merge(client, public, secret, keep_text=secret)
    assert exposing.status_code == 422
    assert exposing.json()["error"]["fields"] == {"keep_text": "would expose restricted text"}
    assert _merge(client, public, secret).status_code == 200


def test_merging_and_undoing_are_for_curators(
    client: Client, anon_client: Client, pair: dict[str, int]
) -> None:
    bearer = {"Authorization": f"Bearer {TOKENS['casey']}"}
    for who, headers, status in (
        (client, {}, 403),
        (anon_client, bearer, 403),
        (anon_client, {}, 401),
    ):
        answer = who.post(
            f"/api/lessons/{pair['old']}/merge", json={"duplicates": [pair["new"]]}, headers=headers
        )
        assert answer.status_code == status
        assert who.post("/api/merges/1/undo", json={}, headers=headers).status_code == status
    assert client.post("/api/merges/99999/undo", json={}, headers=client.curator).status_code == 404
    no_body = client.post("/api/merges/99999/undo", headers=client.curator)
    assert no_body.status_code == 400
    assert client.get(f"/api/lessons/{pair['new']}").json()["status"] == "identified"


# --- the review page -----------------------------------------------------------------------------


def test_the_review_page_flags_a_new_lesson_that_looks_like_an_existing_one(
    client: Client, pair: dict[str, int]
) -> None:
    page = _soup(client.get(f"/reviews/{pair['new_review']}"), "review.html")
    box = page.find(class_="possible-duplicates")
    assert isinstance(box, Tag)
    assert "This looks like an existing lesson" in box.get_text()
    assert box.find("a", href=f"/lessons/{pair['old']}") is not None
    assert "Merge…" not in box.get_text()  # contributors do not merge
    unrelated = _post(
        client, "Other", {"title": "Translate consent forms", "observation": "Only in English."}
    )
    calm = _soup(client.get(f"/reviews/{unrelated['id']}"), "review.html")
    assert calm.find(class_="possible-duplicates") is None


def test_the_review_page_never_offers_a_restricted_lesson_to_an_outsider(
    settings: Settings, client: Client
) -> None:
    secret = _post(
        client,
        "Secret",
        _lesson("Secret fridges", sensitivity="restricted"),
        headers=client.curator,
    )["lessons"][0]["id"]
    new = _post(client, "Open", _lesson("Open fridges"))
    page = client.get(f"/reviews/{new['id']}")
    assert page.status_code == 200
    assert "Secret fridges" not in page.text and f"/lessons/{secret}" not in page.text
    assert client.get(f"/api/lessons/{new['lessons'][0]['id']}/duplicates").json()["results"] == []
    for curator in app_client(settings, as_user="kim"):
        shown = _soup(curator.get(f"/reviews/{new['id']}"), "review.html")
        box = shown.find(class_="possible-duplicates")
        assert isinstance(box, Tag) and "Secret fridges" in box.get_text()
        merge = box.find("a", string="Merge…")
        assert isinstance(merge, Tag)
        assert merge["href"] == f"/curate/merge?lessons={secret}&lessons={new['lessons'][0]['id']}"


# --- the curators' pages -------------------------------------------------------------------------


@pytest.fixture
def kim(settings: Settings, pair: dict[str, int]) -> Any:
    yield from app_client(settings, as_user="kim")


def test_the_duplicates_list_shows_pairs_side_by_side_with_merge_buttons(
    kim: Client, pair: dict[str, int]
) -> None:
    page = _soup(kim.get("/curate/duplicates"), "duplicates.html")
    (article,) = page.find_all("article", class_="pair")
    text = article.get_text(" ", strip=True)
    assert "Order fridges early" in text and "Order fridges before approval" in text
    assert "Measles catch-up 2025" in text and "Cold chain 2024" in text
    buttons = [b.get_text(strip=True) for b in article.find_all("button")]
    assert buttons == [
        f"Keep #{pair['old']}, merge #{pair['new']} into it",
        f"Keep #{pair['new']}, merge #{pair['old']} into it",
    ]
    assert all(form.find("input", attrs={"name": "csrftoken"}) for form in article.find_all("form"))
    quick = kim.post(
        "/curate/merge",
        data={
            "lessons": [str(pair["old"]), str(pair["new"])],
            "canonical": str(pair["old"]),
            "keep_text": str(pair["old"]),
            "reason": "Near-duplicate",
            "back": "duplicates",
            "min_score": "0.85",
        },
        follow_redirects=False,
    )
    assert quick.status_code == 303
    assert quick.headers["location"] == f"/curate/duplicates?min_score=0.85&merged={pair['old']}"
    after = _soup(kim.get(quick.headers["location"]), "duplicates.html")
    assert after.find("article", class_="pair") is None
    assert "Merged into" in after.get_text()


def test_curator_pages_are_closed_to_contributors(client: Client, pair: dict[str, int]) -> None:
    assert client.get("/curate/duplicates").status_code == 403
    assert (
        client.get(f"/curate/merge?lessons={pair['old']}&lessons={pair['new']}").status_code == 403
    )
    answer = client.post(
        "/curate/merge",
        data={"lessons": [str(pair["old"]), str(pair["new"])], "canonical": str(pair["old"])},
    )
    assert answer.status_code == 403
    assert client.get(f"/api/lessons/{pair['new']}").json()["status"] == "identified"


def test_the_merge_form_suggests_the_canonical_and_re_renders_refusals(
    kim: Client, client: Client
) -> None:
    secret = _post(
        client,
        "Secret",
        _lesson("Secret fridges", sensitivity="restricted"),
        headers=client.curator,
    )["lessons"][0]["id"]
    public = _post(client, "Open", _lesson("Open fridges", sensitivity="public"))["lessons"][0][
        "id"
    ]
    form = _soup(kim.get(f"/curate/merge?lessons={secret}&lessons={public}"), "merge.html")
    chosen = form.find("input", attrs={"name": "canonical", "checked": True})
    assert isinstance(chosen, Tag) and chosen["value"] == str(public)  # the wider audience
    refused = kim.post(
        "/curate/merge",
        data={
            "lessons": [str(secret), str(public)],
            "canonical": str(public),
            "keep_text": str(secret),
            "reason": "typed by the curator",
        },
    )
    page = _soup(refused, "merge.html", 422)
    assert "cannot go into a public lesson" in page.get_text()
    assert page.find(id="keep_text-error") is not None or page.find(class_="error") is not None
    assert page.find("textarea", attrs={"name": "reason"}).get_text() == "typed by the curator"  # type: ignore[union-attr]
    kept = page.find("input", attrs={"name": "keep_text", "checked": True})
    assert isinstance(kept, Tag) and kept["value"] == str(secret)
    for bad in ("lessons=1", "lessons=x&lessons=2", ""):
        assert kim.get(f"/curate/merge?{bad}").status_code == 422, bad
    assert kim.get("/curate/merge?lessons=99998&lessons=99999").status_code == 404
    done = kim.post(
        "/curate/merge",
        data={
            "lessons": [str(secret), str(public)],
            "canonical": str(public),
            "keep_text": "combined",
        },
        follow_redirects=False,
    )
    assert done.status_code == 422  # combined would take the restricted text too
    done = kim.post(
        "/curate/merge",
        data={
            "lessons": [str(secret), str(public)],
            "canonical": str(public),
            "keep_text": str(public),
        },
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == f"/lessons/{public}?merged=1"
    notice = _soup(kim.get(done.headers["location"]), "lesson.html")
    assert "Merged 1 lesson into this one" in notice.get_text()


def test_undo_from_the_lesson_page(kim: Client, client: Client, pair: dict[str, int]) -> None:
    made = _merge(client, pair["old"], pair["new"]).json()
    (row,) = made["merges"]
    page = _soup(kim.get(f"/lessons/{pair['old']}"), "lesson.html")
    history = page.find(id="merges")
    assert isinstance(history, Tag)
    undo = history.find("form", action=f"/merges/{row['id']}/undo")
    assert isinstance(undo, Tag) and undo.find("input", attrs={"name": "csrftoken"})
    # Contributors see the history but no undo button.
    plain = _soup(client.get(f"/lessons/{pair['old']}"), "lesson.html")
    assert plain.find(id="merges") is not None
    assert plain.find("form", action=f"/merges/{row['id']}/undo") is None
    done = kim.post(f"/merges/{row['id']}/undo", follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"] == f"/lessons/{pair['old']}?undone={row['id']}#merges"
    shown = _soup(kim.get(done.headers["location"]), "lesson.html").get_text(" ", strip=True)
    assert "Merge undone" in shown and "Undone" in shown
    assert kim.get(f"/lessons/{pair['new']}", follow_redirects=False).status_code == 200
    assert kim.post(f"/merges/{row['id']}/undo").status_code == 409


# --- the demo bank -------------------------------------------------------------------------------


def test_the_demo_bank_shows_a_merge_with_its_sources(demo_client: Client) -> None:
    found = demo_client.get("/api/lessons?status=merged").json()["results"]
    (merged,) = [r for r in found if r["title"].startswith("Pair first-time volunteers")]
    page = _soup(demo_client.get(f"/lessons/{merged['id']}"), "lesson.html")
    assert (
        page.find("h1").get_text()
        == "Pair new volunteers with experienced ones for their first survey"
    )  # type: ignore[union-attr]
    source = page.find(id=f"merged-{merged['id']}")
    assert isinstance(source, Tag)
    assert "Invasive riverbank plant control" in source.get_text()


@pytest.mark.model
def test_the_demo_bank_has_a_duplicate_pair_the_real_model_finds(
    model_demo_settings: Settings, real_embedder: SentenceTransformerEmbedder
) -> None:
    for client in app_client(model_demo_settings, as_user="kim", embedder=real_embedder):
        pairs = client.get("/api/curation/duplicates").json()["results"]
        titles = [{le["title"] for le in p["lessons"]} for p in pairs]
        assert {
            "Order cold-chain equipment on the endorsed draft plan, not after final budget "
            "approval",
            "Order cold-chain equipment when the plan is endorsed, not after the budget is signed",
        } in titles
