"""People as the API answers and the pages show them: a person found for a topic, and a
profile with its inferred expertise and contributions (one shape, two outputs)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from starlette.requests import Request

from lessons.catalogue import service as catalogue
from lessons.errors import ValidationFailed
from lessons.expertise import contributions, profiles, search
from lessons.expertise.contributions import Contributed, Inferred, Record
from lessons.people.ranking import RankedPerson
from lessons.storage.models import Person
from ui.shared.presenters import action_json, lesson_brief, person_ref
from ui.shared.state import app_state, throttle, viewer_for
from ui.shared.throttle import Costly


def hit_json(found: RankedPerson) -> dict[str, Any]:
    """A person found for a topic: who, how relevant, and why (each lesson or tag, named)."""
    return {
        **(person_ref(found.person) or {}),
        "relevance": found.relevance,
        "why": list(found.why),
        "found": [
            {
                "relation": link.relation,
                "title": link.title,
                "match": link.match,
                "lesson_id": link.lesson_id,
            }
            for link in found.links
        ],
    }


def record_json(record: Record) -> dict[str, Any]:
    return {"kind": record.kind, "id": record.id, "label": record.label, "link": record.link}


def inferred_json(inferred: Inferred) -> dict[str, Any]:
    return {"tag": inferred.tag, "evidence": [record_json(r) for r in inferred.evidence]}


def profile_json(
    person: Person, done: Contributed, inferred: list[Inferred], *, editable: bool
) -> dict[str, Any]:
    """A profile: what the person says of themselves, what their work shows, and the work."""
    return {
        **(person_ref(person) or {}),
        "expertise": list(person.expertise),
        "bio": person.bio,
        "contact": person.contact,
        "editable": editable,
        "created_at": person.created_at.isoformat(),
        "inferred": [inferred_json(i) for i in inferred],
        "contributions": {
            "lessons": [lesson_brief(lesson) for lesson in done.lessons],
            "reviews": [record_json(r) for r in done.reviews],
            "actions": [action_json(a) for a in done.actions],
            "bar_outcomes": [record_json(r) for r in done.bar_outcomes],
            "peer_assists": [record_json(r) for r in done.peer_assists],
        },
    }


# --- What the API and the pages both do -------------------------------------------------------

MAX_LIMIT = 50


def topic_of(request: Request) -> str:
    """The `q` of a people search, trimmed; too long is a 422 naming it."""
    topic = (request.query_params.get("q") or "").strip()
    if len(topic) > app_state(request).settings.max_brief_chars:
        raise ValidationFailed("The topic is too long.", {"q": "too long"})
    return topic


def find(request: Request, session: Session, topic: str, *, limit: int) -> list[dict[str, Any]]:
    """People for `topic` as the caller may see them (`lessons.expertise.search`), best first;
    without a topic, the directory by name."""
    viewer = viewer_for(request)
    if not topic:
        listed = catalogue.list_people(session, viewer=viewer)[:limit]
        return [hit_json(RankedPerson(person, 0.0, ())) for person in listed]
    throttle(request, Costly.SEARCH)
    ranker = app_state(request).retriever
    found = search.people_for_topic(session, ranker, topic, viewer=viewer, limit=limit)
    return [hit_json(entry) for entry in found]


def profile(request: Request, session: Session, person_id: int) -> dict[str, Any]:
    """A person's profile as the caller may see it (NotFound when they may not see them)."""
    viewer = viewer_for(request)
    person = profiles.get(session, person_id=person_id, viewer=viewer)
    done = contributions.contributed(session, person=person, viewer=viewer)
    return profile_json(
        person,
        done,
        contributions.inferred(done),
        editable=profiles.may_edit(viewer, person),
    )
