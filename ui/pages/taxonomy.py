"""The taxonomy page: schemes and their term trees with lesson counts for everyone signed in;
adding, renaming, merging and moving terms and adopting free tags for curators. Also adding
suggested tags to a lesson (its author or a curator)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from lessons.accounts.access import Viewer
from lessons.catalogue import service as catalogue
from lessons.errors import Forbidden, ValidationFailed
from lessons.numbers import read_whole
from lessons.schemas import LessonPatch, parse
from lessons.storage.models import TagScheme
from lessons.taxonomy import schemes, term_changes, terms
from ui.pages.auth import safe_next
from ui.pages.render import page
from ui.shared.body import path_id
from ui.shared.forms import nested, redisplay
from ui.shared.params import id_param
from ui.shared.state import CURATORS, app_state, embed_committed, require, session_for, viewer_for

_FORM_KEY = re.compile(r"^[a-z]+(-[0-9]+)?$")
TERM_FORMS = ("rename", "merge", "move")


def taxonomy_context(session: Session, viewer: Viewer, focus: str = "") -> dict[str, Any]:
    """Every scheme with its tree and counts of the lessons this viewer may see, and (for
    curators) the free tags in use that no scheme holds."""
    tagged = terms.tag_lessons(session, viewer=viewer)
    trees = [
        (s, terms.scheme_tree(session, scheme=s, tagged=tagged))
        for s in schemes.list_schemes(session)
    ]
    every_term = [
        (node.term.id, f"{scheme.name}: {'— ' * node.depth}{node.term.name}")
        for scheme, nodes in trees
        for node in nodes
    ]
    return {
        "schemes": [{"scheme": scheme, "nodes": nodes} for scheme, nodes in trees],
        "focus": focus,
        "every_term": every_term,
        "free_tags": terms.free_tags(session, tagged=tagged) if viewer.is_curator else [],
        # Counts cover every status for curators, the trusted ones for everyone else.
        "status_param": "all" if viewer.is_curator else "",
    }


def _page(
    request: Request,
    *,
    errors: dict[str, str] | None = None,
    typed: dict[str, Any] | None = None,
    message: str = "",
    status: int = 200,
) -> Response:
    viewer = viewer_for(request)
    focus = request.query_params.get("scheme", "")
    with session_for(request, write=False) as session:
        context = taxonomy_context(session, viewer, focus)
    return page(
        request,
        "taxonomy.html",
        {
            **context,
            "open_term": _open_term(request, typed or {}),
            "errors": errors or {},
            "typed": typed or {},
            "message": message,
            "done": request.query_params.get("done", "")[:200],
        },
        status=status,
    )


def _open_term(request: Request, typed: dict[str, Any]) -> int | None:
    """The one term whose Rename / Merge / Move forms are open: the one a form was sent back
    for, else the one asked for (`?change=ID`); every other term shows a single link."""
    for key in typed:
        kind, _, term_id = key.partition("-")
        if kind in TERM_FORMS and term_id.isdigit():
            return int(term_id)
    return id_param(request.query_params, "change")


def taxonomy_page(request: Request) -> Response:
    require(request)
    return _page(request)


def _optional_id(values: dict[str, Any], name: str) -> int | None:
    raw = values.get(name)
    if raw is None or not str(raw).strip():
        return None
    found = read_whole(raw, low=1)
    if found is None:
        raise ValidationFailed("Choose from the list.", {name: "not a term"})
    return found


def _required_id(values: dict[str, Any], name: str) -> int:
    found = _optional_id(values, name)
    if found is None:
        raise ValidationFailed("Choose from the list.", {name: "required"})
    return found


@dataclass(frozen=True)
class Done:
    """What a curator's change did: the message shown, the scheme to show, the term to
    scroll to, and the lessons to re-embed (their tags are part of their text)."""

    message: str
    scheme: TagScheme
    term_id: int | None = None
    lesson_ids: tuple[int, ...] = ()


Work = Callable[[Session, Viewer, dict[str, Any]], Done]


async def _curate(request: Request, work: Work) -> Response:
    viewer = require(request, *CURATORS)
    values = redisplay(nested(await request.form()))
    form_key = str(values.get("form") or "")
    form_key = form_key if _FORM_KEY.match(form_key) else "form"

    def run() -> Done:
        with session_for(request) as session:
            done = work(session, viewer, values)
        if done.lesson_ids:
            embed_committed(request, list(done.lesson_ids))
        return done

    try:
        done = await run_in_threadpool(run)
    except ValidationFailed as exc:
        error = exc

        def again() -> Response:
            return _page(
                request,
                errors={f"{form_key}.{k}": v for k, v in error.fields.items()},
                typed={form_key: values},
                message=error.message,
                status=422,
            )

        return await run_in_threadpool(again)
    query = urlencode({"scheme": done.scheme.key, "done": done.message})
    anchor = f"#term-{done.term_id}" if done.term_id else f"#scheme-{done.scheme.key}"
    return RedirectResponse(f"/taxonomy?{query}{anchor}", status_code=303)


def _lessons(ids: list[int]) -> str:
    return f"{len(ids)} lesson{'' if len(ids) == 1 else 's'} retagged"


async def create_scheme(request: Request) -> Response:
    def work(session: Session, viewer: Viewer, values: dict[str, Any]) -> Done:
        scheme = schemes.create_scheme(
            session,
            key=str(values.get("key") or ""),
            name=str(values.get("name") or ""),
            unit=str(values.get("unit") or ""),
            description=str(values.get("description") or ""),
            actor=viewer.name,
        )
        return Done(f"Scheme “{scheme.name}” created.", scheme)

    return await _curate(request, work)


async def add_term(request: Request) -> Response:
    def work(session: Session, viewer: Viewer, values: dict[str, Any]) -> Done:
        term = terms.add_term(
            session,
            scheme_id=_required_id(values, "scheme_id"),
            name=str(values.get("name") or ""),
            parent_id=_optional_id(values, "parent_id"),
            description=str(values.get("description") or ""),
            actor=viewer.name,
        )
        scheme = schemes.get_scheme(session, scheme_id=term.scheme_id)
        return Done(f"Term “{term.name}” added.", scheme, term.id)

    return await _curate(request, work)


async def rename_term(request: Request) -> Response:
    term_id = path_id(request)

    def work(session: Session, viewer: Viewer, values: dict[str, Any]) -> Done:
        done = term_changes.rename_term(
            session, term_id=term_id, name=str(values.get("name") or ""), actor=viewer.name
        )
        scheme = schemes.get_scheme(session, scheme_id=done.term.scheme_id)
        message = f"Renamed to “{done.term.name}”; {_lessons(done.lesson_ids)}."
        return Done(message, scheme, done.term.id, tuple(done.lesson_ids))

    return await _curate(request, work)


async def merge_term(request: Request) -> Response:
    term_id = path_id(request)

    def work(session: Session, viewer: Viewer, values: dict[str, Any]) -> Done:
        source = terms.get_term(session, term_id=term_id).name
        done = term_changes.merge_terms(
            session,
            source_id=term_id,
            target_id=_required_id(values, "target_id"),
            actor=viewer.name,
        )
        scheme = schemes.get_scheme(session, scheme_id=done.term.scheme_id)
        message = f"Merged “{source}” into “{done.term.name}”; {_lessons(done.lesson_ids)}."
        return Done(message, scheme, done.term.id, tuple(done.lesson_ids))

    return await _curate(request, work)


async def move_term(request: Request) -> Response:
    term_id = path_id(request)

    def work(session: Session, viewer: Viewer, values: dict[str, Any]) -> Done:
        term = term_changes.move_term(
            session,
            term_id=term_id,
            parent_id=_optional_id(values, "parent_id"),
            actor=viewer.name,
        )
        scheme = schemes.get_scheme(session, scheme_id=term.scheme_id)
        return Done(f"Moved “{term.name}”.", scheme, term.id)

    return await _curate(request, work)


async def adopt_tag(request: Request) -> Response:
    def work(session: Session, viewer: Viewer, values: dict[str, Any]) -> Done:
        done = term_changes.adopt_tag(
            session,
            tag=str(values.get("tag") or ""),
            scheme_id=_required_id(values, "scheme_id"),
            parent_id=_optional_id(values, "parent_id"),
            actor=viewer.name,
        )
        scheme = schemes.get_scheme(session, scheme_id=done.term.scheme_id)
        message = f"Adopted as “{done.term.name}”; {_lessons(done.lesson_ids)}."
        return Done(message, scheme, done.term.id, tuple(done.lesson_ids))

    return await _curate(request, work)


async def add_lesson_tags(request: Request) -> Response:
    """Add the suggested tags a person ticked to a lesson they may edit."""
    viewer = require(request)
    lesson_id = path_id(request)
    form = await request.form()
    chosen = [str(t) for t in form.getlist("tags") if isinstance(t, str) and t.strip()]
    target = safe_next(str(form.get("next") or f"/lessons/{lesson_id}"))

    def save() -> None:
        with session_for(request) as session:
            lesson = catalogue.get_lesson(session, lesson_id=lesson_id, viewer=viewer)
            if not viewer.can_edit(lesson):
                raise Forbidden("Only its author or a curator may tag this lesson.")
            if not chosen:
                raise ValidationFailed("Tick at least one tag to add.", {"tags": "none chosen"})
            patch = parse(LessonPatch, {"tags": [*lesson.tags, *chosen]}, app_state(request).limits)
            catalogue.update_lesson(
                session,
                lesson=lesson,
                patch=patch,
                actor=viewer.name,
                by_curator=viewer.is_curator,
            )
        embed_committed(request, [lesson_id])

    await run_in_threadpool(save)
    return RedirectResponse(target, status_code=303)


routes = [
    Route("/taxonomy", taxonomy_page, methods=["GET"]),
    Route("/taxonomy/schemes", create_scheme, methods=["POST"]),
    Route("/taxonomy/terms", add_term, methods=["POST"]),
    Route("/taxonomy/terms/{id:int}/rename", rename_term, methods=["POST"]),
    Route("/taxonomy/terms/{id:int}/merge", merge_term, methods=["POST"]),
    Route("/taxonomy/terms/{id:int}/move", move_term, methods=["POST"]),
    Route("/taxonomy/adopt", adopt_tag, methods=["POST"]),
    Route("/lessons/{id:int}/tags", add_lesson_tags, methods=["POST"]),
]
