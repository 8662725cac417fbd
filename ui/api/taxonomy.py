"""JSON endpoints for the taxonomy (schemes, terms, rename, merge, move, adopt) and for tag
suggestions on a lesson."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lessons.accounts.access import Viewer
from lessons.catalogue import service as catalogue
from lessons.schemas import MAX_ID, parse
from lessons.storage.models import TagScheme
from lessons.taxonomy import schemes, suggestions, term_changes, terms
from ui.shared.body import path_id, read_json_object
from ui.shared.params import int_param
from ui.shared.state import CURATORS, app_state, embed_committed, require, session_for, viewer_for


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SchemeIn(_In):
    key: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1)
    unit: str = ""
    description: str = ""


class TermIn(_In):
    name: str = Field(min_length=1)
    parent_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    description: str = ""


class TermPatch(_In):
    """Rename a term, move it (`parent_id`; null puts it at the top), or both."""

    name: str | None = Field(default=None, min_length=1)
    parent_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class TermMergeIn(_In):
    into: int = Field(ge=1, le=MAX_ID)


class AdoptIn(_In):
    tag: str = Field(min_length=1)
    scheme_id: int = Field(ge=1, le=MAX_ID)
    parent_id: int | None = Field(default=None, ge=1, le=MAX_ID)


def scheme_json(session: Session, scheme: TagScheme, tagged: dict[str, set[int]]) -> dict[str, Any]:
    return {
        "id": scheme.id,
        "key": scheme.key,
        "name": scheme.name,
        "unit": scheme.unit,
        "description": scheme.description,
        "terms": [
            {
                "id": node.term.id,
                "name": node.term.name,
                "tag": node.tag,
                "parent_id": node.term.parent_id,
                "depth": node.depth,
                "description": node.term.description,
                "lessons": node.lessons,
                "direct_lessons": node.direct,
            }
            for node in terms.scheme_tree(session, scheme=scheme, tagged=tagged)
        ],
    }


def _document(session: Session, viewer: Viewer) -> dict[str, Any]:
    tagged = terms.tag_lessons(session, viewer=viewer)
    body: dict[str, Any] = {
        "schemes": [scheme_json(session, s, tagged) for s in schemes.list_schemes(session)]
    }
    if viewer.is_curator:
        body["free_tags"] = [
            {"tag": tag, "lessons": n} for tag, n in terms.free_tags(session, tagged=tagged)
        ]
    return body


async def get_taxonomy(request: Request) -> Response:
    """Every scheme with its terms; lesson counts cover only what the caller may see."""
    require(request)

    def work() -> dict[str, Any]:
        with session_for(request) as session:
            return _document(session, viewer_for(request))

    return JSONResponse(await run_in_threadpool(work))


Change = Callable[[Session, Viewer], tuple[int, list[int]]]


async def _curate(request: Request, change: Change, status: int = 200) -> Response:
    """Run a curator's change; answer with the scheme it touched, re-embedding retagged
    lessons after the commit (their tags are part of their text)."""
    require(request, *CURATORS)

    def work() -> dict[str, Any]:
        with session_for(request) as session:
            viewer = viewer_for(request)
            scheme_id, lesson_ids = change(session, viewer)
        if lesson_ids:
            embed_committed(request, lesson_ids)
        with session_for(request, write=False) as session:
            viewer = viewer_for(request)
            scheme = schemes.get_scheme(session, scheme_id=scheme_id)
            tagged = terms.tag_lessons(session, viewer=viewer)
            return {**scheme_json(session, scheme, tagged), "retagged_lesson_ids": lesson_ids}

    return JSONResponse(await run_in_threadpool(work), status_code=status)


async def post_scheme(request: Request) -> Response:
    data = parse(SchemeIn, await read_json_object(request), app_state(request).limits)

    def change(session: Session, viewer: Viewer) -> tuple[int, list[int]]:
        scheme = schemes.create_scheme(session, **data.model_dump(), actor=viewer.name)
        assert scheme.id is not None
        return scheme.id, []

    return await _curate(request, change, 201)


async def post_term(request: Request) -> Response:
    scheme_id = path_id(request)
    data = parse(TermIn, await read_json_object(request), app_state(request).limits)

    def change(session: Session, viewer: Viewer) -> tuple[int, list[int]]:
        terms.add_term(session, scheme_id=scheme_id, **data.model_dump(), actor=viewer.name)
        return scheme_id, []

    return await _curate(request, change, 201)


async def patch_term(request: Request) -> Response:
    term_id = path_id(request)
    data = parse(TermPatch, await read_json_object(request), app_state(request).limits)
    given = data.model_dump(exclude_unset=True)

    def change(session: Session, viewer: Viewer) -> tuple[int, list[int]]:
        term = terms.get_term(session, term_id=term_id)
        lesson_ids: list[int] = []
        if "parent_id" in given:
            term_changes.move_term(
                session, term_id=term_id, parent_id=given["parent_id"], actor=viewer.name
            )
        if given.get("name"):
            done = term_changes.rename_term(
                session, term_id=term_id, name=given["name"], actor=viewer.name
            )
            lesson_ids = done.lesson_ids
        return term.scheme_id, lesson_ids

    return await _curate(request, change)


async def merge_term(request: Request) -> Response:
    term_id = path_id(request)
    data = parse(TermMergeIn, await read_json_object(request), app_state(request).limits)

    def change(session: Session, viewer: Viewer) -> tuple[int, list[int]]:
        done = term_changes.merge_terms(
            session, source_id=term_id, target_id=data.into, actor=viewer.name
        )
        return done.term.scheme_id, done.lesson_ids

    return await _curate(request, change)


async def adopt(request: Request) -> Response:
    data = parse(AdoptIn, await read_json_object(request), app_state(request).limits)

    def change(session: Session, viewer: Viewer) -> tuple[int, list[int]]:
        done = term_changes.adopt_tag(session, **data.model_dump(), actor=viewer.name)
        return done.term.scheme_id, done.lesson_ids

    return await _curate(request, change)


async def tag_suggestions(request: Request) -> Response:
    """Tags for a lesson from its nearest validated neighbours the caller may see."""
    lesson_id = path_id(request)
    limit = int_param(request.query_params, "limit", 5, low=1, high=20)

    def work() -> dict[str, Any]:
        with session_for(request) as session:
            viewer = viewer_for(request)
            lesson = catalogue.get_lesson(session, lesson_id=lesson_id, viewer=viewer)
            found = suggestions.suggest_tags(
                session,
                lesson=lesson,
                viewer=viewer,
                retriever=app_state(request).retriever,
                limit=limit,
            )
            return {
                "lesson_id": lesson_id,
                "suggestions": [
                    {"tag": s.tag, "score": s.score, "lesson_ids": list(s.lesson_ids)}
                    for s in found
                ],
            }

    return JSONResponse(await run_in_threadpool(work))


routes = [
    Route("/api/taxonomy", get_taxonomy, methods=["GET"]),
    Route("/api/taxonomy/schemes", post_scheme, methods=["POST"]),
    Route("/api/taxonomy/schemes/{id:int}/terms", post_term, methods=["POST"]),
    Route("/api/taxonomy/terms/{id:int}", patch_term, methods=["PATCH"]),
    Route("/api/taxonomy/terms/{id:int}/merge", merge_term, methods=["POST"]),
    Route("/api/taxonomy/adopt", adopt, methods=["POST"]),
    Route("/api/lessons/{id:int}/tag-suggestions", tag_suggestions, methods=["GET"]),
]
