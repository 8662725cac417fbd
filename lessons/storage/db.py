"""Engine, sessions and migrations. The caller owns the transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine
from sqlmodel import Session

from lessons.storage import backends
from lessons.storage.backends.base import WRITE

__all__ = ["MIGRATIONS", "WRITE", "make_engine", "migrate", "transaction"]

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(database_url: str) -> Engine:
    """An engine for the URL, set up by its backend (lessons/storage/backends): a plain
    `postgresql://` URL gets the shipped driver."""
    url = backends.database_url(database_url)
    return backends.for_url(url).engine(url)


def migrate(engine: Engine) -> None:
    """Bring the schema up to the newest Alembic revision (run at every start-up)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.execution_options(**{WRITE: True}).begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


@contextmanager
def transaction(engine: Engine, *, write: bool = False) -> Iterator[Session]:
    """A session that commits when the block ends cleanly and rolls back otherwise.

    `write=True` for a transaction that will write: it waits for the write lock before its
    first read, so it never reads a snapshot it then cannot write on."""
    bind = engine.execution_options(**{WRITE: True}) if write else engine
    with Session(bind, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
