"""A form version's words for people — question and choice labels in Vietnamese or English
(`exports.form_labels`) — with the choice lists it carries as attached files (`villages.csv`).

Shared by `submissions.xlsx` (`server.api.v1.odata`) and the submission pages
(`server.web.views_submissions`), so a choice reads the same in a workbook and on a page.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from exports.form_labels import AttachedFile, FormLabels, form_labels
from server.models import Blob, FormDef
from server.storage import BlobStore

# A choice list attached to the form (villages.csv) is read for its labels up to this size.
CHOICES_FILE_BYTES = 5 * 1024 * 1024


def attached_choices(session: Session, store: BlobStore, form_def: FormDef) -> AttachedFile:
    """The form's own attached files by name, for choice labels (`villages.csv`); an entity
    list is the registry's and is read only through its own rule, so never here."""

    def read(name: str) -> bytes | None:
        found = next((a for a in form_def.attachments
                      if a.name == name and a.blob_id is not None and a.dataset is None), None)
        blob = session.get(Blob, found.blob_id) if found is not None else None
        if blob is None or blob.size > CHOICES_FILE_BYTES:
            return None
        return store.read(blob.sha256)
    return read


def labels_of(session: Session, store: BlobStore, form_def: FormDef,
              language: str) -> FormLabels:
    """The labels of one form version's questions and choices in `language` (`vi`, `en`)."""
    return form_labels(form_def.xml, language, attached_choices(session, store, form_def))
