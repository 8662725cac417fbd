"""Projects: any initiative, programme, task or exercise that reviews are held on."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from lessons.accounts.access import Viewer, visible_project_ids
from lessons.errors import NotFound
from lessons.schemas import ProjectRef
from lessons.storage.get_or_create import get_or_create
from lessons.storage.models import Project


def find(session: Session, *, ref: ProjectRef, viewer: Viewer | None = None) -> Project | None:
    """The existing project `ref` names (by id, else by name), or None. Named by id, a project
    `viewer` may not know of is None, as a missing one (None: the seed and imports)."""
    if ref.id is not None:
        if viewer is None:
            return session.get(Project, ref.id)
        return _known(session, project_id=ref.id, viewer=viewer)
    name = (ref.name or "").strip()
    return session.exec(select(Project).where(func.lower(Project.name) == name.lower())).first()


def resolve(session: Session, *, ref: ProjectRef, viewer: Viewer | None = None) -> Project:
    """The project `ref` names: by id (must exist, and be one `viewer` may know of) or by name
    (created when new)."""
    project = find(session, ref=ref, viewer=viewer)
    if ref.id is not None and project is None:
        raise NotFound(f"No project with id {ref.id}.", {"project.id": "no such project"})
    if project is None:
        project = get_or_create(
            session,
            lambda: find(session, ref=ref, viewer=viewer),
            lambda: Project(
                name=(ref.name or "").strip(),
                summary=ref.summary,
                unit=ref.unit,
                start_date=ref.start_date,
                end_date=ref.end_date,
                tags=ref.tags,
            ),
        )
    return project


def _known(session: Session, *, project_id: int, viewer: Viewer) -> Project | None:
    return session.exec(
        select(Project).where(
            Project.id == project_id, col(Project.id).in_(visible_project_ids(viewer))
        )
    ).first()


def get(session: Session, *, project_id: int, viewer: Viewer) -> Project:
    """One project the viewer may know of (`access.visible_project_ids`), or NotFound: one
    holding only work they may not see answers as a missing one."""
    project = _known(session, project_id=project_id, viewer=viewer)
    if project is None:
        raise NotFound(f"No project with id {project_id}.")
    return project


def list_projects(session: Session, *, viewer: Viewer) -> list[Project]:
    """The projects the viewer may know of, newest first."""
    return list(
        session.exec(
            select(Project)
            .where(col(Project.id).in_(visible_project_ids(viewer)))
            .order_by(col(Project.start_date).desc().nulls_last(), col(Project.name))
        )
    )
