"""The audit log: who changed what, when, with before and after."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from sqlmodel import Session, SQLModel, col, select

from lessons.storage.models import AuditEvent


def snapshot(row: SQLModel, fields: set[str] | None = None) -> dict[str, Any]:
    """A record's fields as JSON-ready values (for `before` and `after`)."""
    data: dict[str, Any] = row.model_dump(mode="json", include=fields)
    if hasattr(row, "tag_links"):
        data["tags"] = sorted(link.tag for link in row.tag_links)
    return data


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    entity: SQLModel | None = None,
    entity_name: str | None = None,
    entity_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    actor_user_id: int | None = None,
) -> AuditEvent:
    """Add one audit row in the caller's transaction (it lands with the change or not at all)."""
    name = entity_name or (str(entity.__tablename__) if entity is not None else "")
    event = AuditEvent(
        actor=actor[:200],
        actor_user_id=actor_user_id,
        action=action,
        entity=str(name),
        entity_id=entity_id if entity_id is not None else getattr(entity, "id", None),
        before=before,
        after=after,
    )
    session.add(event)
    session.flush()
    return event


def events(
    session: Session,
    *,
    entity: str | None = None,
    entity_id: int | None = None,
    limit: int = 500,
    offset: int = 0,
) -> list[AuditEvent]:
    """Audit rows, newest first, optionally for one record."""
    query = select(AuditEvent).order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
    if entity:
        query = query.where(AuditEvent.entity == entity)
    if entity_id is not None:
        query = query.where(AuditEvent.entity_id == entity_id)
    return list(session.exec(query.limit(limit).offset(offset)))


def to_csv(rows: list[AuditEvent]) -> str:
    """Audit rows as CSV, with before and after as JSON text (spreadsheet-safe: no cell starts
    with a formula character)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "at", "actor", "action", "entity", "entity_id", "before", "after"])
    for row in rows:
        writer.writerow(
            [
                row.id,
                row.at.isoformat(),
                _safe(row.actor),
                row.action,
                row.entity,
                row.entity_id,
                _safe(json.dumps(row.before, ensure_ascii=False) if row.before is not None else ""),
                _safe(json.dumps(row.after, ensure_ascii=False) if row.after is not None else ""),
            ]
        )
    return out.getvalue()


def _safe(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
