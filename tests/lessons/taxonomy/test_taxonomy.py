"""Tag schemes and hierarchical terms: the tag-string mapping, filtering by a broader term,
renaming, merging, moving and adopting without losing tagging, curator-only changes, counts
that reveal nothing, export/import, and tag suggestions from validated neighbours."""

from __future__ import annotations

from typing import Any

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from lessons.accounts import access
from lessons.imports.exchange import export_bank, import_bank
from lessons.storage.db import make_engine, migrate, transaction
from lessons.storage.models import AuditEvent, Lesson, LessonTag, TagScheme, TagTerm
from lessons.storage.settings import Settings
from lessons.taxonomy.schemes import find_scheme
from lessons.taxonomy.suggestions import suggest_tags
from lessons.taxonomy.tagging import term_tag, term_tag_sql
from lessons.taxonomy.terms import term_tags
from tests.conftest import Client

ORG = "org"


def lesson(
    title: str, tags: list[str], sensitivity: str = "internal", **text: str
) -> dict[str, Any]:
    return {
        "title": title,
        "observation": text.get("observation", f"{title}."),
        "insight": text.get("insight", ""),
        "recommendation": text.get("recommendation", ""),
        "tags": tags,
        "sensitivity": sensitivity,
    }


def review(
    client: Client, project: str, lessons: list[dict[str, Any]], **headers: str
) -> list[int]:
    made = client.post(
        "/api/reviews",
        json={
            "kind": "aar",
            "project": {"name": project, "unit": "Logistics Unit"},
            "answers": {"planned": "Deliver on time."},
            "lessons": lessons,
        },
        headers=headers or None,
    )
    assert made.status_code == 201, made.text
    return [le["id"] for le in made.json()["lessons"]]


def validate(client: Client, *ids: int) -> None:
    for lesson_id in ids:
        step = client.post(
            f"/api/lessons/{lesson_id}/transition",
            json={"to": "validated", "reason": "checked"},
            headers=client.curator,
        )
        assert step.status_code == 200, step.text


def scheme(client: Client, key: str = ORG, unit: str = "", **terms: str | None) -> dict[str, Any]:
    """A scheme made through the API, terms given as name=broader name (None: a top term)."""
    made = client.post(
        "/api/taxonomy/schemes",
        json={"key": key, "name": f"{key} scheme", "unit": unit},
        headers=client.curator,
    )
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    ids: dict[str, int] = {}
    for name, broader in terms.items():
        added = client.post(
            f"/api/taxonomy/schemes/{body['id']}/terms",
            json={"name": name, "parent_id": ids[broader] if broader else None},
            headers=client.curator,
        )
        assert added.status_code == 201, added.text
        ids[name] = next(t["id"] for t in added.json()["terms"] if t["name"] == name)
    return {**body, "ids": ids}


def tags_of(client: Client, lesson_id: int) -> list[str]:
    tags: list[str] = client.get(f"/api/lessons/{lesson_id}", headers=client.curator).json()["tags"]
    return tags


def listed(client: Client, query: str) -> set[int]:
    found = client.get(f"/api/lessons?{query}&limit=50").json()
    return {r["id"] for r in found["results"]}


@pytest.fixture
def engine_for(settings: Settings) -> Any:
    engines: list[Engine] = []

    def make() -> Engine:
        engine = make_engine(settings.database_url)
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.dispose()


# --- the mapping and the hierarchy ------------------------------------------------------------


def test_term_tag_is_the_bare_name_org_wide_and_prefixed_in_a_unit_scheme(
    client: Client, engine_for: Any
) -> None:
    scheme(client, ORG, "", logistics=None)
    scheme(client, "nasa-llis", "NASA", **{"risk-management": None})
    assert term_tag(scheme_key=ORG, scheme_unit="", term_name="logistics") == "logistics"
    assert (
        term_tag(scheme_key="nasa-llis", scheme_unit="NASA", term_name="risk-management")
        == "nasa-llis:risk-management"
    )
    with transaction(engine_for()) as session:
        in_sql = set(
            session.exec(
                select(term_tag_sql()).join(TagScheme, col(TagScheme.id) == col(TagTerm.scheme_id))
            )
        )
        assert (
            in_sql
            == set(term_tags(session))
            == {
                "logistics",
                "nasa-llis:risk-management",
            }
        )


def test_filter_by_a_broader_term_finds_lessons_tagged_with_narrower_ones(client: Client) -> None:
    fridge, route, other = review(
        client,
        "Cold chain",
        [
            lesson("Fridges arrived late", ["cold-chain"]),
            lesson("Trucks took the long road", ["route-optimisation"]),
            lesson("Volunteers left early", ["volunteers"]),
        ],
    )
    validate(client, fridge, route, other)
    scheme(
        client,
        ORG,
        "",
        **{"supply-and-logistics": None, "logistics": "supply-and-logistics"},
        **{"cold-chain": "logistics", "route-optimisation": "logistics"},
    )
    assert listed(client, "tag=supply-and-logistics") == {fridge, route}
    assert listed(client, "tag=logistics") == {fridge, route}
    assert listed(client, "tag=cold-chain") == {fridge}
    # The search path (dense and lexical rankers) filters the same way before ranking.
    assert listed(client, "tag=logistics&q=fridges arrived late") <= {fridge, route}
    assert fridge in listed(client, "tag=logistics&q=fridges arrived late")
    page = client.get("/lessons?tag=supply-and-logistics")
    assert "Fridges arrived late" in page.text and "Volunteers left early" not in page.text


def test_moving_a_term_changes_what_its_broader_term_finds_and_refuses_cycles(
    client: Client,
) -> None:
    (fridge,) = review(client, "Cold chain", [lesson("Fridges arrived late", ["cold-chain"])])
    validate(client, fridge)
    made = scheme(client, ORG, "", logistics=None, health=None, **{"cold-chain": "logistics"})
    ids = made["ids"]
    assert listed(client, "tag=health") == set()
    assert listed(client, "tag=logistics&q=fridges") == {fridge}  # the mask is now cached
    moved = client.patch(
        f"/api/taxonomy/terms/{ids['cold-chain']}",
        json={"parent_id": ids["health"]},
        headers=client.curator,
    )
    assert moved.status_code == 200, moved.text
    assert listed(client, "tag=health") == {fridge}
    assert listed(client, "tag=logistics") == set()
    assert listed(client, "tag=logistics&q=fridges") == set()  # no stale cached mask
    for parent in (ids["cold-chain"], ids["health"]):
        refused = client.patch(
            f"/api/taxonomy/terms/{ids['health']}",
            json={"parent_id": parent},
            headers=client.curator,
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["fields"] == {"parent_id": "would make a cycle"}
    top = client.patch(
        f"/api/taxonomy/terms/{ids['cold-chain']}", json={"parent_id": None}, headers=client.curator
    )
    assert {t["name"]: t["depth"] for t in top.json()["terms"]}["cold-chain"] == 0


def test_a_term_from_another_scheme_cannot_be_the_broader_term(client: Client) -> None:
    org = scheme(client, ORG, "", logistics=None)
    unit = scheme(client, "wash", "Water Unit", pumps=None)
    refused = client.patch(
        f"/api/taxonomy/terms/{unit['ids']['pumps']}",
        json={"parent_id": org["ids"]["logistics"]},
        headers=client.curator,
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["fields"] == {"parent_id": "not a term of this scheme"}


# --- rename, merge, adopt -------------------------------------------------------------------


def test_renaming_a_term_retags_its_lessons_and_search_finds_the_new_tag(
    client: Client, engine_for: Any
) -> None:
    fridge, other = review(
        client,
        "Cold chain",
        [lesson("Fridges arrived late", ["fridges"]), lesson("Boats were slow", ["boats"])],
    )
    validate(client, fridge, other)
    made = scheme(client, "health", "Health Unit", fridges=None)
    # A free tag adopted into the unit scheme takes the scheme's prefix.
    adopted = client.post(
        "/api/taxonomy/adopt",
        json={"tag": "fridges", "scheme_id": made["id"]},
        headers=client.curator,
    )
    assert adopted.status_code == 200, adopted.text
    assert adopted.json()["retagged_lesson_ids"] == [fridge]
    assert tags_of(client, fridge) == ["health:fridges"]
    renamed = client.post(
        f"/taxonomy/terms/{made['ids']['fridges']}/rename",
        data={"form": f"rename-{made['ids']['fridges']}", "name": "Refrigerators"},
        headers=client.curator,
        follow_redirects=False,
    )
    assert renamed.status_code == 303, renamed.text
    assert tags_of(client, fridge) == ["health:refrigerators"]
    assert tags_of(client, other) == ["boats"]
    assert listed(client, "tag=health:refrigerators") == {fridge}
    assert listed(client, "tag=health:fridges") == set()
    # The full-text index followed through the triggers: the new tag word finds it.
    assert fridge in listed(client, "q=refrigerators")
    with transaction(engine_for()) as session:
        events = session.exec(
            select(AuditEvent).where(AuditEvent.entity == "tag_term", AuditEvent.action == "rename")
        ).all()
        assert len(events) == 1
        assert events[0].actor == "kim"
        assert events[0].before and events[0].before["tag"] == "health:fridges"
        assert events[0].after and events[0].after["lesson_ids"] == [fridge]


def test_merging_terms_keeps_every_lesson_tagged_once(client: Client, engine_for: Any) -> None:
    both, only_source, only_target = review(
        client,
        "Cold chain",
        [
            lesson("Fridge and cold chain", ["fridges", "cold-chain"]),
            lesson("Fridges alone", ["fridges"]),
            lesson("Cold chain alone", ["cold-chain"]),
        ],
    )
    made = scheme(
        client, ORG, "", **{"cold-chain": None, "fridges": None, "solar-fridges": "fridges"}
    )
    ids = made["ids"]
    merged = client.post(
        f"/api/taxonomy/terms/{ids['fridges']}/merge",
        json={"into": ids["cold-chain"]},
        headers=client.curator,
    )
    assert merged.status_code == 200, merged.text
    assert sorted(merged.json()["retagged_lesson_ids"]) == sorted([both, only_source])
    for lesson_id in (both, only_source, only_target):
        assert tags_of(client, lesson_id) == ["cold-chain"]
    terms = {t["name"]: t for t in merged.json()["terms"]}
    assert "fridges" not in terms
    assert terms["solar-fridges"]["parent_id"] == ids["cold-chain"]
    with transaction(engine_for()) as session:
        rows = session.exec(select(LessonTag).where(col(LessonTag.lesson_id) == both)).all()
        assert [r.tag for r in rows] == ["cold-chain"]
        [event] = session.exec(select(AuditEvent).where(AuditEvent.action == "merge")).all()
        assert event.before and event.before["source"]["tag"] == "fridges"


def test_merging_into_a_narrower_term_or_itself_is_refused(client: Client) -> None:
    ids = scheme(client, ORG, "", logistics=None, **{"cold-chain": "logistics"})["ids"]
    for target, field in (
        (ids["cold-chain"], "narrower than the source"),
        (ids["logistics"], "same term"),
    ):
        refused = client.post(
            f"/api/taxonomy/terms/{ids['logistics']}/merge",
            json={"into": target},
            headers=client.curator,
        )
        assert refused.status_code == 422
        assert refused.json()["error"]["fields"] == {"target_id": field}


def test_renaming_onto_an_existing_name_re_renders_the_form_with_the_error(
    client: Client,
) -> None:
    ids = scheme(client, ORG, "", logistics=None, transport=None)["ids"]
    key = f"rename-{ids['transport']}"
    page = client.post(
        f"/taxonomy/terms/{ids['transport']}/rename",
        data={"form": key, "name": "Logistics"},
        headers=client.curator,
    )
    assert page.status_code == 422
    soup = BeautifulSoup(page.text, "html.parser")
    field = soup.find(id=f"{key}-name")
    assert field is not None and field["value"] == "Logistics"
    error = soup.find(id=f"{key}-name-error")
    assert error is not None and "already in this scheme" in error.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"key": "Bad Key!", "name": "x"}, "key"),
        ({"key": "second", "name": "Second org-wide"}, "unit"),
        ({"key": ORG, "name": "Again", "unit": "Some Unit"}, "key"),
    ],
)
def test_scheme_rules(client: Client, body: dict[str, str], field: str) -> None:
    scheme(client, ORG, "")
    refused = client.post("/api/taxonomy/schemes", json=body, headers=client.curator)
    assert refused.status_code == 422
    assert field in refused.json()["error"]["fields"]


def test_term_names_are_normalised_and_may_not_hold_the_separator(client: Client) -> None:
    made = scheme(client, ORG, "")
    ok = client.post(
        f"/api/taxonomy/schemes/{made['id']}/terms",
        json={"name": "Cold Chain"},
        headers=client.curator,
    )
    assert [t["tag"] for t in ok.json()["terms"]] == ["cold-chain"]
    refused = client.post(
        f"/api/taxonomy/schemes/{made['id']}/terms",
        json={"name": "a:b"},
        headers=client.curator,
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["fields"] == {"name": "remove the :"}


# --- who may do what, and what the pages show -----------------------------------------------------


def test_only_curators_change_the_taxonomy(client: Client, anon_client: Client) -> None:
    made = scheme(client, ORG, "", logistics=None)
    term = made["ids"]["logistics"]
    for method, url, body in (
        ("POST", "/api/taxonomy/schemes", {"json": {"key": "x", "name": "x", "unit": "u"}}),
        ("PATCH", f"/api/taxonomy/terms/{term}", {"json": {"name": "moved"}}),
        ("POST", f"/taxonomy/terms/{term}/rename", {"data": {"name": "moved"}}),
        ("POST", "/taxonomy/adopt", {"data": {"tag": "x", "scheme_id": str(made["id"])}}),
    ):
        assert client.request(method, url, **body).status_code == 403, url
    assert anon_client.get("/api/taxonomy").status_code == 401
    assert anon_client.get("/taxonomy", follow_redirects=False).status_code == 303
    page = client.get("/taxonomy")
    assert page.status_code == 200
    assert "logistics" in page.text and "/taxonomy/terms/" not in page.text  # read-only
    assert "Free tags" not in page.text
    curator_page = client.get("/taxonomy", headers=client.curator)
    assert f"change={term}" in curator_page.text  # one link per term opens its forms
    opened = client.get(f"/taxonomy?change={term}", headers=client.curator)
    assert f'action="/taxonomy/terms/{term}/rename"' in opened.text


def test_counts_and_free_tags_cover_only_lessons_the_viewer_may_see(client: Client) -> None:
    (secret,) = review(
        client,
        "Secret project",
        [lesson("Restricted fridge lesson", ["cold-chain", "secret-tag"], "restricted")],
        Authorization=client.curator["Authorization"],
    )
    (open_one,) = review(client, "Open project", [lesson("Open fridge lesson", ["cold-chain"])])
    validate(client, secret, open_one)
    scheme(client, ORG, "", logistics=None, **{"cold-chain": "logistics"})
    mine = client.get("/api/taxonomy").json()
    counts = {t["name"]: t["lessons"] for t in mine["schemes"][0]["terms"]}
    assert counts == {"logistics": 1, "cold-chain": 1}
    assert "free_tags" not in mine
    theirs = client.get("/api/taxonomy", headers=client.curator).json()
    assert {t["name"]: t["lessons"] for t in theirs["schemes"][0]["terms"]} == {
        "logistics": 2,
        "cold-chain": 2,
    }
    assert theirs["free_tags"] == [{"tag": "secret-tag", "lessons": 1}]
    assert "secret-tag" not in client.get("/taxonomy").text
    assert "secret-tag" in client.get("/taxonomy", headers=client.curator).text


def test_adopting_a_free_tag_from_the_page(client: Client) -> None:
    (one,) = review(client, "Water", [lesson("Pumps broke", ["hand-pumps"])])
    made = scheme(client, "wash", "Water Unit")
    page = client.get("/taxonomy", headers=client.curator)
    assert "hand-pumps" in page.text
    done = client.post(
        "/taxonomy/adopt",
        data={"form": "adopt-0", "tag": "hand-pumps", "scheme_id": str(made["id"])},
        headers=client.curator,
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert "scheme=wash" in done.headers["location"]
    assert tags_of(client, one) == ["wash:hand-pumps"]
    after = client.get(done.headers["location"], headers=client.curator)
    assert "1 lesson retagged" in after.text


# --- export and import ------------------------------------------------------------------------


def test_export_and_import_keep_schemes_and_the_hierarchy(
    client: Client, engine_for: Any, tmp_path: Any
) -> None:
    scheme(client, ORG, "", logistics=None, **{"cold-chain": "logistics"})
    scheme(client, "wash", "Water Unit", pumps=None)
    with transaction(engine_for()) as session:
        document = export_bank(session)
    assert [s["key"] for s in document["taxonomy"]] == [ORG, "wash"]
    assert {t["name"]: t["broader"] for t in document["taxonomy"][0]["terms"]} == {
        "cold-chain": "logistics",
        "logistics": None,
    }
    other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    migrate(other)
    try:
        with transaction(other, write=True) as session:
            report = import_bank(session, document)
            assert report.errors == [] and report.added["taxonomy"] == 2
        with transaction(other, write=True) as session:
            assert import_bank(session, document).updated["taxonomy"] == 2
            again = export_bank(session)
        assert again["taxonomy"] == document["taxonomy"]
        looping = {
            **document,
            "taxonomy": [
                {
                    "key": "loop",
                    "name": "Loop",
                    "unit": "U",
                    "terms": [{"name": "a", "broader": "b"}, {"name": "b", "broader": "a"}],
                }
            ],
        }
        with transaction(other, write=True) as session:
            report = import_bank(session, looping)
            assert any("loop" in e for e in report.errors)
            assert find_scheme(session, key="loop") is None
    finally:
        other.dispose()


def test_demo_bank_has_an_org_wide_hierarchy_and_a_unit_scheme(demo_client: Client) -> None:
    body = demo_client.get("/api/taxonomy", headers=demo_client.curator).json()
    schemes = {s["key"]: s for s in body["schemes"]}
    org = schemes["org"]
    assert org["unit"] == ""
    assert max(t["depth"] for t in org["terms"]) >= 2
    top = {t["name"]: t for t in org["terms"] if t["depth"] == 0}
    assert top["supply-and-logistics"]["lessons"] > top["supply-and-logistics"]["direct_lessons"]
    unit = [s for s in body["schemes"] if s["unit"]]
    assert unit and all(t["tag"].startswith(unit[0]["key"] + ":") for t in unit[0]["terms"])
    assert any(t["lessons"] for t in unit[0]["terms"])
    page = demo_client.get("/taxonomy")
    assert page.status_code == 200 and "supply-and-logistics" in page.text


# --- suggestions ------------------------------------------------------------------------------

FRIDGE_TEXT = {
    "observation": "The vaccine fridges arrived late because procurement started late.",
    "recommendation": "Order vaccine fridges before the campaign is approved.",
}


def test_suggestions_come_from_validated_neighbours_the_viewer_may_see(client: Client) -> None:
    near, far, pending = review(
        client,
        "Cold chain",
        [
            lesson("Vaccine fridges arrived late", ["cold-chain", "procurement"], **FRIDGE_TEXT),
            lesson("Volunteers need clear rotas", ["volunteers"]),
            lesson("Vaccine fridges late again", ["unvetted-tag"], **FRIDGE_TEXT),
        ],
    )
    (secret,) = review(
        client,
        "Secret project",
        [lesson("Vaccine fridges arrived late", ["secret-tag"], "restricted", **FRIDGE_TEXT)],
        Authorization=client.curator["Authorization"],
    )
    validate(client, near, far, secret)
    (new,) = review(client, "Cold chain", [lesson("Vaccine fridges came late", [], **FRIDGE_TEXT)])
    mine = client.get(f"/api/lessons/{new}/tag-suggestions").json()
    tags = [s["tag"] for s in mine["suggestions"]]
    assert tags[:2] == sorted(["cold-chain", "procurement"]) or set(tags[:2]) == {
        "cold-chain",
        "procurement",
    }
    assert "secret-tag" not in tags and "unvetted-tag" not in tags
    assert all(secret not in s["lesson_ids"] for s in mine["suggestions"])
    assert all(0 < s["score"] <= 1 for s in mine["suggestions"])
    curator = client.get(f"/api/lessons/{new}/tag-suggestions", headers=client.curator).json()
    assert "secret-tag" in [s["tag"] for s in curator["suggestions"]]
    assert pending not in {i for s in curator["suggestions"] for i in s["lesson_ids"]}


def test_review_page_shows_suggestions_and_adds_the_ticked_ones(client: Client) -> None:
    (near,) = review(
        client,
        "Cold chain",
        [lesson("Vaccine fridges arrived late", ["cold-chain"], **FRIDGE_TEXT)],
    )
    validate(client, near)
    made = client.post(
        "/api/reviews",
        json={
            "kind": "aar",
            "project": {"name": "Cold chain"},
            "answers": {"planned": "x"},
            "lessons": [lesson("Vaccine fridges came late", [], **FRIDGE_TEXT)],
        },
    ).json()
    new = made["lessons"][0]["id"]
    page = client.get(f"/reviews/{made['id']}")
    soup = BeautifulSoup(page.text, "html.parser")
    section = soup.find(id="tag-suggestions")
    assert section is not None and "cold-chain" in section.text
    added = client.post(
        f"/lessons/{new}/tags",
        data={"tags": "cold-chain", "next": f"/reviews/{made['id']}"},
        follow_redirects=False,
    )
    assert added.status_code == 303 and added.headers["location"] == f"/reviews/{made['id']}"
    assert tags_of(client, new) == ["cold-chain"]
    # Someone who may not edit the lesson (kim wrote it) cannot tag it.
    (theirs,) = review(
        client,
        "Cold chain",
        [lesson("Kim's lesson", [])],
        Authorization=client.curator["Authorization"],
    )
    assert client.post(f"/lessons/{theirs}/tags", data={"tags": "x"}).status_code == 403
    assert tags_of(client, theirs) == []


def test_suggest_tags_skips_tags_the_lesson_has(session: Session) -> None:
    class Hit:
        def __init__(self, lesson: Lesson, dense: float) -> None:
            self.lesson = lesson
            self.components = type("C", (), {"dense": dense})()

    class Finder:
        def __init__(self, hits: list[Hit]) -> None:
            self.hits = hits

        def similar(
            self, session: Session, lesson: Lesson, *, viewer: Any, limit: int = 5
        ) -> list[Hit]:
            return self.hits

    def made(i: int, tags: list[str]) -> Lesson:
        row = Lesson(id=i, title=f"l{i}", status="validated", sensitivity="internal")
        row.tag_links = [LessonTag(lesson_id=i, tag=t) for t in tags]
        return row

    target = made(1, ["a"])
    finder = Finder([Hit(made(2, ["a", "b"]), 0.9), Hit(made(3, ["b", "c"]), 0.1)])
    found = suggest_tags(session, lesson=target, viewer=access.STAFF, retriever=finder)
    assert [(s.tag, s.score, s.lesson_ids) for s in found] == [("b", 1.0, (2, 3)), ("c", 0.1, (3,))]
