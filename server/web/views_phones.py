"""Điện thoại (the commune's phones, Central's app users): the list with their villages and
forms, a new phone for chosen villages, its QR code for ODK Collect, revoking it, giving it a
new key, and a printable sheet of cards — one per active phone — to hand to collaborators.

The rules are the management API's (`server.api.v1.app_users`, `sessions`, `assignments`) through
`server.operations.app_user_rules`: listing needs `field_key.list`, creating `field_key.create`,
revoking `field_key.delete`; a manager limited to villages reaches only the phones of its villages
(`server.auth.grants`). A QR code holds the phone's key, so showing one — on the phone's page,
as an image, or on the cards — needs `field_key.create`, as making the key does (docs/pages.md
"Điện thoại"). The code carries the address the browser reached the server at (or
DIEMTUA_PUBLIC_URL), which the page shows and warns about when a phone cannot reach it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import force_locale
from sqlalchemy import select

from server import problems
from server.auth import permissions
from server.auth.grants import GrantScope
from server.auth.principal import Principal
from server.context import db, services
from server.models import AppUser, Form, FormState, Project, Village
from server.operations import app_user_rules, qrcode
from server.operations.app_user_rules import commune_project, reachable_app_user
from server.operations.forms import assign_to_form, get_form
from server.operations.users import (
    create_app_user,
    normalise_villages,
    reissue_app_user_token,
    revoke_app_user_token,
)
from server.registry.villages import ensure_villages
from server.serving_address import ServerBase, reached_base, server_base
from server.web import blueprint, error_page
from server.web.form_problems import Explained, sentence
from server.web.i18n import DEFAULT_LANGUAGE, t
from server.web.views_children import done_message
from server.web.views_forms import audit, person

PHONES = "/ui/p/<int:project_id>/phones"
ONE = PHONES + "/<int:actor_id>"
# Central's id of the app-user role, which form assignments name (server/api/v1/roles.py).
APP_USER_ROLE_ID = 2


@dataclass(frozen=True)
class PhoneRow:
    app_user: AppUser
    villages: list[tuple[str, str]]  # (code, name)
    forms: list[str]

    @property
    def active(self) -> bool:
        return self.app_user.token is not None

    @property
    def name(self) -> str:
        return self.app_user.actor.display_name


def _village_names(project_id: int) -> dict[str, str]:
    """The commune's villages by code, filled from the forms' `villages.csv` if still empty."""
    ensure_villages(db(), services().store, project_id)
    return dict(db().execute(select(Village.code, Village.name)
                             .where(Village.project_id == project_id)
                             .order_by(Village.code)).all())


def _rows(app_users: list[AppUser], names: dict[str, str]) -> list[PhoneRow]:
    forms = app_user_rules.assigned_forms(db(), [a.actor_id for a in app_users])
    return [PhoneRow(a, [(code, names.get(code, code)) for code in a.villages or []],
                     forms.get(a.actor_id, [])) for a in app_users]


def _grantable_villages(who: Principal, project_id: int, names: dict[str, str]
                        ) -> dict[str, str]:
    """The villages this caller may give a new phone: all, or its own when limited."""
    reach = GrantScope.of(who, "field_key.create", project_id).villages.codes
    return {code: name for code, name in names.items() if reach is None or code in reach}


def _offered_forms(project_id: int) -> list[Form]:
    """Published forms not closed: what a new phone may be given at once."""
    return list(db().scalars(
        select(Form).where(Form.project_id == project_id, Form.deleted_at.is_(None),
                           Form.current_def_id.is_not(None),
                           Form.state != FormState.CLOSED.value).order_by(Form.xml_form_id)))


def _phones_page(project: Project, who: Principal, problem: Explained | None = None,
                 status: int = 200, typed: dict[str, Any] | None = None) -> ResponseReturnValue:
    scope = GrantScope.of(who, "field_key.list", project.id)
    names = _village_names(project.id)
    may_create = permissions.can(who, "field_key.create", project.id)
    may_assign = permissions.can(who, "assignment.create", project.id)
    return render_template(
        "web/phones.html", project=project,
        rows=_rows(app_user_rules.listed_app_users(db(), project.id, scope), names),
        may_create=may_create, grantable=_grantable_villages(who, project.id, names),
        has_village_list=bool(names), offered=_offered_forms(project.id) if may_assign else [],
        problem=problem, typed=typed or {}, done=done_message()), status


@blueprint.get(PHONES)
def phones(project_id: int) -> ResponseReturnValue:
    who = person()
    return _phones_page(commune_project(db(), who, project_id, "field_key.list"), who)


@blueprint.post(PHONES)
def phone_create(project_id: int) -> ResponseReturnValue:
    """A new phone for the villages ticked (each a village of the commune, within the caller's
    own when it is limited), given the forms ticked: the API's `POST …/app-users`, then
    `POST …/forms/<id>/assignments/app-user/<id>` for each form."""
    who = person()
    project = commune_project(db(), who, project_id, "field_key.create")
    name = request.form.get("display_name", "").strip()
    villages = normalise_villages(request.form.getlist("villages"))
    chosen_forms = normalise_villages(request.form.getlist("forms"))
    typed = {"name": name, "villages": villages, "forms": chosen_forms}
    if not name:
        return _phones_page(project, who, sentence("phones.error.name"), 400, typed)
    try:
        app_user_rules.grantable_villages(db(), who, project_id, villages, services().store)
    except problems.Problem as problem:
        if problem.http_status != 400:
            raise
        db().rollback()
        # The refusal names the commune's villages (`server.auth.grants.unknown_villages`).
        return _phones_page(project, who, Explained([t("phones.error.villages"),
                                                     problem.message], ""), 400, typed)
    if chosen_forms:
        permissions.require(who, "assignment.create", project_id)
        GrantScope.of(who, "assignment.create", project_id).check_app_user(
            villages, "giving a form to this app user")
    app_user = create_app_user(db(), project_id, name, villages, created_by=who.actor_id)
    audit(who, "field_key.create", f"actor:{app_user.actor_id}", projectId=project_id,
          villages=app_user.villages)
    for xml_form_id in chosen_forms:
        form = get_form(db(), project_id, xml_form_id)
        assign_to_form(db(), form, app_user.actor_id)
        audit(who, "field_key.assignment.create", f"actor:{app_user.actor_id}",
              roleId=APP_USER_ROLE_ID, acteeId=f"form:{form.id}")
    return redirect(url_for("web.phone", project_id=project_id, actor_id=app_user.actor_id,
                            done="phone_created"), 303)


def _base() -> ServerBase:
    return reached_base(services().settings, request.host_url)


def _network_hint(base: ServerBase) -> str | None:
    """When the browser reached the server at this machine's own address, the address a phone
    on the network would use instead, if `diemtua serve` left it (`server.serving_address`)."""
    if not base.this_machine_only:
        return None
    known = server_base(services().settings)
    return known.url if known is not None and not known.this_machine_only else None


@blueprint.get(ONE)
def phone(project_id: int, actor_id: int) -> ResponseReturnValue:
    """One phone: its QR code while its key is valid, revoking it, a new key."""
    who = person()
    project = commune_project(db(), who, project_id, "field_key.create")
    app_user = reachable_app_user(db(), who, project_id, actor_id, "field_key.create")
    row = _rows([app_user], _village_names(project_id))[0]
    base = _base()
    return render_template(
        "web/phone.html", project=project, row=row, base=base,
        network_hint=_network_hint(base),
        may_revoke=row.active and _reaches(who, project_id, app_user, "field_key.delete"),
        may_reissue=_reaches(who, project_id, app_user, "field_key.delete"),
        done=done_message())


def _reaches(who: Principal, project_id: int, app_user: AppUser, verb: str) -> bool:
    return (permissions.can(who, verb, project_id)
            and GrantScope.of(who, verb, project_id).sees_app_user(app_user.villages or []))


@blueprint.get(ONE + "/qr.png")
def phone_qr(project_id: int, actor_id: int) -> Response:
    """The phone's QR code as an image (Collect: Add project → Scan QR code)."""
    who = person()
    project = commune_project(db(), who, project_id, "field_key.create")
    app_user = reachable_app_user(db(), who, project_id, actor_id, "field_key.create")
    if app_user.token is None:
        raise problems.not_found()  # a revoked phone has no key to hand out
    _url, settings = app_user_rules.collect_settings_of(_base().url, project, app_user)
    response = Response(qrcode.qr_png(qrcode.encode_settings(settings)), mimetype="image/png")
    # The image holds a credential: keep it out of every cache.
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _confirmed() -> bool:
    return request.form.get("confirm") == "yes"


@blueprint.post(ONE + "/revoke")
def phone_revoke(project_id: int, actor_id: int) -> ResponseReturnValue:
    """The phone's key stops working at once; the account stays, listed as revoked (the API's
    `DELETE /v1/sessions/<token>` of an app user, Central's "revoke access")."""
    who = person()
    app_user = reachable_app_user(db(), who, project_id, actor_id, "field_key.delete")
    if not _confirmed():
        return error_page(400, "phones.error.confirm")
    if app_user.token is not None:
        revoke_app_user_token(app_user)
        audit(who, "field_key.session.end", f"actor:{actor_id}", projectId=project_id)
    return redirect(url_for("web.phones", project_id=project_id, done="phone_revoked"), 303)


@blueprint.post(ONE + "/reissue")
def phone_reissue(project_id: int, actor_id: int) -> ResponseReturnValue:
    """A new key for the phone (a lost phone, a QR code seen by others): the old one stops, the
    phone keeps its villages and forms, and must scan the new code. Ending a key needs
    `field_key.delete`, making one `field_key.create`."""
    who = person()
    reachable_app_user(db(), who, project_id, actor_id, "field_key.delete")
    app_user = reachable_app_user(db(), who, project_id, actor_id, "field_key.create")
    if not _confirmed():
        return error_page(400, "phones.error.confirm")
    reissue_app_user_token(app_user)
    audit(who, "field_key.session.end", f"actor:{actor_id}", projectId=project_id,
          reissued=True)
    return redirect(url_for("web.phone", project_id=project_id, actor_id=actor_id,
                            done="phone_reissued"), 303)


@blueprint.get(PHONES + "/cards")
def phone_cards(project_id: int) -> ResponseReturnValue:
    """A sheet to print (A4, four cards a page, no menu): one card per active phone within
    reach, with the commune, the villages, the collaborator's name, the QR code and three
    lines of instructions in Vietnamese."""
    who = person()
    project = commune_project(db(), who, project_id, "field_key.create")
    scope = GrantScope.of(who, "field_key.create", project_id)
    active = [a for a in app_user_rules.listed_app_users(db(), project_id, scope)
              if a.token is not None]
    base = _base()
    return render_template("web/phone_cards.html", project=project,
                           rows=_rows(active, _village_names(project_id)), base=base,
                           network_hint=_network_hint(base), vi=vietnamese)


def vietnamese(key: str) -> str:
    """A card's own words: Vietnamese whatever the page's language, as the collaborators who
    keep the cards read it."""
    with force_locale(DEFAULT_LANGUAGE):
        return t(key)
