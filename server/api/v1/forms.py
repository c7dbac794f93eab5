"""Forms, management side (Central: lib/resources/forms.js): list, upload (XForm or XLSForm),
read, state, delete, published attachments, versions and their XML or XLSForm source.

What phones fetch — `….xml`, the manifest, media files, formList — lives in server/openrosa.
Drafts and publishing are in `form_drafts`. Who may read and change a form (Central's
`canReadForm`) is decided in `server.operations.form_rules`, which the forms page applies too.
"""

from __future__ import annotations

from typing import Any

from flask import Response, request
from flask_restx import Namespace, Resource
from sqlalchemy import select

from server import problems
from server.api.v1 import shapes
from server.api.v1.common import extended, flag, load_json, store, success
from server.api.v1.openapi import documented
from server.api.v1.schemas import FormUpdateInput, actor_json, attachment_json, form_json, iso
from server.auth.principal import Principal
from server.context import db
from server.httputil import attachment_disposition
from server.models import Actor, Audit, Blob, Form, FormDef
from server.operations import form_rules
from server.operations.blobs import read_blob
from server.operations.form_rules import check_form_id
from server.operations.forms import (
    create_form,
    delete_form,
    published_version,
    published_versions,
    set_state,
)
from server.route_access import acting_user, audit, readable_project

ns = Namespace("forms", description="Forms: upload, state, versions (management)",
               path="/")

FORM = "/projects/<int:project_id>/forms/<string:xml_form_id>"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLS = "application/vnd.ms-excel"
# What a form upload may be: an XForm, or an XLSForm (.xlsx, .xls).
FORM_UPLOADS = ("application/xml", "text/xml", XLSX, XLS)
# Central's placeholder for the empty version string in `…/versions/<version>` URLs.
EMPTY_VERSION = "___"


# --- shared with form_drafts ----------------------------------------------------------------


def managed_form(who: Principal, project_id: int, xml_form_id: str, verb: str) -> Form:
    """The form once the caller may `verb` on it (404 for a missing project or form)."""
    return form_rules.managed_form(db(), who, project_id, xml_form_id, verb)


def readable_form(who: Principal, project_id: int, xml_form_id: str) -> Form:
    """The form with the version Central shows (published, else draft), once readable."""
    return form_rules.readable_form(db(), who, project_id, xml_form_id)


def upload_body() -> tuple[bytes, str | None]:
    """The raw form definition and its content type (pyodk sends the bytes as the body)."""
    return request.get_data(cache=False), request.content_type


def xml_response(form_def: FormDef) -> Response:
    """The stored XForm, byte for byte: its MD5 is the hash phones compare."""
    return Response(form_def.xml_bytes, mimetype="application/xml")


def spreadsheet_response(form: Form, form_def: FormDef | None, extension: str) -> Response:
    """The XLSForm the version was made from, if it was uploaded as one."""
    blob_id = form_def.xlsform_blob_id if form_def is not None else None
    blob = db().get(Blob, blob_id) if blob_id is not None else None
    if blob is None:
        raise problems.not_found()
    data = read_blob(store(), blob)
    is_xlsx = data[:4] == b"PK\x03\x04"
    if is_xlsx != (extension == "xlsx"):
        raise problems.not_found()
    response = Response(data, mimetype=XLSX if is_xlsx else XLS)
    response.headers["Content-Disposition"] = attachment_disposition(
        f"{form.xml_form_id}.{extension}")
    return response


def attachments_json(form_def: FormDef | None) -> list[dict[str, Any]]:
    if form_def is None:
        raise problems.not_found()
    return [attachment_json(attachment, md5)
            for attachment, md5 in form_rules.attachment_hashes(db(), form_def)]


# --- list, create, read, update, delete -----------------------------------------------------


def _creator(form: Form) -> dict[str, Any] | None:
    actor_id = db().scalar(select(Audit.actor_id).where(
        Audit.action == "form.create", Audit.actee == f"form:{form.id}").limit(1))
    actor = db().get(Actor, actor_id) if actor_id is not None else None
    return actor_json(actor) if actor is not None else None


def _extended_json(form: Form, form_def: FormDef | None) -> dict[str, Any]:
    """Central's Form.Extended: submission counts by review state, last submission, creator."""
    summary = form_rules.submission_summary(db(), form)
    excel = None
    if form_def is not None and form_def.xlsform_blob_id is not None:
        blob = db().get(Blob, form_def.xlsform_blob_id)
        excel = blob.content_type if blob is not None else None
    return {**form_json(form, form_def), "submissions": summary.total,
            "reviewStates": {"received": summary.received, "hasIssues": summary.has_issues,
                             "edited": summary.edited},
            "lastSubmission": iso(summary.last), "excelContentType": excel,
            "entityRelated": bool(form_def and form_def.entity_datasets),
            "publicLinks": 0, "createdBy": _creator(form)}


def form_body(form: Form, form_def: FormDef | None) -> dict[str, Any]:
    return _extended_json(form, form_def) if extended() else form_json(form, form_def)


@ns.route("/projects/<int:project_id>/forms")
class FormList(Resource):
    @documented(shapes.Form(many=True), extended=True)
    def get(self, project_id: int) -> list[dict[str, Any]]:
        """The project's forms; `X-Extended-Metadata: true` adds submission counts."""
        who = acting_user()
        readable_project(who, project_id, "project.read")
        if not form_rules.may_list_forms(who, project_id):
            raise problems.insufficient_rights()
        return [form_body(form, form.current_def or form.draft_def)
                for form in form_rules.project_forms(db(), who, project_id)]

    @ns.doc(params={"publish": "true to publish at once instead of making a draft",
                    "ignoreWarnings": "true to accept an XLSForm that has warnings"})
    @documented(shapes.Form, consumes=FORM_UPLOADS, errors=(409,))
    def post(self, project_id: int) -> dict[str, Any]:
        """Upload a form (XForm XML, or XLSForm .xlsx/.xls with its content type).

        It becomes a draft unless `?publish=true`. XLSForm errors are 400.15 with pyxform's
        message (row numbers included); warnings are 400.16 unless `?ignoreWarnings=true`.
        """
        who = acting_user()
        readable_project(who, project_id, "form.create")
        data, content_type = upload_body()
        if not data.strip():
            raise problems.unparseable("xform", "the request body is empty")
        form = create_form(db(), store(), project_id, data, content_type,
                           publish=flag("publish"), ignore_warnings=flag("ignoreWarnings"))
        check_form_id(form)
        form_def = form.current_def or form.draft_def
        assert form_def is not None
        audit(who, "form.create", f"form:{form.id}",
              {"xmlFormId": form.xml_form_id, "version": form_def.version})
        if form.current_def is not None:
            audit(who, "form.update.publish", f"form:{form.id}", {"newDefId": form_def.id})
        return form_json(form, form_def)


@ns.route(FORM)
class FormDetail(Resource):
    @documented(shapes.Form, extended=True)
    def get(self, project_id: int, xml_form_id: str) -> dict[str, Any]:
        """The form with its published version (or its draft, if never published)."""
        form = readable_form(acting_user(), project_id, xml_form_id)
        return form_body(form, form.current_def or form.draft_def)

    @documented(shapes.Form, body=FormUpdateInput)
    def patch(self, project_id: int, xml_form_id: str) -> dict[str, Any]:
        """Set `state`: open, closing (hidden from phones, still accepting) or closed."""
        who = acting_user()
        form = managed_form(who, project_id, xml_form_id, "form.update")
        body = load_json(FormUpdateInput())
        set_state(form, body["state"])
        db().flush()
        audit(who, "form.update", f"form:{form.id}", {"data": {"state": form.state}})
        return form_json(form, form.current_def or form.draft_def)

    def delete(self, project_id: int, xml_form_id: str) -> dict[str, bool]:
        """Delete the form (kept, with its submissions, as Central's trash does)."""
        who = acting_user()
        form = managed_form(who, project_id, xml_form_id, "form.delete")
        delete_form(form)
        audit(who, "form.delete", f"form:{form.id}", {"xmlFormId": form.xml_form_id})
        return success()


# --- the published version's files and the version history ---------------------------------


@ns.route(f"{FORM}.xlsx")
class FormXlsx(Resource):
    @ns.produces([XLSX])
    def get(self, project_id: int, xml_form_id: str) -> Response:
        """The XLSForm the current version was uploaded as (404 for an XForm upload)."""
        form = readable_form(acting_user(), project_id, xml_form_id)
        return spreadsheet_response(form, form.current_def or form.draft_def, "xlsx")


@ns.route(f"{FORM}.xls")
class FormXls(Resource):
    @ns.produces([XLS])
    def get(self, project_id: int, xml_form_id: str) -> Response:
        """The legacy .xls the current version was uploaded as."""
        form = readable_form(acting_user(), project_id, xml_form_id)
        return spreadsheet_response(form, form.current_def or form.draft_def, "xls")


@ns.route(f"{FORM}/attachments")
class FormAttachmentList(Resource):
    @documented(shapes.FormAttachment(many=True))
    def get(self, project_id: int, xml_form_id: str) -> list[dict[str, Any]]:
        """The media files the current version expects, and whether each is uploaded."""
        form = readable_form(acting_user(), project_id, xml_form_id)
        return attachments_json(form.current_def or form.draft_def)


@ns.route(f"{FORM}/versions")
class FormVersionList(Resource):
    @documented(shapes.Form(many=True))
    def get(self, project_id: int, xml_form_id: str) -> list[dict[str, Any]]:
        """Every published version, newest first."""
        form = readable_form(acting_user(), project_id, xml_form_id)
        return [form_json(form, form_def) for form_def in published_versions(db(), form)]


def _version(form: Form, version: str) -> FormDef:
    found = published_version(db(), form, "" if version == EMPTY_VERSION else version)
    if found is None:
        raise problems.not_found()
    return found


@ns.route(f"{FORM}/versions/<string:version>")
class FormVersion(Resource):
    @documented(shapes.Form, extended=True)
    def get(self, project_id: int, xml_form_id: str, version: str) -> dict[str, Any]:
        """One published version (`___` stands for the empty version string)."""
        form = readable_form(acting_user(), project_id, xml_form_id)
        return form_body(form, _version(form, version))


@ns.route(f"{FORM}/versions/<string:version>.xml")
class FormVersionXml(Resource):
    @ns.produces(["application/xml"])
    def get(self, project_id: int, xml_form_id: str, version: str) -> Response:
        """The XForm of one published version, exactly as stored."""
        form = readable_form(acting_user(), project_id, xml_form_id)
        return xml_response(_version(form, version))
