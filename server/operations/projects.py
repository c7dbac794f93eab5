"""Projects: one per commune."""

from __future__ import annotations

from sqlalchemy.orm import Session

from server import problems
from server.models import Project


def create_project(db: Session, name: str, description: str | None = None,
                   commune_code: str | None = None) -> Project:
    if not name or not name.strip():
        raise problems.missing_parameter("name")
    project = Project(name=name.strip(), description=description, commune_code=commune_code)
    db.add(project)
    db.flush()
    return project


def get_project(db: Session, project_id: int) -> Project:
    project = db.get(Project, project_id)
    if project is None or project.deleted_at is not None:
        raise problems.not_found()
    return project
