"""A form's draft: replace it, read it, upload its media, publish it, discard it (Central:
lib/resources/forms.js, draft endpoints).

Every route needs `form.update`. pyodk's `forms.create` and `forms.update` drive exactly
these: POST a definition (or nothing, to copy the published version), POST each attachment,
then POST `draft/publish` (with `?version=` when only media changed).
"""

from __future__ import annotations

import mimetypes
from typing import Any

from flask import Response, request
from flask_restx import Namespace, Resource

from server import problems
from server.api.v1 import shapes
from server.api.v1.common import flag, store, success
from server.api.v1.forms import (
    FORM,
    FORM_UPLOADS,
    XLSX,
    attachments_json,
    form_body,
    managed_form,
    spreadsheet_response,
    upload_body,
    xml_response,
)
from server.api.v1.openapi import documented
from server.api.v1.schemas import attachment_json
from server.context import db
from server.models import Blob, Form, FormDef
from server.operations.form_rules import check_form_id
from server.operations.forms import (
    attach_form_media,
    clear_form_media,
    create_draft,
    discard_draft,
    draft_from_published,
    publish_draft,
)
from server.route_access import acting_user, audit

ns = Namespace("form_drafts", description="Form drafts: replace, media, publish",
               path="/")

VERB = "form.update"


def _draft(form: Form) -> FormDef:
    if form.draft_def is None:
        raise problems.not_found()
    return form.draft_def


@ns.route(f"{FORM}/draft")
class FormDraft(Resource):
    @documented(consumes=FORM_UPLOADS, errors=(409,))
    def post(self, project_id: int, xml_form_id: str) -> dict[str, bool]:
        """Replace the draft with the body (XForm or XLSForm), or with a copy of the
        published version when there is no body. `?ignoreWarnings=true` as for uploads."""
        who = acting_user()
        form = managed_form(who, project_id, xml_form_id, VERB)
        data, content_type = upload_body()
        if data.strip():
            draft = create_draft(db(), store(), form, data, content_type,
                                 ignore_warnings=flag("ignoreWarnings"))
        else:
            draft = draft_from_published(db(), store(), form)
        check_form_id(form)
        audit(who, "form.update.draft.set", f"form:{form.id}",
              {"newDraftDefId": draft.id, "version": draft.version})
        return success()

    @documented(shapes.Form, extended=True)
    def get(self, project_id: int, xml_form_id: str) -> dict[str, Any]:
        """The form with its draft version (`draftToken` set, `publishedAt` null)."""
        form = managed_form(acting_user(), project_id, xml_form_id, VERB)
        return form_body(form, _draft(form))

    def delete(self, project_id: int, xml_form_id: str) -> dict[str, bool]:
        """Discard the draft; 409.7 if the form was never published (delete the form)."""
        who = acting_user()
        form = managed_form(who, project_id, xml_form_id, VERB)
        old = discard_draft(form)
        audit(who, "form.update.draft.delete", f"form:{form.id}", {"oldDraftDefId": old.id})
        return success()


@ns.route(f"{FORM}/draft.xml")
class FormDraftXml(Resource):
    @ns.produces(["application/xml"])
    def get(self, project_id: int, xml_form_id: str) -> Response:
        """The draft's XForm, exactly as stored."""
        form = managed_form(acting_user(), project_id, xml_form_id, VERB)
        return xml_response(_draft(form))


@ns.route(f"{FORM}/draft.xlsx")
class FormDraftXlsx(Resource):
    @ns.produces([XLSX])
    def get(self, project_id: int, xml_form_id: str) -> Response:
        """The XLSForm the draft was uploaded as."""
        form = managed_form(acting_user(), project_id, xml_form_id, VERB)
        return spreadsheet_response(form, _draft(form), "xlsx")


@ns.route(f"{FORM}/draft/publish")
class FormDraftPublish(Resource):
    @ns.doc(params={"version": "set this version string on the draft before publishing"})
    def post(self, project_id: int, xml_form_id: str) -> dict[str, bool]:
        """Publish the draft; 409.6 if its version was published before (use `?version=`)."""
        who = acting_user()
        form = managed_form(who, project_id, xml_form_id, VERB)
        old_id = form.current_def_id
        version = request.args.get("version")
        published = publish_draft(db(), form, version if version else None)
        audit(who, "form.update.publish", f"form:{form.id}",
              {"newDefId": published.id, "oldDefId": old_id, "version": published.version})
        return success()


@ns.route(f"{FORM}/draft/attachments")
class FormDraftAttachments(Resource):
    @documented(shapes.FormAttachment(many=True))
    def get(self, project_id: int, xml_form_id: str) -> list[dict[str, Any]]:
        """The media files the draft expects, and whether each is uploaded."""
        form = managed_form(acting_user(), project_id, xml_form_id, VERB)
        return attachments_json(_draft(form))


@ns.route(f"{FORM}/draft/attachments/<string:name>")
class FormDraftAttachment(Resource):
    @documented(shapes.FormAttachment,
                consumes=("application/octet-stream", "text/csv", "image/png", "image/jpeg"))
    def post(self, project_id: int, xml_form_id: str, name: str) -> dict[str, Any]:
        """Upload one media file the draft references, as the raw body."""
        who = acting_user()
        form = managed_form(who, project_id, xml_form_id, VERB)
        content_type = (request.content_type
                        or mimetypes.guess_type(name)[0] or "application/octet-stream")
        attachment = attach_form_media(db(), store(), _draft(form), name,
                                       request.get_data(cache=False), content_type)
        blob = db().get(Blob, attachment.blob_id)
        audit(who, "form.attachment.update", f"form:{form.id}",
              {"name": name, "newBlobId": attachment.blob_id})
        return attachment_json(attachment, blob.md5 if blob is not None else None)

    def delete(self, project_id: int, xml_form_id: str, name: str) -> dict[str, bool]:
        """Remove an uploaded file from the draft (the form still expects it)."""
        who = acting_user()
        form = managed_form(who, project_id, xml_form_id, VERB)
        old_blob = clear_form_media(_draft(form), name)
        audit(who, "form.attachment.update", f"form:{form.id}",
              {"name": name, "oldBlobId": old_blob, "newBlobId": None})
        return success()
