"""Projects: one per commune."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server import problems
from server.db import utcnow
from server.models import Actor, AppUser, Form, Project, Submission


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


def list_projects(db: Session, only_ids: Collection[int] | None = None) -> list[Project]:
    """Projects not deleted, by name; `only_ids` limits them to those the caller may read."""
    query = select(Project).where(Project.deleted_at.is_(None)).order_by(Project.name,
                                                                           Project.id)
    if only_ids is not None:
        query = query.where(Project.id.in_(list(only_ids)))
    return list(db.scalars(query))


UPDATABLE = ("name", "description", "archived", "commune_code")


def update_project(project: Project, changes: dict[str, Any]) -> dict[str, Any]:
    """Apply the given fields; returns what changed (for the audit row)."""
    applied: dict[str, Any] = {}
    for name in UPDATABLE:
        if name not in changes:
            continue
        value = changes[name]
        if name == "name" and (value is None or not str(value).strip()):
            raise problems.missing_parameter("name")
        if name == "archived":
            value = bool(value)
        setattr(project, name, value.strip() if isinstance(value, str) else value)
        applied[name] = value
    return applied


def delete_project(project: Project) -> None:
    """Soft delete, as Central: the rows stay for the audit trail, the project disappears."""
    project.deleted_at = utcnow()


@dataclass(frozen=True)
class ProjectCounts:
    forms: int
    app_users: int
    last_submission: datetime | None


def project_counts(db: Session, project_id: int) -> ProjectCounts:
    """Central's extended project figures: forms, active app users, latest submission."""
    forms = db.scalar(select(func.count(Form.id)).where(
        Form.project_id == project_id, Form.deleted_at.is_(None))) or 0
    app_users = db.scalar(select(func.count(AppUser.actor_id)).join(
        Actor, Actor.id == AppUser.actor_id).where(
        AppUser.project_id == project_id, Actor.deleted_at.is_(None),
        AppUser.token.is_not(None))) or 0
    last = db.scalar(select(func.max(Submission.created_at)).join(
        Form, Form.id == Submission.form_id).where(
        Form.project_id == project_id, Submission.deleted_at.is_(None)))
    return ProjectCounts(forms=forms, app_users=app_users, last_submission=last)
