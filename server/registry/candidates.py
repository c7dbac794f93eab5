"""The matcher's registry in SQL: `CandidateSource` and `RegistryWriter` over the match keys.

Candidates come only from ``match_keys`` rows sharing a blocking key with the incoming record
(the (key_type, key_value) index), restricted to the project, so a lookup costs a few index
probes whatever the registry's size; matching never compares all pairs (issue 3 §2). Records are
immutable, so their prepared form is cached by id for the life of the object; which child a
record belongs to can change (merges), so memberships are read on every lookup.

Record ids handed to the matcher are the ``child_records.id`` primary keys as strings.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import replace

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from server.models import ChildMembership, ChildRecord, LinkEdge, MatchKey
from server.models.registry import EdgeKind
from sync.dates import PartialDate
from sync.matching import BlockingKey, MatchRecord, blocking_keys, prepare
from sync.matching import ChildRecord as MatchInput
from sync.matching.index import MAX_BLOCK
from sync.matching.records import Sex


def match_input(row: ChildRecord) -> MatchInput:
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

    def candidates(self, keys: Sequence[BlockingKey]) -> Iterable[tuple[str, MatchRecord]]:
        if not keys:
            return []
        wanted = tuple_(MatchKey.key_type, MatchKey.key_value).in_(
            [(str(k.key_type), k.key_value) for k in keys])
        hits = self.session.execute(
            select(MatchKey.key_type, MatchKey.key_value, MatchKey.record_id)
            .join(ChildRecord, ChildRecord.id == MatchKey.record_id)
            .where(wanted, ChildRecord.project_id == self.project_id)).all()
        sizes = Counter((t, v) for t, v, _ in hits)
        oversized = {key for key, n in sizes.items() if n > self.max_block}
        self.oversized_lookups += len(oversized)
        ids = {rid for t, v, rid in hits if (t, v) not in oversized}
        if not ids:
            return []
        child_of = dict(self.session.execute(
            select(ChildMembership.record_id, ChildMembership.child_id)
            .where(ChildMembership.record_id.in_(ids))).all())
        missing = [rid for rid in ids if rid not in self._prepared]
        if missing:
            for row in self.session.scalars(select(ChildRecord).where(ChildRecord.id.in_(missing))):
                self._prepared[row.id] = prepare(match_input(row))
        # A record without a membership is not in the registry yet (its sync is in progress).
        return [(child_of[rid], self._prepared[rid]) for rid in ids if rid in child_of]

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
        rid = int(record.record_id)
        for key in blocking_keys(record) if keys is None else keys:
            self.session.add(MatchKey(key_type=str(key.key_type), key_value=key.key_value,
                                      record_id=rid))
        self.session.add(ChildMembership(record_id=rid, child_id=child_id))
        self._prepared[rid] = record
