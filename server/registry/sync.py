"""The registry sync: pending household submissions → child records → registry children.

Runs off the request path (a phone never waits for matching) from the durable
``submission_defs.sync_state`` column: a version is ``pending`` until its records, keys, edges
and queue rows are committed together with ``done``, so a crash loses nothing and a rerun skips
what is done. A version that cannot be synced is marked ``failed`` with the error in
``sync_error`` and the others go on. A follow-up the registry refuses to apply (a child outside
the submitter's villages, `server.registry.followup`) is marked ``not_applied`` with the reason
in ``sync_error``: stored as sent, shown to the officer as a flag, never retried. Submissions
are matched one at a time, in arrival order, so each one sees every earlier child of its
project.

Several submissions of one project share one transaction (`GROUP_SIZE`, `GROUP_SECONDS`): a
commit waits for the disk, and would otherwise cost more than the sync itself. The group's
household visits are read first (plain Python: a visit that cannot be read is marked
``failed`` before anything is written), then stored and placed together as one *held batch*
(`place_held`, the path an import's batch of rows takes): one statement for their records, one
query for all their blocking keys, one reservation of child numbers, their children, keys,
memberships and edges written together, and the categories and views of the existing children
they link to worked out once at the end. Each visit is still matched in arrival order and sees
every visit before it. A follow-up first places the visits read before it, then is applied in a
savepoint of its own. If a batch fails in the database it is rolled back to its savepoint and
each of its submissions is synced again in a savepoint of its own, so only the one at fault is
marked ``failed``; if the group's transaction itself fails (its connection, its commit),
nothing of it is stored and its submissions are synced again one transaction each.

Outcomes (docs/matching.md §3–5): an automatic link adds a ``link`` edge and puts the record into
the linked child; a record for review becomes a new child of its own *and* opens review-queue
rows naming the candidate children (a reviewer's "same" later merges, keeping the oldest id); a
new record becomes a new child.

Edits: a new version of a submission is synced as its own records (``<new instanceID>#n``); they
match the earlier version's records like any re-report (normally an automatic link). The earlier
version's records stay — source rows are never deleted — and their links stand. A version that is
no longer current when its turn comes is marked ``superseded`` and not synced at all.

Runs may go side by side: PostgreSQL rows are claimed with SKIP LOCKED, so nothing is synced
twice, and a project is synced by one run at a time (`ProjectLocks`), so no two runs each match
a child of one commune without seeing the other's; two runs share a province's communes.

A submission synced alone (the fallback) costs a fixed handful of statements, whatever its
number of children: its forms' project is remembered for the pass, a household's keys are
looked up in one query and its keys and memberships written in one statement each, and a new
child's view is computed from the records in hand instead of being read back. A held batch
costs a handful for the whole group (README "Benchmarks").
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element

from sqlalchemy import select, text
from sqlalchemy.orm import Session, selectinload

from server.db import insert_objects, utcnow
from server.models import (
    ChildRecord,
    Form,
    Project,
    SubmissionDef,
)
from server.models.registry import RecordSource
from server.registry.categories import (
    derive_from_instance,
)
from server.registry.followup import FOLLOWUP_FORMS, apply_followup
from server.registry.followup_scope import NotApplied
from server.registry.placement import (
    ProjectMatcher,
    SyncSummary,
    place_held,
    place_records,
    prepare_visit,
    project_matcher,
)
from sync.doubtful import submission_doubts
from sync.instance import parse_instance
from sync.mapping import FORM_MAPPINGS, MappedHousehold, map_instance
from sync.matching import ChildRecord as MatchInput
from sync.matching import (
    MatchModel,
)

log = logging.getLogger(__name__)

# At most this many submissions, or this long, in one transaction: it holds SQLite's write lock
# (a phone's submission waits for it) and on PostgreSQL delays what others see of the registry.
GROUP_SIZE = 50
GROUP_SECONDS = 0.25


class SyncState:
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"
    SUPERSEDED = "superseded"
    NOT_APPLIED = "not_applied"



@dataclass(frozen=True)
class FormInfo:
    """What the sync needs of a submission's form, read once per pass."""

    xml_form_id: str
    project_id: int
    commune_code: str


def _pending_ids(session: Session, after: int, batch: int) -> list[tuple[int, int]]:
    """The next pending versions after ``after``, oldest first, with their project."""
    return [(def_id, project_id) for def_id, project_id in session.execute(
        select(SubmissionDef.id, Form.project_id).join(Form, Form.id == SubmissionDef.form_id)
        .where(SubmissionDef.sync_state == SyncState.PENDING, SubmissionDef.id > after,
               Form.xml_form_id.in_([*FORM_MAPPINGS, *FOLLOWUP_FORMS]))
        .order_by(SubmissionDef.id).limit(batch))]


def _one_project(pending: list[tuple[int, int]], room: int) -> list[int]:
    """The next group: up to ``room`` of the oldest pending project's versions, oldest first.
    A group's transaction then holds one commune's lock (`ProjectLocks`), and another run
    syncs the other communes meanwhile."""
    project = pending[0][1]
    return [def_id for def_id, of in pending if of == project][:room]


def _form_info(session: Session, form_id: int, forms: dict[int, FormInfo]) -> FormInfo:
    info = forms.get(form_id)
    if info is None:
        form = session.get_one(Form, form_id)
        project = session.get_one(Project, form.project_id)
        info = forms[form_id] = FormInfo(form.xml_form_id, project.id,
                                         project.commune_code or "")
    return info


def _record_columns(version: SubmissionDef, project_id: int, mapped: MappedHousehold,
                    root: Element) -> list[dict[str, Any]]:
    """The columns of a submission's `ChildRecord` rows, one per child (stored by
    `_store_visits`)."""
    # The categories each child's answers point to, kept with its record (docs/screening.md §7).
    derived = derive_from_instance(root, version.created_at.date())
    columns = []
    for index, child in enumerate(mapped.children):
        r = child.record
        columns.append({
            "project_id": project_id, "source": RecordSource.SUBMISSION.value,
            "submission_def_id": version.id, "source_key": r.record_id,
            "household_key": version.submission.instance_id, "reported_at": version.created_at,
            "full_name": r.full_name,
            "sex": r.sex.value, "dob": r.dob.iso() if r.dob else None,
            "dob_precision": r.dob.precision.value if r.dob else None,
            "dob_estimated": bool(r.dob and r.dob.estimated), "village_code": r.village,
            "commune_code": r.commune, "household_id": r.household_id,
            "household_head": r.household_head, "mother_name": r.mother_name,
            "father_name": r.father_name, "guardian_name": r.guardian_name,
            "personal_id": r.personal_id, "home_name": r.home_name,
            # Kept but no identity evidence (`candidates.with_record_id` blanks them).
            "doubtful": submission_doubts(child.answers, r, version.created_at),
            "raw": {**child.answers, "household": mapped.household},
            "derived_categories": derived[index] if index < len(derived) else [],
            "created_at": utcnow()})
    return columns


@dataclass
class ReadVisit:
    """A household submission read and mapped, its records not stored yet."""

    version: SubmissionDef
    mapped: MappedHousehold
    columns: list[dict[str, Any]]

    @property
    def inputs(self) -> list[MatchInput]:
        return [child.record for child in self.mapped.children]

    @property
    def wanted_ids(self) -> list[str]:
        """The phone's own entity id of each child (`new_child`), or ""."""
        return [child.answers.get("entity_id", "") for child in self.mapped.children]


def read_visit(version: SubmissionDef, form: FormInfo) -> ReadVisit:
    """Parse and map a household submission: plain Python, nothing written, so a submission
    that cannot be read fails before its group writes anything."""
    instance = parse_instance(version.xml.encode("utf-8"), accepted=True)
    mapped = map_instance(instance.root, version.instance_id, commune=form.commune_code)
    return ReadVisit(version, mapped,
                     _record_columns(version, form.project_id, mapped, instance.root))


def _store_visits(session: Session, visits: Sequence[ReadVisit]) -> list[list[ChildRecord]]:
    """The visits' records, inserted in one statement (`server.db.insert_objects`), by visit."""
    stored = iter(insert_objects(session, ChildRecord,
                                 [columns for visit in visits for columns in visit.columns]))
    return [[next(stored) for _ in visit.columns] for visit in visits]


def _sync_one(session: Session, version: SubmissionDef, form: FormInfo,
              matchers: dict[int, ProjectMatcher], model: MatchModel,
              summary: SyncSummary) -> None:
    """Sync one submission by itself (a group's fallback, `_sync_in_savepoint`)."""
    if form.xml_form_id in FOLLOWUP_FORMS:
        refused = apply_followup(session, version, form.project_id)
        if refused is not None:
            summary.not_applied = 1
            summary.not_applied_reasons.append(
                f"submission version {version.id}: {refused.reason}")
        _mark_synced(version, refused)
        return
    visit = read_visit(version, form)
    rows = _store_visits(session, [visit])[0]
    pm = project_matcher(session, form.project_id, matchers, model)
    place_records(session, pm, rows, visit.inputs, summary, visit.wanted_ids)
    _mark_synced(version, None)


def _mark_synced(version: SubmissionDef, refused: NotApplied | None) -> None:
    """`done`, or `not_applied` with the reason: either way the version leaves the list."""
    if refused is None:
        version.sync_state, version.sync_error = SyncState.DONE, None
    else:
        version.sync_state = SyncState.NOT_APPLIED
        version.sync_error = refused.reason[:4000]


@dataclass
class _Run:
    """One `sync_pending` call: its caches (kept across transactions) and its summary."""

    session_factory: Callable[[], Session]
    model: MatchModel
    summary: SyncSummary = field(default_factory=SyncSummary)
    matchers: dict[int, ProjectMatcher] = field(default_factory=dict)
    forms: dict[int, FormInfo] = field(default_factory=dict)
    projects: ProjectLocks = field(default_factory=lambda: ProjectLocks())


# pg_try_advisory_xact_lock(PROJECT_LOCK_CLASS, project id): one run syncs a project at a time.
PROJECT_LOCK_CLASS = 0x5D1E7A


@dataclass
class ProjectLocks:
    """The projects (communes) a run may sync now, so several runs share the work on PostgreSQL.

    A submission is matched against every child of its project and nothing else, so two runs
    are safe side by side as long as they never sync one project at the same time: a run takes
    the project's transaction-level advisory lock before syncing its first submission in a
    transaction, and skips a project another run holds for the rest of its pass (the holder
    syncs that project's submissions, in arrival order). SQLite serialises writers anyway.
    """

    held: set[int] = field(default_factory=set)
    busy: set[int] = field(default_factory=set)

    def may_sync(self, session: Session, project_id: int) -> bool:
        if project_id in self.held:
            return True
        if project_id in self.busy:
            return False
        if session.get_bind().dialect.name == "postgresql" and not session.scalar(
                text("SELECT pg_try_advisory_xact_lock(:kind, :project)"),
                {"kind": PROJECT_LOCK_CLASS, "project": project_id}):
            self.busy.add(project_id)
            return False
        self.held.add(project_id)
        return True

    def transaction_ended(self) -> None:
        self.held.clear()


def wait_for_project(session: Session, project_id: int) -> None:
    """Take the project's sync lock (`ProjectLocks`) for this transaction, waiting for the run
    that holds it: an import's batch and a sync never place children of one commune at once."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:kind, :project)"),
                        {"kind": PROJECT_LOCK_CLASS, "project": project_id})


def sync_pending(session_factory: Callable[[], Session], *, limit: int | None = None,
                 model: MatchModel | None = None, batch: int = 200) -> SyncSummary:
    """Sync up to ``limit`` pending versions (all when None), oldest first."""
    run = _Run(session_factory, model or MatchModel.load())
    last = 0
    while limit is None or run.summary.attempted < limit:
        with session_factory() as session:
            pending = _pending_ids(session, last, batch)
        if not pending:
            break
        last = pending[-1][0]
        while pending and (limit is None or run.summary.attempted < limit):
            room = GROUP_SIZE if limit is None else min(GROUP_SIZE,
                                                        limit - run.summary.attempted)
            group = _one_project(pending, room)
            done = set(group[:_sync_group(run, group)])
            pending = [item for item in pending if item[0] not in done]
    return run.summary


def _claim(session: Session, ids: Sequence[int]) -> dict[int, SubmissionDef]:
    """Lock the group's versions that no other run holds (PostgreSQL skips locked rows).

    Their submissions come by a second lookup on their primary keys: joined to the versions,
    PostgreSQL without statistics for a table that grew meanwhile hashed every submission
    for each group."""
    return {version.id: version for version in session.scalars(
        select(SubmissionDef).where(SubmissionDef.id.in_(ids))
        .options(selectinload(SubmissionDef.submission))
        .with_for_update(of=SubmissionDef, skip_locked=True))}


def _sync_group(run: _Run, ids: Sequence[int]) -> int:
    """Sync the first versions of ``ids`` in one transaction; returns how many it took.

    Household submissions are read first and placed together as one held batch
    (`_place_visits`); a follow-up first places the visits read before it, then is applied
    in a savepoint of its own, so it sees every visit that arrived before it."""
    group = SyncSummary()  # counted only once the group's transaction commits
    started, taken = time.monotonic(), 0
    try:
        with run.session_factory() as session, session.begin():
            versions = _claim(session, ids)
            visits: list[ReadVisit] = []
            for def_id in ids:
                taken += 1
                version = versions.get(def_id)
                if version is not None and version.sync_state == SyncState.PENDING:
                    form = _form_info(session, version.form_id, run.forms)
                    if run.projects.may_sync(session, form.project_id):
                        _take(session, version, form, run, group, visits)
                if time.monotonic() - started >= GROUP_SECONDS:
                    break
            _place_visits(session, run, visits, group)
    except Exception:  # the transaction is gone: retry its submissions one by one
        log.warning("registry sync group of %s submissions failed; retrying one at a time",
                    taken, exc_info=True)
        run.matchers.clear()  # they hold records of the rolled-back transaction
        taken = max(taken, 1)  # always move on (or raise: the database is gone)
        run.projects.transaction_ended()
        for def_id in ids[:taken]:
            _claim_and_sync(run.session_factory, def_id, run.forms, run.matchers, run.model,
                            run.summary, run.projects)
            run.projects.transaction_ended()
        return taken
    finally:
        run.projects.transaction_ended()
    run.summary.add(group)
    return taken


def _take(session: Session, version: SubmissionDef, form: FormInfo, run: _Run,
          group: SyncSummary, visits: list[ReadVisit]) -> None:
    """One claimed version of a group: superseded, applied (a follow-up), failed (a household
    submission that cannot be read) or read and added to ``visits`` for the group's batch."""
    if not version.current:
        version.sync_state = SyncState.SUPERSEDED
        group.superseded += 1
    elif form.xml_form_id in FOLLOWUP_FORMS:
        _place_visits(session, run, visits, group)
        visits.clear()
        _sync_in_savepoint(session, version, run, group)
    else:
        try:
            visits.append(read_visit(version, form))
        except Exception as exc:  # nothing was written for it
            _mark_failed(version, exc, group)


def _place_visits(session: Session, run: _Run, visits: Sequence[ReadVisit],
                  group: SyncSummary) -> None:
    """Store and place a group's household submissions as one held batch (`place_held`), in a
    savepoint: if the batch fails in the database, it is rolled back and each submission is
    synced again in a savepoint of its own, so only the one at fault is marked failed."""
    if not visits:
        return
    part = SyncSummary()
    pm = project_matcher(session, run.forms[visits[0].version.form_id].project_id,
                         run.matchers, run.model)
    try:
        with session.begin_nested():
            stored = _store_visits(session, visits)
            place_held(session, pm, [prepare_visit(rows, visit.inputs, visit.wanted_ids)
                                     for visit, rows in zip(visits, stored, strict=True)], part)
    except Exception:
        log.warning("registry sync batch of %s submissions failed; syncing each alone",
                    len(visits), exc_info=True)
        run.matchers.clear()  # cached records of the rolled-back savepoint (ids are reused)
        for visit in visits:
            _sync_in_savepoint(session, visit.version, run, group)
        return
    for visit in visits:
        _mark_synced(visit.version, None)
    part.submissions = len(visits)
    group.add(part)


def _sync_in_savepoint(session: Session, version: SubmissionDef, run: _Run,
                       group: SyncSummary) -> None:
    part = SyncSummary()
    try:
        with session.begin_nested():
            _sync_one(session, version, _form_info(session, version.form_id, run.forms),
                      run.matchers, run.model, part)
    except Exception as exc:  # one bad submission must not stop the others
        run.matchers.clear()  # cached records of the rolled-back savepoint (ids are reused)
        _mark_failed(version, exc, group)
        return
    part.submissions = 0 if part.not_applied else 1
    group.add(part)


def _mark_failed(version: SubmissionDef, exc: Exception, summary: SyncSummary) -> None:
    message = f"{type(exc).__name__}: {exc}"
    version.sync_state, version.sync_error = SyncState.FAILED, message[:4000]
    summary.failed += 1
    summary.errors.append(f"submission version {version.id}: {message}")
    log.warning("registry sync of submission version %s failed", version.id, exc_info=exc)


def _claim_and_sync(session_factory: Callable[[], Session], def_id: int,
                    forms: dict[int, FormInfo], matchers: dict[int, ProjectMatcher],
                    model: MatchModel, summary: SyncSummary,
                    projects: ProjectLocks | None = None) -> None:
    """Sync one version in a transaction of its own (a group's retry after it failed)."""
    part = SyncSummary()  # counted only once the submission's transaction commits
    projects = projects or ProjectLocks()
    try:
        with session_factory() as session, session.begin():
            version = _claim(session, [def_id]).get(def_id)
            if version is None or version.sync_state != SyncState.PENDING:
                return
            if not projects.may_sync(session, _form_info(session, version.form_id,
                                                         forms).project_id):
                return
            if not version.current:
                version.sync_state = SyncState.SUPERSEDED
                summary.superseded += 1
                return
            _sync_one(session, version, _form_info(session, version.form_id, forms),
                      matchers, model, part)
        part.submissions = 0 if part.not_applied else 1
        summary.add(part)
    except Exception as exc:  # one bad submission must not stop the others
        # Cached records of the rolled-back transaction must not outlive it (ids are reused).
        matchers.clear()
        with session_factory() as session, session.begin():
            _mark_failed(session.get_one(SubmissionDef, def_id), exc, summary)
