"""Role assignments, site-wide, per project and per form (Central: lib/resources/assignments.js).

Roles are named in URLs by Central's id or system name (see `roles`). Site-wide, only "admin"
exists here; on a project, "manager", "viewer" and "formfill" are granted to web users; on a
form, "app-user" gives one app user (one phone) the form — without it the phone's form list is
empty and its submissions are refused.

Our addition: the registry roles ("cp_officer", "health_reviewer", "commune_leader") are project
roles too, and a project assignment may carry a body `{"villages": [codes]}` limiting the role
to those villages' children (none or an empty list: every village, Central's behaviour).
Project assignment rows of a limited role show its `villages`; others keep Central's shape.
The codes must be villages of the project when it has a village list.

No escalation (`server.auth.grants`): a manager limited to villages grants and takes away only
roles limited to villages among its own, and gives or takes forms only to and from app users
of its villages; an unlimited role is granted and taken away by unlimited managers and site
administrators alone.
"""

from __future__ import annotations

from typing import Any

from flask_restx import Namespace, Resource
from marshmallow import EXCLUDE, Schema, fields
from sqlalchemy import select

from server import problems
from server.api.v1 import shapes
from server.api.v1.common import extended, load_json, success
from server.api.v1.openapi import documented
from server.api.v1.roles import ADMIN, Role, find_role, role_by_system
from server.api.v1.schemas import VILLAGE_CODE, actor_json
from server.auth import permissions
from server.auth.grants import GrantScope
from server.auth.principal import Principal
from server.context import db, services
from server.models import Actor, AppUser, Form, FormAssignment, User
from server.operations.forms import assign_to_form, get_form, unassign_from_form
from server.operations.project_roles import (
    RoleAlreadyHeld,
    assign_project_role,
    held_villages,
    project_role_rows,
    remove_project_role,
)
from server.operations.users import (
    SiteAdministratorNeeded,
    get_app_user,
    get_user,
    normalise_villages,
    revoke_site_admin,
)
from server.route_access import acting_user, audit, readable_project

ns = Namespace("assignments", description="Role assignments: site-wide, project, form",
               path="/")

FORM = "/projects/<int:project_id>/forms/<string:xml_form_id>"


class ProjectAssignmentInput(Schema):
    class Meta:
        unknown = EXCLUDE

    villages = fields.List(fields.String(validate=VILLAGE_CODE), load_default=list)


def _row(actor: Actor, role: Role, villages: list[str] | None = None) -> dict[str, Any]:
    row: dict[str, Any] = ({"actor": actor_json(actor), "roleId": role.id} if extended()
                           else {"actorId": actor.id, "roleId": role.id})
    if villages is not None:
        row["villages"] = villages
    return row


def _require_scope(role: Role, scope: str) -> None:
    if role.scope != scope:
        raise problems.unexpected_value("roleId", f"the {role.system} role cannot be "
                                        f"assigned here (it applies to a {role.scope})")


def _audit(who: Principal, actor: Actor, verb: str, role: Role, actee: str,
           villages: list[str] | None = None) -> None:
    details: dict[str, Any] = {"roleId": role.id, "acteeId": actee}
    if villages:
        details["villages"] = villages
    audit(who, f"{actor.type}.assignment.{verb}", f"actor:{actor.id}", details)


# --- site-wide ------------------------------------------------------------------------------


def _site_admins() -> list[User]:
    return list(db().scalars(select(User).join(Actor, Actor.id == User.actor_id).where(
        User.role == "admin", Actor.deleted_at.is_(None)).order_by(User.actor_id)))


@ns.route("/assignments")
class SiteAssignments(Resource):
    @documented(shapes.Assignment(many=True), extended=True)
    def get(self) -> list[dict[str, Any]]:
        """Site-wide assignments: every administrator (administrators only)."""
        permissions.require_admin(acting_user())
        return [_row(user.actor, ADMIN) for user in _site_admins()]


@ns.route("/assignments/<string:role_id>")
class SiteRoleActors(Resource):
    @documented(shapes.Actor(many=True))
    def get(self, role_id: str) -> list[dict[str, Any]]:
        """The actors holding a role site-wide."""
        permissions.require_admin(acting_user())
        role = find_role(role_id)
        return [actor_json(user.actor) for user in _site_admins()] if role == ADMIN else []


@ns.route("/assignments/<string:role_id>/<int:actor_id>")
class SiteAssignment(Resource):
    @documented(errors=(400, 409))
    def post(self, role_id: str, actor_id: int) -> dict[str, bool]:
        """Make a web user a site administrator."""
        who = acting_user()
        permissions.require_admin(who)
        role = find_role(role_id)
        _require_scope(role, "site")
        user = get_user(db(), actor_id)
        if user.role == "admin":
            raise problems.already_exists("assignments", {"actorId": actor_id,
                                                          "roleId": role.id})
        user.role = "admin"
        _audit(who, user.actor, "create", role, "*")
        return success()

    @documented(errors=(400,))
    def delete(self, role_id: str, actor_id: int) -> dict[str, bool]:
        """Take the administrator role away from a web user; refused (409.42) for the last
        one."""
        who = acting_user()
        permissions.require_admin(who)
        role = find_role(role_id)
        _require_scope(role, "site")
        user = get_user(db(), actor_id)
        try:
            revoke_site_admin(db(), user, by=who.actor_id)
        except SiteAdministratorNeeded as exc:
            raise exc.problem() from exc
        _audit(who, user.actor, "delete", role, "*")
        return success()


# --- project --------------------------------------------------------------------------------


def _project_rows(project_id: int) -> list[tuple[Actor, Role, list[str]]]:
    return [(held.actor, role_by_system(held.role), held.villages)
            for held in project_role_rows(db(), project_id)]


@ns.route("/projects/<int:project_id>/assignments")
class ProjectAssignments(Resource):
    @documented(shapes.Assignment(many=True), extended=True)
    def get(self, project_id: int) -> list[dict[str, Any]]:
        """Everyone holding a role on the project, app users included (role 2)."""
        who = acting_user()
        readable_project(who, project_id, "assignment.list")
        # Central's rows, plus `villages` on a role limited to some (our addition).
        return [_row(actor, role, villages or None)
                for actor, role, villages in _project_rows(project_id)]


@ns.route("/projects/<int:project_id>/assignments/<string:role_id>")
class ProjectRoleActors(Resource):
    @documented(shapes.Actor(many=True))
    def get(self, project_id: int, role_id: str) -> list[dict[str, Any]]:
        """The actors holding one role on the project."""
        who = acting_user()
        readable_project(who, project_id, "assignment.list")
        role = find_role(role_id)
        return [actor_json(actor) for actor, held, _villages in _project_rows(project_id)
                if held == role]


@ns.route("/projects/<int:project_id>/assignments/<string:role_id>/<int:actor_id>")
class ProjectAssignment(Resource):
    @documented(body=ProjectAssignmentInput, errors=(409,))
    def post(self, project_id: int, role_id: str, actor_id: int) -> dict[str, bool]:
        """Give a web user a project role: manager, viewer, formfill (data collector), or a
        registry role (cp_officer, health_reviewer, commune_leader); an optional body
        `{"villages": [codes]}` limits it to those villages' children."""
        who = acting_user()
        readable_project(who, project_id, "assignment.create")
        role = find_role(role_id)
        _require_scope(role, "project")
        villages = normalise_villages(load_json(ProjectAssignmentInput())["villages"])
        user = get_user(db(), actor_id)
        grants = GrantScope.of(who, "assignment.create", project_id)
        grants.check_role(role.system, villages, granting=True)
        try:
            assign_project_role(db(), project_id, user, role.system, villages,
                                services().store)
        except RoleAlreadyHeld:
            raise problems.already_exists("assignments", {"actorId": actor_id,
                                                          "roleId": role.id}) from None
        _audit(who, user.actor, "create", role, f"project:{project_id}", villages)
        return success()

    @documented(errors=(400,))
    def delete(self, project_id: int, role_id: str, actor_id: int) -> dict[str, bool]:
        """Take a project role away."""
        who = acting_user()
        readable_project(who, project_id, "assignment.delete")
        role = find_role(role_id)
        _require_scope(role, "project")
        held = held_villages(db(), project_id, actor_id, role.system)
        if held is not None:
            grants = GrantScope.of(who, "assignment.delete", project_id)
            grants.check_role(role.system, held, granting=False)
        remove_project_role(db(), project_id, actor_id, role.system)
        actor = db().get(Actor, actor_id)
        assert actor is not None
        _audit(who, actor, "delete", role, f"project:{project_id}")
        return success()


# --- forms ----------------------------------------------------------------------------------


def _form_rows(project_id: int, form: Form | None = None) -> list[tuple[Actor, str, str]]:
    query = select(Actor, Form.xml_form_id, FormAssignment.role).join(
        FormAssignment, FormAssignment.actor_id == Actor.id).join(
        Form, Form.id == FormAssignment.form_id).where(
        Form.project_id == project_id, Form.deleted_at.is_(None), Actor.deleted_at.is_(None))
    if form is not None:
        query = query.where(Form.id == form.id)
    return [(actor, xml_form_id, role) for actor, xml_form_id, role
            in db().execute(query.order_by(Form.xml_form_id, Actor.id))]


@ns.route("/projects/<int:project_id>/assignments/forms")
class ProjectFormAssignments(Resource):
    @documented(shapes.FormAssignment(many=True))
    def get(self, project_id: int) -> list[dict[str, Any]]:
        """Every form assignment in the project: `{actorId, xmlFormId, roleId}`."""
        who = acting_user()
        readable_project(who, project_id, "assignment.list")
        return [{"actorId": actor.id, "xmlFormId": xml_form_id,
                 "roleId": role_by_system(role).id}
                for actor, xml_form_id, role in _form_rows(project_id)]


@ns.route("/projects/<int:project_id>/assignments/forms/<string:role_id>")
class ProjectFormRoleAssignments(Resource):
    @documented(shapes.FormAssignment(many=True))
    def get(self, project_id: int, role_id: str) -> list[dict[str, Any]]:
        """Form assignments of one role in the project."""
        who = acting_user()
        readable_project(who, project_id, "assignment.list")
        wanted = find_role(role_id)
        return [{"actorId": actor.id, "xmlFormId": xml_form_id, "roleId": wanted.id}
                for actor, xml_form_id, role in _form_rows(project_id)
                if role == wanted.system]


def _form(who: Principal, project_id: int, xml_form_id: str, verb: str) -> Form:
    readable_project(who, project_id, verb)
    return get_form(db(), project_id, xml_form_id)


@ns.route(f"{FORM}/assignments")
class FormAssignments(Resource):
    @documented(shapes.Assignment(many=True), extended=True)
    def get(self, project_id: int, xml_form_id: str) -> list[dict[str, Any]]:
        """Who is assigned to this form."""
        who = acting_user()
        form = _form(who, project_id, xml_form_id, "assignment.list")
        return [_row(actor, role_by_system(role))
                for actor, _form_id, role in _form_rows(project_id, form)]


@ns.route(f"{FORM}/assignments/<string:role_id>")
class FormRoleActors(Resource):
    @documented(shapes.Actor(many=True))
    def get(self, project_id: int, xml_form_id: str, role_id: str) -> list[dict[str, Any]]:
        """The actors holding one role on this form."""
        who = acting_user()
        form = _form(who, project_id, xml_form_id, "assignment.list")
        wanted = find_role(role_id)
        return [actor_json(actor) for actor, _form_id, role in _form_rows(project_id, form)
                if role == wanted.system]


@ns.route(f"{FORM}/assignments/<string:role_id>/<int:actor_id>")
class FormAssignmentGrant(Resource):
    @documented(errors=(400, 409))
    def post(self, project_id: int, xml_form_id: str, role_id: str,
             actor_id: int) -> dict[str, bool]:
        """Give an app user of this project the form (`app-user` or `2`)."""
        who = acting_user()
        form = _form(who, project_id, xml_form_id, "assignment.create")
        role = find_role(role_id)
        _require_scope(role, "form")
        app_user = get_app_user(db(), project_id, actor_id)
        GrantScope.of(who, "assignment.create", project_id).check_app_user(
            app_user.villages or [], "giving a form to this app user")
        assign_to_form(db(), form, actor_id, role.system)
        _audit(who, app_user.actor, "create", role, f"form:{form.id}")
        return success()

    @documented(errors=(400,))
    def delete(self, project_id: int, xml_form_id: str, role_id: str,
               actor_id: int) -> dict[str, bool]:
        """Take the form away from an app user."""
        who = acting_user()
        form = _form(who, project_id, xml_form_id, "assignment.delete")
        role = find_role(role_id)
        app_user = db().get(AppUser, actor_id)
        if app_user is not None and app_user.project_id == project_id:
            GrantScope.of(who, "assignment.delete", project_id).check_app_user(
                app_user.villages or [], "taking a form from this app user")
        unassign_from_form(db(), form, actor_id, role.system)
        actor = db().get(Actor, actor_id)
        assert actor is not None
        _audit(who, actor, "delete", role, f"form:{form.id}")
        return success()
