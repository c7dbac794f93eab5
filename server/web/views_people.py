"""People and roles of one commune (Cán bộ và vai trò): who holds which role, for which villages;
give an existing user a role, change its villages, take it away (docs/pages.md).

The same checks as the API's project assignments (`server/api/v1/assignments.py`): the verbs
`assignment.list`, `assignment.create`, `assignment.delete` (managers and site administrators),
and no escalation (`server.auth.grants.GrantScope`): a manager limited to villages grants and
takes away only roles limited to villages among its own. Changing a role's villages is taking
the role away and granting it again, so it needs both. Village codes are checked against the
commune's list by `server.operations.project_roles` (an unknown one is refused with the list).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from server import problems
from server.auth import permissions
from server.auth.grants import GrantScope
from server.auth.principal import Principal
from server.context import db, services
from server.models import Project, User, Village
from server.operations.people import (
    change_role_villages,
    record_web_action,
    users_by_actor,
)
from server.operations.project_roles import (
    RoleAlreadyHeld,
    assign_project_role,
    check_project_role,
    held_villages,
    project_role_rows,
    remove_project_role,
)
from server.operations.projects import get_project
from server.operations.users import PROJECT_ROLES, normalise_villages, user_by_email
from server.registry.villages import ensure_villages
from server.web import auth, blueprint, error_page
from server.web.i18n import t
from server.web.views_children import done_message

ALL_VILLAGES, SOME_VILLAGES = "all", "villages"


# --- helpers the administration pages share ---------------------------------------------------


def web_caller() -> Principal:
    """The signed-in person (401 for nobody: a GET goes to the sign-in page)."""
    user = auth.web_user()
    if user is None:
        raise problems.auth_failed()
    return user.principal


def confirmed() -> bool:
    """The form's "Tôi chắc chắn" box is ticked (destructive actions need it; no JS)."""
    return request.form.get("confirm") == "yes"


class FormError(Exception):
    """A form the page refuses: the status and the message, in the page's language."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@blueprint.errorhandler(FormError)
def _refused(error: FormError) -> ResponseReturnValue:
    """A refusal met before there is a form to show it on: the error page, saying why."""
    key = f"error.{error.status}" if error.status in (400, 403, 404, 409) else "error.500"
    return error_page(error.status, key, error.message)


def village_problem(problem: problems.Problem, names: dict[str, str]) -> FormError:
    """400.8 from `check_village_codes` (codes the commune lacks), with the list it has."""
    unknown = ", ".join(problem.details.get("unknown", []))
    listed = ", ".join(f"{code} ({name})" if name != code else code
                       for code, name in names.items()) or t("common.none")
    return FormError(400, t("people.unknown_villages", unknown=unknown, villages=listed))


def outside_problem(problem: problems.Problem, asked: list[str]) -> FormError:
    """403.1 from `GrantScope` in words: an unlimited role, or villages beyond the caller's."""
    yours = ", ".join(problem.details.get("yourVillages", [])) or t("common.none")
    key = "people.needs_unlimited" if not asked else "people.outside_villages"
    return FormError(403, t(key, yours=yours))


def chosen_villages(role: str) -> list[str]:
    """The villages the form asks for: none for "all villages", else the ticked boxes (at
    least one). A data collector reaches no child without villages, so "all" is refused."""
    if request.form.get("limit") == ALL_VILLAGES:
        if role in permissions.COLLECTOR_ROLES:
            raise FormError(400, t("people.collector_needs_villages"))
        return []
    villages = normalise_villages(request.form.getlist("villages"))
    if not villages:
        raise FormError(400, t("people.choose_villages"))
    return villages


# --- the page -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoleRow:
    """One role one person holds, as the list shows it."""

    actor_id: int
    name: str
    email: str
    role: str
    villages: list[str]
    may_change: bool


def commune_villages(project_id: int) -> dict[str, str]:
    """The commune's village list (code → name), filled from the forms' `villages.csv` when
    still empty, as the registry does."""
    ensure_villages(db(), services().store, project_id)
    return {v.code: v.name for v in db().scalars(
        select(Village).where(Village.project_id == project_id).order_by(Village.code))}


def _scope(who: Principal, verb: str, project_id: int) -> GrantScope:
    return GrantScope.of(who, verb, project_id)


def _may_change(who: Principal, project_id: int, role: str, villages: list[str]) -> bool:
    """Whether this caller may take the role away (and so change its villages)."""
    if not permissions.can(who, "assignment.delete", project_id):
        return False
    try:
        _scope(who, "assignment.delete", project_id).check_role(role, villages, granting=False)
    except problems.Problem:
        return False
    return True


def role_rows(who: Principal, project_id: int) -> list[RoleRow]:
    """The web users holding a role on the commune (phones have their own page), by name."""
    held = [h for h in project_role_rows(db(), project_id) if h.actor.type == "user"]
    users = users_by_actor(db(), [h.actor.id for h in held])
    rows = [RoleRow(h.actor.id, h.actor.display_name or "", users[h.actor.id].email
                    if h.actor.id in users else "", h.role, h.villages,
                    _may_change(who, project_id, h.role, h.villages)) for h in held]
    return sorted(rows, key=lambda r: (r.name.lower(), r.email, PROJECT_ROLES.index(r.role)
                                       if r.role in PROJECT_ROLES else 99))


def _people_page(who: Principal, project: Project, *, error: FormError | None = None
                 ) -> ResponseReturnValue:
    names = commune_villages(project.id)
    grant = _scope(who, "assignment.create", project.id)
    offered = names if grant.villages.codes is None else {
        code: name for code, name in names.items() if code in grant.villages.codes}
    return render_template(
        "web/people.html", project=project, rows=role_rows(who, project.id),
        village_names=names, offered=offered, roles=PROJECT_ROLES,
        may_assign=permissions.can(who, "assignment.create", project.id),
        may_grant_unlimited=grant.villages.codes is None, collectors=permissions.COLLECTOR_ROLES,
        error=error.message if error else None, form=request.form, done=done_message(),
    ), error.status if error else 200


@blueprint.get("/ui/p/<int:project_id>/people")
def people(project_id: int) -> ResponseReturnValue:
    who = web_caller()
    project = get_project(db(), project_id)
    permissions.require(who, "assignment.list", project.id)
    return _people_page(who, project)


@blueprint.post("/ui/p/<int:project_id>/people")
def people_assign(project_id: int) -> ResponseReturnValue:
    """Give an existing web user (found by exact email, as the API lets managers look one up)
    a role on the commune, limited to the ticked villages or to none."""
    who = web_caller()
    project = get_project(db(), project_id)
    permissions.require(who, "assignment.create", project.id)
    try:
        role = request.form.get("role", "")
        try:
            check_project_role(role)
        except problems.Problem:
            raise FormError(400, t("people.unknown_role")) from None
        villages = chosen_villages(role)
        _checked_grant(who, project.id, role, villages)
        user = _user_named(request.form.get("email", ""))
        _assign(project.id, user, role, villages)
    except FormError as error:
        return _people_page(who, project, error=error)
    record_web_action(db(), who, "user.assignment.create", f"actor:{user.actor_id}",
                      _details(project.id, role, villages))
    return redirect(url_for("web.people", project_id=project.id, done="role_assigned"), 303)


def _checked_grant(who: Principal, project_id: int, role: str, villages: list[str], *,
                   granting: bool = True) -> None:
    verb = "assignment.create" if granting else "assignment.delete"
    try:
        _scope(who, verb, project_id).check_role(role, villages, granting=granting)
    except problems.Problem as problem:
        raise outside_problem(problem, villages) from None


def _user_named(email: str) -> User:
    try:
        return user_by_email(db(), email)
    except problems.Problem:
        raise FormError(400, t("people.no_such_user", email=email.strip())) from None


def _assign(project_id: int, user: User, role: str, villages: list[str]) -> None:
    try:
        assign_project_role(db(), project_id, user, role, villages, services().store)
    except RoleAlreadyHeld:
        raise FormError(409, t("people.already_held", email=user.email,
                               role=t(f"people.role.{role}"))) from None
    except problems.Problem as problem:
        raise village_problem(problem, commune_villages(project_id)) from None


def _details(project_id: int, role: str, villages: list[str]) -> dict[str, object]:
    """The API's audit details for an assignment (the role by its system name)."""
    details: dict[str, object] = {"role": role, "acteeId": f"project:{project_id}"}
    if villages:
        details["villages"] = villages
    return details


# --- one role of one person ------------------------------------------------------------------


@dataclass(frozen=True)
class Held:
    user: User
    role: str
    villages: list[str]


def _held(who: Principal, project_id: int, actor_id: int, role: str,
          verbs: tuple[str, ...] = ("assignment.create", "assignment.delete")) -> Held:
    """The role a web user holds on the commune, once the caller may take it away (and, to
    change its villages, grant it again): 403 when it reaches beyond the caller's villages,
    404 when not held."""
    for verb in verbs:
        permissions.require(who, verb, project_id)
    user = db().get(User, actor_id)
    villages = held_villages(db(), project_id, actor_id, role)
    if user is None or user.actor.deleted_at is not None or villages is None:
        raise problems.not_found()
    _checked_grant(who, project_id, role, villages, granting=False)
    return Held(user, role, villages)


def _role_page(who: Principal, project: Project, held: Held, *,
               error: FormError | None = None) -> ResponseReturnValue:
    names = commune_villages(project.id)
    grant = _scope(who, "assignment.create", project.id)
    offered = names if grant.villages.codes is None else {
        code: name for code, name in names.items() if code in grant.villages.codes}
    return render_template(
        "web/person_role.html", project=project, held=held, village_names=names,
        offered=offered, may_grant_unlimited=grant.villages.codes is None,
        collector=held.role in permissions.COLLECTOR_ROLES,
        error=error.message if error else None, form=request.form,
    ), error.status if error else 200


@blueprint.get("/ui/p/<int:project_id>/people/<int:actor_id>/<string:role>")
def person_role(project_id: int, actor_id: int, role: str) -> ResponseReturnValue:
    who = web_caller()
    project = get_project(db(), project_id)
    return _role_page(who, project, _held(who, project.id, actor_id, role))


@blueprint.post("/ui/p/<int:project_id>/people/<int:actor_id>/<string:role>")
def person_role_update(project_id: int, actor_id: int, role: str) -> ResponseReturnValue:
    """Other villages for a held role: taken away and granted again, in one change."""
    who = web_caller()
    project = get_project(db(), project_id)
    held = _held(who, project.id, actor_id, role)
    try:
        villages = chosen_villages(role)
        _checked_grant(who, project.id, role, villages)
        try:
            change_role_villages(db(), project.id, actor_id, role, villages, services().store)
        except problems.Problem as problem:
            raise village_problem(problem, commune_villages(project.id)) from None
    except FormError as error:
        return _role_page(who, project, held, error=error)
    actee = f"actor:{actor_id}"
    record_web_action(db(), who, "user.assignment.delete", actee,
                      _details(project.id, role, held.villages))
    record_web_action(db(), who, "user.assignment.create", actee,
                      _details(project.id, role, villages))
    return redirect(url_for("web.people", project_id=project.id, done="villages_changed"), 303)


@blueprint.post("/ui/p/<int:project_id>/people/<int:actor_id>/<string:role>/remove")
def person_role_remove(project_id: int, actor_id: int, role: str) -> ResponseReturnValue:
    who = web_caller()
    project = get_project(db(), project_id)
    held = _held(who, project.id, actor_id, role, ("assignment.delete",))
    if not confirmed():
        return _role_page(who, project, held, error=FormError(400, t("people.confirm_needed")))
    remove_project_role(db(), project.id, actor_id, role)
    record_web_action(db(), who, "user.assignment.delete", f"actor:{actor_id}",
                      _details(project.id, role, []))
    return redirect(url_for("web.people", project_id=project.id, done="role_removed"), 303)
