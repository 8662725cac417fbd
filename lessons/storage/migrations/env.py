"""Alembic environment: runs on the connection `lessons.storage.db.migrate` hands over."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pgvector.sqlalchemy  # noqa: F401  (PostgreSQL's vector type, read back from the schema)
from alembic import context
from sqlmodel import SQLModel

import lessons.storage.models  # noqa: F401  (registers the tables on the metadata)
from lessons.storage import fulltext

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through lessons.storage.db.migrate(engine)")


def _include_name(name: str | None, type_: str, parents: Mapping[Any, str | None]) -> bool:
    return not fulltext.is_own(name, type_, parents)


context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    include_name=_include_name,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite needs batch ALTERs
)
with context.begin_transaction():
    context.run_migrations()
