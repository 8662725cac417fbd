"""The app factory: `create_app(settings) -> Starlette`. The model loads in the lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from data import DEMO_BANK
from lessons.imports.seed import has_projects, load_bank, read_bank
from lessons.schemas import Limits
from lessons.storage.db import make_engine, migrate, transaction
from lessons.storage.settings import Settings
from retrieval.embedder import Embedder, load_embedder
from retrieval.service import Retriever
from ui.api.routes import routes as api_routes
from ui.pages import oidc
from ui.pages import routes as page_routes
from ui.security import CSRFProtect, SecurityHeaders, secret_key
from ui.shared import filters
from ui.shared.body import LimitBodySize, RefuseMultipart
from ui.shared.errors import HANDLERS
from ui.shared.state import AppState, ResolveViewer
from ui.shared.throttle import Throttle

HERE = Path(__file__).parent
log = logging.getLogger("lessonbank")


def prepare(settings: Settings, embedder: Embedder | None = None) -> tuple[Engine, Retriever]:
    """Migrate, load the demo bank into an empty database, and embed what is not yet embedded."""
    engine = make_engine(settings.database_url)
    migrate(engine)
    retriever = Retriever(
        embedder or load_embedder(settings.embedding_model, batch_size=settings.embed_batch_size)
    )
    with transaction(engine, write=True) as session:
        if settings.load_demo and not has_projects(session):
            added = load_bank(session, read_bank(DEMO_BANK))
            log.info("loaded the demo lesson bank: %d lessons", added)
    retriever.sync_committed(engine, batch_size=settings.embed_batch_size)
    with transaction(engine) as session:
        retriever.refresh(session)
    return engine, retriever


def templates() -> Jinja2Templates:
    env = Jinja2Templates(directory=HERE / "templates")
    filters.install(env.env)
    return env


async def healthz(request: Request) -> Response:
    state: AppState | None = getattr(request.app.state, "lessonbank", None)
    if state is None:
        return JSONResponse({"status": "starting"}, status_code=503)
    # No counts: /healthz is open to anyone, and a count of lessons would reveal restricted ones.
    return JSONResponse({"status": "ok", "model": state.retriever.model})


def create_app(settings: Settings | None = None, *, embedder: Embedder | None = None) -> Starlette:
    """A Lessonbank app. Pass an `embedder` to reuse a loaded model (tests do)."""
    settings = settings or Settings()
    key = secret_key(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine, retriever = await run_in_threadpool(prepare, settings, embedder)
        app.state.lessonbank = AppState(
            settings=settings,
            engine=engine,
            retriever=retriever,
            templates=templates(),
            limits=Limits.from_settings(settings),
            throttle=Throttle(settings),
        )
        yield
        engine.dispose()

    app = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            *api_routes,
            *page_routes,
            *oidc.routes,
            Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static"),
        ],
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(LimitBodySize, max_bytes=settings.max_request_bytes),
            Middleware(RefuseMultipart),
            Middleware(CSRFProtect, settings=settings, key=key),
            Middleware(
                SessionMiddleware,
                secret_key=key,
                session_cookie="lessonbank_session",
                max_age=settings.session_hours * 3600,
                same_site="lax",
                https_only=settings.secure_cookies,
            ),
            Middleware(ResolveViewer),
        ],
        exception_handlers=HANDLERS,
        lifespan=lifespan,
    )
    app.state.oidc = oidc.make_client(settings)  # None unless single sign-on is configured
    return app
