"""Communities as plain dicts for the JSON API and the templates (lessons.responses:
Community, CommunityDetail, CommunityQuestion)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from starlette.requests import Request

from lessons.accounts.access import Viewer
from lessons.communities import board, content
from lessons.communities import service as communities
from lessons.communities.board import Thread
from lessons.storage.models import Community, Lesson
from ui.shared.presenters import lesson_brief, person_ref
from ui.shared.themes import themes_for


def community_json(session: Session, community: Community, viewer: Viewer) -> dict[str, Any]:
    """A community with its members and the caller's own place."""
    roster = communities.roster(session, community=community, viewer=viewer)
    mine = roster.mine
    return {
        "id": community.id,
        "name": community.name,
        "summary": community.summary,
        "tags": list(community.tags),
        "page": f"/communities/{community.id}",
        "members": [
            {"username": user.username, "person": person_ref(user.person), "role": member.role}
            for member, user in roster.members
        ],
        "followers": roster.followers,
        "you": {"role": mine.role if mine else None, "follows": bool(mine and mine.follows)},
    }


def thread_json(thread: Thread, visible: set[int]) -> dict[str, Any]:
    """A question and its answers; an answer's lesson only when the reader may see it."""
    question = thread.question
    return {
        "id": question.id,
        "community_id": question.community_id,
        "question": question.title,
        "details": question.body,
        "asked_by": thread.names.get(question.asked_by_id or 0),
        "asked_at": question.asked_at.isoformat(),
        "open": thread.open,
        "answers": [
            {
                "id": a.id,
                "body": a.body,
                "answered_by": thread.names.get(a.answered_by_id or 0),
                "answered_at": a.answered_at.isoformat(),
                "lesson_id": a.lesson_id if a.lesson_id in visible else None,
            }
            for a in thread.answers
        ],
    }


def visible_answer_lessons(session: Session, threads: list[Thread], viewer: Viewer) -> set[int]:
    """Ids of the lessons drawn from these answers that the viewer may see."""
    ids = [a.lesson_id for t in threads for a in t.answers if a.lesson_id is not None]
    return {i for i in ids if (le := session.get(Lesson, i)) is not None and viewer.can_see(le)}


def community_detail(
    request: Request, session: Session, community: Community, viewer: Viewer
) -> dict[str, Any]:
    """A community's page as data: members, recent lessons, shared lessons, questions (open
    first) and recurring themes, each as far as the viewer may see."""
    threads = board.threads(session, community=community)
    visible = visible_answer_lessons(session, threads, viewer)
    pool = content.community_lesson_pool(session, community=community, viewer=viewer)
    themes = content.community_themes(themes_for(request, session), pool)
    return {
        **community_json(session, community, viewer),
        "lessons": [
            lesson_brief(le)
            for le in content.recent_lessons(session, community=community, viewer=viewer)
        ],
        "shared": [
            {
                "lesson": lesson_brief(item.lesson),
                "note": item.share.note,
                "shared_by": item.shared_by,
                "shared_at": item.share.shared_at.isoformat(),
            }
            for item in content.shared_lessons(session, community=community, viewer=viewer)
        ],
        "questions": [thread_json(t, visible) for t in threads],
        "themes": [
            {"label": t.label, "tags": list(t.tags), "lessons": len(t.lessons)} for t in themes
        ],
    }
