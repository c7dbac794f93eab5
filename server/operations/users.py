"""Web users and app users (phones)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from server import problems
from server.auth.passwords import hash_password
from server.auth.principal import new_token
from server.models import Actor, AppUser, ProjectRole, User

SITE_ROLES = ("admin", "none")
PROJECT_ROLES = ("manager", "viewer", "formfill")


def create_user(
    db: Session, email: str, password: str | None, role: str = "none",
    display_name: str | None = None,
) -> User:
    email = email.strip().lower()
    if "@" not in email:
        raise problems.unexpected_value("email", "it must be an email address")
    if role not in SITE_ROLES:
        raise problems.unexpected_value("role", f"it must be one of {', '.join(SITE_ROLES)}")
    if db.scalar(select(User.actor_id).where(User.email == email)) is not None:
        raise problems.already_exists("users", {"email": email})
    actor = Actor(type="user", display_name=display_name or email)
    db.add(actor)
    db.flush()
    user = User(actor_id=actor.id, email=email, role=role,
                password_hash=hash_password(password) if password else None)
    user.actor = actor
    db.add(user)
    db.flush()
    return user


def grant_project_role(db: Session, project_id: int, actor_id: int, role: str) -> ProjectRole:
    if role not in PROJECT_ROLES:
        raise problems.unexpected_value("role", f"it must be one of {', '.join(PROJECT_ROLES)}")
    existing = db.scalar(select(ProjectRole).where(
        ProjectRole.project_id == project_id, ProjectRole.actor_id == actor_id,
        ProjectRole.role == role))
    if existing is not None:
        return existing
    row = ProjectRole(project_id=project_id, actor_id=actor_id, role=role)
    db.add(row)
    db.flush()
    return row


def create_app_user(
    db: Session, project_id: int, display_name: str, villages: list[str] | None = None,
    created_by: int | None = None,
) -> AppUser:
    if not display_name.strip():
        raise problems.missing_parameter("displayName")
    actor = Actor(type="field_key", display_name=display_name.strip())
    db.add(actor)
    db.flush()
    app_user = AppUser(actor_id=actor.id, project_id=project_id, token=new_token(),
                       created_by=created_by, villages=list(villages or []))
    app_user.actor = actor
    db.add(app_user)
    db.add(ProjectRole(project_id=project_id, actor_id=actor.id, role="app-user"))
    db.flush()
    return app_user
