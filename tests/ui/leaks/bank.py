"""The seeded bank of the leak suite: restricted lessons in a project `casey` is not a member of,
an internal lesson, a public lesson not yet validated and a soft-deleted one, each carrying a
marker word found nowhere else; and the ranker as it runs on a bank too large for FTS5."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlmodel import select

from lessons.catalogue import service as catalogue
from lessons.storage.db import make_engine, transaction
from lessons.storage.models import Lesson, LessonStatus, Person
from retrieval import bm25_bounded, lexical
from tests.conftest import Client, add_people

# --- the seeded bank -----------------------------------------------------------------------------

MARK_RESTRICTED = "zebrafishquarantine"
MARK_INTERNAL = "okapiinternalmemo"
MARK_UNVETTED = "narwhalunvetted"
MARK_DELETED = "quokkadeleted"
QUERY_WORDS = "cold chain fridges procurement lead time"
TAG = "cold-chain"
SECRET_TAG = "aquarium-biosecurity"
SECRET_PROJECT = "Aquarium biosecurity programme"
SECRET_UNIT = "Marine Labs"
PUBLIC_PROJECT = "Cold chain programme"
SECRET_AUTHOR = "Ravi Okafor"
SECRET_OWNER = "Quillon Abernathy-Vos"
SECRET_STORY_OWNER = "Wilhelmina Stroud-Ng"  # owns an action on no lesson, on the secret review
MARK_STORY = "ibexstoryline"  # the secret review's answers and its action on no lesson
MARK_BRIEF = "pangolinbriefing"  # curator kim's BAR brief
MARK_PURGED = "tapirpurged"  # a review whose only (restricted) lesson was purged
MARK_PROFILE = "walrusprofile"  # the secret author's own profile: bio and contact
# The secret author lists the query's own topic as expertise: people search by tag must not
# find them for anyone outside the secret project.
SECRET_PROFILE = {
    "expertise": ["cold chain", "fridges", "procurement lead time"],
    "bio": f"Runs the {MARK_PROFILE} quarantine fridges.",
    "contact": f"{MARK_PROFILE}@aquarium.example",
    "role": "Aquarium cold chain lead",
}
# What nobody outside the secret project may read, whatever the page: words and names.
SECRET_WORDS = (
    MARK_STORY,
    MARK_BRIEF,
    MARK_PURGED,
    MARK_PROFILE,
    SECRET_PROJECT,
    SECRET_TAG,
    SECRET_AUTHOR,
    SECRET_OWNER,
    SECRET_STORY_OWNER,
)
TRUSTED = {"validated", "actioned", "learned"}
EVERY_STATUS = [str(s) for s in LessonStatus]

# The public twin and the restricted lesson differ by the marker alone: each is the other's
# nearest neighbour, and a near-copy of it.
TWIN_TITLE = "Order cold chain fridges before procurement lead time runs out"
TWIN_TEXT = {
    "observation": "The cold chain fridges arrived three weeks late because procurement "
    "started after approval and the supplier lead time is twelve weeks.",
    "insight": "Procurement lead time for cold chain fridges is longer than the campaign "
    "planning window.",
    "recommendation": "Start procurement of cold chain fridges when the plan is drafted.",
}


@dataclass(frozen=True)
class Seeded:
    """One seeded lesson and who may see it."""

    key: str
    title: str
    sensitivity: str
    status: str  # after seeding
    secret_project: bool
    marker: str = ""
    tags: tuple[str, ...] = (TAG,)
    deleted: bool = False
    text: dict[str, str] = field(default_factory=dict)

    def visible_to(self, viewer: str) -> bool:
        """DESIGN.md: anonymous sees public validated lessons; casey, a contributor outside
        the secret project, sees public and internal ones; nobody but curators sees deleted."""
        if self.deleted:
            return False
        if viewer == "anonymous":
            return self.sensitivity == "public" and self.status in TRUSTED
        return self.sensitivity in ("public", "internal")

    def body(self) -> dict[str, Any]:
        return {
            "title": self.title,
            **(
                self.text
                or {
                    "observation": f"{self.marker} cold chain fridges procurement lead time.",
                    "insight": f"{self.marker} lead time for fridges is long.",
                    "recommendation": f"Plan {self.marker} procurement early.",
                }
            ),
            "polarity": "improve",
            "perspective": "operational",
            "tags": list(self.tags),
            "sensitivity": self.sensitivity,
        }


def _marked(text: dict[str, str], marker: str) -> dict[str, str]:
    """The text with the marker in one section: one word more keeps it a near-copy."""
    return {**text, "observation": f"{marker.capitalize()}: {text['observation']}"}


SEEDS = (
    Seeded(
        "restricted",
        f"{MARK_RESTRICTED.capitalize()}: {TWIN_TITLE}",
        "restricted",
        "validated",
        True,
        MARK_RESTRICTED,
        (TAG, SECRET_TAG),
        text=_marked(TWIN_TEXT, MARK_RESTRICTED),
    ),
    Seeded(
        "restricted_spares",
        f"{MARK_RESTRICTED.capitalize()}: cold chain spare parts have a procurement lead time",
        "restricted",
        "validated",
        True,
        MARK_RESTRICTED,
        (TAG, SECRET_TAG),
    ),
    Seeded(
        "restricted_pending",
        f"{MARK_RESTRICTED.capitalize()}: check cold chain fridge logs during procurement",
        "restricted",
        "identified",
        True,
        MARK_RESTRICTED,
        (TAG, SECRET_TAG),
    ),
    # Merged by kim into the public lesson below: nothing of it may move there.
    Seeded(
        "restricted_merged",
        f"{MARK_RESTRICTED.capitalize()}: cold chain fridges from the secret store",
        "restricted",
        "merged",
        True,
        MARK_RESTRICTED,
        (TAG, SECRET_TAG),
    ),
    Seeded(
        "public",
        "Cold chain fridges need a procurement lead time buffer",
        "public",
        "validated",
        False,
        text={"observation": "Fridges for the cold chain came late.", "insight": "Lead time."},
    ),
    Seeded("public_twin", TWIN_TITLE, "public", "validated", False, text=TWIN_TEXT),
    Seeded(
        "public_other",
        "Translate consent forms before the campaign starts",
        "public",
        "validated",
        False,
        tags=("consent",),
        text={"observation": "Consent forms were only in English."},
    ),
    Seeded(
        "internal",
        f"{MARK_INTERNAL.capitalize()}: cold chain fridge procurement lead time memo",
        "internal",
        "validated",
        False,
        MARK_INTERNAL,
    ),
    Seeded(
        "public_unvetted",
        f"{MARK_UNVETTED.capitalize()}: cold chain fridges procurement lead time draft",
        "public",
        "identified",
        False,
        MARK_UNVETTED,
    ),
    Seeded(
        "public_deleted",
        f"{MARK_DELETED.capitalize()}: cold chain fridges procurement lead time, withdrawn",
        "public",
        "validated",
        False,
        MARK_DELETED,
        deleted=True,
    ),
)
BY_KEY = {seed.key: seed for seed in SEEDS}


@dataclass
class Bank:
    """Ids of what was seeded, by the names this file uses."""

    lessons: dict[str, int]
    projects: dict[str, int]
    reviews: dict[str, int]
    bars: dict[str, int]
    actions: dict[str, tuple[str, str]]  # lesson key -> (action text, owner name)
    people: dict[str, int] = field(default_factory=dict)  # PEOPLE's keys -> person id

    def hidden(self, viewer: str) -> list[Seeded]:
        return [seed for seed in SEEDS if not seed.visible_to(viewer)]

    def hidden_ids(self, viewer: str) -> set[int]:
        return {self.lessons[seed.key] for seed in self.hidden(viewer)}


# The people of the bank by key: named only on the secret project's work, or on visible work.
PEOPLE = {
    "secret_author": SECRET_AUTHOR,
    "secret_owner": SECRET_OWNER,
    "secret_story_owner": SECRET_STORY_OWNER,
    "public_owner": "Tom Reyes",
    "internal_owner": "Ines Moreau",
}


def _review(project: dict[str, Any], seeds: list[Seeded], **extra: Any) -> dict[str, Any]:
    return {
        "kind": "aar",
        "project": project,
        "answers": {"planned": "Run the work as planned.", "actual": "It ran late."},
        "lessons": [seed.body() for seed in seeds],
        **extra,
    }


def seed_bank(client: Client, engine_url: str) -> Bank:
    """Seed through the API: restricted lessons by curator kim in a project casey is not a
    member of, the rest by casey; kim validates; each runs a BAR; one lesson is soft-deleted."""
    secret = [s for s in SEEDS if s.secret_project]
    public = [s for s in SEEDS if not s.secret_project]
    add_people(engine_url, SECRET_OWNER, SECRET_STORY_OWNER)  # owners are directory people
    actions = {
        "restricted": (f"{MARK_RESTRICTED.capitalize()}: add the fridge lead time", SECRET_OWNER),
        "restricted_merged": (f"{MARK_RESTRICTED.capitalize()}: empty the store", SECRET_OWNER),
        # casey owns one action on restricted work she may not see, and one she may: her own
        # actions ("my actions", her digest) hold the second only.
        "restricted_spares": (f"{MARK_RESTRICTED.capitalize()}: recount the spares", "casey"),
        "public_twin": ("Check the twin fridge logs weekly", "casey"),
        "public": ("Add a lead-time buffer to the plan template", "Tom Reyes"),
        "internal": (f"{MARK_INTERNAL.capitalize()}: brief the cold chain team", "Ines Moreau"),
    }

    def action_list(seeds: list[Seeded]) -> list[dict[str, Any]]:
        keys = [s.key for s in seeds]
        return [
            {"what": what, "owner": owner, "due": "2031-03-31", "lesson_index": keys.index(key)}
            for key, (what, owner) in actions.items()
            if key in keys
        ]

    made = client.post(
        "/api/reviews",
        json=_review(
            {"name": SECRET_PROJECT, "unit": SECRET_UNIT},
            secret,
            author=SECRET_AUTHOR,
            answers={"planned": f"Run the {MARK_STORY} work.", "actual": "It ran late."},
            actions=[
                *action_list(secret),
                {"what": f"{MARK_STORY}: audit the tank seals", "owner": SECRET_STORY_OWNER},
            ],
        ),
        headers=client.curator,
    )
    assert made.status_code == 201, made.text
    secret_review = made.json()
    made = client.post(
        "/api/reviews",
        json=_review({"name": PUBLIC_PROJECT, "unit": "Public Health"}, public)
        | {"actions": action_list(public)},
    )
    assert made.status_code == 201, made.text
    public_review = made.json()
    ids = {s.key: le["id"] for s, le in zip(secret, secret_review["lessons"], strict=True)}
    ids |= {s.key: le["id"] for s, le in zip(public, public_review["lessons"], strict=True)}
    for seed in SEEDS:
        if seed.status == "validated":
            step = client.post(
                f"/api/lessons/{ids[seed.key]}/transition",
                json={"to": "validated", "reason": "checked"},
                headers=client.curator,
            )
            assert step.status_code == 200, step.text
    merged = client.post(
        f"/api/lessons/{ids['public']}/merge",
        json={"duplicates": [ids["restricted_merged"]]},
        headers=client.curator,
    )
    assert merged.status_code == 200, merged.text
    purged = client.post(
        "/api/reviews",
        json=_review(
            {"id": secret_review["project"]["id"]},
            [],
            answers={"planned": f"Keep the {MARK_PURGED} plan.", "actual": "Done."},
            lessons=[
                {"title": f"{MARK_PURGED.capitalize()}: withdrawn", "sensitivity": "restricted"}
            ],
            author=SECRET_AUTHOR,
        ),
        headers=client.curator,
    )
    assert purged.status_code == 201, purged.text
    engine = make_engine(engine_url)
    try:
        with transaction(engine) as session:
            for seed in SEEDS:
                if seed.deleted:
                    lesson = session.get(Lesson, ids[seed.key])
                    assert lesson is not None
                    catalogue.delete_lesson(session, lesson=lesson, actor="kim")
            gone = session.get(Lesson, purged.json()["lessons"][0]["id"])
            assert gone is not None
            catalogue.delete_lesson(session, lesson=gone, actor="kim")
            catalogue.purge_lesson(session, lesson=gone, actor="kim")
            people = {
                key: session.exec(select(Person).where(Person.name == name)).one().id or 0
                for key, name in PEOPLE.items()
            }
    finally:
        engine.dispose()
    profiled = client.patch(
        f"/api/people/{people['secret_author']}", json=SECRET_PROFILE, headers=client.admin
    )
    assert profiled.status_code == 200, profiled.text
    bars = {}
    for who, brief, headers in (
        ("casey", QUERY_WORDS, {}),
        ("kim", f"{MARK_BRIEF} {QUERY_WORDS}", client.curator),
    ):
        ran = client.post("/api/bar", json={"brief": brief, "limit": 10}, headers=headers)
        assert ran.status_code == 201, ran.text
        bars[who] = ran.json()["id"]
    # Curator kim asks the secret author for a peer assist on casey's BAR: casey reads the BAR
    # but may not see the person, so neither the request nor its words may show to casey.
    asked = client.post(
        f"/api/bar/{bars['casey']}/peer-assists",
        json={"person_id": people["secret_author"], "ask": f"Ask about the {MARK_PROFILE} fridges"},
        headers=client.curator,
    )
    assert asked.status_code == 201, asked.text
    return Bank(
        lessons=ids,
        projects={
            "secret": secret_review["project"]["id"],
            "public": public_review["project"]["id"],
        },
        reviews={
            "secret": secret_review["id"],
            "public": public_review["id"],
            "purged": purged.json()["id"],
        },
        bars=bars,
        actions=actions,
        people=people,
    )


def _large_bank_ranker(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Rank as on a bank too large for FTS5's bm25(): bounded candidates, and so few postings
    read that they are narrowed to lessons holding the rarest terms together. Returns the
    number of candidates of each ranking, as it happens (so a test can tell it ran)."""
    monkeypatch.setattr(lexical, "IN_MEMORY", False)  # FTS5 read per query
    monkeypatch.setattr(lexical, "EXACT_LIMIT", 0)
    monkeypatch.setattr(bm25_bounded, "CANDIDATE_POSTINGS", 4)
    found: list[int] = []
    candidates = bm25_bounded.candidates

    def counted(*args: Any, **kwargs: Any) -> Any:
        ids = candidates(*args, **kwargs)
        found.append(len(ids))
        return ids

    monkeypatch.setattr(bm25_bounded, "candidates", counted)
    return found
