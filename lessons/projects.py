"""Projects: any initiative, programme, task or exercise that reviews are held on."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from lessons.access import Viewer, visible_project_ids
from lessons.errors import NotFound
from lessons.models import Project
from lessons.schemas import ProjectRef


def find(session: Session, *, ref: ProjectRef) -> Project | None:
    """The existing project `ref` names (by id, else by name), or None."""
    if ref.id is not None:
        return session.get(Project, ref.id)
    name = (ref.name or "").strip()
    return session.exec(select(Project).where(func.lower(Project.name) == name.lower())).first()


def resolve(session: Session, *, ref: ProjectRef) -> Project:
    """The project `ref` names: by id (must exist) or by name (created when new)."""
    project = find(session, ref=ref)
    if ref.id is not None and project is None:
        raise NotFound(f"No project with id {ref.id}.", {"project.id": "no such project"})
    if project is None:
        name = (ref.name or "").strip()
        project = Project(
            name=name,
            summary=ref.summary,
            unit=ref.unit,
            start_date=ref.start_date,
            end_date=ref.end_date,
            tags=ref.tags,
        )
        session.add(project)
        session.flush()
    return project


def get(session: Session, *, project_id: int, viewer: Viewer) -> Project:
    """One project the viewer may know of (`access.visible_project_ids`), or NotFound: one
    holding only work they may not see answers as a missing one."""
    project = session.exec(
        select(Project).where(
            Project.id == project_id, col(Project.id).in_(visible_project_ids(viewer))
        )
    ).first()
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
