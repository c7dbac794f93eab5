"""Project roles of web users: who holds which role on a commune's project, for which villages.

The API (`server/api/v1/assignments.py`) and the command line (`diemtua project role …`) list,
grant and take away roles through these functions. Who may do so is the surface's question
asked before: the API's no-escalation rule (`server.auth.grants.GrantScope`); the command line
acts as the server's operator, like a site administrator.

A role limited to villages (README "Who sees what") names village codes of the project's
village list (`server.auth.grants.check_village_codes`); no villages means every village.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from server import problems
from server.auth.grants import check_village_codes
from server.models import Actor, Project, ProjectRole, User
from server.operations.users import PROJECT_ROLES, grant_project_role, revoke_project_role
from server.storage import BlobStore


class RoleAlreadyHeld(Exception):
    """The user holds this role on the project already (the API answers Central's 409.3)."""

    def __init__(self, email: str, role: str, project_id: int) -> None:
        super().__init__(f"{email} đã có vai trò {role} trong dự án {project_id}. "
                         f"({email} already holds the {role} role on project {project_id}.)")


@dataclass(frozen=True)
class HeldRole:
    """One role an actor holds on one project; `villages` empty: every village."""

    project_id: int
    project_name: str
    actor: Actor
    role: str
    villages: list[str]


def check_project_role(role: str) -> None:
    """400.8 naming the roles there are, Vietnamese first, for a role that is not one."""
    if role in PROJECT_ROLES:
        return
    listed = ", ".join(PROJECT_ROLES)
    raise problems.Problem(
        "400.8", f"Không có vai trò {role!r}; các vai trò trong dự án: {listed}. "
        f"(Unexpected role value: unknown role {role!r}; the project roles are {listed}.)",
        {"field": "role", "roles": list(PROJECT_ROLES)})


def _held(db: Session, *conditions: ColumnElement[bool]) -> list[HeldRole]:
    rows = db.execute(
        select(ProjectRole, Actor, Project.name)
        .join(Actor, Actor.id == ProjectRole.actor_id)
        .join(Project, Project.id == ProjectRole.project_id)
        .where(Actor.deleted_at.is_(None), Project.deleted_at.is_(None), *conditions)
        .order_by(ProjectRole.project_id, Actor.id, ProjectRole.role))
    return [HeldRole(row.project_id, name, actor, row.role, list(row.villages or []))
            for row, actor, name in rows]


def project_role_rows(db: Session, project_id: int) -> list[HeldRole]:
    """Everyone holding a role on the project (app users too: their role is "app-user")."""
    return _held(db, ProjectRole.project_id == project_id)


def roles_by_actor(db: Session, actor_ids: Collection[int]) -> dict[int, list[HeldRole]]:
    """The project roles of each given actor, projects in id order."""
    found: dict[int, list[HeldRole]] = {actor_id: [] for actor_id in actor_ids}
    if found:
        for held in _held(db, ProjectRole.actor_id.in_(list(found))):
            found[held.actor.id].append(held)
    return found


def held_villages(db: Session, project_id: int, actor_id: int, role: str) -> list[str] | None:
    """The villages a held role is limited to (empty: every village); None when not held."""
    row = db.scalar(select(ProjectRole).where(
        ProjectRole.project_id == project_id, ProjectRole.actor_id == actor_id,
        ProjectRole.role == role))
    return None if row is None else list(row.villages or [])


def assign_project_role(db: Session, project_id: int, user: User, role: str,
                        villages: list[str], store: BlobStore | None = None) -> ProjectRole:
    """Give `user` the project role, limited to `villages` (empty: every village).

    Refuses a role that is not a project role and village codes the project's village list
    lacks (both messages list what there is); `RoleAlreadyHeld` for a role held already.
    """
    check_project_role(role)
    check_village_codes(db, project_id, villages, store)
    if held_villages(db, project_id, user.actor_id, role) is not None:
        raise RoleAlreadyHeld(user.email, role, project_id)
    granted = grant_project_role(db, project_id, user.actor_id, role)
    granted.villages = list(villages)
    return granted


def remove_project_role(db: Session, project_id: int, actor_id: int, role: str) -> None:
    """Take the role away (404 when not held)."""
    revoke_project_role(db, project_id, actor_id, role)
