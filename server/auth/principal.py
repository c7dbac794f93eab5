"""The authenticated caller of one request, resolved from a token, a password or nothing.

Plain Python: the HTTP layer extracts credentials from headers and URLs and calls these.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from server import problems
from server.auth.passwords import verify_password
from server.db import utcnow
from server.models import Actor, AppUser, Project, ProjectRole, Session, User


@dataclass
class Principal:
    """An actor with their site role and project roles, loaded once per request."""

    actor: Actor | None = None
    user: User | None = None
    app_user: AppUser | None = None
    session_token: str | None = None
    project_roles: dict[int, set[str]] = field(default_factory=dict)
    # Registry village scope of each role held, by project: the village codes a role is
    # limited to, an empty set meaning every village (`ProjectRole.villages`).
    role_villages: dict[int, dict[str, frozenset[str]]] = field(default_factory=dict)

    @property
    def is_anonymous(self) -> bool:
        return self.actor is None

    @property
    def is_admin(self) -> bool:
        return self.user is not None and self.user.role == "admin"

    @property
    def actor_id(self) -> int | None:
        return self.actor.id if self.actor else None


ANONYMOUS = Principal()


def new_token() -> str:
    """64 characters from [A-Za-z0-9!$], like Central's tokens (48 random bytes)."""
    return secrets.token_urlsafe(48).replace("-", "!").replace("_", "$")


def token_hash(token: str) -> str:
    """What the database keeps of a session token (`Session.token_hash`)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def find_session(db: DbSession, token: str) -> Session | None:
    """The session row of a token as a caller presents it, or None."""
    if not token:
        return None
    return db.get(Session, token_hash(token))


def _load_roles(
    db: DbSession, actor_id: int
) -> tuple[dict[int, set[str]], dict[int, dict[str, frozenset[str]]]]:
    """The actor's roles by project, and the villages each role is limited to."""
    roles: dict[int, set[str]] = {}
    villages: dict[int, dict[str, frozenset[str]]] = {}
    for project_id, role, codes in db.execute(
        select(ProjectRole.project_id, ProjectRole.role, ProjectRole.villages)
        .where(ProjectRole.actor_id == actor_id)
    ):
        roles.setdefault(project_id, set()).add(role)
        villages.setdefault(project_id, {})[role] = frozenset(str(c) for c in codes or ())
    return roles, villages


def principal_for_user(db: DbSession, user: User, session_token: str | None = None) -> Principal:
    roles, villages = _load_roles(db, user.actor_id)
    return Principal(
        actor=user.actor,
        user=user,
        session_token=session_token,
        project_roles=roles,
        role_villages=villages,
    )


def principal_from_password(db: DbSession, email: str, password: str) -> Principal:
    user = db.scalar(
        select(User).join(Actor).where(User.email == email.strip().lower(),
                                       Actor.deleted_at.is_(None))
    )
    if not verify_password(user.password_hash if user else None, password) or user is None:
        raise problems.auth_failed()
    return principal_for_user(db, user)


def principal_from_session_token(db: DbSession, token: str) -> Principal:
    row = find_session(db, token)
    if row is None or row.expires_at <= utcnow():
        raise problems.auth_failed()
    actor = db.get(Actor, row.actor_id)
    if actor is None or actor.deleted_at is not None:
        raise problems.auth_failed()
    if actor.type == "user":
        user = db.get(User, actor.id)
        assert user is not None
        return principal_for_user(db, user, session_token=token)
    app_user = db.get(AppUser, actor.id)
    if app_user is None or app_user.token is None:
        raise problems.auth_failed()
    return principal_from_app_user(app_user)


def principal_from_app_user(app_user: AppUser) -> Principal:
    villages = frozenset(str(code) for code in app_user.villages or ())
    return Principal(actor=app_user.actor, app_user=app_user,
                     project_roles={app_user.project_id: {"app-user"}},
                     role_villages={app_user.project_id: {"app-user": villages}})


def principal_from_field_key(db: DbSession, token: str) -> Principal:
    app_user = db.scalar(
        select(AppUser).join(Project, Project.id == AppUser.project_id)
        .where(AppUser.token == token, Project.deleted_at.is_(None))
    )
    if app_user is None or app_user.actor.deleted_at is not None:
        raise problems.auth_failed()
    return principal_from_app_user(app_user)


def open_session(db: DbSession, actor: Actor, lifetime_hours: int) -> Session:
    """A new session; the returned row carries the clear `token` for this once."""
    token = new_token()
    row = Session(token_hash=token_hash(token), actor_id=actor.id, csrf=new_token(),
                  created_at=utcnow(), expires_at=utcnow() + timedelta(hours=lifetime_hours))
    db.add(row)
    db.flush()
    row.token = token
    return row
