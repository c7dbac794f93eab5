"""A registry child's current view (golden record), recomputed from its sources.

Nothing here is typed in: the view is a pure function of the child's records (household
screenings, imported rows) and its follow-up updates, so a merge, an unmerge or a late record
only has to call `refresh_child` (docs/matching.md §5, docs/domain.md §4). The stored columns
on `children` exist so lists can filter and sort in SQL; `version` (the entity list's
``__version``) goes up only when the view changes.

Which value wins, field by field:

* identity (name, sex, date of birth, parents, guardian, village, household) and the
  screening's school and support answers — the most recently *reported* record that has a value
  (`ChildRecord.reported_at`; an undated list row counts as oldest), except that a more precise
  date of birth beats a vaguer one and a personal ID is taken from any record that has one;
* what follow-up visits set (status, school, support, guardian, dates) — the latest update that
  set it, applied over the records: a follow-up visit is about the child now.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from server.db import utcnow
from server.models import Child, ChildMembership, ChildRecord, ChildUpdate
from server.models.registry import VitalStatus
from sync.vietnamese import fold

# dob_precision values, vaguest first (the form's and the import's vocabularies both).
_PRECISION_RANK = {"estimated": 0, "year": 1, "year_only": 1, "month": 2, "month_year": 2,
                   "day": 3, "full": 3}


@dataclass
class CurrentView:
    """The values of a child's view columns (names are `Child`'s columns)."""

    full_name: str = ""
    name_folded: str = ""
    sex: str = "U"
    dob: str | None = None
    dob_precision: str | None = None
    village_code: str = ""
    household_head: str = ""
    mother_name: str = ""
    father_name: str = ""
    guardian_name: str = ""
    personal_id: str = ""
    vital_status: str = VitalStatus.ACTIVE.value
    school_status: str = ""
    support: str = ""
    last_visit: str | None = None
    death_date: str | None = None
    moved_date: str | None = None
    moved_to: str = ""
    care_arrangement: str = ""
    care_registered: str = ""
    report_count: int = 0
    first_reported_at: datetime | None = None


# Follow-up properties (the `children` entity list's names) → view columns.
UPDATE_PROPERTIES: dict[str, str] = {
    "status": "vital_status",
    "school_status": "school_status",
    "support": "support",
    "guardian_name": "guardian_name",
    "last_visit": "last_visit",
    "death_date": "death_date",
    "moved_date": "moved_date",
    "moved_to": "moved_to",
}

# View columns the `children` entity list does not carry: a change of them alone leaves the
# entity's `__version` as it is, so phones do not download the child again for nothing.
_NOT_ON_PHONES = frozenset({"care_arrangement", "care_registered", "report_count",
                            "first_reported_at"})

# Screening answers kept with each record (`ChildRecord.raw`): the newest report's wins.
_ANSWERS = ("school_status", "support", "care_arrangement", "care_registered")

_IDENTITY = ("full_name", "village_code", "household_head", "mother_name", "father_name",
             "guardian_name")


def _record_order(record: ChildRecord) -> tuple[datetime, datetime, int]:
    """Oldest report first: by when it was reported (undated list rows first), then stored."""
    return (record.reported_at or datetime.min, record.created_at, record.id)


def _dob_rank(record: ChildRecord) -> int:
    if not record.dob:
        return -1
    rank = _PRECISION_RANK.get(record.dob_precision or "", 1)
    return 0 if record.dob_estimated else rank


def compute_view(records: Sequence[ChildRecord], updates: Sequence[ChildUpdate]) -> CurrentView:
    """The view of one child from its records and updates (any order)."""
    view = CurrentView()
    ordered = sorted(records, key=_record_order)
    for record in ordered:  # oldest first: later records overwrite
        for name in _IDENTITY:
            value = getattr(record, name)
            if value:
                setattr(view, name, value)
        if record.sex in ("M", "F"):
            view.sex = record.sex
        if record.personal_id:
            view.personal_id = record.personal_id
        for column in _ANSWERS:
            answer = str((record.raw or {}).get(column) or "")
            if answer:
                setattr(view, column, answer)
    dated = [r for r in ordered if r.dob]
    if dated:
        best = max(dated, key=lambda r: (_dob_rank(r), _record_order(r)))
        view.dob = best.dob
        view.dob_precision = "estimated" if best.dob_estimated else best.dob_precision
    for update in sorted(updates, key=lambda u: (u.version, u.id)):
        for prop, column in UPDATE_PROPERTIES.items():
            value = (update.properties or {}).get(prop)
            if value not in (None, ""):
                setattr(view, column, str(value))
    view.name_folded = fold(view.full_name)
    view.report_count = len(records)
    # A record made in this transaction has no `created_at` until it is flushed: now, then.
    view.first_reported_at = min((r.reported_at or r.created_at or utcnow() for r in records),
                                 default=None)
    return view


# Built once: composing a statement costs more than running it (the sync runs these per child).
_RECORDS_OF = (select(ChildRecord)
               .join(ChildMembership, ChildMembership.record_id == ChildRecord.id)
               .where(ChildMembership.child_id == bindparam("child_id")))
_UPDATES_OF = select(ChildUpdate).where(ChildUpdate.child_id == bindparam("child_id"))
_RECORDS_OF_MANY = (
    select(ChildRecord, ChildMembership.child_id)
    .join(ChildMembership, ChildMembership.record_id == ChildRecord.id)
    .where(ChildMembership.child_id.in_(bindparam("child_ids", expanding=True))))
_UPDATES_OF_MANY = select(ChildUpdate).where(
    ChildUpdate.child_id.in_(bindparam("child_ids", expanding=True)))


def records_of(session: Session, child_id: str) -> list[ChildRecord]:
    return list(session.scalars(_RECORDS_OF, {"child_id": child_id}))


def updates_of(session: Session, child_id: str) -> list[ChildUpdate]:
    return list(session.scalars(_UPDATES_OF, {"child_id": child_id}))


def store_view(child: Child, view: CurrentView) -> bool:
    """Write ``view`` into the child's columns; bump its version if anything the phones hold
    changed (a column outside the entity list, such as the report count, is only stored)."""
    changed = False
    for item in fields(CurrentView):
        value = getattr(view, item.name)
        if getattr(child, item.name) != value:
            setattr(child, item.name, value)
            changed = changed or item.name not in _NOT_ON_PHONES
    if changed:
        child.version = (child.version or 0) + 1
    return changed


def refresh_child(session: Session, child: Child | str) -> bool:
    """Recompute and store a child's view; bump its version if anything changed.

    Returns whether the view changed. Flushes first so memberships added in this transaction
    count.
    """
    session.flush()
    if isinstance(child, str):
        child = session.get_one(Child, child)
    return store_view(child, compute_view(records_of(session, child.id),
                                          updates_of(session, child.id)))


def refresh_children(session: Session, children: Sequence[Child]) -> None:
    """`refresh_child` for several children, their records and updates read in one query each
    (the sync's household of children re-reported together)."""
    session.flush()
    ids = [child.id for child in children]
    records: dict[str, list[ChildRecord]] = {child_id: [] for child_id in ids}
    updates: dict[str, list[ChildUpdate]] = {child_id: [] for child_id in ids}
    if ids:
        for record, child_id in session.execute(_RECORDS_OF_MANY, {"child_ids": ids}):
            records[child_id].append(record)
        for update in session.scalars(_UPDATES_OF_MANY, {"child_ids": ids}):
            updates[update.child_id].append(update)
    for child in children:
        store_view(child, compute_view(records[child.id], updates[child.id]))


def fill_new_child(child: Child, records: Sequence[ChildRecord]) -> bool:
    """`refresh_child` for a child made in this transaction from ``records``, without reading
    them back: they are all its records, and a child this new has no follow-up updates yet.

    The child must still hold the view's defaults (as `new_child` makes it).
    """
    return store_view(child, compute_view(records, []))
