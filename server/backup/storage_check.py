"""`diemtua storage check [--repair]`: is every stored blob there, with the bytes of its name?

Blobs are keyed by their SHA-256 (`server.operations.blobs`), so each one can be checked
against its own name: missing (the store has no object) or corrupt (the bytes hash to
something else, or have another size). The report names what each damaged blob belongs to
— submissions by instance id and attachment name, forms by form id and file name — never a
child's name: the report goes to logs and terminals.

Repair, with no second copy to fetch from, makes the damage honest and healable:
1. a corrupt object's bytes are moved aside (into `quarantine`, for whoever wants to look) and
   the object removed from the store, so it can never be served as if it were right;
2. every row naming a damaged blob forgets it (`blob_id` NULL): the submission's attachment
   list says `exists: false` as Central's does for a file not yet received, exports leave it
   out, and a phone re-sending the submission (or `POST …/attachments/{name}`) fills it again;
   a form's media file shows as missing until it is uploaded again;
3. the blob rows themselves are deleted. What was forgotten is returned, for the audit log.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Column, delete, select, update
from sqlalchemy.orm import Session

from server.db import Base
from server.models import (
    Blob,
    Form,
    FormAttachment,
    FormDef,
    Submission,
    SubmissionAttachment,
    SubmissionDef,
)
from server.storage import BlobStore, StorageError

MISSING = "missing"
CORRUPT = "corrupt"

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Owner:
    """Something that names a blob: a submission's attachment, a form's file or XLSForm."""

    project_id: int
    xml_form_id: str
    kind: str  # "submission", "form attachment", "xlsform"
    name: str
    instance_id: str | None = None

    def describe(self) -> str:
        where = f"project {self.project_id}, form {self.xml_form_id}"
        if self.instance_id is not None:
            return f"{where}, submission {self.instance_id}, attachment {self.name}"
        return f"{where}, {self.kind} {self.name}"

    def as_json(self) -> dict[str, object]:
        return {"projectId": self.project_id, "xmlFormId": self.xml_form_id, "kind": self.kind,
                "name": self.name, "instanceId": self.instance_id}


@dataclass
class DamagedBlob:
    blob_id: int
    sha256: str
    problem: str  # MISSING or CORRUPT
    owners: list[Owner] = field(default_factory=list)


@dataclass
class StorageReport:
    checked: int = 0
    damaged: list[DamagedBlob] = field(default_factory=list)


def blob_state(store: BlobStore, sha256: str, size: int) -> str | None:
    """None when the object is whole; else MISSING or CORRUPT. A store that cannot be asked
    (S3 down, refused) raises StorageError: that is not a missing blob."""
    if not store.exists(sha256):
        return MISSING
    digest, length = hashlib.sha256(), 0
    try:
        for chunk in store.open(sha256):
            digest.update(chunk)
            length += len(chunk)
    except StorageError:
        if not store.exists(sha256):
            return MISSING  # removed while we read it
        raise
    return None if (digest.hexdigest(), length) == (sha256, size) else CORRUPT


def _owners(session: Session, blob_ids: list[int]) -> dict[int, list[Owner]]:
    found: dict[int | None, list[Owner]] = {blob_id: [] for blob_id in blob_ids}
    for blob_id, project_id, form_id, instance_id, name in session.execute(
            select(SubmissionAttachment.blob_id, Form.project_id, Form.xml_form_id,
                   Submission.instance_id, SubmissionAttachment.name)
            .join(SubmissionDef, SubmissionDef.id == SubmissionAttachment.submission_def_id)
            .join(Submission, Submission.id == SubmissionDef.submission_id)
            .join(Form, Form.id == Submission.form_id)
            .where(SubmissionAttachment.blob_id.in_(blob_ids))
            .order_by(Submission.instance_id, SubmissionAttachment.name)):
        owner = Owner(project_id, form_id, "submission", name, instance_id)
        if owner not in found[blob_id]:  # versions of one submission share their files
            found[blob_id].append(owner)
    for blob_id, project_id, form_id, name in session.execute(
            select(FormAttachment.blob_id, Form.project_id, Form.xml_form_id, FormAttachment.name)
            .join(FormDef, FormDef.id == FormAttachment.form_def_id)
            .join(Form, Form.id == FormDef.form_id)
            .where(FormAttachment.blob_id.in_(blob_ids)).distinct()):
        found[blob_id].append(Owner(project_id, form_id, "form attachment", name))
    for blob_id, project_id, form_id, version in session.execute(
            select(FormDef.xlsform_blob_id, Form.project_id, Form.xml_form_id, FormDef.version)
            .join(Form, Form.id == FormDef.form_id)
            .where(FormDef.xlsform_blob_id.in_(blob_ids))):
        found[blob_id].append(Owner(project_id, form_id, "xlsform", f"version {version}"))
    return {blob_id: owners for blob_id, owners in found.items() if blob_id is not None}


def check_storage(session: Session, store: BlobStore,
                  on_progress: Progress | None = None) -> StorageReport:
    """Read every blob the database knows and check it against its name."""
    report = StorageReport()
    rows = session.execute(select(Blob.id, Blob.sha256, Blob.size).order_by(Blob.id)).all()
    for n, (blob_id, sha256, size) in enumerate(rows, start=1):
        problem = blob_state(store, sha256, size)
        if problem is not None:
            report.damaged.append(DamagedBlob(blob_id, sha256, problem))
        if on_progress:
            on_progress("blobs", n, len(rows))
    report.checked = len(rows)
    owners = _owners(session, [d.blob_id for d in report.damaged])
    for damaged in report.damaged:
        damaged.owners = owners[damaged.blob_id]
    return report


def _blob_columns() -> list[Column[int]]:
    """Every column that names a blob, from the models' foreign keys (none is forgotten when
    a table gains one)."""
    blobs = Base.metadata.tables["blobs"]
    return [column for table in Base.metadata.sorted_tables for column in table.columns
            if any(fk.column.table is blobs for fk in column.foreign_keys)]


def _quarantine(store: BlobStore, sha256: str, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / sha256
    with target.open("wb") as out:
        for chunk in store.open(sha256):
            out.write(chunk)
    return target


def repair_storage(session: Session, store: BlobStore, report: StorageReport,
                   quarantine: Path) -> list[dict[str, object]]:
    """Make the damage in `report` honest (see the module's docstring), in the caller's unit
    of work; → what was forgotten, one entry per damaged blob, for the audit log."""
    if not report.damaged:
        return []
    ids = [d.blob_id for d in report.damaged]
    for damaged in report.damaged:
        if damaged.problem == CORRUPT:
            _quarantine(store, damaged.sha256, quarantine)
            store.delete(damaged.sha256)
    for column in _blob_columns():
        session.execute(update(column.table).where(column.in_(ids)).values({column.name: None}))
    session.execute(delete(Blob).where(Blob.id.in_(ids)))
    return [{"sha256": d.sha256, "problem": d.problem,
             "owners": [owner.as_json() for owner in d.owners]} for d in report.damaged]
