"""lessons/communities/content.py: what the digest asks of communities (a follower's new
lessons), as far as the follower may see."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from lessons.accounts import users as accounts
from lessons.communities import content
from lessons.storage.db import make_engine
from lessons.storage.settings import Settings
from tests.conftest import Client, review_payload


def test_news_for_a_follower_holds_new_lessons_they_may_see_in_followed_communities(
    client: Client, settings: Settings
) -> None:
    community = client.post(
        "/api/communities",
        json={"name": "Cold chain", "tags": ["cold-chain"], "facilitators": ["kim"]},
        headers=client.curator,
    ).json()["id"]
    client.post(f"/api/communities/{community}/membership", json={"follows": True})
    lessons = [
        {"title": "Label fridges", "tags": ["cold-chain"], "sensitivity": "internal"},
        {"title": "Ward fridge codes", "tags": ["cold-chain"], "sensitivity": "restricted"},
        {"title": "Translate consent forms", "tags": ["consent"], "sensitivity": "internal"},
    ]
    made = client.post(
        "/api/reviews",
        json=review_payload(project={"name": "Closed ward"}, lessons=lessons, actions=[]),
        headers=client.curator,
    ).json()
    for lesson in made["lessons"]:
        client.post(
            f"/api/lessons/{lesson['id']}/transition",
            json={"to": "validated"},
            headers=client.curator,
        )
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            casey = accounts.viewer(session, accounts.find_user(session, username="casey"))
            since = datetime.now(UTC) - timedelta(days=1)
            ((followed, fresh),) = content.news_for(session, viewer=casey, since=since)
            assert followed.id == community
            assert [le.title for le in fresh] == ["Label fridges"]
            later = datetime.now(UTC) + timedelta(minutes=1)
            assert content.news_for(session, viewer=casey, since=later) == []
    finally:
        engine.dispose()
