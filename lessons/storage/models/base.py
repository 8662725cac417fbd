"""What every table shares: timestamps, stable identities and nullable foreign keys."""

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Integer
from sqlmodel import Field


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_uid() -> str:
    """A stable identity that survives export and import between databases."""
    return uuid.uuid4().hex


def fk(target: str, *, nullable: bool = True, ondelete: str = "SET NULL") -> Any:
    return Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey(target, ondelete=ondelete), index=True, nullable=nullable
        ),
    )
