"""A form's life: upload (XLSForm or XForm) as a draft, media, publish, state changes.

The XForm bytes stored are exactly the bytes served to phones, and every hash is computed
on them: Collect decides "update available" by comparing MD5s (docs/openrosa.md §2).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from xml.sax.saxutils import escape

from sqlalchemy import select
from sqlalchemy.orm import Session

from server import problems
from server.auth.principal import new_token
from server.db import utcnow
from server.models import Form, FormAssignment, FormAttachment, FormDef, FormState, Project
from server.operations.blobs import store_blob
from server.registry.villages import VILLAGES_CSV, fill_from_csv
from server.storage import BlobStore
from sync.field_policy import NAMESPACE as FIELD_POLICY_NAMESPACE
from sync.field_policy import InvalidFieldPolicy, declared_policy
from sync.safe_xml import UnsafeXml
from sync.xform import InvalidXForm, XFormInfo, inspect_xform
from sync.xlsform import XlsFormError, convert_xlsform

XLSX_TYPES = frozenset({
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-excel",
})
_ZIP_MAGIC = b"PK\x03\x04"
_XLS_MAGIC = b"\xd0\xcf\x11\xe0"
ITEMSETS_NAME = "itemsets.csv"


def looks_like_spreadsheet(data: bytes, content_type: str | None) -> bool:
    base = (content_type or "").split(";")[0].strip().lower()
    return base in XLSX_TYPES or data[:4] in (_ZIP_MAGIC, _XLS_MAGIC)


def _xform_from_upload(
    data: bytes, content_type: str | None, ignore_warnings: bool
) -> tuple[str, str | None, bool]:
    """Return (XForm XML, itemsets CSV, came from a spreadsheet)."""
    if not looks_like_spreadsheet(data, content_type):
        try:
            return data.decode("utf-8"), None, False
        except UnicodeDecodeError as exc:
            raise problems.unparseable("xml", "the form is not UTF-8 text") from exc
    try:
        converted = convert_xlsform(data)
    except XlsFormError as exc:
        raise problems.xlsform_invalid(str(exc), exc.warnings) from exc
    if converted.warnings and not ignore_warnings:
        raise problems.xlsform_warnings(converted.warnings)
    return converted.xml, converted.itemsets_csv, True


def _inspect(xml: str) -> XFormInfo:
    """What the server needs of an XForm; its field policy is checked now, so a form
    declaring an unknown sensitivity is refused at upload, not when its data is read."""
    data = xml.encode("utf-8")
    try:
        info = inspect_xform(data)
        declared_policy(data)
    except InvalidFieldPolicy as exc:
        raise problems.unexpected_value("diemtua:sensitivity", str(exc)) from exc
    except (InvalidXForm, UnsafeXml) as exc:
        message = str(exc)
        if "unbound prefix" in message and "diemtua:" in xml:
            message += (f"; a form using the bind::diemtua:* columns needs "
                        f'diemtua="{FIELD_POLICY_NAMESPACE}" in the settings sheet\'s '
                        "namespaces column (docs/access.md)")
        raise problems.unparseable("xform", message) from exc
    if info.version:  # an uploaded form's own version meets the rules of `publish?version=`
        check_version(info.version)
    return info


def _new_def(
    db: Session, store: BlobStore, form: Form, xml: str, info: XFormInfo,
    source: bytes | None, itemsets_csv: str | None,
    carried_attachments: Sequence[FormAttachment] = (),
) -> FormDef:
    xml_bytes = xml.encode("utf-8")
    form_def = FormDef(
        form_id=form.id, version=info.version, name=info.title, xml=xml,
        md5=hashlib.md5(xml_bytes, usedforsecurity=False).hexdigest(),
        sha256=hashlib.sha256(xml_bytes).hexdigest(),
        binary_paths=info.binary_paths, entity_datasets=info.entity_datasets,
        draft_token=new_token(),
    )
    if source is not None:
        form_def.xlsform_blob_id = store_blob(
            db, store, source, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        ).id
    db.add(form_def)
    db.flush()
    previous = {attachment.name: attachment for attachment in carried_attachments}
    for ref in info.media:
        attachment = FormAttachment(form_def_id=form_def.id, name=ref.name, type=ref.type)
        # Central keeps a file across versions when the new version still expects its name.
        if ref.name in previous and previous[ref.name].blob_id is not None:
            attachment.blob_id = previous[ref.name].blob_id
            attachment.updated_at = previous[ref.name].updated_at
        if ref.name == ITEMSETS_NAME and itemsets_csv is not None:
            attachment.blob_id = store_blob(db, store, itemsets_csv.encode("utf-8"),
                                            "text/csv").id
            attachment.updated_at = utcnow()
        db.add(attachment)
    db.flush()
    return form_def


def create_form(
    db: Session, store: BlobStore, project_id: int, data: bytes, content_type: str | None,
    publish: bool = False, ignore_warnings: bool = False,
) -> Form:
    """Central's `POST /projects/:id/forms`: a new form holding a draft (published if asked)."""
    xml, itemsets, from_xlsx = _xform_from_upload(data, content_type, ignore_warnings)
    info = _inspect(xml)
    exists = db.scalar(select(Form.id).where(Form.project_id == project_id,
                                             Form.xml_form_id == info.xml_form_id))
    if exists is not None:
        raise problems.already_exists("forms", {"projectId": project_id,
                                                "xmlFormId": info.xml_form_id})
    form = Form(project_id=project_id, xml_form_id=info.xml_form_id,
                state=FormState.OPEN.value)
    db.add(form)
    db.flush()
    form.draft_def = _new_def(db, store, form, xml, info, data if from_xlsx else None, itemsets)
    db.flush()
    if publish:
        publish_draft(db, form)
    return form


def create_draft(
    db: Session, store: BlobStore, form: Form, data: bytes | None, content_type: str | None,
    ignore_warnings: bool = False,
) -> FormDef:
    """Central's `POST …/draft`: from new bytes, or a copy of the published version."""
    base = form.draft_def or form.current_def
    carried = list(base.attachments) if base is not None else []
    if data:
        xml, itemsets, from_xlsx = _xform_from_upload(data, content_type, ignore_warnings)
        source = data if from_xlsx else None
    elif form.current_def is not None:
        xml, itemsets, source = form.current_def.xml, None, None
    else:
        raise problems.missing_parameter("form definition")
    info = _inspect(xml)
    if info.xml_form_id != form.xml_form_id:
        raise problems.unexpected_value(
            "xmlFormId", f"the draft's form id ({info.xml_form_id}) must stay {form.xml_form_id}")
    form.draft_def = _new_def(db, store, form, xml, info, source, itemsets, carried)
    db.flush()
    return form.draft_def


def used_versions(db: Session, form: Form) -> set[str]:
    return set(db.scalars(select(FormDef.version).where(
        FormDef.form_id == form.id, FormDef.published_at.is_not(None))))


_VERSION_ATTR = re.compile(r'(<[^>]*\bid="[^"]*"[^>]*?\bversion=")([^"]*)(")')
# The width of `form_defs.version`; PostgreSQL refuses a longer value (with a 500 if unchecked).
VERSION_MAX_LENGTH = 255
_FORBIDDEN = frozenset({"Cc", "Cs"})  # control characters; lone surrogates (never XML text)


def check_version(version: str) -> None:
    """Refuse (400.8, saying why) a version string phones and exports cannot carry.

    Central takes any string for `publish?version=`. What cannot round-trip through the XForm is
    refused here: control characters (XML 1.0 forbids most; an attribute turns tab and newline
    into spaces, so the phones' version would differ from the one published, and spreadsheet
    exports cannot hold them), spaces at either end (the server and Collect trim the attribute,
    docs/openrosa.md §1), and more characters than the column holds. Markup characters (`&`,
    `<`, quotes) are allowed: they are escaped wherever the version is written into XML.
    """
    if not version:
        raise _bad_version("empty", "it is empty; leave the parameter out to publish the "
                           "draft's own version")
    if len(version) > VERSION_MAX_LENGTH:
        raise _bad_version("too_long", f"it is {len(version)} characters long; at most "
                           f"{VERSION_MAX_LENGTH} are accepted")
    bad = next((char for char in version if unicodedata.category(char) in _FORBIDDEN
                or char in "\ufffe\uffff"), None)
    if bad is not None:
        raise _bad_version("control_character", f"it contains the control character "
                           f"U+{ord(bad):04X}; use letters, digits and punctuation only")
    if version != version.strip():
        raise _bad_version("spaces", "it begins or ends with a space, which phones would drop")


def _bad_version(refused: str, reason: str) -> problems.Problem:
    """400.8 for `version`; `details.refused` names the rule, for the forms page's words."""
    problem = problems.unexpected_value("version", reason)
    problem.details["refused"] = refused
    return problem


def set_draft_version(form_def: FormDef, version: str) -> None:
    """Central's `publish?version=`: rewrite the version attribute of the primary instance.

    The value is XML-escaped into the attribute, and the result is read back as any upload is,
    so what is stored and served is a form that parses and names exactly `version`."""
    check_version(version)
    attribute = escape(version, {'"': "&quot;"})
    xml, count = _VERSION_ATTR.subn(lambda m: m.group(1) + attribute + m.group(3),
                                    form_def.xml, count=1)
    if count == 0:
        raise problems.unexpected_value("version", "the form has no version attribute to set")
    info = _inspect(xml)
    if info.version != version:
        raise problems.unexpected_value("version", "it could not be written into the form")
    xml_bytes = xml.encode("utf-8")
    form_def.xml = xml
    form_def.version = version
    form_def.md5 = hashlib.md5(xml_bytes, usedforsecurity=False).hexdigest()
    form_def.sha256 = hashlib.sha256(xml_bytes).hexdigest()


def publish_draft(db: Session, form: Form, version: str | None = None) -> FormDef:
    draft = form.draft_def
    if draft is None:
        raise problems.not_found()
    if version is not None:
        set_draft_version(draft, version)
    if draft.version in used_versions(db, form):
        raise problems.version_unchanged()
    draft.published_at = utcnow()
    draft.draft_token = None
    form.current_def = draft
    form.draft_def = None
    db.flush()
    return draft


def set_state(form: Form, state: str) -> None:
    try:
        form.state = FormState(state).value
    except ValueError as exc:
        raise problems.unexpected_value("state", "it must be open, closing or closed") from exc


def attach_form_media(
    db: Session, store: BlobStore, form_def: FormDef, name: str, data: bytes,
    content_type: str | None,
) -> FormAttachment:
    """Upload a file the draft expects; Central refuses names the form does not reference."""
    attachment = next((a for a in form_def.attachments if a.name == name), None)
    if attachment is None:
        raise problems.not_found()
    attachment.blob_id = store_blob(db, store, data, content_type).id
    attachment.updated_at = utcnow()
    if name == VILLAGES_CSV:  # the registry's village table follows the phones' list
        fill_from_csv(db, db.get_one(Form, form_def.form_id).project_id, data)
    db.flush()
    return attachment


def get_form(db: Session, project_id: int, xml_form_id: str) -> Form:
    # Joined with its project: a deleted project's forms are gone too, with no second query.
    form = db.scalar(select(Form).join(Project, Project.id == Form.project_id)
                     .where(Form.project_id == project_id, Form.xml_form_id == xml_form_id,
                            Form.deleted_at.is_(None), Project.deleted_at.is_(None)))
    if form is None:
        raise problems.not_found()
    return form


def published_version(db: Session, form: Form, version: str) -> FormDef | None:
    return db.scalar(select(FormDef).where(FormDef.form_id == form.id,
                                           FormDef.version == version,
                                           FormDef.published_at.is_not(None))
                     .order_by(FormDef.id.desc()))


# --- management API: drafts, deletion, versions, assignments --------------------------------


def draft_from_published(db: Session, store: BlobStore, form: Form) -> FormDef:
    """Central's bodiless `POST …/draft`: a copy of the published version, XLSForm included."""
    published = form.current_def
    draft = create_draft(db, store, form, None, None)
    if published is not None:
        draft.xlsform_blob_id = published.xlsform_blob_id
    db.flush()
    return draft


def discard_draft(form: Form) -> FormDef:
    """Central's `DELETE …/draft`: only once a published version exists to fall back on."""
    if form.current_def_id is None:
        raise problems.Problem("409.7", "Could not delete draft, because the form has not been "
                               "published. Either delete the whole form, or replace the draft.")
    if form.draft_def is None:
        raise problems.not_found()
    draft = form.draft_def
    form.draft_def = None
    return draft


def delete_form(form: Form) -> None:
    """Soft delete, as Central (its trash): submissions and versions stay."""
    form.deleted_at = utcnow()


def published_versions(db: Session, form: Form) -> list[FormDef]:
    """Every published version, newest first (Central's `…/versions`)."""
    return list(db.scalars(select(FormDef).where(
        FormDef.form_id == form.id, FormDef.published_at.is_not(None))
        .order_by(FormDef.published_at.desc(), FormDef.id.desc())))


def assign_to_form(db: Session, form: Form, actor_id: int, role: str = "app-user"
                   ) -> FormAssignment:
    """Give an actor a role on one form; Central answers a repeated grant with 409.3."""
    exists = db.scalar(select(FormAssignment.id).where(
        FormAssignment.form_id == form.id, FormAssignment.actor_id == actor_id,
        FormAssignment.role == role))
    if exists is not None:
        raise problems.already_exists("assignments", {"actorId": actor_id, "role": role})
    assignment = FormAssignment(form_id=form.id, actor_id=actor_id, role=role)
    db.add(assignment)
    db.flush()
    return assignment


def unassign_from_form(db: Session, form: Form, actor_id: int, role: str = "app-user") -> None:
    assignment = db.scalar(select(FormAssignment).where(
        FormAssignment.form_id == form.id, FormAssignment.actor_id == actor_id,
        FormAssignment.role == role))
    if assignment is None:
        raise problems.not_found()
    db.delete(assignment)
    db.flush()


def clear_form_media(form_def: FormDef, name: str) -> int:
    """Central's `DELETE …/draft/attachments/<name>`: forget the uploaded file (the form
    still expects it); returns the blob id it had, for the audit row."""
    attachment = next((a for a in form_def.attachments if a.name == name), None)
    if attachment is None or attachment.blob_id is None:
        raise problems.not_found()
    old_blob_id = attachment.blob_id
    attachment.blob_id = None
    attachment.updated_at = utcnow()
    return old_blob_id
