"""The people of the site and of a commune, as the administration pages show and change them
(docs/pages.md, "Accounts" and "People and roles").

Plain functions on a session, below the pages: who the web users are, with their roles on each
commune and when they last signed in; a new password made for someone; the villages of a role
changed in place. Who may call them is the surface's question, asked before — the same checks
as the API's user and assignment routes (`server.auth.permissions`, `server.auth.grants`).
"""

from __future__ import annotations

import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server import problems
from server.auth.grants import check_village_codes
from server.auth.passwords import WeakPassword, check_password_strength
from server.auth.principal import Principal
from server.models import Audit, ProjectRole, User, Village
from server.operations.project_roles import HeldRole, roles_by_actor
from server.operations.users import active_users
from server.storage import BlobStore

# Letters and digits nobody confuses when reading a password aloud or copying it from a
# screen: no 0/o, 1/l/i, 5/s, 2/z.
_READABLE = "abcdefghjkmnpqrtuvwxy346789"
_GROUPS, _GROUP_LENGTH = 4, 4  # 16 characters, about 76 bits


def generate_password(user_inputs: Collection[str | None] = ()) -> str:
    """A password for someone to type once and change: four groups of four readable
    characters (`k7mp-x3qa-tw9h-ue4r`), judged by the same rule as any new password
    (`server.auth.passwords`) — drawn again in the rare case the rule refuses it."""
    while True:
        password = "-".join("".join(secrets.choice(_READABLE) for _ in range(_GROUP_LENGTH))
                            for _ in range(_GROUPS))
        try:
            check_password_strength(password, user_inputs)
        except WeakPassword:
            continue
        return password


@dataclass(frozen=True)
class WebUser:
    """A web user as the accounts page lists them."""

    user: User
    roles: list[HeldRole]
    last_sign_in: datetime | None

    @property
    def is_site_admin(self) -> bool:
        return self.user.role == "admin"


def last_sign_ins(session: Session, actor_ids: Collection[int]) -> dict[int, datetime]:
    """When each actor last signed in, from the audit log's `user.session.create` rows (the
    sign-in page and `POST /v1/sessions` both write one); no row, no entry."""
    if not actor_ids:
        return {}
    actees = {f"actor:{actor_id}": actor_id for actor_id in actor_ids}
    rows = session.execute(
        select(Audit.actee, func.max(Audit.logged_at))
        .where(Audit.action == "user.session.create", Audit.actee.in_(list(actees)))
        .group_by(Audit.actee))
    return {actees[actee]: moment for actee, moment in rows if actee in actees}


def web_users(session: Session) -> list[WebUser]:
    """Every web user not deactivated, by email, with their project roles and last sign-in."""
    users = active_users(session)
    ids = [user.actor_id for user in users]
    roles = roles_by_actor(session, ids)
    signed_in = last_sign_ins(session, ids)
    return [WebUser(user, roles[user.actor_id], signed_in.get(user.actor_id))
            for user in users]


def village_names(session: Session, project_ids: Collection[int]) -> dict[int, dict[str, str]]:
    """Each project's village list, code → name, in code order."""
    names: dict[int, dict[str, str]] = {project_id: {} for project_id in project_ids}
    if names:
        for village in session.scalars(select(Village).where(
                Village.project_id.in_(list(names))).order_by(Village.code)):
            names[village.project_id][village.code] = village.name
    return names


def users_by_actor(session: Session, actor_ids: Collection[int]) -> dict[int, User]:
    if not actor_ids:
        return {}
    return {user.actor_id: user for user in session.scalars(
        select(User).where(User.actor_id.in_(list(actor_ids))))}


def change_role_villages(session: Session, project_id: int, actor_id: int, role: str,
                         villages: list[str], store: BlobStore | None = None) -> list[str]:
    """Limit a held role to `villages` instead (empty: every village); → the villages it had.

    The codes are checked as a new grant's are (`check_village_codes`: 400.8 listing the
    commune's villages); 404 when the role is not held."""
    row = session.scalar(select(ProjectRole).where(
        ProjectRole.project_id == project_id, ProjectRole.actor_id == actor_id,
        ProjectRole.role == role))
    if row is None:
        raise problems.not_found()
    check_village_codes(session, project_id, villages, store)
    before = list(row.villages or [])
    row.villages = list(villages)
    session.flush()
    return before


def record_web_action(session: Session, who: Principal, action: str, actee: str | None,
                      details: dict[str, Any] | None = None) -> None:
    """An audit row for a change made on a page, with the API's action names and
    `"via": "web"`, in the request's unit of work (it commits with the change or not at all)."""
    session.add(Audit(actor_id=who.actor_id, action=action, actee=actee,
                      details={**(details or {}), "via": "web"}))
