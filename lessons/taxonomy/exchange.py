"""The taxonomy in a bank export (`lessons.imports.exchange`): schemes with their terms out as
JSON, and back in by key and name."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from lessons.errors import ValidationFailed
from lessons.storage.models import TagScheme, TagTerm
from lessons.taxonomy.schemes import SCHEME_KEY, find_scheme, list_schemes
from lessons.taxonomy.terms import descendant_ids, term_name, terms_of


def export_schemes(session: Session) -> list[dict[str, Any]]:
    """Every scheme with its terms as JSON; a term names its broader term by name (terms are
    unique by name within a scheme, and schemes by key)."""
    out = []
    for scheme in list_schemes(session):
        assert scheme.id is not None
        terms = terms_of(session, scheme_id=scheme.id)
        names = {t.id: t.name for t in terms}
        out.append(
            {
                **scheme.model_dump(mode="json", include={"key", "name", "unit", "description"}),
                "created_at": scheme.created_at.isoformat(),
                "terms": [
                    {
                        "name": t.name,
                        "broader": names.get(t.parent_id) if t.parent_id else None,
                        "description": t.description,
                        "created_at": t.created_at.isoformat(),
                    }
                    for t in terms
                ],
            }
        )
    return out


def import_schemes(session: Session, records: Any) -> tuple[int, int, list[str]]:
    """Upsert schemes by key and terms by (scheme, name), then link broader terms; lessons'
    tags travel with the lessons. Returns (added, updated, errors); a bad scheme is skipped
    whole and reported."""
    if not isinstance(records, list):
        return 0, 0, ["taxonomy: should be a list"] if records is not None else []
    added = updated = 0
    errors: list[str] = []
    for index, record in enumerate(records):
        try:
            with session.begin_nested():
                was_new = _import_scheme(session, record)
        except (KeyError, TypeError, ValueError, ValidationFailed) as exc:
            detail = exc.message if isinstance(exc, ValidationFailed) else str(exc)
            errors.append(f"taxonomy[{index}]: {type(exc).__name__}: {detail}")
            continue
        if was_new:
            added += 1
        else:
            updated += 1
    return added, updated, errors


def _import_scheme(session: Session, record: dict[str, Any]) -> bool:
    key = str(record["key"])
    if not SCHEME_KEY.match(key):
        raise ValueError(f"not a scheme key: {key!r}")
    scheme = find_scheme(session, key=key)
    was_new = scheme is None
    if scheme is None:
        scheme = TagScheme(key=key, name="", unit="")
    scheme.name = str(record["name"])[:200]
    scheme.unit = str(record.get("unit") or "")[:200]
    scheme.description = str(record.get("description") or "")
    if record.get("created_at"):
        scheme.created_at = datetime.fromisoformat(str(record["created_at"]))
    session.add(scheme)
    session.flush()
    assert scheme.id is not None
    terms = record.get("terms") or []
    by_name = {t.name: t for t in terms_of(session, scheme_id=scheme.id)}
    for entry in terms:
        name = term_name(str(entry["name"]))
        term = by_name.get(name) or TagTerm(scheme_id=scheme.id, name=name)
        term.description = str(entry.get("description") or "")
        if entry.get("created_at"):
            term.created_at = datetime.fromisoformat(str(entry["created_at"]))
        session.add(term)
        by_name[name] = term
    session.flush()
    for entry in terms:
        broader = entry.get("broader")
        parent = by_name.get(str(broader)) if broader else None
        if broader and parent is None:
            raise ValueError(f"term {entry['name']!r} names a broader term not in the scheme")
        term = by_name[term_name(str(entry["name"]))]
        term.parent_id = parent.id if parent else None
        session.add(term)
    session.flush()
    # A file whose broader links loop would hide terms from every tree: refuse it.
    every = terms_of(session, scheme_id=scheme.id)
    for term in every:
        assert term.id is not None
        if term.id in descendant_ids(every, term.id):
            raise ValueError(f"broader terms loop through {term.name!r}")
    return was_new
