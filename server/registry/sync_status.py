"""A submission's way into the registry as people see it, and putting a failed one back.

The sync (`server.registry.sync`) keeps its progress on each version (`sync_state`,
`sync_error`). People need fewer, plainer words: *waiting*, *synced*, *failed*, *not applied*
(a follow-up refused, `server.registry.followup`), or *not a registry form* — a form the sync
never reads, whose versions therefore stay ``pending`` for ever. A failure says why in one of
a few kinds a commune officer can act on (`FailureKind`), the technical line kept beside it.

Every count of "still waiting" goes through `waiting_clause` (`waiting_count`, `diemtua sync
status`): a version waits when it is ``pending`` *and* its form is one the sync reads — the very
rows the worker claims. A photo form's versions are never waiting, so the count reaches 0. The
column keeps ``pending`` for them rather than a stored "not a registry form": whether a form is
read by the registry is a fact of the code (`registry_forms`), not of the row, so when a later
release makes a form a registry form its stored submissions are synced at once, with no
migration to re-open them, and the pages show them as waiting meanwhile.

`retry_failed` puts failed versions back on the pending list; the worker (or
`diemtua sync run`) then syncs them like any new submission, in arrival order. The pages, the
CLI (`diemtua sync retry`) and tests call it alike; it audits who asked
(`registry.sync.retry`, README "Audit log").
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, false, func, select, true
from sqlalchemy.orm import Session

from server.models import Audit, Form, Submission, SubmissionDef
from server.registry.followup import FOLLOWUP_FORMS
from server.registry.sync import SyncState
from sync.mapping import FORM_MAPPINGS

RETRY_ACTION = "registry.sync.retry"


def registry_forms() -> frozenset[str]:
    """The form ids whose submissions the sync reads (the same list `sync_pending` claims)."""
    return frozenset({*FORM_MAPPINGS, *FOLLOWUP_FORMS})


def is_registry_form(xml_form_id: str) -> bool:
    return xml_form_id in registry_forms()


class SyncStatus(StrEnum):
    """A current version's state, as the pages and their filter name it."""

    WAITING = "waiting"
    SYNCED = "synced"
    FAILED = "failed"
    NOT_APPLIED = "not_applied"
    NOT_REGISTRY = "not_registry"


_FROM_STATE = {SyncState.PENDING: SyncStatus.WAITING, SyncState.DONE: SyncStatus.SYNCED,
               SyncState.FAILED: SyncStatus.FAILED,
               SyncState.NOT_APPLIED: SyncStatus.NOT_APPLIED,
               # Only an old version is superseded; a current one never is.
               SyncState.SUPERSEDED: SyncStatus.SYNCED}


def status_of(xml_form_id: str, sync_state: str) -> SyncStatus:
    if not is_registry_form(xml_form_id):
        return SyncStatus.NOT_REGISTRY
    return _FROM_STATE.get(sync_state, SyncStatus.WAITING)


def status_clause(form: Form, status: SyncStatus) -> ColumnElement[bool]:
    """`status_of(...) == status` in SQL, for the current versions of one form."""
    if status is SyncStatus.NOT_REGISTRY:
        return false() if is_registry_form(form.xml_form_id) else true()
    if not is_registry_form(form.xml_form_id):
        return false()
    states = [state for state, shown in _FROM_STATE.items() if shown is status]
    return SubmissionDef.sync_state.in_(states)


def waiting_clause() -> ColumnElement[bool]:
    """Versions waiting for the sync, in SQL over `SubmissionDef` joined with `Form`: pending,
    of a form the sync reads (what `server.registry.sync` claims)."""
    return and_(SubmissionDef.sync_state == SyncState.PENDING,
                Form.xml_form_id.in_(sorted(registry_forms())))


def waiting_count(session: Session, project_id: int | None = None) -> int:
    """How many submission versions the sync has still to read (of one project, or all)."""
    query = (select(func.count()).select_from(SubmissionDef)
             .join(Form, Form.id == SubmissionDef.form_id).where(waiting_clause()))
    if project_id is not None:
        query = query.where(Form.project_id == project_id)
    return session.scalar(query) or 0


class FailureKind(StrEnum):
    """Why a sync failed, in terms of what to do about it."""

    UNREADABLE = "unreadable"  # the stored XML cannot be read: retrying will not help
    DATABASE = "database"  # busy, locked or unreachable database: retrying usually works
    DATA = "data"  # an answer the registry did not expect: needs a fix, then a retry
    UNKNOWN = "unknown"


_KINDS: dict[str, FailureKind] = {
    **dict.fromkeys(("ParseError", "UnsafeXml", "XMLSyntaxError", "ExpatError"),
                    FailureKind.UNREADABLE),
    **dict.fromkeys(("OperationalError", "InterfaceError", "DatabaseError", "DBAPIError",
                     "IntegrityError", "TimeoutError", "ConnectionError",
                     "DisconnectionError", "StorageError"), FailureKind.DATABASE),
    **dict.fromkeys(("ValueError", "KeyError", "TypeError", "IndexError", "AttributeError",
                     "UnknownCategory", "CategoryError"), FailureKind.DATA),
}


def failure_kind(sync_error: str | None) -> FailureKind:
    """The kind of a stored failure (`server.registry.sync` writes "TypeName: message")."""
    name = (sync_error or "").split(":", 1)[0].strip().rsplit(".", 1)[-1]
    return _KINDS.get(name, FailureKind.UNKNOWN)


def failed_versions(session: Session, project_id: int | None = None) -> list[SubmissionDef]:
    """Current versions whose sync failed, oldest first (of one project, or all)."""
    query = (select(SubmissionDef).join(Submission, Submission.id == SubmissionDef.submission_id)
             .where(SubmissionDef.sync_state == SyncState.FAILED,
                    SubmissionDef.current.is_(True), Submission.deleted_at.is_(None))
             .order_by(SubmissionDef.id))
    if project_id is not None:
        query = query.join(Form, Form.id == SubmissionDef.form_id).where(
            Form.project_id == project_id)
    return list(session.scalars(query))


def retry_failed(session: Session, version_ids: Sequence[int], *, actor_id: int | None,
                 via: str, **extra: object) -> list[int]:
    """Put the named versions whose sync failed back on the pending list, with one audit row
    naming them (and `extra` details); → the ids put back (a version not failed, or gone, is
    left as it is)."""
    versions = list(session.scalars(select(SubmissionDef).where(
        and_(SubmissionDef.id.in_(sorted(set(version_ids))),
             SubmissionDef.sync_state == SyncState.FAILED)).order_by(SubmissionDef.id)))
    for version in versions:
        version.sync_state, version.sync_error = SyncState.PENDING, None
    retried = [version.id for version in versions]
    if not retried:
        return retried
    submissions = {version.submission_id for version in versions}
    projects = set(session.scalars(select(Form.project_id).where(
        Form.id.in_({version.form_id for version in versions}))))
    details: dict[str, object] = {"submissionDefIds": retried, "via": via, **extra}
    if len(projects) == 1:
        details["projectId"] = projects.pop()
    session.add(Audit(actor_id=actor_id, action=RETRY_ACTION,
                      actee=f"submission:{submissions.pop()}" if len(submissions) == 1
                      else None, details=details))
    session.flush()
    return retried
