"""Who may see, create and change a commune's app users (phones), and what a phone's QR code
holds: the rules the management API (`server.api.v1.app_users`) and the phones page
(`/ui/p/<id>/phones`) both apply.

No escalation (`server.auth.grants`): a manager limited to villages creates app users only for
its villages, and lists, reads, changes, revokes and prints the QR code of only those whose
villages are among its own — the token is a key to the phone's villages' children.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.auth import permissions
from server.auth.grants import GrantScope, check_village_codes
from server.auth.principal import Principal
from server.models import Actor, AppUser, Form, FormAssignment, Project
from server.operations import qrcode
from server.operations.projects import get_project
from server.operations.users import get_app_user
from server.storage import BlobStore


def listed_app_users(session: Session, project_id: int, scope: GrantScope) -> list[AppUser]:
    """Active app users first (Central), newest first; only those within the caller's reach."""
    rows = session.scalars(select(AppUser).join(Actor, Actor.id == AppUser.actor_id).where(
        AppUser.project_id == project_id, Actor.deleted_at.is_(None))
        .order_by(AppUser.actor_id.desc()))
    return sorted((row for row in rows if scope.sees_app_user(row.villages or [])),
                  key=lambda app_user: app_user.token is None)


def commune_project(session: Session, who: Principal, project_id: int, verb: str) -> Project:
    """The commune once the caller may `verb` there (404 first for a missing one)."""
    project = get_project(session, project_id)
    permissions.require(who, verb, project.id)
    return project


def reachable_app_user(session: Session, who: Principal, project_id: int, actor_id: int,
                       verb: str) -> AppUser:
    """An app user of the project the caller may `verb` (`field_key.*`): within its villages."""
    commune_project(session, who, project_id, verb)
    app_user = get_app_user(session, project_id, actor_id)
    GrantScope.of(who, verb, project_id).check_app_user(app_user.villages or [])
    return app_user


def grantable_villages(session: Session, who: Principal, project_id: int,
                       villages: list[str], store: BlobStore | None) -> list[str]:
    """Villages the caller may give an app user (its own, when limited), each a village of the
    project (400.8 naming the commune's villages otherwise)."""
    GrantScope.of(who, "field_key.create", project_id).check_app_user(
        villages, "an app user of these villages")
    check_village_codes(session, project_id, villages, store)
    return villages


def collect_settings_of(public_base: str, project: Project, app_user: AppUser
                        ) -> tuple[str, dict[str, Any]]:
    """The Collect server URL and the settings of an app user's QR code (its token must still
    be valid: a revoked app user has no URL to hand out)."""
    assert app_user.token is not None, "a revoked app user has no QR code"
    url = qrcode.collect_url(public_base, app_user.token, project.id)
    return url, qrcode.collect_settings(url, project.name, project.id,
                                        username=app_user.actor.display_name)


def assigned_forms(session: Session, actor_ids: Iterable[int]) -> dict[int, list[str]]:
    """The forms (ids) given to each of these app users, by form id."""
    ids = list(actor_ids)
    if not ids:
        return {}
    given: dict[int, list[str]] = {actor_id: [] for actor_id in ids}
    for actor_id, xml_form_id in session.execute(
            select(FormAssignment.actor_id, Form.xml_form_id)
            .join(Form, Form.id == FormAssignment.form_id)
            .where(FormAssignment.actor_id.in_(ids), Form.deleted_at.is_(None))
            .order_by(Form.xml_form_id)):
        given[actor_id].append(xml_form_id)
    return given
