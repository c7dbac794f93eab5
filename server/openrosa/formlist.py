"""`GET …/formList`: the forms a phone may download (Central: B-forms `formList`, B-or).

Collect rejects the *whole* list when one `<xform>` lacks a formID, name or downloadUrl, and
decides "already on the phone / update available" by comparing `<hash>` with the MD5 of the
file it stored — so every element is always present and the hash is computed from the very
bytes `….xml` serves (docs/openrosa.md §2).
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape

from flask import Response, request
from sqlalchemy import select

from server.context import db
from server.models import Form, FormAttachment, FormDef
from server.openrosa import access, blueprint
from server.openrosa.responses import XML_DECLARATION, xml_response
from server.openrosa.urls import form_download_url, manifest_url

FORM_LIST_NS = "http://openrosa.org/xforms/xformsList"


def form_hash(form_def: FormDef) -> str:
    """`md5:` + MD5 of the served bytes. `FormDef.md5` is written together with `FormDef.xml`
    (server/operations/forms.py, the only writer), so the XForm itself need not be loaded and
    hashed for every form on every phone refresh."""
    return f"md5:{form_def.md5}"


def _with_media(form_defs: Sequence[FormDef]) -> set[int]:
    """Versions that expect media files: only those get a `<manifestUrl>` (Central), which
    spares Collect a manifest request per form on every refresh."""
    ids = [form_def.id for form_def in form_defs]
    if not ids:
        return set()
    return set(db().scalars(select(FormAttachment.form_def_id).distinct()
                            .where(FormAttachment.form_def_id.in_(ids))))


def _xform(form: Form, form_def: FormDef, has_media: bool) -> str:
    manifest = (f"<manifestUrl>{escape(manifest_url(form.project_id, form.xml_form_id))}"
                "</manifestUrl>" if has_media else "")
    return (
        "<xform>"
        f"<formID>{escape(form.xml_form_id)}</formID>"
        f"<name>{escape(form_def.name or form.xml_form_id)}</name>"
        f"<version>{escape(form_def.version)}</version>"
        f"<hash>{form_hash(form_def)}</hash>"
        f"<downloadUrl>{escape(form_download_url(form.project_id, form.xml_form_id))}"
        "</downloadUrl>"
        f"{manifest}"
        "</xform>"
    )


def form_list_document(rows: Sequence[tuple[Form, FormDef]]) -> str:
    with_media = _with_media([form_def for _form, form_def in rows])
    items = "".join(_xform(form, form_def, form_def.id in with_media) for form, form_def in rows)
    return f'{XML_DECLARATION}<xforms xmlns="{FORM_LIST_NS}">{items}</xforms>'


def _form_id_filter() -> str | None:
    """Central honours `?formID=`; `deviceID`, `verbose`, `listAllVersions` are ignored."""
    return request.args.get("formID") or None


@blueprint.get("/v1/projects/<int:project_id>/formList")
def project_form_list(project_id: int) -> Response:
    """The project's forms for this caller; app users (key URLs) see their assigned forms."""
    access.check_openrosa_version()
    access.caller()
    access.open_project(project_id)
    who = access.signed_in()
    access.require_project_listing(who, project_id)
    rows = access.listed_forms(who, [project_id], _form_id_filter())
    return xml_response(form_list_document(rows))


@blueprint.get("/formList")
def form_list() -> Response:
    """For a web user whose Collect points at the bare server URL (HTTP Basic over https):
    the forms of every project they may read. Not a Central URL; Central has project URLs
    only, which remain the recommended set-up."""
    access.check_openrosa_version()
    who = access.signed_in()
    rows = access.listed_forms(who, access.project_ids_of(who), _form_id_filter())
    return xml_response(form_list_document(rows))
