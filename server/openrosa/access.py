"""Who may do what over OpenRosa: the checks every phone-facing route starts with.

Central's rules (B-forms, B-fq `getByAuthForOpenRosa`, B-subs): phones list and download only
published forms they may read, never closing or closed ones in the list; app users only the
forms they are assigned to; a submission without the right to submit is answered 401, not 403,
so that clients ask for credentials again (`forceAuthFailed`).
"""

from __future__ import annotations

from collections.abc import Collection

from flask import request
from sqlalchemy import select

from server import problems
from server.auth import permissions
from server.auth.principal import Principal
from server.context import db, principal
from server.models import Form, FormDef, FormState, Project
from server.openrosa.responses import OPENROSA_VERSION
from server.operations.forms import get_form
from server.operations.projects import get_project


def check_openrosa_version() -> None:
    """Refuse an `X-OpenRosa-Version` other than 1.0; tolerate its absence.

    Central requires exactly 1.0 (400.6, B-ep). Collect always sends 1.0, so the only clients
    without it are people testing with curl or proxies that strip headers: turning them away
    would help nobody. A *different* value means a client speaking another protocol version,
    whose behaviour we cannot vouch for, so that is refused as Central does.
    """
    value = request.headers.get("X-OpenRosa-Version")
    if value is not None and value.strip() != OPENROSA_VERSION:
        raise problems.invalid_header("X-OpenRosa-Version", value)


def caller() -> Principal:
    """The caller; credentials that were sent but are wrong end the request with 401."""
    return principal()


def signed_in() -> Principal:
    """The caller, who must be somebody: 401 with a challenge so the phone asks for a login."""
    who = caller()
    if who.is_anonymous:
        raise problems.auth_failed()
    return who


def open_project(project_id: int) -> Project:
    return get_project(db(), project_id)


def require_project_listing(who: Principal, project_id: int) -> None:
    """Central: `open_form.list` on the project, else 403."""
    if not permissions.can(who, "open_form.list", project_id):
        raise problems.insufficient_rights()


def published(form: Form) -> FormDef:
    """Phones only ever see the published version; drafts have their own test URLs."""
    if form.current_def is None:
        raise problems.not_found()
    return form.current_def


def readable_form(project_id: int, xml_form_id: str) -> tuple[Form, FormDef]:
    """A published form the caller may download (Central's `canReadForm`).

    Open and closing forms need `open_form.read` (an app user: an assignment) or `form.read`;
    closed forms stay downloadable, but only with `form.read` (managers, viewers, admins).
    """
    who = caller()
    open_project(project_id)
    form = get_form(db(), project_id, xml_form_id)
    form_def = published(form)
    if who.is_anonymous:
        raise problems.auth_failed()
    verbs = ["form.read"] if form.state == FormState.CLOSED.value else ["open_form.read",
                                                                          "form.read"]
    if not any(permissions.can_on_form(db(), who, verb, form) for verb in verbs):
        raise problems.insufficient_rights()
    return form, form_def


def project_ids_of(who: Principal) -> list[int] | None:
    """Projects whose forms a plain `/formList` shows: all for site admins (None)."""
    return None if who.is_admin else sorted(who.project_roles)


def listed_forms(
    who: Principal, project_ids: Collection[int] | None, xml_form_id: str | None = None,
) -> list[tuple[Form, FormDef]]:
    """Published open forms of live projects the caller may list, by name as Central orders."""
    query = (
        select(Form, FormDef)
        .join(FormDef, FormDef.id == Form.current_def_id)
        .join(Project, Project.id == Form.project_id)
        .where(Form.deleted_at.is_(None), Project.deleted_at.is_(None),
               Form.state == FormState.OPEN.value)
    )
    if project_ids is not None:
        query = query.where(Form.project_id.in_(list(project_ids)))
    if xml_form_id is not None:
        query = query.where(Form.xml_form_id == xml_form_id)
    rows = [(form, form_def) for form, form_def in db().execute(query).all()
            if permissions.can_on_form(db(), who, "open_form.list", form)]
    return sorted(rows, key=lambda row: (row[1].name or row[0].xml_form_id, row[0].xml_form_id,
                                         row[0].project_id))


def require_submission_right(who: Principal, form: Form) -> None:
    """401.2 for nobody *and* for somebody without the right, as Central (`forceAuthFailed`):
    an app user whose assignment was removed gets the login prompt, not a dead end."""
    if who.is_anonymous or not permissions.can_on_form(db(), who, "submission.create", form):
        raise problems.auth_failed()


def submittable_form(who: Principal, xml_form_id: str) -> Form:
    """For plain `/submission`: the one form with this id the caller may submit to.

    A web user may work in several communes whose forms share an id; guessing would file
    the record under the wrong commune, so an ambiguous id is refused with a message naming
    the project URLs to use instead.
    """
    if who.is_anonymous:
        raise problems.auth_failed()
    candidates = list(db().scalars(
        select(Form).join(Project, Project.id == Form.project_id)
        .where(Form.xml_form_id == xml_form_id, Form.deleted_at.is_(None),
               Project.deleted_at.is_(None))
        .order_by(Form.project_id)))
    if not candidates:
        raise problems.not_found()
    allowed = [form for form in candidates
               if permissions.can_on_form(db(), who, "submission.create", form)]
    if not allowed:
        raise problems.auth_failed()
    if len(allowed) > 1:
        projects = ", ".join(f"/v1/projects/{form.project_id}" for form in allowed)
        raise problems.unexpected_value(
            "form id", f"the form {xml_form_id} exists in several projects ({projects}); set "
            "the server URL in ODK Collect to the project's URL and send again.")
    return allowed[0]
