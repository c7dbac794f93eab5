"""The registry sync: pending household submissions → child records → registry children.

Runs off the request path (a phone never waits for matching) from the durable
``submission_defs.sync_state`` column: a version is ``pending`` until its records, keys, edges
and queue rows are committed together with ``done`` in one transaction, so a crash loses nothing
and a rerun skips what is done. A version that cannot be synced is marked ``failed`` with the
error in ``sync_error`` and the others go on. Submissions are matched one at a time, in arrival
order, so each one sees every earlier child of its project.

Outcomes (matching.md §5.3–5.5): an automatic link adds a ``link`` edge and puts the record into
the linked child; a record for review becomes a new child of its own *and* opens review-queue
rows naming the candidate children (a reviewer's "same" later merges, keeping the oldest id); a
new record becomes a new child.

Edits: a new version of a submission is synced as its own records (``<new instanceID>#n``); they
match the earlier version's records like any re-report (normally an automatic link). The earlier
version's records stay — source rows are never deleted — and their links stand. A version that is
no longer current when its turn comes is marked ``superseded`` and not synced at all.

Run one sync at a time per database: two concurrent runs could each match a submission without
seeing the other's (PostgreSQL rows are claimed with SKIP LOCKED, so nothing is synced twice).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.db import utcnow
from server.models import (
    Child,
    ChildRecord,
    Form,
    LinkEdge,
    MatchCandidate,
    Project,
    SubmissionDef,
)
from server.models.registry import EdgeKind, EdgeSource, RecordSource
from server.registry.candidates import DatabaseRegistry, with_record_id
from server.registry.categories import apply_record_categories, derive_from_instance
from server.registry.followup import FOLLOWUP_FORMS, apply_followup
from server.registry.view import refresh_child
from sync.instance import parse_instance
from sync.mapping import FORM_MAPPINGS, MappedHousehold, map_instance
from sync.matching import Band, Decision, Matcher, MatchModel, prepare
from sync.matching import ChildRecord as MatchInput

log = logging.getLogger(__name__)


class SyncState:
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"
    SUPERSEDED = "superseded"


@dataclass
class SyncSummary:
    submissions: int = 0
    failed: int = 0
    superseded: int = 0
    records: int = 0
    linked: int = 0
    queued: int = 0
    new: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def attempted(self) -> int:
        """Versions taken off the pending list (what ``--limit`` counts)."""
        return self.submissions + self.failed + self.superseded


@dataclass
class ProjectMatcher:
    """One project's registry and matcher, kept across submissions for its record cache."""

    registry: DatabaseRegistry
    matcher: Matcher


def _pending_ids(session: Session, after: int, batch: int) -> list[int]:
    return list(session.scalars(
        select(SubmissionDef.id).join(Form, Form.id == SubmissionDef.form_id)
        .where(SubmissionDef.sync_state == SyncState.PENDING, SubmissionDef.id > after,
               Form.xml_form_id.in_([*FORM_MAPPINGS, *FOLLOWUP_FORMS]))
        .order_by(SubmissionDef.id).limit(batch)))


def _store_records(session: Session, version: SubmissionDef, project_id: int,
                   mapped: MappedHousehold, root: Element) -> list[ChildRecord]:
    rows = []
    # The categories each child's answers point to, kept with its record (issue 3 §3).
    derived = derive_from_instance(root, version.created_at.date())
    for index, child in enumerate(mapped.children):
        r = child.record
        rows.append(ChildRecord(
            project_id=project_id, source=RecordSource.SUBMISSION.value,
            submission_def_id=version.id, source_key=r.record_id,
            household_key=version.submission.instance_id, reported_at=version.created_at,
            full_name=r.full_name,
            sex=r.sex.value, dob=r.dob.iso() if r.dob else None,
            dob_precision=r.dob.precision.value if r.dob else None,
            dob_estimated=bool(r.dob and r.dob.estimated), village_code=r.village,
            commune_code=r.commune, household_id=r.household_id,
            household_head=r.household_head, mother_name=r.mother_name,
            father_name=r.father_name, guardian_name=r.guardian_name,
            personal_id=r.personal_id, raw={**child.answers, "household": mapped.household},
            derived_categories=derived[index] if index < len(derived) else []))
    session.add_all(rows)
    session.flush()
    return rows


def new_child(session: Session, project_id: int, wanted_id: str = "") -> str:
    """A new registry child. A phone's own entity id (``meta/entity/@id``) is kept when it is a
    fresh UUID, so the entity the phone created offline is the same one it downloads later."""
    child_id = _usable_uuid(wanted_id)
    if child_id is None or session.get(Child, child_id) is not None:
        child_id = str(uuid.uuid4())
    # Version 0 until `refresh_child` fills the view: the entity's first version is then 1.
    session.add(Child(id=child_id, project_id=project_id, version=0))
    return child_id


def _usable_uuid(text: str) -> str | None:
    text = text.strip().removeprefix("uuid:")
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return None


@dataclass
class Placement:
    """Where a stored record went: its child, and how the matcher decided."""

    row: ChildRecord
    child_id: str
    band: Band


def _apply(session: Session, project_id: int, row: ChildRecord, decision: Decision,
           summary: SyncSummary, wanted_id: str) -> str:
    """Store one decision; returns the child the record now belongs to."""
    if decision.band is Band.AUTO_LINK and decision.child_id and decision.explanation:
        explanation = decision.explanation
        session.add(LinkEdge(
            record_a=int(explanation.other_record_id), record_b=row.id,
            kind=EdgeKind.LINK.value, source=EdgeSource.AUTO.value, score=explanation.total,
            model_version=decision.model_version,
            explanation={**explanation.as_dict(), "reasons": list(decision.reasons)}))
        summary.linked += 1
        return decision.child_id
    child_id = new_child(session, project_id, wanted_id)
    if decision.band is Band.REVIEW:
        for candidate in decision.candidates:
            session.add(MatchCandidate(
                record_id=row.id, child_id=candidate.child_id, score=candidate.score,
                reasons=list(decision.reasons), explanation=candidate.explanation.as_dict()))
        summary.queued += 1
    else:
        summary.new += 1
    return child_id


def place_records(session: Session, pm: ProjectMatcher, rows: Sequence[ChildRecord],
                  inputs: Sequence[MatchInput], summary: SyncSummary,
                  wanted_ids: Sequence[str] = ()) -> list[Placement]:
    """Match one household's stored records against the registry and place each in a child.

    The one path from a stored record to the registry, for phone submissions and imported
    lists alike: match (rows of one household are never one child), write edges and queue
    rows, index the records, then recompute every touched child's view.
    """
    pm.registry.session = session
    pm.registry.fresh = {row.id for row in rows}
    records = [prepare(with_record_id(record, row))
               for record, row in zip(inputs, rows, strict=True)]
    decisions = pm.matcher.match_submission(records)
    wanted = list(wanted_ids) + [""] * (len(rows) - len(wanted_ids))
    placements = []
    for record, row, decision, wanted_id in zip(records, rows, decisions, wanted, strict=True):
        child_id = _apply(session, pm.registry.project_id, row, decision, summary, wanted_id)
        pm.registry.add(record, child_id, decision.keys)
        placements.append(Placement(row, child_id, decision.band))
    session.flush()  # children before the memberships and keys that refer to them
    now = utcnow()
    for child_id in dict.fromkeys(p.child_id for p in placements):
        apply_record_categories(session, child_id,
                                [p.row for p in placements if p.child_id == child_id], now)
        refresh_child(session, child_id)
    summary.records += len(rows)
    return placements


def project_matcher(session: Session, project_id: int, matchers: dict[int, ProjectMatcher],
                    model: MatchModel) -> ProjectMatcher:
    pm = matchers.get(project_id)
    if pm is None:
        registry = DatabaseRegistry(session, project_id)
        pm = matchers[project_id] = ProjectMatcher(registry, Matcher(registry, model))
    return pm


def _sync_one(session: Session, version: SubmissionDef, matchers: dict[int, ProjectMatcher],
              model: MatchModel, summary: SyncSummary) -> None:
    form = session.get_one(Form, version.form_id)
    project = session.get_one(Project, form.project_id)
    if form.xml_form_id in FOLLOWUP_FORMS:
        apply_followup(session, version, project.id)
        return
    instance = parse_instance(version.xml.encode("utf-8"))
    mapped = map_instance(instance.root, version.instance_id, commune=project.commune_code or "")
    rows = _store_records(session, version, project.id, mapped, instance.root)
    pm = project_matcher(session, project.id, matchers, model)
    place_records(session, pm, rows, [child.record for child in mapped.children], summary,
                  [child.answers.get("entity_id", "") for child in mapped.children])


def sync_pending(session_factory: Callable[[], Session], *, limit: int | None = None,
                 model: MatchModel | None = None, batch: int = 200) -> SyncSummary:
    """Sync up to ``limit`` pending versions (all when None), each in its own transaction."""
    model = model or MatchModel.load()
    summary = SyncSummary()
    matchers: dict[int, ProjectMatcher] = {}
    last = 0
    while limit is None or summary.attempted < limit:
        with session_factory() as session:
            ids = _pending_ids(session, last, batch)
        if not ids:
            break
        for def_id in ids:
            if limit is not None and summary.attempted >= limit:
                break
            last = def_id
            _claim_and_sync(session_factory, def_id, matchers, model, summary)
    return summary


def _claim_and_sync(session_factory: Callable[[], Session], def_id: int,
                    matchers: dict[int, ProjectMatcher], model: MatchModel,
                    summary: SyncSummary) -> None:
    part = SyncSummary()  # counted only once the submission's transaction commits
    try:
        with session_factory() as session, session.begin():
            version = session.scalar(select(SubmissionDef).where(SubmissionDef.id == def_id)
                                     .with_for_update(skip_locked=True))
            if version is None or version.sync_state != SyncState.PENDING:
                return
            if not version.current:
                version.sync_state = SyncState.SUPERSEDED
                summary.superseded += 1
                return
            _sync_one(session, version, matchers, model, part)
            version.sync_state, version.sync_error = SyncState.DONE, None
        summary.submissions += 1
        summary.records += part.records
        summary.linked += part.linked
        summary.queued += part.queued
        summary.new += part.new
    except Exception as exc:  # one bad submission must not stop the others
        # Cached records of the rolled-back transaction must not outlive it (ids are reused).
        matchers.clear()
        message = f"{type(exc).__name__}: {exc}"
        with session_factory() as session, session.begin():
            version = session.get_one(SubmissionDef, def_id)
            version.sync_state, version.sync_error = SyncState.FAILED, message[:4000]
        summary.failed += 1
        summary.errors.append(f"submission version {def_id}: {message}")
        log.warning("registry sync of submission version %s failed", def_id, exc_info=True)
