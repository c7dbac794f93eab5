"""A project's submissions as one caller may see them: in its villages, without the answers it
may not read (the one access rule, `server.auth.visibility`; docs/access.md).

Shared by every surface that shows submissions — the submissions API, CSV exports, OData, and
the web pages — so they cannot disagree. Plain functions on a session and a `DataView`; the
HTTP layer only turns "not visible" into a 404.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from exports.schema import FormSchema
from server import problems
from server.auth.visibility import DataView
from server.models import Form, FormDef, Submission, SubmissionAttachment, SubmissionDef
from sync.field_policy import (
    FieldPolicy,
    InvalidFieldPolicy,
    cached_policy,
    is_inside,
    redacted_instance,
    referenced_files,
    relative_path,
    remove_hidden,
)
from sync.field_policy import village_of as instance_village
from sync.instance import ParsedInstance
from sync.safe_xml import UnsafeXml, parse_xml

log = logging.getLogger(__name__)


def form_policy(session: Session, form: Form, form_def: FormDef) -> FieldPolicy:
    """The field policy of one version of `form` (read from its XForm the first time)."""
    return cached_policy(form.xml_form_id, form_def.sha256, lambda: form_def.xml_bytes)


def village_of(session: Session, form: Form, form_def: FormDef,
               instance: ParsedInstance) -> str | None:
    """The village a submitted instance belongs to, by its form version's policy.

    Called as a phone's submission is stored: a policy that cannot be read (a form published
    before policies were checked at upload) leaves the village unknown — the submission is
    then seen only without a village limit — rather than refusing the phone's data."""
    try:
        policy = form_policy(session, form, form_def)
    except (InvalidFieldPolicy, UnsafeXml) as exc:
        log.warning("form %s version %s: field policy unreadable (%s); village unknown",
                    form.xml_form_id, form_def.version, exc)
        return None
    return instance_village(policy, instance.root)


def village_clause(view: DataView) -> ColumnElement[bool]:
    """Submissions of the villages the caller reads, in SQL."""
    return view.villages.clause(Submission.village_code)


def require_visible(view: DataView, submission: Submission) -> Submission:
    """The submission, or 404 when it belongs to a village the caller does not read: another
    village's submission does not exist for it."""
    if not view.sees_village(submission.village_code):
        raise problems.not_found()
    return submission


def require_every_field(view: DataView) -> None:
    """Changing a submission (an edit, a file) needs the whole of it: a caller who sees it
    redacted would write back a copy without the answers hidden from it."""
    if not view.sees_every_field:
        raise problems.insufficient_rights()


def export_schema(session: Session, form: Form, form_def: FormDef, schema: FormSchema,
                  view: DataView) -> FormSchema:
    """The published version's field tree without the fields hidden from the caller."""
    if view.sees_every_field:
        return schema
    return schema.without(view.hidden_paths(form_policy(session, form, form_def)))


def visible_xml(session: Session, form: Form, version: SubmissionDef, view: DataView) -> bytes:
    """One version's XML: byte for byte as received for a caller who sees every field, else
    with the hidden fields absent."""
    raw = version.xml.encode("utf-8")
    if view.sees_every_field:
        return raw
    form_def = session.get_one(FormDef, version.form_def_id)
    return redacted_instance(raw, view.hidden_paths(form_policy(session, form, form_def)))


@dataclass(frozen=True)
class HiddenFiles:
    """Which attachment files a redacted caller may not have: those named only inside hidden
    fields, and the client audit log (Collect's audit can record every answer)."""

    hides_client_audit: bool
    hidden_binary_paths: frozenset[str]

    def hides(self, attachment: SubmissionAttachment, still_named: frozenset[str] | None
              ) -> bool:
        if attachment.is_client_audit:
            return self.hides_client_audit
        return still_named is not None and attachment.name not in still_named


def hidden_files(session: Session, form: Form, form_def: FormDef, view: DataView
                 ) -> HiddenFiles:
    if view.sees_every_field:
        return HiddenFiles(False, frozenset())
    hidden = view.hidden_paths(form_policy(session, form, form_def))
    binaries = frozenset(
        path for path in (relative_path(str(p)) for p in form_def.binary_paths or ())
        if any(is_inside(path, group) for group in hidden))
    return HiddenFiles(True, binaries)


def names_still_referenced(xml: str, hidden: Iterable[str]) -> frozenset[str]:
    """The file names the instance refers to once the hidden fields are taken out."""
    root = parse_xml(xml.encode("utf-8"))
    remove_hidden(root, hidden)
    return referenced_files(root)


def visible_attachments(session: Session, form: Form, version: SubmissionDef,
                        view: DataView) -> list[SubmissionAttachment]:
    """The version's expected files the caller may see, by name."""
    attachments = sorted(version.attachments, key=lambda a: a.name)
    if view.sees_every_field:
        return attachments
    form_def = session.get_one(FormDef, version.form_def_id)
    files = hidden_files(session, form, form_def, view)
    named = (names_still_referenced(version.xml, view.hidden_paths(
        form_policy(session, form, form_def))) if files.hidden_binary_paths else None)
    return [a for a in attachments if not files.hides(a, named)]
