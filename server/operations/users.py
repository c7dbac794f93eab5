"""Web users and app users (phones)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar, Literal

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from server import problems
from server.auth.passwords import hash_password, verify_password
from server.auth.principal import new_token
from server.db import utcnow
from server.models import Actor, AppUser, FormAssignment, ProjectRole, User
from server.models import Session as TokenSession

SITE_ROLES = ("admin", "none")
PROJECT_ROLES = ("manager", "viewer", "formfill", "cp_officer", "health_reviewer",
                 "commune_leader")


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
    # Judged before anything is written: a refused password leaves no half-made user.
    password_hash = hash_password(password, (email, display_name)) if password else None
    actor = Actor(type="user", display_name=display_name or email)
    db.add(actor)
    db.flush()
    user = User(actor_id=actor.id, email=email, role=role, password_hash=password_hash)
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


# --- changes to existing accounts (management API, CLI) -------------------------------------


def get_user(db: Session, actor_id: int) -> User:
    """A web user who has not been deleted, or 404."""
    user = db.get(User, actor_id)
    if user is None or user.actor.deleted_at is not None:
        raise problems.not_found()
    return user


def update_user(db: Session, user: User, email: str | None = None,
                display_name: str | None = None) -> User:
    if email is not None and email.strip().lower() != user.email:
        email = email.strip().lower()
        if db.scalar(select(User.actor_id).where(User.email == email)) is not None:
            raise problems.already_exists("users", {"email": email})
        user.email = email
    if display_name is not None:
        user.actor.display_name = display_name.strip() or user.email
    db.flush()
    return user


def change_password(user: User, old: str, new: str) -> None:
    """Central asks for the old password even from administrators (users.js)."""
    if not verify_password(user.password_hash, old):
        raise problems.auth_failed()
    user.password_hash = hash_password(new, (user.email, user.actor.display_name))


def end_sessions(db: Session, actor_id: int) -> int:
    """Sign the actor out everywhere (API tokens and web pages share the table); → how many."""
    ended = db.scalar(select(func.count()).select_from(TokenSession)
                      .where(TokenSession.actor_id == actor_id)) or 0
    db.execute(delete(TokenSession).where(TokenSession.actor_id == actor_id))
    return ended


def reset_password(db: Session, user: User, new: str) -> int:
    """The operator's reset (`diemtua user reset-password`): no old password asked, the same
    strength rule as a new account (`server.auth.passwords`), and every session of the user
    ended, so whoever held the old password is signed out; → sessions ended."""
    user.password_hash = hash_password(new, (user.email, user.actor.display_name))
    return end_sessions(db, user.actor_id)


def user_by_email(db: Session, email: str) -> User:
    """A web user who has not been deleted, found by email (any case), or 404."""
    user = db.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or user.actor.deleted_at is not None:
        raise problems.not_found()
    return user


def active_users(db: Session) -> list[User]:
    """Web users not deleted, by email."""
    return list(db.scalars(select(User).join(Actor, Actor.id == User.actor_id)
                           .where(Actor.deleted_at.is_(None)).order_by(User.email)))


# --- site administrators: at least one always remains (docs/access.md) ---------------------


class SiteAdministratorNeeded(Exception):
    """A change refused because the site would lose what manages it: an administrator deleting
    its own account (`reason` "own_account"), or the last site administrator deleted or
    demoted ("last_admin"). The API answers 409.42; a page says why in its own words; the
    message itself is Vietnamese then English, for a command line."""

    MESSAGES: ClassVar[dict[str, tuple[str, str]]] = {
        "own_account": (
            "Không thể xoá hay vô hiệu hoá tài khoản của chính mình; một quản trị viên hệ "
            "thống khác có thể làm việc này.",
            "A site administrator cannot delete or deactivate their own account; another site "
            "administrator can."),
        "last_admin": (
            "Đây là quản trị viên hệ thống cuối cùng; hãy cho một tài khoản khác quyền quản trị "
            "trước.",
            "This is the last site administrator: without it nobody could manage accounts. "
            "Make another account a site administrator first."),
    }

    def __init__(self, reason: str, actor_id: int) -> None:
        self.reason = reason
        self.actor_id = actor_id
        self.vietnamese, self.english = self.MESSAGES[reason]
        super().__init__(f"{self.vietnamese} ({self.english})")

    def problem(self) -> problems.Problem:
        return problems.site_administrator_needed(self.vietnamese, self.english, self.reason,
                                                  self.actor_id)


# Deleting (deactivating) a web user, or taking its site administrator role away.
SiteAdminChange = Literal["delete", "demote"]


def site_admin_ids(db: Session, lock: bool = False) -> list[int]:
    """The site administrators not deleted. `lock`: their rows stay locked until the unit of
    work ends (PostgreSQL `FOR UPDATE`; SQLite's writers are one at a time already, `BEGIN
    IMMEDIATE` in `server.db`), so two administrators removing each other at the same moment
    are judged one after the other and the second sees the first's change."""
    query = (select(User.actor_id).join(Actor, Actor.id == User.actor_id)
             .where(User.role == "admin", Actor.deleted_at.is_(None)).order_by(User.actor_id))
    return list(db.scalars(query.with_for_update() if lock else query))


def site_admin_refusal(db: Session, user: User, change: SiteAdminChange, by: int | None,
                       lock: bool = False) -> SiteAdministratorNeeded | None:
    """The one rule, for every path that deletes a web user or takes its administrator role
    (API, pages): nobody deletes their own account (`change` "delete", `by` the acting actor;
    None when no user acts, as at the operator's console), and the last site administrator is
    never deleted nor demoted — else nobody could manage accounts but the operator. Pages ask
    it unlocked to explain before the form is sent; the change itself asks through
    `ensure_site_admin_remains`, locked."""
    if change == "delete" and by == user.actor_id:
        return SiteAdministratorNeeded("own_account", user.actor_id)
    admins = site_admin_ids(db, lock=lock)
    if admins == [user.actor_id]:
        return SiteAdministratorNeeded("last_admin", user.actor_id)
    return None


def ensure_site_admin_remains(db: Session, user: User, change: SiteAdminChange,
                              by: int | None) -> None:
    """`site_admin_refusal` with the administrators' rows locked; raises the refusal."""
    refusal = site_admin_refusal(db, user, change, by, lock=True)
    if refusal is not None:
        raise refusal


def revoke_site_admin(db: Session, user: User, by: int | None) -> None:
    """Take the administrator role away; refused for the last one (`SiteAdministratorNeeded`).
    An administrator may give up its own role while another remains."""
    if user.role != "admin":
        raise problems.not_found()
    ensure_site_admin_remains(db, user, "demote", by)
    user.role = "none"
    db.flush()


def delete_user(db: Session, user: User, by: int | None) -> None:
    """Soft-delete: the actor stays for audit and submitter history; access ends now. `by`:
    the actor deleting (None: the operator); refused by `ensure_site_admin_remains`."""
    ensure_site_admin_remains(db, user, "delete", by)
    user.actor.deleted_at = utcnow()
    user.role = "none"
    end_sessions(db, user.actor_id)
    db.execute(delete(ProjectRole).where(ProjectRole.actor_id == user.actor_id))
    db.flush()


def revoke_project_role(db: Session, project_id: int, actor_id: int, role: str) -> None:
    row = db.scalar(select(ProjectRole).where(
        ProjectRole.project_id == project_id, ProjectRole.actor_id == actor_id,
        ProjectRole.role == role))
    if row is None:
        raise problems.not_found()
    db.delete(row)
    db.flush()


def normalise_villages(codes: Iterable[str]) -> list[str]:
    """Village codes as given, trimmed, each once, in the order given."""
    seen: dict[str, None] = {}
    for code in codes:
        if code.strip():
            seen.setdefault(code.strip(), None)
    return list(seen)


def get_app_user(db: Session, project_id: int, actor_id: int) -> AppUser:
    """An app user of this project that has not been deleted, or 404."""
    app_user = db.get(AppUser, actor_id)
    if (app_user is None or app_user.project_id != project_id
            or app_user.actor.deleted_at is not None):
        raise problems.not_found()
    return app_user


def update_app_user(app_user: AppUser, display_name: str | None = None,
                    villages: Iterable[str] | None = None) -> AppUser:
    if display_name is not None:
        if not display_name.strip():
            raise problems.missing_parameter("displayName")
        app_user.actor.display_name = display_name.strip()
    if villages is not None:
        app_user.villages = normalise_villages(villages)
    return app_user


def revoke_app_user_token(app_user: AppUser) -> None:
    """Central's "revoke access": the phone's key URL stops working, the account stays."""
    app_user.token = None


def reissue_app_user_token(app_user: AppUser) -> str:
    """A new key for the phone (a lost or shared QR code): the old URL stops working at once,
    the account, its villages and its forms stay; → the new token."""
    app_user.token = new_token()
    return app_user.token


def delete_app_user(db: Session, app_user: AppUser) -> None:
    """Central's app-user delete: token gone, actor deleted, every assignment removed."""
    app_user.token = None
    app_user.actor.deleted_at = utcnow()
    db.execute(delete(FormAssignment).where(FormAssignment.actor_id == app_user.actor_id))
    db.execute(delete(ProjectRole).where(ProjectRole.actor_id == app_user.actor_id))
    db.flush()
