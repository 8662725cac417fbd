"""Where SQLite and PostgreSQL differ, in one place: each backend module says how to open an
engine, how a write transaction begins, and which database features the app may lean on.

Everything else (models, services, migrations, queries) is written once for both. Code that
must know the backend asks `of(bind)` or `for_url(url)` for a `Backend`, never the dialect name.
"""

from __future__ import annotations

from sqlalchemy import URL, Connection, Engine
from sqlalchemy.engine import make_url
from sqlmodel import Session

from lessons.storage.backends import postgresql, sqlite
from lessons.storage.backends.base import Backend

__all__ = ["Backend", "database_url", "for_url", "of"]

_BACKENDS: dict[str, Backend] = {"sqlite": sqlite.BACKEND, "postgresql": postgresql.BACKEND}


def database_url(url: str | URL) -> URL:
    """The URL with the driver the app ships: a plain `postgresql://` means psycopg 3."""
    parsed = make_url(url)
    backend = _BACKENDS.get(parsed.get_backend_name())
    return backend.with_driver(parsed) if backend else parsed


def for_url(url: str | URL) -> Backend:
    """The backend of a database URL; ValueError for a database Lessonbank does not run on."""
    name = make_url(url).get_backend_name()
    try:
        return _BACKENDS[name]
    except KeyError:
        raise ValueError(
            f"Lessonbank runs on SQLite or PostgreSQL, not {name} ({make_url(url)!r})."
        ) from None


def of(bind: Session | Connection | Engine) -> Backend:
    """The backend a session, connection or engine talks to."""
    engine = bind.get_bind() if isinstance(bind, Session) else bind
    return _BACKENDS[engine.dialect.name]
