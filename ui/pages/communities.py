"""Community pages: the list (a curator starts one there), a community's page (members,
recent lessons, shared lessons, questions and answers, themes) and its forms (join and
follow, share a lesson, ask, answer, draw a lesson from an answer), and its Atom feed."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from lessons.communities import board, content
from lessons.communities import service as communities
from lessons.errors import DomainError, NotFound, ValidationFailed
from lessons.numbers import read_whole
from lessons.schemas import parse
from lessons.schemas.communities import (
    AnswerLessonIn,
    CommunityAnswerIn,
    CommunityIn,
    CommunityQuestionIn,
    MembershipIn,
    ShareIn,
)
from ui.pages.render import page
from ui.shared.body import form_handler, path_id
from ui.shared.community_json import community_detail, community_json
from ui.shared.state import app_state, embed_committed, require, session_for, viewer_for


def list_page(request: Request, form: dict[str, Any] | None = None, status: int = 200) -> Response:
    require(request)
    with session_for(request, write=False) as session:
        viewer = viewer_for(request)
        found = communities.list_communities(session, viewer=viewer)
        context = {
            "communities": [community_json(session, c, viewer) for c in found],
            "form": form or {"values": {}, "errors": {}, "message": ""},
        }
        return page(request, "communities.html", context, status=status)


@form_handler
def create(request: Request, form: FormData) -> Response:
    require(request)
    values = {key: str(form.get(key) or "") for key in ("name", "summary", "tags", "facilitators")}
    data = {
        "name": values["name"],
        "summary": values["summary"],
        "tags": _words(values["tags"]),
        "facilitators": _words(values["facilitators"]),
    }
    try:
        payload = parse(CommunityIn, data, app_state(request).limits)
        with session_for(request) as session:
            made = communities.create(session, payload=payload, viewer=viewer_for(request))
            community_id = made.id
    except ValidationFailed as exc:
        state = {"values": values, "errors": exc.fields, "message": exc.message}
        return list_page(request, state, status=422)
    return RedirectResponse(f"/communities/{community_id}", status_code=303)


def _words(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def detail_page(
    request: Request, community_id: int, extra: dict[str, Any] | None = None, status: int = 200
) -> Response:
    require(request)
    with session_for(request, write=False) as session:
        viewer = viewer_for(request)
        community = communities.get(session, community_id=community_id, viewer=viewer)
        context = {
            "community": community_detail(request, session, community, viewer),
            "is_member": communities.is_member(session, community=community, viewer=viewer),
            "is_facilitator": communities.is_facilitator(
                session, community=community, viewer=viewer
            ),
            "user_id": viewer.user_id,
            "values": {},
            "errors": {},
            "message": "",
            **(extra or {}),
        }
        return page(request, "community.html", context, status=status)


def community_page(request: Request) -> Response:
    return detail_page(request, path_id(request))


def _back(community_id: int, anchor: str) -> Response:
    return RedirectResponse(f"/communities/{community_id}#{anchor}", status_code=303)


def _again(
    request: Request, community_id: int, exc: DomainError, values: dict[str, str]
) -> Response:
    extra = {"values": values, "errors": exc.fields, "message": exc.message}
    return detail_page(request, community_id, extra, status=422)


@form_handler
def membership(request: Request, form: FormData) -> Response:
    require(request)
    community_id = path_id(request)
    change = {
        key: form.get(key) == "1" for key in ("member", "follows") if form.get(key) in ("0", "1")
    }
    payload = parse(MembershipIn, change, app_state(request).limits)
    with session_for(request) as session:
        viewer = viewer_for(request)
        community = communities.get(session, community_id=community_id, viewer=viewer)
        communities.set_membership(session, community=community, viewer=viewer, change=payload)
    return _back(community_id, "membership")


@form_handler
def share(request: Request, form: FormData) -> Response:
    require(request)
    community_id = path_id(request)
    values = {"lesson_id": str(form.get("lesson_id") or ""), "note": str(form.get("note") or "")}
    # A lesson named by its link (/lessons/12) or its number.
    lesson_id = read_whole(values["lesson_id"].rstrip("/").rsplit("/", 1)[-1], low=1)
    try:
        if lesson_id is None:
            raise ValidationFailed(
                "Name the lesson to share.", {"lesson_id": "a lesson's number or link"}
            )
        payload = parse(
            ShareIn, {"lesson_id": lesson_id, "note": values["note"]}, app_state(request).limits
        )
        with session_for(request) as session:
            viewer = viewer_for(request)
            community = communities.get(session, community_id=community_id, viewer=viewer)
            content.share(
                session,
                community=community,
                viewer=viewer,
                lesson_id=payload.lesson_id,
                note=payload.note,
            )
    except ValidationFailed as exc:
        return _again(request, community_id, exc, values)
    return _back(community_id, "shared")


@form_handler
def ask(request: Request, form: FormData) -> Response:
    require(request)
    community_id = path_id(request)
    values = {key: str(form.get(key) or "") for key in ("question", "details")}
    try:
        payload = parse(CommunityQuestionIn, values, app_state(request).limits)
        with session_for(request) as session:
            viewer = viewer_for(request)
            community = communities.get(session, community_id=community_id, viewer=viewer)
            board.ask(
                session,
                community=community,
                viewer=viewer,
                title=payload.question,
                body=payload.details,
            )
    except ValidationFailed as exc:
        return _again(request, community_id, exc, values)
    return _back(community_id, "questions")


@form_handler
def answer(request: Request, form: FormData) -> Response:
    require(request)
    community_id = path_id(request)
    question_id = path_id(request, "question_id")
    field = f"answer-{question_id}"
    values = {field: str(form.get(field) or "")}
    try:
        payload = parse(CommunityAnswerIn, {"body": values[field]}, app_state(request).limits)
        with session_for(request) as session:
            community, _ = board.answer(
                session, question_id=question_id, viewer=viewer_for(request), body=payload.body
            )
            if community.id != community_id:  # a question of another community, through this
                raise NotFound(f"No question with id {question_id} here.")
    except ValidationFailed as exc:
        fields = {field: exc.fields.get("body", "write your answer")}
        return _again(request, community_id, ValidationFailed(exc.message, fields), values)
    return _back(community_id, f"question-{question_id}")


@form_handler
def answer_to_lesson(request: Request, form: FormData) -> Response:
    require(request)
    community_id = path_id(request)
    answer_id = path_id(request, "answer_id")
    with session_for(request) as session:
        community, lesson = board.answer_to_lesson(
            session, answer_id=answer_id, viewer=viewer_for(request), payload=AnswerLessonIn()
        )
        if community.id != community_id:  # an answer in another community, through this one
            raise NotFound(f"No answer with id {answer_id} here.")
        lesson_id = lesson.id
    assert lesson_id is not None
    embed_committed(request, [lesson_id])
    return RedirectResponse(f"/lessons/{lesson_id}", status_code=303)


routes = [
    Route("/communities", list_page, methods=["GET"]),
    Route("/communities", create, methods=["POST"]),
    Route("/communities/{id:int}", community_page, methods=["GET"]),
    Route("/communities/{id:int}/membership", membership, methods=["POST"]),
    Route("/communities/{id:int}/shares", share, methods=["POST"]),
    Route("/communities/{id:int}/questions", ask, methods=["POST"]),
    Route("/communities/{id:int}/questions/{question_id:int}/answers", answer, methods=["POST"]),
    Route(
        "/communities/{id:int}/answers/{answer_id:int}/lesson", answer_to_lesson, methods=["POST"]
    ),
]
