"""What each role may do, with ODK Central's verbs, and the checks routes call.

Site admins may do anything. Project roles: "manager" (everything in the project), "viewer"
(read forms and submissions), "formfill" (a data collector: see open forms, submit). App users
act only on forms they are assigned to, in their own project.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from server import problems
from server.auth.principal import Principal
from server.models import Form, FormAssignment

READ_VERBS = frozenset({
    "project.read", "form.list", "form.read", "open_form.list", "open_form.read",
    "submission.list", "submission.read", "dataset.list", "dataset.read", "entity.list",
    "entity.read",
})
COLLECT_VERBS = frozenset({
    "project.read", "open_form.list", "open_form.read", "submission.create",
})
MANAGE_VERBS = READ_VERBS | COLLECT_VERBS | frozenset({
    "project.update", "form.create", "form.update", "form.delete", "submission.update",
    "submission.create", "field_key.create", "field_key.list", "field_key.delete",
    "assignment.create", "assignment.list", "assignment.delete", "entity.create",
    "entity.update", "entity.delete", "dataset.update",
})

ROLE_VERBS: dict[str, frozenset[str]] = {
    "manager": MANAGE_VERBS,
    "viewer": READ_VERBS,
    "formfill": COLLECT_VERBS,
    # An app user's project-level grant; form-level verbs still need an assignment.
    "app-user": COLLECT_VERBS,
}

FORM_SCOPED_FOR_APP_USERS = frozenset({"open_form.list", "open_form.read", "submission.create"})


def project_verbs(principal: Principal, project_id: int) -> frozenset[str]:
    verbs: set[str] = set()
    for role in principal.project_roles.get(project_id, set()):
        verbs |= ROLE_VERBS.get(role, frozenset())
    return frozenset(verbs)


def can(principal: Principal, verb: str, project_id: int) -> bool:
    if principal.is_admin:
        return True
    return verb in project_verbs(principal, project_id)


def app_user_assigned(db: DbSession, principal: Principal, form: Form) -> bool:
    assert principal.actor is not None
    return db.scalar(
        select(FormAssignment.id).where(FormAssignment.form_id == form.id,
                                        FormAssignment.actor_id == principal.actor.id)
    ) is not None


def can_on_form(db: DbSession, principal: Principal, verb: str, form: Form) -> bool:
    if not can(principal, verb, form.project_id):
        return False
    if principal.app_user is not None and verb in FORM_SCOPED_FOR_APP_USERS:
        return app_user_assigned(db, principal, form)
    return True


def require(principal: Principal, verb: str, project_id: int) -> None:
    """Raise 401 for nobody, 403 for somebody without the right."""
    if principal.is_anonymous:
        raise problems.auth_failed()
    if not can(principal, verb, project_id):
        raise problems.insufficient_rights()


def require_on_form(db: DbSession, principal: Principal, verb: str, form: Form) -> None:
    if principal.is_anonymous:
        raise problems.auth_failed()
    if not can_on_form(db, principal, verb, form):
        raise problems.insufficient_rights()


def require_admin(principal: Principal) -> None:
    if principal.is_anonymous:
        raise problems.auth_failed()
    if not principal.is_admin:
        raise problems.insufficient_rights()
