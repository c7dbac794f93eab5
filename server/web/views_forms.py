"""Biểu mẫu (the commune's forms): the list, uploading an XLSForm as a draft, its media files,
trying the draft on a phone, publishing it, its versions, and opening or closing it.

Every action is the management API's (`server.api.v1.forms`, `form_drafts`) with the same rules
(`server.operations.form_rules`) and the same audit rows, plus `via: web`: listing needs
`form.list` or `open_form.list`, reading a form Central's `canReadForm`, uploading a new form
`form.create`, everything else `form.update` — on the whole commune, as forms are (docs/pages.md
"Biểu mẫu"). A refused upload is shown again with the reason in plain words and pyxform's own
text beneath (`server.web.form_problems`); nothing of it is kept.
"""

from __future__ import annotations

import logging
import mimetypes
from dataclasses import dataclass
from datetime import datetime

from flask import Response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import FileStorage

from server import problems
from server.auth import permissions
from server.auth.principal import Principal
from server.context import db, public_base, services
from server.db import utcnow
from server.models import Form, FormAttachment, FormDef, FormState, Project
from server.openrosa.entity_lists import is_entity_list
from server.operations import form_rules, qrcode
from server.operations.audit_records import record_action
from server.operations.form_rules import SubmissionSummary
from server.operations.forms import (
    attach_form_media,
    create_draft,
    create_form,
    draft_from_published,
    publish_draft,
    published_versions,
    set_state,
)
from server.operations.projects import get_project
from server.web import auth, blueprint
from server.web.form_problems import Explained, explain, sentence
from server.web.format import VIETNAM
from server.web.i18n import t
from server.web.views_children import done_message

log = logging.getLogger(__name__)

FORMS = "/ui/p/<int:project_id>/forms"
ONE = FORMS + "/<string:xml_form_id>"
UPDATE = "form.update"
# The states in the order the page offers them, and those that ask "are you sure?" first.
STATES = tuple(state.value for state in FormState)
CONFIRMED_STATES = frozenset({FormState.CLOSING.value, FormState.CLOSED.value})


def person() -> Principal:
    """The signed-in person (401, hence the sign-in page, for nobody)."""
    user = auth.web_user()
    if user is None:
        raise problems.auth_failed()
    return user.principal


def commune(who: Principal, project_id: int, verb: str) -> Project:
    """The commune once the caller may `verb` there; 404 first for one that does not exist."""
    project = get_project(db(), project_id)
    permissions.require(who, verb, project_id)
    return project


def audit(who: Principal, action: str, actee: str, **details: object) -> None:
    record_action(db(), who, action, actee, {**details, "via": "web"})


# --- what the pages show --------------------------------------------------------------------


def title_of(form: Form, shown: FormDef | None) -> str:
    """A form's title (the XLSForm's `form_title`), else its id."""
    return (shown.name if shown is not None else None) or form.xml_form_id


@dataclass(frozen=True)
class FormRow:
    """One line of the list: the version the API shows (published, else the draft)."""

    form: Form
    shown: FormDef | None
    summary: SubmissionSummary

    @property
    def name(self) -> str:
        return title_of(self.form, self.shown)


@dataclass(frozen=True)
class AttachmentRow:
    """A file a version expects: uploaded, missing, or served by the registry (`children.csv`,
    the entity list, is never uploaded)."""

    name: str
    type: str
    status: str  # "uploaded", "missing" or "registry"
    updated_at: datetime | None


def attachment_rows(form_def: FormDef | None) -> list[AttachmentRow]:
    if form_def is None:
        return []
    return [AttachmentRow(attachment.name, attachment.type, _status(attachment),
                          attachment.updated_at)
            for attachment, _md5 in form_rules.attachment_hashes(db(), form_def)]


def _status(attachment: FormAttachment) -> str:
    if is_entity_list(attachment):
        return "registry"
    return "uploaded" if attachment.blob_id is not None else "missing"


def _forms_page(project: Project, who: Principal, problem: Explained | None = None,
                status: int = 200) -> ResponseReturnValue:
    rows = [FormRow(form, form.current_def or form.draft_def,
                    form_rules.submission_summary(db(), form))
            for form in form_rules.project_forms(db(), who, project.id)]
    return render_template(
        "web/forms.html", project=project, rows=rows, problem=problem, done=done_message(),
        may_create=permissions.can(who, "form.create", project.id)), status


def _form_page(form: Form, who: Principal, problem: Explained | None = None,
               status: int = 200) -> ResponseReturnValue:
    draft = form.draft_def
    may_update = permissions.can_on_form(db(), who, UPDATE, form)
    test_url = (qrcode.draft_test_url(public_base(), draft.draft_token, form.project_id,
                                      form.xml_form_id)
                if may_update and draft is not None and draft.draft_token else None)
    today = (utcnow() + VIETNAM).date()
    return render_template(
        "web/form.html", project=get_project(db(), form.project_id), form=form,
        current=form.current_def, draft=draft if may_update else None,
        name=title_of(form, form.current_def or draft),
        summary=form_rules.submission_summary(db(), form),
        versions=published_versions(db(), form),
        current_files=attachment_rows(form.current_def),
        draft_files=attachment_rows(draft) if may_update else [],
        may_update=may_update, test_url=test_url, states=STATES,
        suggestion=form_rules.suggested_version(db(), form, today) if draft else "",
        problem=problem, done=done_message()), status


def _refused(form: Form, who: Principal, problem: Explained, status: int
             ) -> ResponseReturnValue:
    """The form's page again with the reason; whatever the refused request wrote is undone."""
    db().rollback()
    return _form_page(form, who, problem, status)


def _upload() -> FileStorage | None:
    chosen = request.files.get("file")
    return chosen if chosen is not None and chosen.filename else None


# --- the list and new forms -----------------------------------------------------------------


@blueprint.get(FORMS)
def forms(project_id: int) -> ResponseReturnValue:
    who = person()
    project = commune(who, project_id, "project.read")
    if not form_rules.may_list_forms(who, project_id):
        raise problems.insufficient_rights()
    return _forms_page(project, who)


@blueprint.post(FORMS)
def form_create(project_id: int) -> ResponseReturnValue:
    """A new form from an XLSForm (or XForm), kept as a draft: `POST …/forms` of the API."""
    who = person()
    project = commune(who, project_id, "form.create")
    upload = _upload()
    if upload is None:
        return _forms_page(project, who, sentence("upload.no_file"), 400)
    try:
        form = create_form(db(), services().store, project_id, upload.read(), upload.mimetype,
                           ignore_warnings=bool(request.form.get("ignore_warnings")))
        form_rules.check_form_id(form)
    except problems.Problem as problem:
        db().rollback()
        return _forms_page(project, who, explain(problem), problem.http_status)
    except Exception as error:  # a file no reader expected must not end in a 500
        log.exception("uploaded form could not be read")
        db().rollback()
        return _forms_page(project, who, Explained([t("xlsform.unreadable")], repr(error)), 400)
    draft = form.draft_def
    assert draft is not None
    audit(who, "form.create", f"form:{form.id}", xmlFormId=form.xml_form_id,
          version=draft.version)
    return redirect(url_for("web.form", project_id=project_id, xml_form_id=form.xml_form_id,
                            done="form_uploaded"), 303)


# --- one form -------------------------------------------------------------------------------


@blueprint.get(ONE)
def form(project_id: int, xml_form_id: str) -> ResponseReturnValue:
    who = person()
    found = form_rules.readable_form(db(), who, project_id, xml_form_id)
    return _form_page(found, who)


def _managed(project_id: int, xml_form_id: str) -> tuple[Principal, Form]:
    who = person()
    return who, form_rules.managed_form(db(), who, project_id, xml_form_id, UPDATE)


@blueprint.post(ONE + "/draft")
def form_draft(project_id: int, xml_form_id: str) -> ResponseReturnValue:
    """A new draft: from the file chosen, or (`copy`) from the published version, to change
    its media only — `POST …/draft` of the API, with or without a body."""
    who, found = _managed(project_id, xml_form_id)
    upload = _upload()
    if upload is None and not request.form.get("copy"):
        return _form_page(found, who, sentence("upload.no_file"), 400)
    try:
        if upload is not None:
            draft = create_draft(db(), services().store, found, upload.read(), upload.mimetype,
                                 ignore_warnings=bool(request.form.get("ignore_warnings")))
        else:
            draft = draft_from_published(db(), services().store, found)
        form_rules.check_form_id(found)
    except problems.Problem as problem:
        return _refused(found, who, explain(problem, form_id=found.xml_form_id),
                        problem.http_status)
    except Exception as error:  # a file no reader expected must not end in a 500
        log.exception("uploaded draft could not be read")
        return _refused(found, who, Explained([t("xlsform.unreadable")], repr(error)), 400)
    audit(who, "form.update.draft.set", f"form:{found.id}", newDraftDefId=draft.id,
          version=draft.version)
    return redirect(url_for("web.form", project_id=project_id, xml_form_id=xml_form_id,
                            done="draft_uploaded"), 303)


def _draft_of(found: Form) -> FormDef:
    if found.draft_def is None:
        raise problems.not_found()
    return found.draft_def


@blueprint.post(ONE + "/draft/attachments/<string:name>")
def form_attachment(project_id: int, xml_form_id: str, name: str) -> ResponseReturnValue:
    """One media file the draft expects (`villages.csv`, an image), under the name the form
    gives it — the chosen file's own name does not matter."""
    who, found = _managed(project_id, xml_form_id)
    draft = _draft_of(found)
    upload = _upload()
    if upload is None:
        return _form_page(found, who, sentence("attachment.no_file", name=name), 400)
    content_type = (upload.mimetype if upload.mimetype != "application/octet-stream" else None
                    ) or mimetypes.guess_type(name)[0] or "application/octet-stream"
    try:
        attachment = attach_form_media(db(), services().store, draft, name, upload.read(),
                                       content_type)
    except problems.Problem as problem:
        return _refused(found, who, explain(problem), problem.http_status)
    audit(who, "form.attachment.update", f"form:{found.id}", name=name,
          newBlobId=attachment.blob_id)
    return redirect(url_for("web.form", project_id=project_id, xml_form_id=xml_form_id,
                            done="attachment_uploaded"), 303)


@blueprint.get(ONE + "/draft/qr.png")
def form_draft_qr(project_id: int, xml_form_id: str) -> Response:
    """The QR code that opens the draft alone in ODK Collect (`server.openrosa.draft_test`);
    it holds the draft token, so only those who may change the form get it."""
    _who, found = _managed(project_id, xml_form_id)
    draft = _draft_of(found)
    if not draft.draft_token:
        raise problems.not_found()
    url = qrcode.draft_test_url(public_base(), draft.draft_token, project_id, xml_form_id)
    settings = qrcode.draft_test_settings(url, draft.name or xml_form_id)
    response = Response(qrcode.qr_png(qrcode.encode_settings(settings)), mimetype="image/png")
    response.headers["Cache-Control"] = "private, no-store"
    return response


@blueprint.post(ONE + "/draft/publish")
def form_publish(project_id: int, xml_form_id: str) -> ResponseReturnValue:
    """Publish the draft, under the version typed (blank: the draft's own)."""
    who, found = _managed(project_id, xml_form_id)
    _draft_of(found)
    old_id = found.current_def_id
    version = request.form.get("version", "").strip()
    try:
        published = publish_draft(db(), found, version or None)
    except problems.Problem as problem:
        return _refused(found, who, explain(problem, form_id=xml_form_id),
                        problem.http_status)
    audit(who, "form.update.publish", f"form:{found.id}", newDefId=published.id,
          oldDefId=old_id, version=published.version)
    return redirect(url_for("web.form", project_id=project_id, xml_form_id=xml_form_id,
                            done="published"), 303)


@blueprint.post(ONE + "/state")
def form_state(project_id: int, xml_form_id: str) -> ResponseReturnValue:
    """Open, closing (hidden from phones, still accepting) or closed; the last two only once
    the confirmation box is ticked."""
    who, found = _managed(project_id, xml_form_id)
    state = request.form.get("state", "")
    if state not in STATES:
        return _form_page(found, who, sentence("state.unknown"), 400)
    if state in CONFIRMED_STATES and not request.form.get("confirm"):
        return _form_page(found, who, sentence("state.confirm_needed"), 400)
    set_state(found, state)
    db().flush()
    audit(who, "form.update", f"form:{found.id}", data={"state": found.state})
    return redirect(url_for("web.form", project_id=project_id, xml_form_id=xml_form_id,
                            done=f"state_{state}"), 303)
