"""The matcher's registry in SQL: `CandidateSource` and `RegistryWriter` over the match keys.

Candidates come only from ``match_keys`` rows sharing a blocking key with the incoming record
(the (key_type, key_value) index), restricted to the project, so a lookup costs a few index
probes whatever the registry's size; matching never compares all pairs (docs/matching.md §3.1).
Records are immutable, so their prepared form is cached by id for the life of the object; which
child a record belongs to can change (merges), so memberships are read on every lookup.

Record ids handed to the matcher are the ``child_records.id`` primary keys as strings.

The sync asks for a whole submission's keys in one query (`look_ahead`) before matching it, and
writes the keys and memberships of the placed records in one statement each (`add_all`): a
household of several children then costs a few round trips, not a few per child.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import Row, bindparam, insert, select
from sqlalchemy.orm import Session

from server.models import ChildMembership, ChildRecord, LinkEdge, MatchKey
from server.models.registry import EdgeKind
from sync.dates import PartialDate
from sync.matching import BlockingKey, MatchRecord, blocking_keys, prepare
from sync.matching import ChildRecord as MatchInput
from sync.matching.index import MAX_BLOCK
from sync.matching.records import Sex

# What the matcher reads of a stored record (`match_input`), loaded without the ORM's objects.
_MATCH_COLUMNS = (
    ChildRecord.id, ChildRecord.household_key, ChildRecord.full_name, ChildRecord.sex,
    ChildRecord.dob, ChildRecord.dob_estimated, ChildRecord.village_code,
    ChildRecord.commune_code, ChildRecord.household_id, ChildRecord.household_head,
    ChildRecord.mother_name, ChildRecord.father_name, ChildRecord.guardian_name,
    ChildRecord.personal_id)

# Built once: composing a statement costs more than running it on an indexed table.
_RECORDS = select(*_MATCH_COLUMNS).where(ChildRecord.id.in_(bindparam("ids", expanding=True)))
# Two plain IN lists, not a (type, value) tuple IN, and the project compared as
# ``project_id + 0``: without statistics SQLite otherwise walks every record of the project
# for each lookup instead of probing the (key_type, key_value) index. The few cross pairs the
# two lists also find are dropped by `DatabaseRegistry._hits`.
_HITS = (
    select(MatchKey.key_type, MatchKey.key_value, MatchKey.record_id, ChildMembership.child_id)
    .join(ChildRecord, ChildRecord.id == MatchKey.record_id)
    .outerjoin(ChildMembership, ChildMembership.record_id == MatchKey.record_id)
    .where(MatchKey.key_type.in_(bindparam("types", expanding=True)),
           MatchKey.key_value.in_(bindparam("values", expanding=True)),
           ChildRecord.project_id + 0 == bindparam("project")))

Key = tuple[str, str]  # (key_type, key_value) as stored in match_keys
Hit = tuple[int, str | None]  # a record sharing the key, and its child (None: not placed yet)
AnyRow = Row[*tuple[Any, ...]]


def match_input(row: ChildRecord | AnyRow) -> MatchInput:
    """The matcher's view of a stored record (the inverse of what the sync stores)."""
    dob = PartialDate.parse(row.dob, estimated=row.dob_estimated) if row.dob else None
    return MatchInput(
        record_id=str(row.id), submission_id=row.household_key, full_name=row.full_name,
        sex=Sex(row.sex) if row.sex in Sex._value2member_map_ else Sex.UNKNOWN, dob=dob,
        village=row.village_code, commune=row.commune_code, household_id=row.household_id,
        household_head=row.household_head, mother_name=row.mother_name,
        father_name=row.father_name, guardian_name=row.guardian_name,
        personal_id=row.personal_id)


def with_record_id(record: MatchInput, row: ChildRecord) -> MatchInput:
    return replace(record, record_id=str(row.id))


def _key(key: BlockingKey) -> Key:
    return (str(key.key_type), key.key_value)


class DatabaseRegistry:
    """One project's registry as the matcher sees it, answered from indexed tables."""

    def __init__(self, session: Session, project_id: int, max_block: int = MAX_BLOCK) -> None:
        self.session = session
        self.project_id = project_id
        self.max_block = max_block
        self._prepared: dict[int, MatchRecord] = {}
        # Records stored by the submission being matched: no edge can name them yet.
        self.fresh: set[int] = set()
        self.oversized_lookups = 0
        self._ahead: dict[Key, list[Hit]] | None = None

    def look_ahead(self, keys: Iterable[BlockingKey]) -> None:
        """Look up many records' keys at once (one submission's rows, before matching them).

        `candidates` answers from these hits until `forget_look_ahead`, so call it only while
        nothing is written to the keys or memberships.
        """
        self._ahead = self._hits({_key(key): None for key in keys})

    def forget_look_ahead(self) -> None:
        self._ahead = None

    def _hits(self, wanted: Collection[Key]) -> dict[Key, list[Hit]]:
        """Every record of the project under each wanted key, with the child it belongs to."""
        found: dict[Key, list[Hit]] = {key: [] for key in wanted}
        if not wanted:
            return found
        rows = self.session.execute(_HITS, {
            "types": list({key_type for key_type, _ in wanted}),
            "values": list({key_value for _, key_value in wanted}),
            "project": self.project_id})
        for key_type, key_value, record_id, child_id in rows:
            hits = found.get((key_type, key_value))
            if hits is not None:
                hits.append((record_id, child_id))
        return found

    def candidates(self, keys: Sequence[BlockingKey]) -> Iterable[tuple[str, MatchRecord]]:
        wanted = list(dict.fromkeys(_key(key) for key in keys))
        if not wanted:
            return []
        ahead = self._ahead
        hits = (ahead if ahead is not None and all(key in ahead for key in wanted)
                else self._hits(wanted))
        oversized = {key for key in wanted if len(hits[key]) > self.max_block}
        self.oversized_lookups += len(oversized)
        child_of: dict[int, str | None] = {}
        for key in wanted:
            if key not in oversized:
                child_of.update(hits[key])
        if not child_of:
            return []
        self._prepare([rid for rid in child_of if rid not in self._prepared])
        # A record without a membership is not in the registry yet (its sync is in progress).
        return [(child_id, self._prepared[rid]) for rid, child_id in child_of.items()
                if child_id is not None]

    def _prepare(self, record_ids: Sequence[int]) -> None:
        if record_ids:
            for row in self.session.execute(_RECORDS, {"ids": list(record_ids)}):
                self._prepared[row.id] = prepare(match_input(row))
    def cannot_link_children(self, record_id: str) -> Collection[str]:
        rid = int(record_id)
        if rid in self.fresh:
            return ()
        others = select(LinkEdge.record_b).where(
            LinkEdge.record_a == rid, LinkEdge.kind == EdgeKind.CANNOT_LINK.value,
            LinkEdge.revoked_at.is_(None)).union(select(LinkEdge.record_a).where(
                LinkEdge.record_b == rid, LinkEdge.kind == EdgeKind.CANNOT_LINK.value,
                LinkEdge.revoked_at.is_(None)))
        return set(self.session.scalars(select(ChildMembership.child_id).where(
            ChildMembership.record_id.in_(others))))

    def frequency(self, field: str, value: str) -> float | None:
        # No name-frequency table yet: scoring then makes no term-frequency adjustment.
        return None

    def mean_frequency(self, field: str) -> float | None:
        return None

    def add(self, record: MatchRecord, child_id: str,
            keys: Sequence[BlockingKey] | None = None) -> None:
        """Index a stored record under its keys and place it in ``child_id``."""
        self.add_all([(record, child_id, keys)])

    def add_all(self, placed: Sequence[tuple[MatchRecord, str, Sequence[BlockingKey] | None]]
                ) -> None:
        """`add` for many records, in one statement per table (the children must be flushed)."""
        keys: list[dict[str, Any]] = []
        memberships: list[dict[str, Any]] = []
        for record, child_id, record_keys in placed:
            rid = int(record.record_id)
            keys += [{"key_type": str(key.key_type), "key_value": key.key_value,
                      "record_id": rid}
                     for key in (blocking_keys(record) if record_keys is None else record_keys)]
            memberships.append({"record_id": rid, "child_id": child_id})
            self._prepared[rid] = record
        if keys:
            self.session.execute(insert(MatchKey), keys)
        if memberships:
            self.session.execute(insert(ChildMembership), memberships)
