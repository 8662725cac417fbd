"""Projects: any initiative, programme, task or exercise that reviews are held on."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from lessons.errors import NotFound
from lessons.models import Project
from lessons.schemas import ProjectRef


def resolve(session: Session, *, ref: ProjectRef) -> Project:
    """The project `ref` names: by id (must exist) or by name (created when new)."""
    if ref.id is not None:
        project = session.get(Project, ref.id)
        if project is None:
            raise NotFound(f"No project with id {ref.id}.", {"project.id": "no such project"})
        return project
    name = (ref.name or "").strip()
    project = session.exec(select(Project).where(func.lower(Project.name) == name.lower())).first()
    if project is None:
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


def get(session: Session, *, project_id: int) -> Project:
    """One project, or NotFound."""
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound(f"No project with id {project_id}.")
    return project


def list_projects(session: Session) -> list[Project]:
    """Every project, newest first."""
    return list(
        session.exec(
            select(Project).order_by(col(Project.start_date).desc().nulls_last(), col(Project.name))
        )
    )
