"""A registry child's current view (golden record), recomputed from its sources.

Nothing here is typed in: the view is a pure function of the child's records (household
screenings, imported rows), its follow-up updates and the values reviewers chose among the
records' own, so a merge, an unmerge, a late record or a choice only has to call
`refresh_child` (docs/matching.md §5, docs/domain.md §4). The stored columns on `children` exist
so lists can filter and sort in SQL; `version` (the entity list's ``__version``) goes up only
when the view changes.

Which value wins, field by field (docs/registry.md §1):

* the names of the child and of its parents — the best-written value: one typed with
  Vietnamese marks beats one typed without any, then the more official source
  (`SOURCE_RANK`: the commune's imported list over a phone's visit), then the value with
  more marked syllables (``Hoà`` over ``Hoa``), then the most recently reported;
* the household head and the guardian, who can change with the child's situation — the
  person the most recently reported record names, written as best any record writes that
  same name (same letters once marks are dropped); the child's home name (tên thường gọi ở
  nhà: Bắp, Sóc…) the same way: the newest report that gives one says which;
* the village, and the screening's school, support and care answers — the most recently
  *reported* record that has a value (`ChildRecord.reported_at`; an undated list row counts as
  oldest);
* sex and personal ID — the most official source, then the most recent; date of birth — the
  most precise, then the most official, then the most recent; for all three a value its
  record marks doubtful (`child_records.doubtful`, docs/registry.md §3) counts only when no
  record gives a trusted one;
* a reviewer's choice (`server.registry.field_choices`) replaces the default of its field
  while some record of the child still holds the chosen value;
* what follow-up visits set (status, school, support, guardian, home name, dates) — the latest
  update that set it, applied over the records: a follow-up visit is about the child now.

`name_folded`, what the children list sorts by and its name search matches, is the full name
then the home name, without marks and in lower case: "bap" finds "Nguyễn Văn An (Bắp)".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from functools import partial
from typing import Any, NamedTuple

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import instance_state

from server.db import plain_rows, utcnow
from server.models import Child, ChildFieldChoice, ChildMembership, ChildRecord, ChildUpdate
from server.models.registry import RecordSource, VitalStatus
from server.registry.child_rows import read_entities, read_rows
from sync.vietnamese import fold

# dob_precision values, vaguest first (the form's and the import's vocabularies both).
_PRECISION_RANK = {"estimated": 0, "year": 1, "year_only": 1, "month": 2, "month_year": 2,
                   "day": 3, "full": 3}


@dataclass
class CurrentView:
    """The values of a child's view columns (names are `Child`'s columns)."""

    full_name: str = ""
    name_folded: str = ""
    home_name: str = ""
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
    "home_name": "home_name",
    "last_visit": "last_visit",
    "death_date": "death_date",
    "moved_date": "moved_date",
    "moved_to": "moved_to",
}

# View columns the `children` entity list does not carry: a change of them alone leaves the
# entity's `__version` as it is, so phones do not download the child again for nothing.
_NOT_ON_PHONES = frozenset({"care_arrangement", "care_registered", "report_count",
                            "first_reported_at"})
_VIEW_COLUMNS = tuple(item.name for item in fields(CurrentView))

# Screening answers kept with each record (`ChildRecord.raw`): the newest report's wins.
_ANSWERS = ("school_status", "support", "care_arrangement", "care_registered")

# How official a record's source is, most official highest (docs/registry.md §1): a list the
# commune's office keeps and its officer imports (importing needs the officer's rights) over
# one phone visit's typing. A source not listed here ranks below both.
SOURCE_RANK: dict[str, int] = {RecordSource.IMPORT.value: 2, RecordSource.SUBMISSION.value: 1}

# People who stay who they are whatever the report: every value is a spelling of one name.
PERSON_NAMES = ("full_name", "mother_name", "father_name")
# People who can change with the child's situation: the newest report says who.
SITUATION_NAMES = ("household_head", "guardian_name")
# What the family calls the child at home: a nickname can change as the child grows, so the
# newest report that gives one says which, as for the situation names.
HOME_NAME = "home_name"
# Fields a reviewer may choose a value of (`server.registry.field_choices`). Not the village
# (the newest report says where the child lives, and it decides who sees the child) nor the
# guardian (follow-up visits keep it current).
CHOOSABLE = ("full_name", "sex", "dob", "personal_id", "mother_name", "father_name",
             "household_head")


class ViewRecord(NamedTuple):
    """What the view reads of a stored record, read as plain columns (`records_and_choices`):
    the ORM's objects, and the whole of each record's answers decoded from JSON, cost the sync
    more than computing the views from them (README "Benchmarks"). ``raw`` holds only the
    screening answers the view takes (`_ANSWERS`)."""

    id: int
    source: str
    reported_at: datetime | None
    created_at: datetime | None
    full_name: str
    mother_name: str
    father_name: str
    household_head: str
    guardian_name: str
    home_name: str
    village_code: str
    sex: str
    personal_id: str
    dob: str | None
    dob_precision: str | None
    dob_estimated: bool
    doubtful: list[Any] | None
    raw: dict[str, Any]


# A record as the view reads it: a `ChildRecord` of the session or a `ViewRecord` read back.
ViewInput = ChildRecord | ViewRecord


def record_order(record: ViewInput) -> tuple[datetime, datetime, int]:
    """Oldest report first: by when it was reported (undated list rows first), then stored."""
    return (record.reported_at or datetime.min, record.created_at or datetime.max,
            record.id or 0)


def _dob_rank(record: ViewInput) -> int:
    if not record.dob:
        return -1
    rank = _PRECISION_RANK.get(record.dob_precision or "", 1)
    return 0 if record.dob_estimated else rank


def source_rank(record: ViewInput) -> int:
    return SOURCE_RANK.get(record.source or "", 0)


def marked_syllables(text: str) -> int:
    """How many words of ``text`` carry a Vietnamese mark (a tone, a vowel mark or đ)."""
    return sum(1 for word in text.split() if fold(word) != word.lower())


def value_of(record: ViewInput, field: str) -> str:
    """The record's value of a view field, "" when it has none (an unknown sex is none)."""
    value = getattr(record, field) or ""
    if field == "sex" and value not in ("M", "F"):
        return ""
    return str(value)


def _spelling(record: ViewInput, field: str) -> tuple[bool, int, int,
                                                        tuple[datetime, datetime, int]]:
    """How well a record writes a name, best highest (see the module docstring)."""
    marks = marked_syllables(value_of(record, field))
    return (marks > 0, source_rank(record), marks, record_order(record))


def trusted(record: ViewInput, field: str) -> bool:
    """Whether the record's value of ``field`` is not one it marks doubtful."""
    return not any(isinstance(doubt, dict) and doubt.get("field") == field
                   for doubt in record.doubtful or ())


def _dob_key(record: ViewInput) -> tuple[bool, int, int, tuple[datetime, datetime, int]]:
    return (trusted(record, "dob"), _dob_rank(record), source_rank(record), record_order(record))


def default_record(records: Sequence[ViewInput], field: str) -> ViewInput | None:
    """The record whose value of ``field`` the view takes when no reviewer chose one (None
    when no record has a value)."""
    holding = [record for record in records if value_of(record, field)]
    if len(holding) <= 1:  # nothing to weigh (most children have one record): skip the keys
        return holding[0] if holding else None
    if field in PERSON_NAMES:
        return max(holding, key=lambda r: _spelling(r, field))
    if field in SITUATION_NAMES or field == HOME_NAME:
        newest = fold(value_of(max(holding, key=record_order), field))
        return max((r for r in holding if fold(value_of(r, field)) == newest),
                   key=lambda r: _spelling(r, field))
    if field == "dob":
        return max(holding, key=_dob_key)
    if field in ("sex", "personal_id"):
        return max(holding, key=lambda r: (trusted(r, field), source_rank(r), record_order(r)))
    return max(holding, key=record_order)


def chosen_record(records: Sequence[ViewInput], field: str, value: str
                  ) -> ViewInput | None:
    """The record a reviewer's choice of ``value`` stands on (for a date of birth, the one
    that gives it most precisely), or None when no record holds the value any more."""
    holding = [record for record in records if value_of(record, field) == value]
    if not holding:
        return None
    return max(holding, key=_dob_key if field == "dob" else record_order)


_VIEW_FIELDS = (*PERSON_NAMES, *SITUATION_NAMES, HOME_NAME, "village_code", "sex",
                "personal_id")
# `Child.name_folded` is a String(255).
_NAME_FOLDED_LENGTH = 255


def compute_view(records: Sequence[ViewInput], updates: Sequence[ChildUpdate],
                 choices: Mapping[str, str] | None = None) -> CurrentView:
    """The view of one child from its records, updates (any order) and the values reviewers
    chose (field → value)."""
    view = CurrentView()
    picked: dict[str, ViewInput | None] = {
        field: default_record(records, field) for field in (*_VIEW_FIELDS, "dob")}
    for field, chosen in (choices or {}).items():
        record = chosen_record(records, field, chosen) if field in CHOOSABLE else None
        if record is not None:
            picked[field] = record
    for field in _VIEW_FIELDS:
        record = picked[field]
        if record is not None:
            setattr(view, field, value_of(record, field))
    if (born := picked["dob"]) is not None:
        view.dob = born.dob
        view.dob_precision = "estimated" if born.dob_estimated else born.dob_precision
    for record in sorted(records, key=record_order):  # oldest first: later answers overwrite
        for column in _ANSWERS:
            answer = str((record.raw or {}).get(column) or "")
            if answer:
                setattr(view, column, answer)
    for update in sorted(updates, key=lambda u: (u.version, u.id)):
        for prop, column in UPDATE_PROPERTIES.items():
            value = (update.properties or {}).get(prop)
            if value not in (None, ""):
                setattr(view, column, str(value))
    view.name_folded = name_folded(view.full_name, view.home_name)
    view.report_count = len(records)
    # A record made in this transaction has no `created_at` until it is flushed: now, then.
    view.first_reported_at = min((r.reported_at or r.created_at or utcnow() for r in records),
                                 default=None)
    return view


def name_folded(full_name: str, home_name: str) -> str:
    """The search and sort key of a child: its full name, then its home name, folded (the
    full name first, so the list still sorts by it)."""
    return fold(" ".join(name for name in (full_name, home_name) if name))[:_NAME_FOLDED_LENGTH]


# Built once: composing a statement costs more than running it (the sync runs these per child).
_RECORDS_OF = (select(ChildRecord)
               .join(ChildMembership, ChildMembership.record_id == ChildRecord.id)
               .where(ChildMembership.child_id == bindparam("child_id")))
_UPDATES_OF = select(ChildUpdate).where(ChildUpdate.child_id == bindparam("child_id"))
_VIEW_RECORD_COLUMNS = [getattr(ChildRecord, name) for name in ViewRecord._fields
                        if name != "raw"]
# The answers the view takes, each read out of the record's JSON by the database: decoding the
# whole of every record's answers cost more than all the rest of reading it. Answers are text
# (`sync.mapping`), so reading them as text changes nothing.
_VIEW_ANSWERS = [ChildRecord.raw[answer].as_string() for answer in _ANSWERS]
# A child's records are read in three lookups, each on one table's index: the memberships
# (`server.registry.child_rows`), then the records by primary key, then the choices. One query
# joining them let PostgreSQL, its statistics taken while the registry was smaller (or none
# yet), scan and hash every record for each sync group (README "Benchmarks").
_VIEW_RECORDS = select(*_VIEW_RECORD_COLUMNS, *_VIEW_ANSWERS).where(
    ChildRecord.id.in_(bindparam("ids", expanding=True)))
_CHOICES_OF_MANY = (
    select(ChildFieldChoice.child_id, ChildFieldChoice.id, ChildFieldChoice.field,
           ChildFieldChoice.value)
    .where(ChildFieldChoice.child_id.in_(bindparam("child_ids", expanding=True)),
           ChildFieldChoice.withdrawn_at.is_(None)))


def records_of(session: Session, child_id: str) -> list[ChildRecord]:
    return list(session.scalars(_RECORDS_OF, {"child_id": child_id}))


def updates_of(session: Session, child_id: str) -> list[ChildUpdate]:
    return list(session.scalars(_UPDATES_OF, {"child_id": child_id}))


def records_and_choices(session: Session, child_ids: Sequence[str]
                        ) -> tuple[dict[str, list[ViewRecord]], dict[str, dict[str, str]]]:
    """Each child's records as the view reads them, and the reviewers' choices in force on it
    (field → value; the latest made wins should two of a field ever be in force), read from
    the database after the session's pending changes (`server.db.plain_rows`)."""
    records: dict[str, list[ViewRecord]] = {child_id: [] for child_id in child_ids}
    chosen: dict[str, dict[str, tuple[int, str]]] = {child_id: {} for child_id in child_ids}
    if not child_ids:
        return records, {}
    # Plain rows: the ORM's handling of even a column select cost more than the records'
    # whole use.
    child_of = {row.record_id: row.child_id
                for row in read_rows(session, ChildMembership, child_ids)}
    columns = len(_VIEW_RECORD_COLUMNS)
    for row in plain_rows(session, _VIEW_RECORDS, {"ids": list(child_of)}):
        records[child_of[row[0]]].append(ViewRecord._make((*row[:columns], dict(
            zip(_ANSWERS, row[columns:], strict=True)))))
    for child_id, choice_id, field, value in plain_rows(
            session, _CHOICES_OF_MANY, {"child_ids": list(child_ids)}):
        if choice_id > chosen[child_id].get(field, (0, ""))[0]:
            chosen[child_id][field] = (choice_id, value)
    return records, {child_id: {field: value for field, (_, value) in found.items()}
                     for child_id, found in chosen.items()}


def store_view(child: Child, view: CurrentView) -> bool:
    """Write ``view`` into the child's columns; bump its version if anything the phones hold
    changed (a column outside the entity list, such as the report count, is only stored)."""
    state = instance_state(child)
    # A child not inserted yet takes its values straight: its INSERT takes them as they
    # stand, with no change history to keep (`server.db.built`); a stored one through its
    # attributes, so that its UPDATE sees each change.
    write = state.dict.__setitem__ if state.key is None else partial(setattr, child)
    changed = False
    for name in _VIEW_COLUMNS:
        value = getattr(view, name)
        if getattr(child, name) != value:
            write(name, value)
            changed = changed or name not in _NOT_ON_PHONES
    if changed:
        write("version", (child.version or 0) + 1)
    return changed


def refresh_child(session: Session, child: Child | str) -> bool:
    """Recompute and store a child's view; bump its version if anything changed.

    Returns whether the view changed. Flushes first so memberships added in this transaction
    count.
    """
    session.flush()
    if isinstance(child, str):
        child = session.get_one(Child, child)
    records, choices = records_and_choices(session, [child.id])
    return store_view(child, compute_view(records[child.id], updates_of(session, child.id),
                                          choices[child.id]))


def refresh_children(session: Session, children: Sequence[Child]) -> None:
    """`refresh_child` for several children, their records (with their choices) and updates
    read in one query each (the sync's household of children re-reported together)."""
    session.flush()
    ids = [child.id for child in children]
    records, choices = records_and_choices(session, ids)
    updates: dict[str, list[ChildUpdate]] = {child_id: [] for child_id in ids}
    for update in read_entities(session, ChildUpdate, ids) if ids else ():
        updates[update.child_id].append(update)
    for child in children:
        store_view(child, compute_view(records[child.id], updates[child.id], choices[child.id]))


def fill_new_child(child: Child, records: Sequence[ChildRecord]) -> bool:
    """`refresh_child` for a child made in this transaction from ``records``, without reading
    them back: they are all its records, and a child this new has no follow-up updates nor
    reviewers' choices yet.

    The child must still hold the view's defaults (as `new_child` makes it).
    """
    return store_view(child, compute_view(records, []))
