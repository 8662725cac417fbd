"""Browsing: home, projects, lessons and actions (people: `ui.pages.people`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from lessons.accounts import audit
from lessons.accounts import users as accounts
from lessons.accounts.access import Viewer
from lessons.actions import service as actions
from lessons.bar import service as bars
from lessons.capture import projects
from lessons.catalogue import service as catalogue
from lessons.curation import lifecycle, queue
from lessons.errors import InvalidTransition, ValidationFailed
from lessons.schemas import SearchFilters, TransitionIn, parse
from lessons.storage.models import ActionStatus, Lesson, LessonStatus
from retrieval.hits import Hit
from ui.pages import merge
from ui.pages.render import page
from ui.shared.body import form_handler, path_id
from ui.shared.errors import status_of
from ui.shared.forms import nested
from ui.shared.params import page_number
from ui.shared.presenters import match_of, summary_json
from ui.shared.state import CURATORS, app_state, require, session_for, throttle, viewer_for
from ui.shared.throttle import Costly

PAGE_SIZE = 20
OWN_LIMIT = 5  # an author's own lessons awaiting a curator, shown above a search's results


@dataclass(frozen=True)
class Ranked:
    hits: list[Hit]
    own: list[Hit]  # the searcher's own lessons awaiting a curator, matching the search


MY_WORK_SIZE = 5


def _my_work(session: Session, viewer: Viewer) -> dict[str, Any]:
    """A signed-in person's own work: the lessons they wrote (any status), the before action
    reviews they ran, their open actions and, for a curator, the lessons awaiting validation."""
    mine: list[Lesson] = []
    if viewer.person_id is not None:
        mine, _ = catalogue.list_lessons(
            session,
            viewer=viewer,
            filters=SearchFilters(status=list(LessonStatus), author_id=viewer.person_id),
            limit=MY_WORK_SIZE,
        )
    my_bars = [
        b for b in bars.list_bars(session, viewer=viewer) if b.run_by_user_id == viewer.user_id
    ]
    my_actions = actions.my_actions(session, viewer=viewer)
    awaiting = None
    if viewer.is_curator:
        awaiting = queue.page(
            session,
            viewer=viewer,
            section=queue.Section.VALIDATE,
            today=catalogue.today(),
            limit=MY_WORK_SIZE,
            offset=0,
        )
    return {
        "my_lessons": mine,
        "my_bars": my_bars[:MY_WORK_SIZE],
        "my_bar_count": len(my_bars),
        "my_actions": my_actions[:MY_WORK_SIZE],
        "my_action_count": len(my_actions),
        "awaiting": awaiting,
    }


def home(request: Request) -> Response:
    with session_for(request) as session:
        viewer = viewer_for(request)
        recent, total = catalogue.list_lessons(session, viewer=viewer, limit=6)
        open_actions = catalogue.list_actions(session, viewer=viewer, status=ActionStatus.OPEN)
        context = {
            "recent": recent,
            "lesson_count": total,
            "project_count": len(projects.list_projects(session, viewer=viewer)),
            "open_actions": open_actions[:5],
            "open_action_count": len(open_actions),
            "today": catalogue.today(),
            "first_run": not viewer.signed_in and not accounts.has_users(session),
        }
        if viewer.signed_in:
            context |= _my_work(session, viewer)
        return page(request, "home.html", context)


def project_list(request: Request) -> Response:
    require(request)
    with session_for(request) as session:
        known = projects.list_projects(session, viewer=viewer_for(request))
        return page(request, "projects.html", {"projects": known})


def project_detail(request: Request) -> Response:
    require(request)
    project_id = path_id(request)
    with session_for(request) as session:
        viewer = viewer_for(request)
        project = projects.get(session, project_id=project_id, viewer=viewer)
        reviews = catalogue.list_reviews(session, viewer=viewer, project_id=project_id)
        lessons, _ = catalogue.list_lessons(
            session,
            viewer=viewer,
            filters=SearchFilters(project_id=project_id, status=list(LessonStatus)),
            limit=500,
        )
        return page(
            request,
            "project.html",
            {
                "project": project,
                "reviews": reviews,
                # Reviews whose story (and so whose author) this viewer may read.
                "readable_reviews": {r.id for r in reviews if viewer.can_read_review(r)},
                "lessons": lessons,
                "actions": catalogue.list_actions(session, viewer=viewer, project_id=project_id),
                "bars": bars.list_bars(session, viewer=viewer, project_id=project_id),
                "today": catalogue.today(),
            },
        )


def _ranked(request: Request, session: Session, query: str, filters: SearchFilters) -> Ranked:
    """The search's hits and, for a signed-in author searching the usual statuses, their own
    lessons still awaiting a curator that match it (the default search hides those, so an
    author could not find the lesson they just logged)."""
    viewer = viewer_for(request)
    retriever = app_state(request).retriever
    hits = retriever.search(session, query, viewer=viewer, filters=filters, limit=PAGE_SIZE)
    own: list[Hit] = []
    if viewer.person_id is not None and filters.status is None:
        pending = filters.model_copy(
            update={"status": [LessonStatus.IDENTIFIED], "author_id": viewer.person_id}
        )
        found = retriever.search(session, query, viewer=viewer, filters=pending, limit=OWN_LIMIT)
        own = [h for h in found if match_of(h.components) != "weak"]
    return Ranked(hits, own)


def _search_context(
    request: Request, session: Session, query: str, filters: SearchFilters
) -> dict[str, Any]:
    ranked = _ranked(request, session, query, filters)
    every = [*ranked.hits, *ranked.own]
    matches = {h.lesson.id: match_of(h.components) or "related" for h in every}
    good = [h.lesson for h in ranked.hits if matches[h.lesson.id] != "weak"]
    return {
        "lessons": good,
        "weaker": [h.lesson for h in ranked.hits if matches[h.lesson.id] == "weak"],
        "own_pending": [h.lesson for h in ranked.own],
        "total": len(good),
        "why": {h.lesson.id: h.why for h in every},
        "scores": {h.lesson.id: h.score for h in every},
        "matches": matches,
        "summary": summary_json([matches[h.lesson.id] for h in ranked.hits]),
    }


def lesson_list(request: Request) -> Response:
    params = request.query_params
    query = params.get("q", "").strip()[: app_state(request).settings.max_brief_chars]
    tag = params.get("tag", "").strip()
    status = params.get("status", "")
    pageno = page_number(params)
    try:
        filters = SearchFilters.model_validate(
            {
                "tags": [tag] if tag else None,
                "status": list(LessonStatus) if status == "all" else ([status] if status else None),
            }
        )
    except ValueError:
        filters = SearchFilters()
    if query:
        throttle(request, Costly.SEARCH)
    with session_for(request) as session:
        if query:
            found = _search_context(request, session, query, filters)
        else:
            lessons, total = catalogue.list_lessons(
                session,
                viewer=viewer_for(request),
                filters=filters,
                limit=PAGE_SIZE,
                offset=(pageno - 1) * PAGE_SIZE,
            )
            found = {"lessons": lessons, "total": total, "why": {}, "scores": {}}
            found |= {"matches": {}, "summary": {}, "weaker": [], "own_pending": []}
        return page(
            request,
            "lessons.html",
            {
                **found,
                "q": query,
                "tag": tag,
                "status": status,
                "page": pageno,
                "pages": max(1, -(-found["total"] // PAGE_SIZE)),
            },
        )


def _lesson_page(request: Request, lesson_id: int, status: int = 200, **extra: object) -> Response:
    with session_for(request) as session:
        viewer = viewer_for(request)
        lesson = catalogue.get_lesson(session, lesson_id=lesson_id, viewer=viewer)
        similar = app_state(request).retriever.similar(session, lesson, viewer=viewer, limit=5)
        context = {
            "lesson": lesson,
            "actions": lesson.actions,
            "history": lifecycle.history(session, lesson_id=lesson_id),
            "allowed": lifecycle.allowed_next(lesson.status),
            "similar": similar,
            # Curators see who changed this lesson; nobody else does.
            "audit_rows": audit.events(session, entity="lesson", entity_id=lesson_id)
            if viewer.is_curator
            else [],
            "today": catalogue.today(),
            "errors": {},
            "values": {},
            **merge.lesson_context(request, session, lesson, viewer),
            **extra,
        }
        return page(request, "lesson.html", context, status=status)


def lesson_detail(request: Request) -> Response:
    lesson_id = path_id(request)
    # A merged lesson's old link leads to its canonical lesson.
    return merge.redirect_for(request, lesson_id) or _lesson_page(request, lesson_id)


@form_handler
def lesson_transition(request: Request, form: FormData) -> Response:
    require(request, *CURATORS)
    lesson_id = path_id(request)
    values = nested(form)
    try:
        step = parse(TransitionIn, values, app_state(request).limits)
        with session_for(request) as session:
            viewer = viewer_for(request)
            lesson = catalogue.get_lesson(session, lesson_id=lesson_id, viewer=viewer)
            lifecycle.transition(
                session,
                lesson=lesson,
                to=step.to,
                actor=viewer.name,
                reason=step.reason,
                evidence=step.learned_evidence,
                link=step.learned_link,
                review_months=app_state(request).settings.review_months,
            )
    except (ValidationFailed, InvalidTransition) as exc:
        return _lesson_page(
            request,
            lesson_id,
            status_of(exc),
            errors=exc.fields,
            values=values,
            message=exc.message,
        )
    return RedirectResponse(f"/lessons/{lesson_id}", status_code=303)


routes = [
    Route("/", home, methods=["GET"]),
    Route("/projects", project_list, methods=["GET"]),
    Route("/projects/{id:int}", project_detail, methods=["GET"]),
    Route("/lessons", lesson_list, methods=["GET"]),
    Route("/lessons/{id:int}", lesson_detail, methods=["GET"]),
    Route("/lessons/{id:int}/transition", lesson_transition, methods=["POST"]),
]
