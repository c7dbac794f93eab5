"""Accounts (Tài khoản): the site's web users, for site administrators (docs/pages.md).

The same rule as the API's user routes (`server/api/v1/users.py`): listing, creating and
deactivating users is for site administrators. Resetting someone else's password is the
operator's reset of `diemtua user reset-password` (`server.operations.users.reset_password`:
no old password asked, every session of the user ended), offered to site administrators; the
API has no such route (Central asks even an administrator for the old password).

A password the server makes is shown once, on the answer to the form that made it, and never
again: it must not travel in a URL (server logs, browser history), and nothing keeps it.
That answer is therefore a page, not a redirect; the browser's "resend the form?" question
guards a reload (which would make yet another password, the earlier one then void).
"""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from server import problems
from server.auth import permissions
from server.auth.passwords import WeakPassword
from server.auth.principal import Principal
from server.context import db
from server.models import User
from server.operations.people import (
    generate_password,
    last_sign_ins,
    record_web_action,
    village_names,
    web_users,
)
from server.operations.project_roles import roles_by_actor
from server.operations.users import (
    SiteAdministratorNeeded,
    create_user,
    delete_user,
    get_user,
    reset_password,
    site_admin_refusal,
)
from server.web import blueprint
from server.web.i18n import language, t
from server.web.views_children import done_message
from server.web.views_people import FormError, confirmed, web_caller


def _admin() -> Principal:
    who = web_caller()
    permissions.require_admin(who)
    return who


def _users_page(error: FormError | None = None) -> ResponseReturnValue:
    users = web_users(db())
    projects = {held.project_id for each in users for held in each.roles}
    return render_template(
        "web/users.html", users=users, village_names=village_names(db(), projects),
        error=error.message if error else None, form=request.form, done=done_message(),
    ), error.status if error else 200


def _password_page(user: User, password: str, created: bool) -> ResponseReturnValue:
    return render_template("web/password_shown.html", account=user, password=password,
                           created=created)


@blueprint.get("/ui/users")
def users() -> ResponseReturnValue:
    _admin()
    return _users_page()


def _weak(exc: WeakPassword) -> FormError:
    return FormError(400, t("users.weak_password",
                            why=exc.vietnamese if language() == "vi" else exc.english))


@blueprint.post("/ui/users")
def user_create() -> ResponseReturnValue:
    """A new web user; with no password typed, the server makes one and shows it once."""
    who = _admin()
    email = request.form.get("email", "").strip()
    name = request.form.get("name", "").strip() or None
    typed = request.form.get("password", "")
    try:
        if not email:
            raise FormError(400, t("users.email_needed"))
        password = typed or generate_password((email, name))
        try:
            user = create_user(db(), email, password, display_name=name)
        except WeakPassword as exc:
            raise _weak(exc) from None
        except problems.Problem as problem:
            key = "users.exists" if problem.http_status == 409 else "users.bad_email"
            raise FormError(problem.http_status, t(key, email=email)) from None
    except FormError as error:
        return _users_page(error)
    record_web_action(db(), who, "user.create", f"actor:{user.actor_id}",
                      {"data": {"email": user.email}})
    if typed:
        return redirect(url_for("web.user", actor_id=user.actor_id, done="user_created"), 303)
    return _password_page(user, password, created=True)


def _refusal_words(refusal: SiteAdministratorNeeded) -> str:
    return t(f"users.deactivate_refused_{refusal.reason}")


def _user_page(user: User, error: FormError | None = None) -> ResponseReturnValue:
    roles = roles_by_actor(db(), [user.actor_id])[user.actor_id]
    # The rule the deactivation meets (`server.operations.users.site_admin_refusal`), asked
    # before the form is shown: a refused account gets the reason instead of the button.
    refusal = site_admin_refusal(db(), user, "delete", web_caller().actor_id)
    return render_template(
        "web/user.html", account=user, roles=roles,
        last_sign_in=last_sign_ins(db(), [user.actor_id]).get(user.actor_id),
        village_names=village_names(db(), {held.project_id for held in roles}),
        deactivate_refused=_refusal_words(refusal) if refusal else None,
        error=error.message if error else None, done=done_message(),
    ), error.status if error else 200


@blueprint.get("/ui/users/<int:actor_id>")
def user(actor_id: int) -> ResponseReturnValue:
    _admin()
    return _user_page(get_user(db(), actor_id))


@blueprint.post("/ui/users/<int:actor_id>/password")
def user_reset(actor_id: int) -> ResponseReturnValue:
    """A new password made by the server, shown once; the person is signed out everywhere."""
    who = _admin()
    account = get_user(db(), actor_id)
    if not confirmed():
        return _user_page(account, FormError(400, t("people.confirm_needed")))
    password = generate_password((account.email, account.actor.display_name))
    ended = reset_password(db(), account, password)
    record_web_action(db(), who, "user.update", f"actor:{actor_id}",
                      {"data": {"password": "reset"}, "sessionsEnded": ended})
    return _password_page(account, password, created=False)


@blueprint.post("/ui/users/<int:actor_id>/deactivate")
def user_deactivate(actor_id: int) -> ResponseReturnValue:
    """The API's user delete: sessions and roles end, the history stays. Refused, with the
    reason, for one's own account and for the last site administrator."""
    who = _admin()
    account = get_user(db(), actor_id)
    if not confirmed():
        return _user_page(account, FormError(400, t("people.confirm_needed")))
    try:
        delete_user(db(), account, by=who.actor_id)
    except SiteAdministratorNeeded as refusal:
        return _user_page(account, FormError(409, _refusal_words(refusal)))
    record_web_action(db(), who, "user.delete", f"actor:{actor_id}")
    return redirect(url_for("web.users", done="user_deactivated"), 303)
