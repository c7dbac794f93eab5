"""Receiving a submission: new, identical retry, split upload, edit — whole or not at all.

The rules are ODK Central's (docs/openrosa.md §8): identical XML under a known instanceID is a retry
or the next part of a split upload and only adds files; different XML under it is a conflict;
`meta/deprecatedID` makes a new version of the submission it names. Attachment bytes are written
to storage before any row that references them, and the caller commits once, so a crash at any
moment leaves nothing or a complete record, and the phone's retry completes it.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import BinaryIO, TypeVar

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached

from server import outages, problems
from server.db import utcnow
from server.models import (
    Audit,
    Form,
    FormDef,
    FormState,
    ReviewState,
    Submission,
    SubmissionAttachment,
    SubmissionDef,
)
from server.operations.blobs import store_blob_id
from server.operations.forms import published_version
from server.operations.visible_data import village_of
from server.storage import BlobStore
from sync.instance import ParsedInstance, attachment_names
from sync.safe_xml import UnsafeXml

log = logging.getLogger(__name__)

CLIENT_AUDIT_NAME = "audit.csv"
DEVICE_ID_LENGTH = 255
USER_AGENT_LENGTH = 512
INSTANCE_NAME_LENGTH = 255
# A new version waits for the registry sync (`server.registry.sync.SyncState.PENDING`; the
# operations layer sits below the registry, so the word is repeated here).
SYNC_PENDING = "pending"
RowT = TypeVar("RowT", Submission, SubmissionDef)


@dataclass(frozen=True)
class IncomingFile:
    """One multipart part (or REST body) carrying an attachment."""

    stream: BinaryIO
    content_type: str | None


class Outcome(StrEnum):
    CREATED = "created"
    # Identical XML again: a retry or the next part of a split upload.
    RESUBMITTED = "resubmitted"
    EDITED = "edited"


@dataclass(frozen=True)
class Received:
    outcome: Outcome
    submission: Submission
    version: SubmissionDef


@dataclass(frozen=True)
class SubmissionContext:
    """Who sent it and from where; stored with the version, as Central does."""

    submitter_id: int | None
    device_id: str | None = None
    user_agent: str | None = None

    def __post_init__(self) -> None:
        # Both come from the phone (`?deviceID=`, User-Agent) and must fit their columns:
        # PostgreSQL refuses an over-long value, and the phone could then never submit.
        object.__setattr__(self, "device_id", (self.device_id or "")[:DEVICE_ID_LENGTH] or None)
        object.__setattr__(self, "user_agent",
                           (self.user_agent or "")[:USER_AGENT_LENGTH] or None)


def accepting_form_def(db: Session, form: Form, version: str) -> FormDef:
    """The published version a submission names; closed forms and unknown versions refuse."""
    if form.state == FormState.CLOSED.value:
        raise problems.form_not_accepting()
    form_def = published_version(db, form, version)
    if form_def is None:
        raise problems.form_version_not_found(version)
    return form_def


def _expected_names(instance: ParsedInstance, form_def: FormDef) -> list[str]:
    try:
        return attachment_names(instance, list(form_def.binary_paths))
    except UnsafeXml as exc:
        raise problems.hostile_or_broken_xml(str(exc)) from exc


def _find_version(db: Session, form: Form, instance_id: str) -> SubmissionDef | None:
    """The version with this instanceID; its id is looked up first, as nearly every POST is
    new and then no row needs loading."""
    version_id = db.scalar(select(SubmissionDef.id).where(
        SubmissionDef.form_id == form.id, SubmissionDef.instance_id == instance_id))
    return None if version_id is None else db.get_one(SubmissionDef, version_id)


def _attach_files(
    db: Session, store: BlobStore, version: SubmissionDef, expected: list[str],
    files: Mapping[str, IncomingFile], carried: Mapping[str, int | None] | None = None,
    fresh: bool = False,
) -> None:
    """Fill expected attachments from the parts sent; unexpected parts are ignored (Central).

    Bytes are stored before the row that names them. A `fresh` version has no attachment rows
    yet, so none are loaded (one query less on every new submission).
    """
    existing = {} if fresh else {attachment.name: attachment
                                 for attachment in version.attachments}
    for name in expected:
        incoming = files.get(name)
        blob_id = (store_blob_id(db, store, incoming.stream, incoming.content_type)
                   if incoming is not None else None)
        attachment = existing.get(name)
        if attachment is None:
            db.add(SubmissionAttachment(
                submission_def=version, name=name,
                is_client_audit=(name == CLIENT_AUDIT_NAME),
                blob_id=blob_id if blob_id is not None else (carried or {}).get(name),
            ))
        elif blob_id is not None:
            # Same name, new bytes: the stored file is replaced (Central's upsert).
            attachment.blob_id = blob_id


def _new_version(
    db: Session, submission: Submission, form_def: FormDef, instance: ParsedInstance,
    xml: bytes, context: SubmissionContext,
) -> SubmissionDef:
    values = _version_values(submission.id, submission.form_id, form_def, instance, xml,
                             context)
    del values["submission_id"]
    version = SubmissionDef(submission=submission, **values)
    db.add(version)
    return version


def _version_values(submission_id: int, form_id: int, form_def: FormDef,
                    instance: ParsedInstance, xml: bytes, context: SubmissionContext
                    ) -> dict[str, object]:
    """The columns of a new version, for the ORM (edits) and Core (new submissions) alike."""
    return {
        "submission_id": submission_id, "form_id": form_id, "form_def_id": form_def.id,
        "instance_id": instance.instance_id, "deprecated_id": instance.deprecated_id,
        # instanceName is computed from answers (a household head's full name …): a label,
        # so it is shortened rather than refusing the submission.
        "instance_name": (instance.instance_name or "")[:INSTANCE_NAME_LENGTH] or None,
        "xml": xml.decode("utf-8"), "xml_sha256": hashlib.sha256(xml).hexdigest(),
        "current": True, "submitter_id": context.submitter_id,
        "device_id": context.device_id, "user_agent": context.user_agent,
        "sync_state": SYNC_PENDING, "sync_error": None,
    }


def _resubmission(
    db: Session, store: BlobStore, existing: SubmissionDef, form_def: FormDef,
    instance: ParsedInstance, xml: bytes, files: Mapping[str, IncomingFile],
) -> Received:
    submission = existing.submission
    if submission.deleted_at is not None:
        raise problems.deleted_submission()
    if existing.xml_sha256 != hashlib.sha256(xml).hexdigest():
        raise problems.conflicting_resubmission()
    if not existing.current:
        # Central names `undefined` here; the copy being edited is the one re-sent.
        raise problems.deprecating_old_submission(existing.instance_id)
    _attach_files(db, store, existing, _expected_names(instance, form_def), files)
    db.flush()
    return Received(Outcome.RESUBMITTED, submission, existing)


def _edit(
    db: Session, store: BlobStore, form: Form, form_def: FormDef, instance: ParsedInstance,
    xml: bytes, files: Mapping[str, IncomingFile], context: SubmissionContext,
) -> Received:
    assert instance.deprecated_id is not None
    previous = _find_version(db, form, instance.deprecated_id)
    if previous is None:
        raise problems.deprecated_id_not_found(instance.deprecated_id)
    if not previous.current:
        raise problems.deprecating_old_submission(instance.deprecated_id)
    submission = previous.submission
    if submission.deleted_at is not None:
        raise problems.deleted_submission()
    previous.current = False
    version = _new_version(db, submission, form_def, instance, xml, context)
    # An edit keeps the files it does not re-send, matched by name (Central).
    carried = {attachment.name: attachment.blob_id for attachment in previous.attachments}
    _attach_files(db, store, version, _expected_names(instance, form_def), files, carried,
                  fresh=True)
    submission.review_state = ReviewState.EDITED.value
    submission.updated_at = utcnow()
    submission.village_code = village_of(db, form, form_def, instance)
    db.add(Audit(actor_id=context.submitter_id, action="submission.update.version",
                 actee=f"submission:{submission.id}",
                 details={"instanceId": instance.instance_id,
                          "deprecatedId": instance.deprecated_id}))
    db.flush()
    return Received(Outcome.EDITED, submission, version)


def receive_submission(
    db: Session, store: BlobStore, form: Form, instance: ParsedInstance, xml: bytes,
    files: Mapping[str, IncomingFile], context: SubmissionContext,
) -> Received:
    """Store one POST of a submission; the caller has checked the sender may submit to `form`."""
    form_def = accepting_form_def(db, form, instance.version)
    existing = _find_version(db, form, instance.instance_id)
    if existing is not None:
        return _resubmission(db, store, existing, form_def, instance, xml, files)
    if instance.deprecated_id:
        return _edit(db, store, form, form_def, instance, xml, files, context)
    return _create(db, store, form, form_def, instance, xml, files, context)


def _insert_row(db: Session, model: type[Submission | SubmissionDef],
                values: dict[str, object]) -> int:
    """One INSERT … RETURNING id on the session's connection: Core, not the unit of work."""
    row_id: int = db.connection().execute(
        insert(model).returning(model.id), values).scalar_one()
    return row_id


def _persistent(db: Session, row: RowT) -> RowT:
    """An object for a row just inserted with Core, in the session as if loaded: callers
    (the API's JSON, tests) use it like any other, without a SELECT or a flush."""
    make_transient_to_detached(row)
    db.add(row)
    return row


def _create(
    db: Session, store: BlobStore, form: Form, form_def: FormDef, instance: ParsedInstance,
    xml: bytes, files: Mapping[str, IncomingFile], context: SubmissionContext,
) -> Received:
    """A new submission: its files' bytes and blob rows first, then the submission, its first
    version, its attachment rows and the audit row as plain INSERTs in the caller's
    transaction (the busiest path of the server; the ORM's unit of work cost more than the
    SQL itself, bench/ingest.py). Nothing is committed here: all of it lands or none."""
    expected = _expected_names(instance, form_def)
    blob_ids = {name: store_blob_id(db, store, files[name].stream, files[name].content_type)
                for name in expected if name in files}
    now = utcnow()
    submission_values: dict[str, object] = {
        "form_id": form.id, "instance_id": instance.instance_id,
        "submitter_id": context.submitter_id, "device_id": context.device_id,
        "review_state": None, "created_at": now, "updated_at": None, "deleted_at": None,
        "village_code": village_of(db, form, form_def, instance)}
    submission_id = _insert_row(db, Submission, submission_values)
    version_values = _version_values(submission_id, form.id, form_def, instance, xml, context)
    version_values["created_at"] = now
    version_id = _insert_row(db, SubmissionDef, version_values)
    if expected:
        db.connection().execute(insert(SubmissionAttachment), [
            {"submission_def_id": version_id, "name": name, "blob_id": blob_ids.get(name),
             "is_client_audit": name == CLIENT_AUDIT_NAME} for name in expected])
    # Central's submission.create audit names the form as its actee.
    db.connection().execute(insert(Audit), {
        "actor_id": context.submitter_id, "action": "submission.create",
        "actee": f"form:{form.id}", "logged_at": now,
        "details": {"instanceId": instance.instance_id, "formId": form.xml_form_id}})
    outages.wrote(db)
    submission = _persistent(db, Submission(id=submission_id, **submission_values))
    version = _persistent(db, SubmissionDef(id=version_id, **version_values))
    return Received(Outcome.CREATED, submission, version)


def receive_and_commit(
    db: Session, store: BlobStore, form: Form, instance: ParsedInstance, xml: bytes,
    files: Mapping[str, IncomingFile], context: SubmissionContext,
) -> Received:
    """One POST as a unit of work: receive and commit, so the sender hears success only for
    data that is durably stored.

    A unique-key collision means another request stored the same instanceID between our
    look-up and our insert (a phone retrying while its first attempt is still being written;
    PostgreSQL — SQLite serialises writers). Received once more after a rollback, identical
    XML is a resubmission and different XML a 409.1 — never a 500.
    """
    try:
        received = receive_submission(db, store, form, instance, xml, files, context)
        db.commit()
        return received
    except IntegrityError:
        db.rollback()
        log.info("submission %s of form %s collided with a concurrent one; receiving again",
                 instance.instance_id, form.xml_form_id)
    received = receive_submission(db, store, form, instance, xml, files, context)
    db.commit()
    return received
