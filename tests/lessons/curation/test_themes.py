"""Recurring themes: the clustering (retrieval.themes), the domain rule (lessons.curation.themes),
the page and the API; and, with the real model, the demo bank's procurement theme."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from bs4 import BeautifulSoup
from sqlalchemy import Engine
from sqlmodel import Session, select

from lessons.accounts.access import CURATOR, STAFF
from lessons.catalogue import service as catalogue
from lessons.curation import lifecycle
from lessons.curation.themes import build, candidate_ids
from lessons.storage.db import transaction
from lessons.storage.models import Lesson, LessonStatus, LessonTag
from lessons.storage.settings import Settings
from retrieval.embedder import HashingEmbedder, SentenceTransformerEmbedder
from retrieval.themes import ThemeFinder, cluster
from tests.conftest import Client, app_client
from tests.databases import databases

# --- clustering --------------------------------------------------------------------------------


def _unit(rows: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def _groups(seed: int = 0) -> tuple[np.ndarray[Any, Any], list[set[int]]]:
    """Three tight groups of 4, 3 and 5 rows around orthogonal directions, and 4 loners."""
    rng = np.random.default_rng(seed)
    rows, truth = [], []
    for axis, size in ((0, 4), (1, 3), (2, 5)):
        members = set()
        for _ in range(size):
            vector = np.zeros(32)
            vector[axis] = 1.0
            members.add(len(rows))
            rows.append(vector + rng.normal(0, 0.05, 32))
        truth.append(members)
    for axis in (10, 11, 12, 13):
        vector = np.zeros(32)
        vector[axis] = 1.0
        rows.append(vector + rng.normal(0, 0.05, 32))
    return _unit(np.array(rows)), truth


def test_cluster_finds_the_groups_and_leaves_loners_out() -> None:
    vectors, truth = _groups()
    found = cluster(vectors, threshold=0.5, min_size=3)
    assert sorted(map(set, found), key=len) == sorted(truth, key=len)
    assert [len(g) for g in found] == [5, 4, 3]  # largest first


def test_cluster_puts_the_most_central_row_first() -> None:
    vectors, _ = _groups()
    for group in cluster(vectors, threshold=0.5, min_size=3):
        block = vectors[group]
        mean_similarity = (block @ block.T).sum(axis=1)
        assert group[0] == group[int(np.argmax(mean_similarity))]


def test_cluster_drops_groups_smaller_than_min_size() -> None:
    vectors, _ = _groups()
    assert [len(g) for g in cluster(vectors, threshold=0.5, min_size=4)] == [5, 4]


def test_cluster_threshold_above_every_pair_makes_no_group() -> None:
    vectors, _ = _groups()
    assert cluster(vectors, threshold=0.999, min_size=2) == []


@pytest.mark.parametrize("rows", [0, 1, 2])
def test_cluster_of_too_few_rows_is_empty(rows: int) -> None:
    vectors, _ = _groups()
    assert cluster(vectors[:rows], min_size=3) == []


def test_cluster_splits_a_group_too_large_to_read_into_tighter_ones() -> None:
    rng = np.random.default_rng(1)
    near, other = np.eye(32)[0], 0.6 * np.eye(32)[0] + 0.8 * np.eye(32)[1]  # cosine 0.6
    rows = [centre + rng.normal(0, 0.02, 32) for centre in (near, near, near, other, other, other)]
    vectors = _unit(np.array(rows))
    assert [sorted(g) for g in cluster(vectors, threshold=0.5, min_size=3)] == [[0, 1, 2, 3, 4, 5]]
    split = cluster(vectors, threshold=0.5, min_size=3, max_size=4)
    assert sorted(sorted(g) for g in split) == [[0, 1, 2], [3, 4, 5]]


def test_cluster_beyond_the_exact_limit_links_neighbours_to_the_same_groups() -> None:
    vectors, truth = _groups()
    found = cluster(vectors, threshold=0.5, min_size=3, exact_limit=5)
    assert sorted(map(set, found), key=len) == sorted(truth, key=len)


# --- the domain rule ---------------------------------------------------------------------------

ORDER = (
    "Order the generators as soon as the plan is endorsed: supplier lead time is twelve weeks "
    "and the generators arrived late."
)
VOLUNTEERS = "Pair new volunteers with an experienced volunteer for their first survey night."


def _review(project: str, title: str, text: str, **lesson: Any) -> dict[str, Any]:
    return {
        "kind": "aar",
        "project": {"name": project, "unit": "Operations"},
        "held_on": "2025-03-01",
        "answers": {"planned": "Run the work.", "actual": "It ran late."},
        "lessons": [
            {
                "title": title,
                "observation": text,
                "insight": text,
                "recommendation": text,
                "tags": ["procurement", "generators"],
                **lesson,
            }
        ],
        "actions": [
            {"what": f"Fix: {title}", "owner": "Tom Reyes", "due": "2020-01-31", "lesson_index": 0}
        ],
    }


def _post(client: Client, body: dict[str, Any]) -> int:
    made = client.post("/api/reviews", json=body, headers=client.curator)
    assert made.status_code == 201, made.text
    return int(made.json()["lessons"][0]["id"])


def _step(client: Client, lesson_id: int, *steps: str) -> None:
    for to in steps:
        done = client.post(
            f"/api/lessons/{lesson_id}/transition",
            json={
                "to": to,
                "reason": "checked",
                "learned_evidence": "Checklist updated",
                "learned_link": "https://example.org/checklist",
            },
            headers=client.curator,
        )
        assert done.status_code == 200, done.text


@pytest.fixture
def themed(client: Client) -> dict[str, int]:
    """The same generator-ordering lesson in projects A-D (D's restricted), learned in A; a
    volunteer lesson in two projects; a rejected and a deleted copy of the generator lesson."""
    ids = {
        "a": _post(client, _review("Project A", "Generators came late (A)", ORDER)),
        "b": _post(client, _review("Project B", "Generators came late (B)", ORDER)),
        "c": _post(client, _review("Project C", "Generators came late (C)", ORDER)),
        "d": _post(
            client,
            _review("Project D", "Generators came late (D)", ORDER, sensitivity="restricted"),
        ),
        "v1": _post(client, _review("Project A", "Volunteers paired (A)", VOLUNTEERS, tags=[])),
        "v2": _post(client, _review("Project E", "Volunteers paired (E)", VOLUNTEERS, tags=[])),
        "rejected": _post(client, _review("Project F", "Generators came late (F)", ORDER)),
        "deleted": _post(client, _review("Project G", "Generators came late (G)", ORDER)),
    }
    _step(client, ids["a"], "validated", "learned")
    _step(client, ids["b"], "validated")
    _step(client, ids["rejected"], "rejected")
    deleted = client.post(f"/lessons/{ids['deleted']}/delete", headers=client.curator)
    assert deleted.status_code in (200, 303), deleted.text
    return ids


def _themes_as(engine: Engine, viewer: Any) -> list[Any]:
    with transaction(engine) as session:
        groups = ThemeFinder().clusters(session, viewer=viewer, model=HashingEmbedder().name)
        return [
            {
                "label": t.label,
                "lessons": [le.id for le in t.lessons],
                "projects": [p.name for p in t.projects],
                "open_projects": [p.name for p in t.open_projects],
                "learned": [le.id for le in t.learned],
                "open_actions": len(t.open_actions),
                "tags": t.tags,
            }
            for t in build(session, clusters=groups, viewer=viewer)
        ]


def test_candidates_leave_out_rejected_deleted_and_hidden_lessons(
    themed: dict[str, int], engine: Engine
) -> None:
    with transaction(engine) as session:
        for_curator = set(session.exec(candidate_ids(CURATOR)))
        for_staff = set(session.exec(candidate_ids(STAFF)))
    everything = {"a", "b", "c", "d", "v1", "v2"}
    assert for_curator == {themed[k] for k in everything}
    assert for_staff == {themed[k] for k in everything - {"d"}}


def test_theme_needs_three_projects_not_yet_learned(themed: dict[str, int], engine: Engine) -> None:
    (theme,) = _themes_as(engine, CURATOR)
    assert set(theme["lessons"]) == {themed[k] for k in "abcd"}
    assert theme["projects"] == ["Project A", "Project B", "Project C", "Project D"]
    # Learned in A, yet met again in B, C and D: still a theme, with A's lesson as evidence.
    assert theme["open_projects"] == ["Project B", "Project C", "Project D"]
    assert theme["learned"] == [themed["a"]]
    assert theme["open_actions"] == 4
    assert set(theme["tags"]) == {"generators", "procurement"}


def test_theme_is_filtered_before_clustering(themed: dict[str, int], engine: Engine) -> None:
    """A contributor outside project D does not see D's restricted lesson, so only B and C
    are open: two projects are not a theme, and nothing of D shows."""
    assert _themes_as(engine, STAFF) == []


def test_theme_closes_when_learned_in_enough_projects(
    client: Client, themed: dict[str, int], engine: Engine
) -> None:
    _step(client, themed["c"], "validated", "learned")
    assert _themes_as(engine, CURATOR) == []


def test_theme_finder_reuses_clusters_until_lessons_change(
    themed: dict[str, int], engine: Engine
) -> None:
    finder = ThemeFinder()
    with transaction(engine) as session:
        first = finder.clusters(session, viewer=CURATOR, model="hashing")
        again = finder.clusters(session, viewer=CURATOR, model="hashing")
        other_reader = finder.clusters(session, viewer=STAFF, model="hashing")
    assert again is first
    assert other_reader is not first
    with transaction(engine, write=True) as session:
        lesson = session.get(Lesson, themed["c"])
        assert lesson is not None
        lifecycle.transition(session, lesson=lesson, to=LessonStatus.VALIDATED, actor="kim")
    with transaction(engine) as session:
        assert finder.clusters(session, viewer=CURATOR, model="hashing") is not first


# --- page and API ------------------------------------------------------------------------------


def test_themes_page_lists_the_theme_with_projects_years_and_actions(
    themed: dict[str, int], settings: Settings
) -> None:
    for kim in app_client(settings, as_user="kim"):
        page = kim.get("/themes")
        assert page.status_code == 200
        assert page.template.name == "themes.html"  # type: ignore[attr-defined]
        soup = BeautifulSoup(page.text, "html.parser")
        (section,) = soup.select("section.card")
        assert section.h2 is not None and "Generators came late" in section.h2.text
        text = section.get_text(" ", strip=True)
        assert "Met in 4 projects, 2025" in text
        assert "Already learned in Project A" in text
        linked = {a["href"] for a in section.select("a[href^='/lessons/']")}
        assert {f"/lessons/{themed[k]}" for k in "abcd"} <= linked
        assert text.count("Fix: Generators came late") == 4
        assert all(th.get("scope") for th in section.select("th"))


def test_themes_page_for_a_contributor_outside_the_project_shows_none(
    themed: dict[str, int], client: Client
) -> None:
    page = client.get("/themes")
    assert page.status_code == 200
    assert "No recurring themes" in page.text
    assert "Generators came late (D)" not in page.text


def test_themes_page_asks_an_anonymous_visitor_to_sign_in(anon_client: Client) -> None:
    page = anon_client.get("/themes", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"].startswith("/login")


def test_themes_api_returns_the_theme(themed: dict[str, int], client: Client) -> None:
    answer = client.get("/api/themes", headers=client.curator)
    assert answer.status_code == 200
    (theme,) = answer.json()["themes"]
    assert theme["project_count"] == 4 and theme["open_project_count"] == 3
    assert {le["id"] for le in theme["lessons"]} == {themed[k] for k in "abcd"}
    assert theme["learned_lesson_ids"] == [themed["a"]]
    assert {a["lesson_id"] for a in theme["open_actions"]} == {themed[k] for k in "abcd"}
    assert answer.json()["min_projects"] == 3
    assert client.get("/api/themes").json()["themes"] == []  # casey: not a member of D


def test_themes_api_refuses_an_anonymous_caller(anon_client: Client) -> None:
    answer = anon_client.get("/api/themes")
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "unauthorized"


def test_themes_page_escapes_lesson_text(client: Client, settings: Settings) -> None:
    title = "<script>alert('x')</script> & generators"
    for name in ("P1", "P2", "P3"):
        _post(client, _review(name, title, ORDER))
    page = client.get("/themes")
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;alert(" in page.text


# --- the demo bank with the real model ---------------------------------------------------------


@pytest.fixture(scope="module")
def demo_groups(
    tmp_path_factory: pytest.TempPathFactory,
    model_demo_template: str,
    real_embedder: SentenceTransformerEmbedder,
) -> Iterator[tuple[list[list[int]], dict[int, Lesson]]]:
    """Themes of the demo bank embedded by the real model (a copy of the session's template)."""
    from lessons.storage.db import make_engine

    url = databases().copy(model_demo_template, tmp_path_factory.mktemp("themes-demo"), "demo")
    engine = make_engine(url)
    with Session(engine, expire_on_commit=False) as session:
        groups = ThemeFinder().clusters(session, viewer=CURATOR, model=real_embedder.name)
        lessons = {le.id or 0: le for le in session.exec(select(Lesson))}
        for lesson in lessons.values():
            _ = lesson.tags, lesson.project  # loaded while the session is open
        themes = build(session, clusters=groups, viewer=CURATOR)
        yield [[le.id or 0 for le in t.lessons] for t in themes], lessons
    engine.dispose()


PROCUREMENT_WORDS = ("order", "tender", "contract", "procure", "purchase")


@pytest.mark.model
def test_demo_bank_has_a_procurement_theme_across_three_projects(
    demo_groups: tuple[list[list[int]], dict[int, Lesson]],
) -> None:
    themes, lessons = demo_groups
    procurement = [
        theme
        for theme in themes
        if sum("procurement" in lessons[i].tags for i in theme) >= len(theme) / 2
    ]
    assert procurement, [[lessons[i].title for i in t] for t in themes]
    theme = procurement[0]
    assert len({lessons[i].project_id for i in theme}) >= 3
    for lesson_id in theme:  # every lesson in it is about ordering something in time
        text = f"{lessons[lesson_id].title} {lessons[lesson_id].recommendation}".lower()
        assert any(word in text for word in PROCUREMENT_WORDS), lessons[lesson_id].title


@pytest.mark.model
def test_demo_bank_themes_do_not_lump_unrelated_lessons(
    demo_groups: tuple[list[list[int]], dict[int, Lesson]],
) -> None:
    themes, lessons = demo_groups
    assert len(themes) >= 3
    for theme in themes:
        assert len(theme) <= 8, [lessons[i].title for i in theme]
        # At least half the lessons of a theme carry its most common tag (the tags are the
        # writers' own words for what a lesson is about, and were not what was clustered on:
        # the text was).
        counts = Counter(tag for i in theme for tag in lessons[i].tags)
        top, carried = counts.most_common(1)[0]
        assert carried >= len(theme) / 2, (top, [lessons[i].title for i in theme])
    cold_chain = next(le.id for le in lessons.values() if le.title.startswith("Order cold-chain"))
    pairing = next(le.id for le in lessons.values() if le.title.startswith("Pair new volunteers"))
    assert not any(cold_chain in t and pairing in t for t in themes)


def test_open_actions_in_themes_are_only_open_ones(themed: dict[str, int], engine: Engine) -> None:
    with transaction(engine, write=True) as session:
        (action,) = catalogue.open_actions(session, lesson_ids=[themed["b"]])[themed["b"]]
        action.status = "done"
        session.add(action)
    (theme,) = _themes_as(engine, CURATOR)
    assert theme["open_actions"] == 3


def test_tags_shared_by_two_lessons_label_the_theme(themed: dict[str, int], engine: Engine) -> None:
    with transaction(engine, write=True) as session:
        session.add(LessonTag(lesson_id=themed["b"], tag="only-once"))
    (theme,) = _themes_as(engine, CURATOR)
    assert "only-once" not in theme["tags"]
    assert set(theme["tags"]) == {"procurement", "generators"}
