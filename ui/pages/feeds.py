"""Atom feeds of newly validated lessons (feedgen writes the XML): overall, per tag, per unit
and per project, each holding only what its reader may see — anonymous readers the public
lessons, a bearer token or a signed-in session what that user may see."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import urlencode

from feedgen.feed import FeedGenerator  # type: ignore[import-untyped]
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from lessons.accounts.access import Viewer
from lessons.capture import projects
from lessons.catalogue import feeds
from lessons.errors import NotFound, ValidationFailed
from lessons.schemas import normalise_tag
from lessons.storage.models import Lesson
from ui.shared.body import path_id
from ui.shared.params import id_param
from ui.shared.state import session_for, viewer_for

# With its charset: without it some readers take the bytes for Latin-1 ("JoaquÃn").
ATOM = "application/atom+xml; charset=utf-8"
FEED_SIZE = 50
# Characters XML 1.0 cannot carry at all; lesson text from an import may hold them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("", text)


def _absolute(request: Request, path: str) -> str:
    return str(request.base_url).rstrip("/") + path


def _content(lesson: Lesson) -> str:
    """The lesson as plain text: the feed says type="text", so readers show markup as typed
    and never run it."""
    parts = [
        ("Observation", lesson.observation),
        ("Insight", lesson.insight),
        ("Recommendation", lesson.recommendation),
    ]
    return "\n\n".join(f"{name}: {text.strip()}" for name, text in parts if text.strip())


def _atom(
    request: Request, *, title: str, subtitle: str, entries: list[feeds.FeedEntry], page: str
) -> Response:
    feed = FeedGenerator()
    feed_url = str(request.url)
    feed.id(feed_url)
    feed.title(_xml_text(title))
    feed.subtitle(_xml_text(subtitle))
    feed.link(href=feed_url, rel="self", type=ATOM)
    feed.link(href=_absolute(request, page), rel="alternate", type="text/html")
    feed.generator("Lessonbank")
    newest = max((e.validated_at for e in entries), default=datetime(2000, 1, 1, tzinfo=UTC))
    feed.updated(_utc(newest))
    for item in entries:
        lesson = item.lesson
        url = _absolute(request, f"/lessons/{lesson.id}")
        entry = feed.add_entry(order="append")
        entry.id(url)
        entry.title(_xml_text(lesson.title))
        entry.link(href=url, rel="alternate", type="text/html")
        entry.updated(_utc(item.validated_at))
        entry.published(_utc(item.validated_at))
        summary = lesson.recommendation.strip() or lesson.observation.strip() or lesson.title
        entry.summary(_xml_text(summary), type="text")
        entry.content(_xml_text(_content(lesson)) or _xml_text(lesson.title), type="text")
        if lesson.author is not None:
            entry.author({"name": _xml_text(lesson.author.name)})
        for tag in lesson.tags:
            entry.category(term=_xml_text(tag), label=_xml_text(tag))
    body: bytes = feed.atom_str(pretty=True)
    return Response(body, media_type=ATOM)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _tag(raw: str) -> str:
    tag = normalise_tag(raw)
    if not tag:
        raise ValidationFailed("Name a tag for the feed.", {"tag": "empty"})
    return tag


async def lessons_feed(request: Request) -> Response:
    """`/feeds/lessons.atom`, narrowed by `?tag=`, `?unit=` or `?project=` (DESIGN.md)."""
    params = request.query_params
    project_id = id_param(params, "project", label="The project")
    tag = _tag(params["tag"]) if params.get("tag", "").strip() else None
    unit = params.get("unit", "").strip()[:200] or None
    return await _feed(request, tag=tag, unit=unit, project_id=project_id)


async def tag_feed(request: Request) -> Response:
    return await _feed(request, tag=_tag(request.path_params["tag"]))


async def unit_feed(request: Request) -> Response:
    unit = str(request.path_params["unit"]).strip()[:200]
    if not unit:
        raise NotFound("No such unit.")
    return await _feed(request, unit=unit)


async def project_feed(request: Request) -> Response:
    return await _feed(request, project_id=path_id(request))


async def _feed(
    request: Request,
    *,
    tag: str | None = None,
    unit: str | None = None,
    project_id: int | None = None,
) -> Response:
    def work() -> Response:
        viewer = viewer_for(request)
        with session_for(request) as session:
            project_name = None
            if project_id is not None:
                project_name = projects.get(session, project_id=project_id, viewer=viewer).name
            entries = feeds.newly_validated(
                session,
                viewer=viewer,
                tag=tag,
                unit=unit,
                project_id=project_id,
                limit=FEED_SIZE,
            )
            title, page = _describe(viewer, tag, unit, project_id, project_name, bool(entries))
            return _atom(
                request,
                title=title,
                subtitle="Lessons newly validated by the curators, newest first.",
                entries=entries,
                page=page,
            )

    return await run_in_threadpool(work)


def _describe(
    viewer: Viewer,
    tag: str | None,
    unit: str | None,
    project_id: int | None,
    project_name: str | None,
    has_entries: bool,
) -> tuple[str, str]:
    """The feed's title and the page it mirrors. A project is named only to readers who may
    already know it: signed in, or shown one of its lessons."""
    parts = []
    page = "/lessons"
    if tag:
        parts.append(f"tagged {tag}")
        page = "/lessons?" + urlencode({"tag": tag})
    if unit:
        parts.append(f"from {unit}")
    if project_id is not None:
        named = project_name if (viewer.signed_in or has_entries) else f"project {project_id}"
        parts.append(f"of {named}")
        page = f"/projects/{project_id}" if viewer.signed_in else page
    return "Lessonbank: new lessons " + " ".join(
        parts
    ) if parts else "Lessonbank: new lessons", page


routes = [
    Route("/feeds/lessons.atom", lessons_feed, methods=["GET"]),
    Route("/feeds/tags/{tag}.atom", tag_feed, methods=["GET"]),
    Route("/feeds/units/{unit}.atom", unit_feed, methods=["GET"]),
    Route("/feeds/projects/{id:int}.atom", project_feed, methods=["GET"]),
]
