"""Near-duplicate candidates: who is offered what (access decided before ranking), which
lessons never are, the bank-wide pair list against brute force (full and incremental), and
the JSON endpoints."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sqlmodel import Session, select

from lessons.accounts import access
from lessons.capture import service as capture
from lessons.catalogue import service as catalogue
from lessons.curation import lifecycle, merging
from lessons.schemas import LessonPatch, ReviewIn
from lessons.storage.models import Lesson, LessonEmbedding, LessonStatus
from retrieval import duplicates
from retrieval.duplicate_pairs import PairCache, pairs_above
from retrieval.embedder import HashingEmbedder
from retrieval.service import Retriever
from tests.conftest import TOKENS, Client

S = LessonStatus
FRIDGES = {
    "observation": "The cold chain fridges arrived three weeks late because procurement started "
    "after the budget was approved.",
    "insight": "Supplier lead time for fridges is twelve weeks.",
    "recommendation": "Start fridge procurement when the plan is drafted.",
}
OTHER = {
    "observation": "Consent forms were only printed in English.",
    "insight": "Nobody checked the languages spoken in the district.",
    "recommendation": "Translate consent forms before the campaign.",
}


def _review(session: Session, project: str, *lessons: dict[str, Any]) -> list[Lesson]:
    payload = ReviewIn.model_validate(
        {
            "kind": "aar",
            "project": {"name": project},
            "author": "Amina Diallo",
            "answers": {"planned": "Deliver.", "actual": "Late."},
            "lessons": list(lessons),
        }
    )
    review = capture.log_review(session, payload=payload)
    return sorted(review.lessons, key=lambda le: le.id or 0)


def _lesson(title: str, text: dict[str, str], **fields: Any) -> dict[str, Any]:
    return {"title": title, **text, **fields}


def _member_of(lesson: Lesson) -> access.Viewer:
    return access.Viewer(
        name="member",
        sensitivities=access.STAFF.sensitivities,
        project_ids=frozenset({lesson.project_id or 0}),
        role="contributor",
    )


@pytest.fixture
def retriever() -> Retriever:
    return Retriever(HashingEmbedder())


@pytest.fixture
def cache() -> duplicates.DuplicateCache:
    return duplicates.DuplicateCache()


@pytest.fixture
def bank(session: Session, retriever: Retriever) -> dict[str, Lesson]:
    new, other = _review(
        session,
        "Measles catch-up 2025",
        _lesson("Order fridges before approval", FRIDGES),
        _lesson("Translate consent forms", OTHER),
    )
    (old,) = _review(session, "Cold chain 2024", _lesson("Order fridges early", FRIDGES))
    (secret,) = _review(
        session, "Secret programme", _lesson("Fridges, secretly", FRIDGES, sensitivity="restricted")
    )
    lifecycle.transition(session, lesson=old, to=S.VALIDATED, actor="kim")
    lifecycle.transition(session, lesson=secret, to=S.VALIDATED, actor="kim")
    retriever.sync(session)
    return {"new": new, "other": other, "old": old, "secret": secret}


def _ids(found: list[duplicates.Candidate]) -> list[int | None]:
    return [c.lesson.id for c in found]


def test_a_near_copy_is_offered_and_an_unrelated_lesson_is_not(
    session: Session,
    retriever: Retriever,
    cache: duplicates.DuplicateCache,
    bank: dict[str, Lesson],
) -> None:
    found = duplicates.duplicates_of(
        session, retriever=retriever, cache=cache, lesson=bank["new"], viewer=access.STAFF
    )
    assert _ids(found) == [bank["old"].id]
    assert found[0].score >= duplicates.THRESHOLD
    # With no threshold at all it is ranked, then left out by the advice check.
    every = duplicates.duplicates_of(
        session,
        retriever=retriever,
        cache=cache,
        lesson=bank["new"],
        viewer=access.STAFF,
        threshold=0,
    )
    assert _ids(every) == [bank["old"].id]


def test_a_restricted_lesson_is_offered_only_to_who_may_read_it(
    session: Session,
    retriever: Retriever,
    cache: duplicates.DuplicateCache,
    bank: dict[str, Lesson],
) -> None:
    secret = bank["secret"]
    for viewer, offered in (
        (access.STAFF, False),
        (access.PUBLIC, False),
        (_member_of(secret), True),
        (access.CURATOR, True),
    ):
        found = duplicates.duplicates_of(
            session, retriever=retriever, cache=cache, lesson=bank["new"], viewer=viewer, limit=10
        )
        assert (secret.id in _ids(found)) is offered, viewer.name


def test_merged_rejected_retired_and_deleted_lessons_are_never_offered(
    session: Session,
    retriever: Retriever,
    cache: duplicates.DuplicateCache,
    bank: dict[str, Lesson],
) -> None:
    (copies) = _review(
        session,
        "Copies",
        *(_lesson(f"Order fridges early ({n})", FRIDGES) for n in range(5)),
    )
    merged, rejected, retired, deleted, kept = copies
    merging.merge(session, canonical=bank["old"], duplicates=[merged], actor="kim")
    lifecycle.transition(session, lesson=rejected, to=S.REJECTED, actor="kim", reason="dup")
    lifecycle.transition(session, lesson=retired, to=S.VALIDATED, actor="kim")
    lifecycle.transition(session, lesson=retired, to=S.RETIRED, actor="kim", reason="old")
    catalogue.delete_lesson(session, lesson=deleted, actor="kim")
    retriever.sync(session)
    found = duplicates.duplicates_of(
        session,
        retriever=retriever,
        cache=cache,
        lesson=bank["new"],
        viewer=access.CURATOR,
        limit=20,
    )
    assert set(_ids(found)) == {bank["old"].id, bank["secret"].id, kept.id}
    # A lesson out of play gets no candidates of its own either.
    for lesson in (merged, rejected, retired, deleted):
        assert (
            duplicates.duplicates_of(
                session, retriever=retriever, cache=cache, lesson=lesson, viewer=access.CURATOR
            )
            == []
        )


def test_a_lesson_not_yet_embedded_is_compared_by_its_text(
    session: Session,
    retriever: Retriever,
    cache: duplicates.DuplicateCache,
    bank: dict[str, Lesson],
) -> None:
    (fresh,) = _review(session, "Fresh", _lesson("Order fridges early, again", FRIDGES))
    found = duplicates.duplicates_of(
        session, retriever=retriever, cache=cache, lesson=fresh, viewer=access.STAFF, limit=10
    )
    assert bank["old"].id in _ids(found) and fresh.id not in _ids(found)


def test_lessons_about_one_event_with_different_advice_are_not_offered(
    session: Session, retriever: Retriever, cache: duplicates.DuplicateCache
) -> None:
    """The NASA pattern: one event written up as several lessons, each with its own advice.
    Their vectors are close (the shared observation dominates); their advice is not."""
    event = {
        "observation": "The steam line ruptured during a test run because corrosion had "
        "thinned the pipe wall at the expansion loop near the ejector. " * 3,
        "insight": "Several failures lined up on the day.",
    }
    a, b = _review(
        session,
        "Test stand",
        _lesson(
            "Survey pipe corrosion",
            {**event, "recommendation": "Run an ultrasonic wall thickness survey every year."},
        ),
        _lesson(
            "Plan for failure",
            {**event, "recommendation": "Give operators remote safing controls for the facility."},
        ),
    )
    retriever.sync(session)
    ranked = duplicates.duplicates_of(
        session, retriever=retriever, cache=cache, lesson=a, viewer=access.CURATOR, threshold=0
    )
    assert ranked == []
    # Both lessons are in the index and close by the vectors alone.
    with retriever._lock:
        vectors = retriever.index.vectors([a.id or 0, b.id or 0])
    assert float(vectors[0] @ vectors[1]) >= duplicates.THRESHOLD


def test_a_pointer_recommendation_is_not_compared_as_advice(
    session: Session, retriever: Retriever, cache: duplicates.DuplicateCache
) -> None:
    """ "See Lessons Learned" says nothing: two such lessons are compared as whole lessons."""
    shared = {"observation": FRIDGES["observation"], "insight": FRIDGES["insight"]}
    a, b = _review(
        session,
        "Pointers",
        _lesson("Order fridges early", {**shared, "recommendation": "See Lessons Learned"}),
        _lesson("Order fridges in time", {**shared, "recommendation": ""}),
    )
    retriever.sync(session)
    (found,) = duplicates.duplicates_of(
        session, retriever=retriever, cache=cache, lesson=a, viewer=access.CURATOR
    )
    assert found.lesson.id == b.id and found.advice == found.score


def test_a_lesson_too_short_to_judge_is_never_offered(
    session: Session, retriever: Retriever, cache: duplicates.DuplicateCache
) -> None:
    a, b = _review(session, "Stubs", {"title": "See Lesson 1046"}, {"title": "See Lesson 1047"})
    retriever.sync(session)
    for lesson in (a, b):
        assert (
            duplicates.duplicates_of(
                session,
                retriever=retriever,
                cache=cache,
                lesson=lesson,
                viewer=access.CURATOR,
                threshold=0,
            )
            == []
        )


# --- the bank-wide pair list ---------------------------------------------------------------------


def _brute(vectors: np.ndarray, threshold: float) -> set[tuple[int, int]]:
    scores = vectors @ vectors.T
    n = len(vectors)
    return {(i, j) for i in range(n) for j in range(i + 1, n) if scores[i, j] >= threshold}


@pytest.mark.parametrize("block", [1, 7, 512])
def test_pairs_above_matches_brute_force(block: int) -> None:
    rng = np.random.default_rng(3)
    base = rng.standard_normal((12, 16)).astype(np.float32)
    # Near-copies of a few rows, so some pairs sit above the threshold.
    vectors = np.concatenate([base, base[:4] + 0.2 * rng.standard_normal((4, 16))]).astype(
        np.float32
    )
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    i, j, s = pairs_above(vectors, 0.8, block=block)
    assert set(zip(i.tolist(), j.tolist(), strict=True)) == _brute(vectors, 0.8)
    assert len(i) >= 4 and np.allclose(s, np.sum(vectors[i] * vectors[j], axis=1), atol=1e-5)
    a, b, _ = pairs_above(vectors[:3], 0.8, others=vectors, block=block)
    expected = {(x, y) for x in range(3) for y in range(16) if vectors[x] @ vectors[y] >= 0.8}
    assert set(zip(a.tolist(), b.tolist(), strict=True)) == expected


def _all_pairs(session: Session, floor: float) -> set[tuple[int, int]]:
    rows = session.exec(select(LessonEmbedding.lesson_id, LessonEmbedding.vector)).all()
    ids = [r[0] for r in rows]
    vectors = np.stack([np.frombuffer(r[1], np.float32) for r in rows])
    # The index stores float16; compare what it holds.
    vectors = vectors.astype(np.float16).astype(np.float32)
    return {(min(ids[i], ids[j]), max(ids[i], ids[j])) for i, j in _brute(vectors, floor)}


def _cached(session: Session, cache: PairCache, floor: float) -> set[tuple[int, int]]:
    every = np.asarray(session.exec(select(Lesson.id)).all(), np.int64)
    a, b, _ = cache.pairs(every, floor)
    return set(zip(a.tolist(), b.tolist(), strict=True))


def test_pair_cache_stays_equal_to_a_full_pass_as_lessons_change(
    session: Session, retriever: Retriever, bank: dict[str, Lesson]
) -> None:
    floor = 0.5
    cache = PairCache(floor=floor)
    assert cache.update(session, retriever) == 4  # first use: every lesson
    assert _cached(session, cache, floor) == _all_pairs(session, floor)
    assert cache.update(session, retriever) == 0  # nothing changed: nothing scored
    # A new near-copy, an edited lesson (now about fridges) and a purged one.
    _review(session, "More", _lesson("Fridges early", FRIDGES))
    catalogue.update_lesson(
        session, lesson=bank["other"], patch=LessonPatch(**FRIDGES), actor="kim", by_curator=True
    )
    catalogue.delete_lesson(session, lesson=bank["new"], actor="kim")
    catalogue.purge_lesson(session, lesson=bank["new"], actor="kim")
    retriever.sync(session)
    assert cache.update(session, retriever) == 2
    pairs = _cached(session, cache, floor)
    assert pairs == _all_pairs(session, floor)
    other, old_id = bank["other"].id or 0, bank["old"].id or 0
    assert (min(other, old_id), max(other, old_id)) in pairs  # the edited lesson, rescored


def test_candidate_pairs_filter_by_viewer_and_page(
    session: Session,
    retriever: Retriever,
    cache: duplicates.DuplicateCache,
    bank: dict[str, Lesson],
) -> None:
    everyone, total = duplicates.candidate_pairs(
        session, retriever=retriever, cache=cache, viewer=access.CURATOR
    )
    named = [{p.first.id, p.second.id} for p in everyone]
    new, old, secret = bank["new"].id, bank["old"].id, bank["secret"].id
    assert total == 3 and sorted(map(sorted, named)) == sorted(  # type: ignore[arg-type]
        map(sorted, [{new, old}, {new, secret}, {old, secret}])  # type: ignore[arg-type]
    )
    assert all(p.first.id < p.second.id for p in everyone)  # type: ignore[operator]
    assert [p.score for p in everyone] == sorted((p.score for p in everyone), reverse=True)
    staff, staff_total = duplicates.candidate_pairs(
        session, retriever=retriever, cache=cache, viewer=access.STAFF
    )
    assert staff_total == 1 and {staff[0].first.id, staff[0].second.id} == {new, old}
    page, paged_total = duplicates.candidate_pairs(
        session, retriever=retriever, cache=cache, viewer=access.CURATOR, limit=1, offset=1
    )
    assert paged_total == 3 and [(p.first.id, p.second.id) for p in page] == [
        (everyone[1].first.id, everyone[1].second.id)
    ]
    lifecycle.transition(session, lesson=bank["new"], to=S.VALIDATED, actor="kim")
    awaiting, waiting_total = duplicates.candidate_pairs(
        session, retriever=retriever, cache=cache, viewer=access.CURATOR, awaiting_validation=True
    )
    assert (awaiting, waiting_total) == ([], 0)


# --- the JSON endpoints --------------------------------------------------------------------------


def _post(
    client: Client, project: dict[str, Any], *lessons: dict[str, Any], **kw: Any
) -> list[int]:
    made = client.post(
        "/api/reviews",
        json={
            "kind": "aar",
            "project": project,
            "answers": {"planned": "Deliver.", "actual": "Late."},
            "lessons": list(lessons),
        },
        **kw,
    )
    assert made.status_code == 201, made.text
    return [le["id"] for le in made.json()["lessons"]]


@pytest.fixture
def api_bank(client: Client) -> dict[str, int]:
    (secret,) = _post(
        client,
        {"name": "Secret programme"},
        _lesson("Fridges, secretly", FRIDGES, sensitivity="restricted"),
        headers=client.curator,
    )
    new, other = _post(
        client,
        {"name": "Measles catch-up 2025"},
        _lesson("Order fridges before approval", FRIDGES),
        _lesson("Translate consent forms", OTHER),
    )
    return {"secret": secret, "new": new, "other": other}


def test_api_duplicates_leave_out_what_the_caller_may_not_read(
    client: Client, anon_client: Client, api_bank: dict[str, int]
) -> None:
    url = f"/api/lessons/{api_bank['new']}/duplicates"
    as_curator = client.get(url, headers=client.curator).json()
    assert [r["id"] for r in as_curator["results"]] == [api_bank["secret"]]
    assert as_curator["threshold"] == duplicates.THRESHOLD
    bearer = {"Authorization": f"Bearer {TOKENS['casey']}"}
    for who, headers in ((client, {}), (anon_client, bearer)):
        shown = who.get(url, headers=headers)
        assert shown.status_code == 200 and shown.json()["results"] == []
        assert "secretly" not in shown.text
    # Asking about the restricted lesson itself answers as for a missing one.
    hidden = client.get(f"/api/lessons/{api_bank['secret']}/duplicates")
    missing = client.get("/api/lessons/999999/duplicates")
    assert hidden.status_code == missing.status_code == 404
    assert anon_client.get(url).status_code == 401


@pytest.mark.parametrize(
    "query", ["min_score=0.1", "min_score=1.5", "min_score=high", "limit=0", "limit=x", "limit=51"]
)
def test_api_duplicates_refuse_bad_parameters(
    client: Client, api_bank: dict[str, int], query: str
) -> None:
    answer = client.get(f"/api/lessons/{api_bank['new']}/duplicates?{query}")
    assert answer.status_code == 422
    assert set(answer.json()["error"]["fields"]) == {query.split("=")[0]}


def test_api_curation_duplicates_is_for_curators(
    client: Client, anon_client: Client, api_bank: dict[str, int]
) -> None:
    assert client.get("/api/curation/duplicates").status_code == 403
    assert anon_client.get("/api/curation/duplicates").status_code == 401
    listed = client.get("/api/curation/duplicates", headers=client.curator).json()
    assert listed["total"] == 1
    (pair,) = listed["results"]
    assert {le["id"] for le in pair["lessons"]} == {api_bank["secret"], api_bank["new"]}
    assert pair["score"] >= duplicates.THRESHOLD
    url = "/api/curation/duplicates?awaiting_validation=1&limit=5&offset=0"
    assert client.get(url, headers=client.curator).json()["total"] == 1
    for key in ("new", "secret"):
        step = client.post(
            f"/api/lessons/{api_bank[key]}/transition",
            json={"to": "validated"},
            headers=client.curator,
        )
        assert step.status_code == 200, step.text
    assert client.get(url, headers=client.curator).json()["total"] == 0
    for query in ("min_score=0.5", "offset=-1", "limit=501"):
        refused = client.get(f"/api/curation/duplicates?{query}", headers=client.curator)
        assert refused.status_code == 422, query
