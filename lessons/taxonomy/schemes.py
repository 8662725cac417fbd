"""Tag schemes: the organisation-wide one and any number of unit ones, each with a key its
unit-scheme tags carry as a prefix (see `lessons.taxonomy.tagging`)."""

from __future__ import annotations

import re

from sqlmodel import Session, col, select

from lessons.accounts import audit
from lessons.errors import NotFound, ValidationFailed
from lessons.storage.models import TagScheme
from lessons.taxonomy.tagging import ORG_WIDE

SCHEME_KEY = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


def list_schemes(session: Session) -> list[TagScheme]:
    """Every scheme: the organisation-wide one first, then unit schemes by unit and name."""
    schemes = session.exec(select(TagScheme).order_by(col(TagScheme.unit), col(TagScheme.name)))
    return list(schemes)


def get_scheme(session: Session, *, scheme_id: int) -> TagScheme:
    """One scheme, or NotFound."""
    scheme = session.get(TagScheme, scheme_id)
    if scheme is None:
        raise NotFound(f"No tag scheme with id {scheme_id}.", {"scheme_id": "no such scheme"})
    return scheme


def find_scheme(session: Session, *, key: str) -> TagScheme | None:
    """The scheme with this key, if any."""
    return session.exec(select(TagScheme).where(TagScheme.key == key)).first()


def create_scheme(
    session: Session,
    *,
    key: str,
    name: str,
    unit: str = ORG_WIDE,
    description: str = "",
    actor: str,
) -> TagScheme:
    """A new scheme; there is one organisation-wide scheme (unit ""), any number of unit ones."""
    key, name, unit = key.strip().lower(), name.strip(), unit.strip()
    problems = {}
    if not SCHEME_KEY.match(key):
        problems["key"] = "lower-case letters, digits and hyphens, at most 40"
    elif find_scheme(session, key=key):
        problems["key"] = "another scheme has this key"
    if not name:
        problems["name"] = "required"
    if (
        unit == ORG_WIDE
        and session.exec(select(TagScheme).where(TagScheme.unit == ORG_WIDE)).first()
    ):
        problems["unit"] = "there is already an organisation-wide scheme: name a unit"
    if problems:
        raise ValidationFailed("The scheme cannot be created.", problems)
    scheme = TagScheme(key=key, name=name[:200], unit=unit[:200], description=description)
    session.add(scheme)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="create",
        entity=scheme,
        after=audit.snapshot(scheme, {"key", "name", "unit", "description"}),
    )
    return scheme
