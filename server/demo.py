"""A demo commune in one call: so a newcomer sees a living server right after `make serve`.

`load_demo` creates (or finds again) a site admin, the project "Xã Hòa Bình (demo)", the
published household_screening form with the demo `villages.csv`, the child_followup form whose
`children.csv` is the registry's `children` entity list, one app user (phone) per village
assigned to both, and synthetic household visits sent through the very function phone
submissions go through (`receive_submission` on `parse_instance`), each as its village's phone.
With `sync_registry` (what `diemtua demo` does) the registry sync then runs, so the registry
holds the commune's children and each phone's `children.csv` its village's children.

**Whoever syncs, the count is the database's.** A running `diemtua serve` has its own sync
worker, which may take the demo's submissions before the demo does. So the demo syncs what is
left, waits until none of its submissions is pending, and then reads from the database what
became of them (`registry_outcome`): records linked, queued for review, new — not counters of
its own, which would miss what the worker did.

**Idempotent by reuse.** Every piece is looked up before it is made: the admin by email, the
project by name, the form by id, the phones by display name; each synthetic household has an
instanceID fixed by (seed, household number), and one already on the server is skipped. Running
it twice adds nothing; `--households 500` after 300 adds the 200 missing ones. Nothing existing
is changed: an existing admin keeps their password.

"""

from __future__ import annotations

import secrets
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, distinct, func, select
from sqlalchemy.orm import Session

import xlsforms
from server.db import utcnow
from server.models import (
    Actor,
    AppUser,
    Audit,
    ChildRecord,
    Form,
    FormAssignment,
    LinkEdge,
    MatchCandidate,
    Project,
    SubmissionDef,
    User,
)
from server.models.registry import EdgeKind, EdgeSource
from server.operations.forms import assign_to_form, attach_form_media, create_form, publish_draft
from server.operations.projects import create_project
from server.operations.submissions import SubmissionContext, receive_submission
from server.operations.users import create_app_user, create_user
from server.registry.entities import ENTITY_LIST, ENTITY_LIST_FILE
from server.registry.sync import SyncState, SyncSummary, sync_pending
from server.registry.worker import sync_lock
from server.services import Services
from server.storage import BlobStore
from sync.instance import parse_instance
from sync.matching import MatchModel
from sync.synthetic_households import (
    Retyping,
    SyntheticHousehold,
    Village,
    device_id_for,
    generate_households,
    read_villages,
    revisit_household,
)
from sync.xform import primary_instance

# Spelt as the commune's village list spells it ("Tổ dân phố Hòa Bình", xlsforms/villages.csv).
DEMO_PROJECT = "Xã Hòa Bình (demo)"
# The name demos loaded before used: found again rather than made twice.
_OLD_DEMO_PROJECTS = ("Xã Hoà Bình (demo)",)
# Real commune codes stop near 32000: this one can never be mistaken for a real commune.
DEMO_COMMUNE_CODE = "99999"
DEFAULT_ADMIN_EMAIL = "admin@example.org"
SCREENING = "household_screening"
FOLLOWUP = "child_followup"
VILLAGES_NAME = "villages.csv"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
USER_AGENT = "diemtua-demo (synthetic household visits)"
VIA = {"via": "demo"}


# Hears (stage, done, total) as the demo goes: stage "submit" (household visits stored) and
# "sync" (the demo's submissions the registry sync has taken, by whomever); the CLI's bars.
Progress = Callable[[str, int, int], None]
SUBMIT, SYNC = "submit", "sync"
# The demo's own sync passes, in submissions: small enough for the bar to move.
SYNC_STEP = 50
# How long to wait for submissions another process (a server's worker) holds.
DRAIN_SECONDS = 600.0


class DemoError(Exception):
    """The demo cannot be loaded into this server as it is; the message says why."""


@dataclass(frozen=True)
class DemoPhone:
    """One village's app user: the phone a collaborator (cộng tác viên) would carry."""

    actor_id: int
    display_name: str
    village: str
    token: str | None
    device_id: str
    households: int


@dataclass(frozen=True)
class DemoSummary:
    admin_email: str
    # Only a password this call generated; a given or existing one is never echoed.
    generated_password: str | None
    admin_created: bool
    project_id: int
    project_name: str
    project_created: bool
    form_version: str
    phones: list[DemoPhone]
    households_submitted: int
    households_already_there: int
    refusals: int
    children_submitted: int
    children_with_categories: int
    followup_version: str = ""
    # Households visited a second time by another collaborator (names retyped).
    revisits_submitted: int = 0
    # What became of this call's submissions in the registry, read from the database once
    # the sync drained (`registry_outcome`), when `sync_registry` was asked for.
    registry: SyncSummary | None = None
    # The call's submissions still pending when the wait ended (only after `DRAIN_SECONDS`).
    registry_pending: int = 0


@dataclass(frozen=True)
class DemoBatch:
    """The submission versions one `load_demo` call stored: ids `first`…`last` of the screening
    form (one transaction made them, so nothing of the demo's falls outside)."""

    form_id: int
    first: int
    last: int
    count: int

    def versions(self) -> ColumnElement[bool]:
        return (SubmissionDef.form_id == self.form_id) & SubmissionDef.id.between(self.first,
                                                                                  self.last)


def _audit(db: Session, actor_id: int, action: str, actee: str,
           details: dict[str, Any] | None = None) -> None:
    """The audit rows the API would write, marked as made by the demo loader."""
    db.add(Audit(actor_id=actor_id, action=action, actee=actee, details={**(details or {}), **VIA}))


def _admin(db: Session, email: str, password: str | None) -> tuple[User, str | None, bool]:
    """The site admin: (user, password generated here, created now)."""
    email = email.strip().lower()
    existing = db.scalar(select(User).where(User.email == email))
    if existing is not None:
        if existing.actor.deleted_at is not None or existing.role != "admin":
            raise DemoError(f"{email} exists and is not an active site administrator; "
                            "pass --admin-email with another address")
        return existing, None, False
    generated = None if password else secrets.token_urlsafe(15)
    user = create_user(db, email, password or generated, role="admin",
                       display_name="Quản trị viên (demo)")
    _audit(db, user.actor_id, "user.create", f"actor:{user.actor_id}", {"data": {"email": email}})
    return user, generated, True


def _project(db: Session, admin_id: int) -> tuple[Project, bool]:
    existing = db.scalar(select(Project).where(
        Project.name.in_((DEMO_PROJECT, *_OLD_DEMO_PROJECTS)), Project.deleted_at.is_(None))
                         .order_by(Project.id).limit(1))
    if existing is not None:
        return existing, False
    project = create_project(db, DEMO_PROJECT, commune_code=DEMO_COMMUNE_CODE,
                             description="Dữ liệu mẫu, không phải người thật. "
                                         "Demo data: not real people.")
    _audit(db, admin_id, "project.create", f"project:{project.id}",
           {"data": {"name": project.name}})
    return project, True


def _published_form(db: Session, store: BlobStore, project_id: int, admin_id: int,
                    xml_form_id: str, villages_csv: bytes) -> Form:
    """A demo form, published with villages.csv (Central only takes media on a draft, so the
    file goes on before publishing) and, when it reads one, the `children` entity list
    linked to the registry (Central's dataset link of an attachment)."""
    form = db.scalar(select(Form).where(Form.project_id == project_id,
                                        Form.xml_form_id == xml_form_id,
                                        Form.deleted_at.is_(None)))
    if form is None:
        form = create_form(db, store, project_id, xlsforms.form_path(xml_form_id).read_bytes(),
                           XLSX_TYPE, publish=False, ignore_warnings=True)
        _audit(db, admin_id, "form.create", f"form:{form.id}", {"xmlFormId": xml_form_id})
    if form.current_def is None:
        draft = form.draft_def
        assert draft is not None
        attachment = attach_form_media(db, store, draft, VILLAGES_NAME, villages_csv, "text/csv")
        _audit(db, admin_id, "form.attachment.update", f"form:{form.id}",
               {"name": VILLAGES_NAME, "newBlobId": attachment.blob_id})
        for listed in draft.attachments:
            if listed.name == ENTITY_LIST_FILE:
                listed.dataset, listed.updated_at = ENTITY_LIST, utcnow()
                _audit(db, admin_id, "form.attachment.update", f"form:{form.id}",
                       {"name": listed.name, "dataset": ENTITY_LIST})
        published = publish_draft(db, form)
        _audit(db, admin_id, "form.update.publish", f"form:{form.id}",
               {"newDefId": published.id})
    return form


def _phone(db: Session, project_id: int, forms: list[Form], village: Village, admin_id: int
           ) -> AppUser:
    """The village's app user, found by display name or created, and assigned the forms."""
    name = f"Cộng tác viên {village.label}"
    app_user = db.scalar(select(AppUser).join(Actor, Actor.id == AppUser.actor_id)
                         .where(AppUser.project_id == project_id, Actor.display_name == name,
                                Actor.deleted_at.is_(None)).order_by(AppUser.actor_id).limit(1))
    if app_user is None:
        app_user = create_app_user(db, project_id, name, [village.code], created_by=admin_id)
        _audit(db, admin_id, "field_key.create", f"actor:{app_user.actor_id}",
               {"projectId": project_id, "villages": app_user.villages})
    for form in forms:
        assigned = db.scalar(select(FormAssignment.id).where(
            FormAssignment.form_id == form.id, FormAssignment.actor_id == app_user.actor_id))
        if assigned is None:
            assign_to_form(db, form, app_user.actor_id)
            _audit(db, admin_id, "field_key.assignment.create", f"actor:{app_user.actor_id}",
                   {"roleId": 2, "acteeId": f"form:{form.id}"})
    return app_user


def _households(form: Form, villages: list[Village], count: int, seed: int,
                today: date | None) -> list[SyntheticHousehold]:
    """The synthetic visits, shaped by the published form's own primary instance."""
    assert form.current_def is not None
    template = primary_instance(form.current_def.xml)
    try:
        return list(generate_households(template, villages, count, seed, today))
    except KeyError as exc:
        raise DemoError(
            f"the demo project's {SCREENING} (version {form.current_def.version}) is not the "
            f"form this diemtua generates visits for ({exc.args[0]}); load the demo into a "
            "fresh data folder") from exc


REVISIT_EVERY = 8  # one consenting household in 8 is reported twice


def _revisits(visits: list[SyntheticHousehold], seed: int) -> list[SyntheticHousehold]:
    """Some households reported again by another collaborator — names retyped the same, without
    diacritics or with a typo — so the demo registry shows links and a review queue. Marked by
    a negative index."""
    with_children = [visit for visit in visits if visit.children]
    ways = list(Retyping)
    return [replace(revisit_household(visit, seed, ways[n % len(ways)]), index=-1 - n)
            for n, visit in enumerate(with_children[::REVISIT_EVERY])]


def _report(on_progress: Progress | None, stage: str, done: int, total: int) -> None:
    if on_progress is not None:
        on_progress(stage, done, total)


def load_demo(services: Services, households: int = 300, seed: int = 2026,
              admin_email: str = DEFAULT_ADMIN_EMAIL, admin_password: str | None = None,
              today: date | None = None, sync_registry: bool = False,
              revisits: bool = True, on_progress: Progress | None = None) -> DemoSummary:
    """Load (or complete) the demo commune in one unit of work: all of it or nothing.

    `sync_registry` then gets the registry sync done (`wait_for_registry`), so the registry and
    the phones' `children.csv` hold the children. Off by default: tests that load households
    check the sync themselves. `revisits` adds one second visit for every eighth household with
    children (`_revisits`), counted apart. `on_progress` hears each stage's progress.
    """
    villages_csv = xlsforms.VILLAGES_CSV.read_bytes()
    villages = read_villages(villages_csv.decode("utf-8"))
    store = services.store
    with services.database.unit_of_work() as db:
        admin, generated, admin_created = _admin(db, admin_email, admin_password)
        project, project_created = _project(db, admin.actor_id)
        form = _published_form(db, store, project.id, admin.actor_id, SCREENING, villages_csv)
        followup = _published_form(db, store, project.id, admin.actor_id, FOLLOWUP,
                                   villages_csv)
        phones = {v.code: _phone(db, project.id, [form, followup], v, admin.actor_id)
                  for v in villages}
        visits = _households(form, villages, households, seed, today)
        if revisits:
            visits += _revisits(visits, seed)
        already = set(db.scalars(select(SubmissionDef.instance_id)
                                 .where(SubmissionDef.form_id == form.id)))
        fresh = [visit for visit in visits if visit.instance_id not in already]
        version_ids = _submit(db, store, form, fresh, phones, on_progress)
        batch = (DemoBatch(form.id, min(version_ids), max(version_ids), len(version_ids))
                 if version_ids else None)
        firsts = [visit for visit in fresh if visit.index >= 0]
        per_village = Counter(visit.village for visit in visits if visit.index >= 0)
        assert form.current_def is not None and followup.current_def is not None
        summary = DemoSummary(
            admin_email=admin.email, generated_password=generated, admin_created=admin_created,
            project_id=project.id, project_name=project.name, project_created=project_created,
            form_version=form.current_def.version,
            phones=[DemoPhone(app_user.actor_id, app_user.actor.display_name, code,
                              app_user.token, device_id_for(seed, code), per_village[code])
                    for code, app_user in phones.items()],
            households_submitted=len(firsts),
            households_already_there=sum(1 for visit in visits
                                         if visit.index >= 0 and visit.instance_id in already),
            revisits_submitted=sum(1 for visit in fresh if visit.index < 0),
            refusals=sum(not visit.consented for visit in firsts),
            children_submitted=sum(visit.children for visit in firsts),
            children_with_categories=sum(1 for visit in firsts for codes in visit.categories
                                         if any(c.startswith("HCDB") for c in codes.split())),
            followup_version=followup.current_def.version,
        )
    if sync_registry:
        outcome, pending = (wait_for_registry(services, batch, on_progress) if batch
                            else (SyncSummary(), 0))
        summary = replace(summary, registry=outcome, registry_pending=pending)
    return summary


def _submit(db: Session, store: BlobStore, form: Form, visits: list[SyntheticHousehold],
            phones: dict[str, AppUser], on_progress: Progress | None) -> list[int]:
    """Each visit through the phones' ingest path, as its village's phone; → version ids."""
    ids: list[int] = []
    every = max(1, len(visits) // 200)  # a bar redrawn some 200 times, whatever the count
    _report(on_progress, SUBMIT, 0, len(visits))
    for n, visit in enumerate(visits, start=1):
        context = SubmissionContext(phones[visit.village].actor_id, visit.device_id, USER_AGENT)
        received = receive_submission(db, store, form, parse_instance(visit.xml), visit.xml, {},
                                      context)
        ids.append(received.version.id)
        if n % every == 0 or n == len(visits):
            _report(on_progress, SUBMIT, n, len(visits))
    return ids


def _pending(services: Services, batch: DemoBatch) -> int:
    with services.database.sessions() as db:
        return db.scalar(select(func.count()).select_from(SubmissionDef).where(
            batch.versions(), SubmissionDef.sync_state == SyncState.PENDING)) or 0


def wait_for_registry(services: Services, batch: DemoBatch,
                      on_progress: Progress | None = None, *,
                      timeout: float = DRAIN_SECONDS) -> tuple[SyncSummary, int]:
    """Sync the batch and wait until none of it is pending, whoever syncs it (this call, or the
    worker of a running server); → what became of it (`registry_outcome`), and how many were
    still pending if `timeout` seconds passed first."""
    database = services.database
    model = MatchModel.load()
    deadline = time.monotonic() + timeout
    pending = _pending(services, batch)
    while pending and time.monotonic() < deadline:
        _report(on_progress, SYNC, batch.count - pending, batch.count)
        # One sync at a time per database (`server.registry.worker`): a server's worker
        # holding the lock is waited for, and then its submissions are done.
        with sync_lock(database.engine):
            taken = sync_pending(database.sessions, limit=SYNC_STEP, model=model).attempted
        if not taken:
            time.sleep(0.2)  # another process holds them (SQLite: mid-transaction)
        pending = _pending(services, batch)
    _report(on_progress, SYNC, batch.count - pending, batch.count)
    with database.sessions() as db:
        return registry_outcome(db, batch), pending


def registry_outcome(db: Session, batch: DemoBatch) -> SyncSummary:
    """What the registry made of the batch, read from the database: submissions by sync state,
    and their child records automatically linked (a `link` edge of the matcher), queued for
    review (candidate rows) or new children (the rest)."""
    states = Counter(db.scalars(select(SubmissionDef.sync_state).where(batch.versions())))
    errors = [f"submission version {def_id}: {error}" for def_id, error in db.execute(
        select(SubmissionDef.id, SubmissionDef.sync_error).where(
            batch.versions(), SubmissionDef.sync_state == SyncState.FAILED)
        .order_by(SubmissionDef.id))]
    records = (select(ChildRecord.id).join(SubmissionDef,
                                           SubmissionDef.id == ChildRecord.submission_def_id)
               .where(batch.versions()))
    count = db.scalar(select(func.count()).select_from(records.subquery())) or 0
    linked = db.scalar(select(func.count(distinct(LinkEdge.record_b))).where(
        LinkEdge.record_b.in_(records), LinkEdge.kind == EdgeKind.LINK.value,
        LinkEdge.source == EdgeSource.AUTO.value)) or 0
    queued = db.scalar(select(func.count(distinct(MatchCandidate.record_id))).where(
        MatchCandidate.record_id.in_(records))) or 0
    return SyncSummary(
        submissions=states[SyncState.DONE], failed=states[SyncState.FAILED],
        superseded=states[SyncState.SUPERSEDED], not_applied=states[SyncState.NOT_APPLIED],
        records=count, linked=linked, queued=queued, new=count - linked - queued,
        errors=errors)
