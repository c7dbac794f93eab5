"""Who may see and change a commune's forms, and what the form lists show of them: the rules
the management API (`server.api.v1.forms`, `form_drafts`) and the forms page (`/ui/p/<id>/forms`)
both apply, so the two surfaces can never disagree.

Reading a form follows Central's `canReadForm`: a form never published needs `form.update`, a
closed one `form.read`, an open one either `form.read` or `open_form.read`. Changing a form, its
draft, its media or its state needs `form.update` on the commune; no village limit applies, since
a form is the whole commune's (docs/access.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server import problems
from server.auth import permissions
from server.auth.principal import Principal
from server.models import Blob, Form, FormAttachment, FormDef, FormState, Submission
from server.operations.forms import get_form, used_versions
from server.operations.projects import get_project

# Central refuses these ids: their URLs would collide with the download routes.
_RESERVED_ID = re.compile(r"\.(xlsx?|xml)$")


def check_form_id(form: Form) -> None:
    if _RESERVED_ID.search(form.xml_form_id):
        raise problems.unexpected_value(
            "formId", "The Form ID cannot end in .xls, .xlsx, or .xml. Please either specify "
            "an allowed ID in the form itself, or rename the file.")


def may_list_forms(who: Principal, project_id: int) -> bool:
    """Central's form list: `form.list` (managers, viewers) or `open_form.list` (collectors)."""
    return (permissions.can(who, "form.list", project_id)
            or permissions.can(who, "open_form.list", project_id))


def listable(who: Principal, form: Form) -> bool:
    """Drafts only for those who may edit them; closed forms not for data collectors."""
    if permissions.can(who, "form.update", form.project_id):
        return True
    if form.current_def_id is None:
        return False
    if permissions.can(who, "form.list", form.project_id):
        return True
    return form.state != FormState.CLOSED.value


def require_read(session: Session, who: Principal, form: Form,
                 form_def: FormDef | None) -> None:
    """Central's canReadForm (see the module docstring)."""
    if form_def is None or form_def.published_at is None:
        permissions.require_on_form(session, who, "form.update", form)
    elif form.state == FormState.CLOSED.value:
        permissions.require_on_form(session, who, "form.read", form)
    elif not permissions.can_on_form(session, who, "open_form.read", form):
        permissions.require_on_form(session, who, "form.read", form)


def managed_form(session: Session, who: Principal, project_id: int, xml_form_id: str,
                 verb: str) -> Form:
    """The form once the caller may `verb` on it (404 for a missing project or form)."""
    get_project(session, project_id)
    permissions.require(who, "project.read", project_id)
    form = get_form(session, project_id, xml_form_id)
    permissions.require_on_form(session, who, verb, form)
    return form


def readable_form(session: Session, who: Principal, project_id: int, xml_form_id: str) -> Form:
    """The form with the version Central shows (published, else draft), once readable."""
    get_project(session, project_id)
    permissions.require(who, "project.read", project_id)
    form = get_form(session, project_id, xml_form_id)
    require_read(session, who, form, form.current_def or form.draft_def)
    return form


def project_forms(session: Session, who: Principal, project_id: int) -> list[Form]:
    """The commune's forms this caller's form list shows, by form id."""
    forms = session.scalars(select(Form).where(Form.project_id == project_id,
                                               Form.deleted_at.is_(None))
                            .order_by(Form.xml_form_id))
    return [form for form in forms if listable(who, form)]


@dataclass(frozen=True)
class SubmissionSummary:
    """Central's extended form figures: submissions by review state, and the latest one."""

    total: int
    received: int
    has_issues: int
    edited: int
    last: datetime | None


def submission_summary(session: Session, form: Form) -> SubmissionSummary:
    rows = session.execute(select(Submission.review_state, func.count(Submission.id),
                                  func.max(Submission.created_at))
                           .where(Submission.form_id == form.id,
                                  Submission.deleted_at.is_(None))
                           .group_by(Submission.review_state)).all()
    counts = {state: count for state, count, _last in rows}
    last = max((moment for _state, _count, moment in rows if moment is not None), default=None)
    return SubmissionSummary(total=sum(counts.values()), received=counts.get(None, 0),
                             has_issues=counts.get("hasIssues", 0),
                             edited=counts.get("edited", 0), last=last)


def attachment_hashes(session: Session, form_def: FormDef) -> list[tuple[FormAttachment,
                                                                         str | None]]:
    """The media files a version expects, each with the MD5 of its uploaded file (None: no file
    uploaded)."""
    blob_ids = [a.blob_id for a in form_def.attachments if a.blob_id is not None]
    md5s: dict[int, str] = dict(session.execute(
        select(Blob.id, Blob.md5).where(Blob.id.in_(blob_ids))).all()) if blob_ids else {}
    return [(attachment, md5s.get(attachment.blob_id) if attachment.blob_id else None)
            for attachment in form_def.attachments]


def suggested_version(session: Session, form: Form, today: date) -> str:
    """A version string to publish the draft under: the draft's own when never published
    before, else the next free `yyyymmddNN` of `today` (the project's own forms' scheme,
    xlsforms/README.md "Editing a form") — phones take a form only when its version changed."""
    used = used_versions(session, form)
    draft = form.draft_def
    if draft is not None and draft.version and draft.version not in used:
        return draft.version
    for number in range(1, 100):
        candidate = f"{today:%Y%m%d}{number:02d}"
        if candidate not in used:
            return candidate
    return f"{today:%Y%m%d}{len(used) + 1}"
