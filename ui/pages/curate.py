"""The curation queue (/curate): lessons to validate, lessons due for review and lessons with
weak text, each with a form that edits the lesson and takes the decision in one submit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any
from urllib.parse import urlencode

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from lessons.accounts.access import Viewer
from lessons.catalogue import service as catalogue
from lessons.curation import lifecycle
from lessons.curation import queue as curation
from lessons.curation.queue import Section
from lessons.errors import InvalidTransition, NotFound, ValidationFailed
from lessons.schemas import LessonPatch, ReviewDueIn, ValidateIn, parse
from lessons.storage.models import Lesson
from ui.pages.render import page
from ui.shared.body import path_id
from ui.shared.errors import status_of
from ui.shared.forms import nested
from ui.shared.params import id_param, page_number
from ui.shared.state import CURATORS, app_state, embed_committed, require, session_for, viewer_for

# Each lesson comes with a full edit form: ten keep the page short enough to work through.
PAGE_SIZE = 10

# The notice after a decision, by the `did` the redirect carries.
DONE = {
    "validated": "validated",
    "rejected": "rejected",
    "confirmed": "confirmed until its next review",
    "retired": "retired",
    "saved": "saved",
    "unchanged": "left as it was (nothing was changed)",
}
TEXT_FIELDS = ("title", "observation", "insight", "recommendation")


def _section(raw: str | None) -> Section:
    try:
        return Section(raw or Section.VALIDATE)
    except ValueError:
        return Section.VALIDATE


def queue(request: Request) -> Response:
    require(request, *CURATORS)
    params = request.query_params
    done = id_param(params, "done")
    did = params.get("did", "")
    return _render(
        request,
        _section(params.get("section")),
        page_number(params),
        done=(done, did) if done and did in DONE else None,
        open_id=id_param(params, "open"),
    )


def form_values(lesson: Lesson) -> dict[str, str]:
    """A lesson as its queue form shows it before anything is typed."""
    return {
        **{name: getattr(lesson, name) for name in TEXT_FIELDS},
        "polarity": lesson.polarity,
        "perspective": lesson.perspective,
        "sensitivity": lesson.sensitivity,
        "tags": ", ".join(lesson.tags),
        "review_due": "",
        "reason": "",
    }


# A form sent back: the lesson's id, what was typed, the errors by field, and the message.
Failed = tuple[int, dict[str, Any], dict[str, str], str]


def _render(
    request: Request,
    section: Section,
    pageno: int,
    *,
    status: int = 200,
    failed: Failed | None = None,
    done: tuple[int, str] | None = None,
    open_id: int | None = None,
) -> Response:
    """The queue at one section's page: a compact list, with one lesson's form open (`open_id`,
    or the lesson of a form sent back); `failed` is a form sent back; `done` the lesson and
    decision just taken."""
    with session_for(request, write=False) as session:
        viewer = viewer_for(request)
        today = catalogue.today()
        counts = curation.counts(session, viewer=viewer, today=today)
        pages = max(1, -(-counts[section] // PAGE_SIZE))
        pageno = min(pageno, pages)
        lessons = _lessons_shown(
            session, viewer, section, today, pageno=pageno, failed_id=failed[0] if failed else None
        )
        forms, errors, message = _forms(lessons, failed)
        months = app_state(request).settings.review_months
        return page(
            request,
            "curate.html",
            {
                "section": section,
                "sections": list(Section),
                "counts": counts,
                "lessons": lessons,
                "flags": {le.id: curation.flags(le) for le in lessons},
                "flag_text": curation.FLAG_TEXT,
                "forms": forms,
                "errors": errors,
                "message": message,
                "failed_id": failed[0] if failed else None,
                # One form at a time: the page stays a list a curator can scan.
                "open_id": failed[0] if failed else open_id,
                "notice": _notice(session, viewer, done),
                "page": pageno,
                "pages": pages,
                "total": counts[section],
                "today": today,
                "next_review": lifecycle.next_review(today=today, months=months),
                "review_months": months,
                "weak_chars": curation.WEAK_RECOMMENDATION_CHARS,
            },
            status=status,
        )


def _lessons_shown(
    session: Session,
    viewer: Viewer,
    section: Section,
    today: date,
    *,
    pageno: int,
    failed_id: int | None,
) -> list[Lesson]:
    """The section's page of lessons, and the lesson of a form sent back if it left the page."""
    lessons = curation.page(
        session,
        viewer=viewer,
        section=section,
        today=today,
        limit=PAGE_SIZE,
        offset=(pageno - 1) * PAGE_SIZE,
    ).lessons
    if failed_id is not None and failed_id not in {le.id for le in lessons}:
        # The queue moved since the form was sent (another curator's decision): keep the
        # lesson on screen with what was typed, if it still waits here.
        try:
            again = catalogue.get_lesson(session, lesson_id=failed_id, viewer=viewer)
        except NotFound:
            again = None
        if again is not None and curation.in_section(again, section, today):
            lessons = [again, *lessons]
    return lessons


def _forms(
    lessons: list[Lesson], failed: Failed | None
) -> tuple[dict[int | None, dict[str, str]], dict[int | None, dict[str, str]], str]:
    """Each lesson's form values, with what was typed (and its errors) in a form sent back,
    so nothing typed is lost; and the message for it."""
    forms = {le.id: form_values(le) for le in lessons}
    errors: dict[int | None, dict[str, str]] = {}
    if failed is None:
        return forms, errors, ""
    lesson_id, typed, problems, message = failed
    if lesson_id in forms:
        texts = {k: v for k, v in typed.items() if isinstance(v, str)}
        forms[lesson_id] = {**forms[lesson_id], **texts}
        errors[lesson_id] = problems
    return forms, errors, message


def _notice(
    session: Session, viewer: Viewer, done: tuple[int, str] | None
) -> dict[str, Any] | None:
    """The lesson a decision was just taken on and what was done, if the viewer may see it."""
    if done is None:
        return None
    try:
        lesson = catalogue.get_lesson(session, lesson_id=done[0], viewer=viewer)
    except NotFound:
        return None
    return {"lesson": lesson, "text": DONE[done[1]]}


def form_input(values: dict[str, Any]) -> dict[str, Any]:
    """A queue form as input data: tags split on commas, an empty date left out; an emptied
    text field stays empty (the form shows the whole lesson, so what is sent is what it says)."""
    data = {k: v for k, v in values.items() if k != "page"}
    tags = data.get("tags")
    if isinstance(tags, str):
        data["tags"] = [t.strip() for t in tags.split(",") if t.strip()]
    if data.get("review_due") == "" or data.get("review_due") is None:
        data.pop("review_due", None)
    return data


def _decide(request: Request, lesson_id: int, section: Section, values: dict[str, Any]) -> Response:
    state = app_state(request)
    pageno = page_number(values)  # the page the form came from, to show again
    data = form_input(values)
    try:
        with session_for(request) as session:
            viewer = viewer_for(request)
            lesson = catalogue.get_lesson(session, lesson_id=lesson_id, viewer=viewer)
            today = catalogue.today()
            months = state.settings.review_months
            if section == Section.VALIDATE:
                choice = parse(ValidateIn, data, state.limits)
                curation.validate(
                    session,
                    lesson=lesson,
                    choice=choice,
                    actor=viewer.name,
                    today=today,
                    review_months=months,
                )
                did = "validated" if choice.decision == "accept" else "rejected"
            elif section == Section.REVIEW_DUE:
                review = parse(ReviewDueIn, data, state.limits)
                curation.review(
                    session,
                    lesson=lesson,
                    choice=review,
                    actor=viewer.name,
                    today=today,
                    review_months=months,
                )
                did = "confirmed" if review.decision == "confirm" else "retired"
            else:
                patch = parse(LessonPatch, data, state.limits)
                changed = curation.edit(session, lesson=lesson, changes=patch, actor=viewer.name)
                did = "saved" if changed else "unchanged"
    except (ValidationFailed, InvalidTransition) as exc:
        return _render(
            request,
            section,
            pageno,
            status=status_of(exc),
            failed=(lesson_id, values, exc.fields, exc.message),
        )
    embed_committed(request, [lesson_id])  # the wording may have changed
    query = urlencode({"section": section, "page": pageno, "done": lesson_id, "did": did})
    return RedirectResponse(f"/curate?{query}", status_code=303)


def _handler(section: Section) -> Callable[[Request], Awaitable[Response]]:
    async def decide(request: Request) -> Response:
        require(request, *CURATORS)
        lesson_id = path_id(request)
        values = nested(await request.form())
        return await run_in_threadpool(_decide, request, lesson_id, section, values)

    return decide


routes = [
    Route("/curate", queue, methods=["GET"]),
    Route("/curate/lessons/{id:int}/validate", _handler(Section.VALIDATE), methods=["POST"]),
    Route("/curate/lessons/{id:int}/review", _handler(Section.REVIEW_DUE), methods=["POST"]),
    Route("/curate/lessons/{id:int}/edit", _handler(Section.FLAGGED), methods=["POST"]),
]
