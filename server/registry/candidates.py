"""The matcher's registry in SQL: `CandidateSource` and `RegistryWriter` over the match keys.

Candidates come only from ``match_keys`` rows sharing a blocking key with the incoming record
(the (key_type, key_value) index), restricted to the project, so a lookup costs a few index
probes whatever the registry's size; matching never compares all pairs (docs/matching.md §3.1).
Records are immutable, so their prepared form is cached by id for the life of the object; which
child a record belongs to can change (merges), so memberships are read on every lookup.

Record ids handed to the matcher are the ``child_records.id`` primary keys as strings.

The sync asks for a whole submission's keys in one query (`look_ahead`) before matching it, and
writes the keys and memberships of the placed records in one statement each (`add_all`): a
household of several children then costs a few round trips, not a few per child. An import
goes further (`hold`): one query for a whole batch of households, whose keys and memberships
are then written once for the batch.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import bindparam, insert, select, text
from sqlalchemy.orm import Session

from server.db import AnyRow, insert_rows, plain_rows
from server.models import ChildMembership, ChildRecord, LinkEdge, MatchKey
from server.models.registry import EdgeKind
from sync.dates import PartialDate
from sync.doubtful import without_doubtful
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
    ChildRecord.personal_id, ChildRecord.home_name, ChildRecord.doubtful)

# Built once: composing a statement costs more than running it on an indexed table.
_RECORDS = select(*_MATCH_COLUMNS).where(ChildRecord.id.in_(bindparam("ids", expanding=True)))
# The keys' records first, from match_keys alone, then the project and membership of those few
# records by primary key: a join of the three lets the planner start from child_records and
# walk the whole registry for each lookup, which PostgreSQL chose for a registry that grew in
# the same transaction (no statistics yet, README "Benchmarks"). On PostgreSQL the keys
# are a list of (type, value) pairs, each looked up in match_keys by a LATERAL subquery that
# OFFSET 0 keeps from being flattened into a join: one probe of the (key_type, key_value) index
# per pair whatever the statistics (with a plain join, statistics taken while the table was a
# tenth of its size made PostgreSQL sort the whole table for a merge join, 5× slower for a sync
# group), and one statement to plan however many keys a batch has. SQLite, without
# statistics, probes that index only for two plain IN lists (the few cross pairs they also find
# are dropped by `DatabaseRegistry._hits`).
_KEY_PAIRS = text(
    "SELECT wanted.t, wanted.v, k.record_id"
    " FROM unnest(CAST(:types AS text[]), CAST(:values AS text[])) AS wanted(t, v)"
    " CROSS JOIN LATERAL (SELECT m.record_id FROM match_keys m"
    " WHERE m.key_type = wanted.t AND m.key_value = wanted.v OFFSET 0) AS k")
_KEY_LISTS = select(MatchKey.key_type, MatchKey.key_value, MatchKey.record_id).where(
    MatchKey.key_type.in_(bindparam("types", expanding=True)),
    MatchKey.key_value.in_(bindparam("values", expanding=True)))
# The project compared as ``project_id + 0``: without statistics (a new registry, or
# autovacuum off) PostgreSQL would otherwise read every record of the project through its
# index and filter the ids, instead of probing the primary key for each id.
_PLACED = (
    select(ChildRecord.id, ChildMembership.child_id, ChildRecord.household_key)
    .outerjoin(ChildMembership, ChildMembership.record_id == ChildRecord.id)
    .where(ChildRecord.id.in_(bindparam("ids", expanding=True)),
           ChildRecord.project_id + 0 == bindparam("project")))
# The same on PostgreSQL with the ids as one array parameter: psycopg binds a statement of
# 2,000 parameters slower than PostgreSQL runs it (about half of a 50,000-row import's time
# waiting on this query went there).
_PLACED_ANY = text(
    "SELECT r.id, m.child_id, r.household_key FROM child_records r"
    " LEFT JOIN child_memberships m ON m.record_id = r.id"
    " WHERE r.id = ANY(CAST(:ids AS bigint[])) AND r.project_id + 0 = :project")
# Bound parameters of one statement: SQLite allows 32,766, PostgreSQL 65,535.
CHUNK = 2000
# Prepared records kept for later lookups; past this the cache starts again (flat memory
# through a province's import, README "Benchmarks").
MAX_PREPARED = 100_000

# (key_type, key_value) as stored in match_keys. A `BlockingKey` is one (a named tuple of two
# strings: equal to, and hashed as, the plain pair the database gives back).
Key = tuple[str, str]
Hit = tuple[int, str | None]  # a record sharing the key, and its child (None: not placed yet)


def records_under_keys(session: Session, pairs: Sequence[Key]) -> list[tuple[str, str, int]]:
    """(key_type, key_value, record_id) of every record, of any project, under the keys: one
    index probe per key on PostgreSQL whatever its statistics (`_KEY_PAIRS`). On SQLite two IN
    lists, which may also give back pairs that were not asked for: callers keep only theirs.
    At most `CHUNK` keys a call."""
    if session.get_bind().dialect.name == "postgresql":
        rows = plain_rows(session, _KEY_PAIRS, {
            "types": [str(t) for t, _ in pairs], "values": [v for _, v in pairs]})
    else:
        rows = plain_rows(session, _KEY_LISTS, {
            "types": list({str(key_type) for key_type, _ in pairs}),
            "values": list({key_value for _, key_value in pairs})})
    return [(key_type, key_value, record_id) for key_type, key_value, record_id in rows]


def match_input(row: ChildRecord | AnyRow) -> MatchInput:
    """The matcher's view of a stored record (the inverse of what the sync stores), without
    its doubtful fields (`sync.doubtful`: kept on the record, no identity evidence)."""
    dob = PartialDate.parse(row.dob, estimated=row.dob_estimated) if row.dob else None
    return without_doubtful(MatchInput(
        record_id=str(row.id), submission_id=row.household_key, full_name=row.full_name,
        sex=Sex(row.sex) if row.sex in Sex._value2member_map_ else Sex.UNKNOWN, dob=dob,
        village=row.village_code, commune=row.commune_code, household_id=row.household_id,
        household_head=row.household_head, mother_name=row.mother_name,
        father_name=row.father_name, guardian_name=row.guardian_name,
        personal_id=row.personal_id, home_name=row.home_name), row.doubtful)


def with_record_id(record: MatchInput, row: ChildRecord) -> MatchInput:
    """An incoming record as the matcher sees it: its stored id, its doubtful fields blanked
    as `match_input` blanks them, so both sides of a comparison see the same record."""
    return replace(without_doubtful(record, row.doubtful), record_id=str(row.id))


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
        # Hits of many households looked up at once (`hold`), kept current as records are added,
        # and the keys and memberships of those records, written together by `write_held`.
        self._held: dict[Key, list[Hit]] | None = None
        self._held_keys: list[dict[str, Any]] = []
        self._held_memberships: list[dict[str, Any]] = []

    @property
    def holding(self) -> bool:
        """Whether a batch's hits are held (`hold`): its writes wait for `write_held`."""
        return self._held is not None

    def look_ahead(self, keys: Iterable[BlockingKey]) -> None:
        """Look up many records' keys at once (one submission's rows, before matching them).

        `candidates` answers from these hits until `forget_look_ahead`, so call it only while
        nothing is written to the keys or memberships (except through `add_all`).
        """
        wanted = dict.fromkeys(keys)
        held = self._held
        if held is not None and all(key in held for key in wanted):
            self._ahead = held
        else:
            self._ahead = self._hits(wanted)

    def forget_look_ahead(self) -> None:
        self._ahead = None

    def hold(self, keys: Iterable[BlockingKey]) -> None:
        """Look up the keys of many households in one go (an import's chunk of rows).

        Until `release`, `look_ahead` answers from these hits when it can, and `add_all` adds
        the records it places under the held keys, so the households of the chunk still see
        one another. Only the caller may write keys or memberships meanwhile. The records
        prepared for earlier chunks are kept (up to `MAX_PREPARED`): a stored record does not
        change once placed, and the next chunk's households mostly meet the last ones'.
        """
        if len(self._prepared) > MAX_PREPARED:
            self._prepared.clear()
        self._held = self._hits(dict.fromkeys(keys))
        self._prepare(sorted({rid for hits in self._held.values() if len(hits) <= self.max_block
                              for rid, child_id in hits
                              if child_id is not None and rid not in self._prepared}))

    def write_held(self) -> None:
        """Write the children, keys and memberships of the records placed since `hold`, one
        statement per table for the whole batch (the children through the session's flush)."""
        self.session.flush()
        insert_rows(self.session, ChildMembership, self._held_memberships)
        insert_rows(self.session, MatchKey, self._held_keys)
        self._held_keys, self._held_memberships = [], []

    def release(self) -> None:
        """Stop answering from the held hits; writes still waiting are dropped (after
        `write_held`, or when the batch's transaction is being rolled back)."""
        self._held = None
        self._held_keys, self._held_memberships = [], []

    def _hits(self, wanted: Collection[Key]) -> dict[Key, list[Hit]]:
        """Every record of the project under each wanted key, with the child it belongs to."""
        found: dict[Key, list[Hit]] = {key: [] for key in wanted}
        if not wanted:
            return found
        keyed: list[tuple[str, str, int]] = []
        pairs = list(wanted)
        for start in range(0, len(pairs), CHUNK):
            keyed += records_under_keys(self.session, pairs[start:start + CHUNK])
        child_of: dict[int, str | None] = {}
        for record_id, child_id, household_key in self._placed(
                sorted({record_id for _, _, record_id in keyed})):
            child_of[record_id] = child_id
            self._forget_if_other(record_id, household_key)
        for key_type, key_value, record_id in keyed:
            hits = found.get((key_type, key_value))
            if hits is not None and record_id in child_of:
                hits.append((record_id, child_of[record_id]))
        return found

    def _placed(self, ids: Sequence[int]) -> list[tuple[int, str | None, str]]:
        """(record id, its child or None, its household key) of those of ``ids`` that are
        records of the project."""
        if not ids:
            return []
        params = {"project": self.project_id}
        if self.session.get_bind().dialect.name == "postgresql":
            found = plain_rows(self.session, _PLACED_ANY, {**params, "ids": list(ids)})
            return [(record_id, child_id, key) for record_id, child_id, key in found]
        return [(record_id, child_id, key) for start in range(0, len(ids), CHUNK)
                for record_id, child_id, key in plain_rows(
                    self.session, _PLACED, {**params, "ids": ids[start:start + CHUNK]})]

    def _forget_if_other(self, record_id: int, household_key: str) -> None:
        """Drop a prepared record whose id now holds another visit's record: SQLite hands the
        ids of rolled-back rows out again, to this process or another one."""
        prepared = self._prepared.get(record_id)
        if prepared is not None and prepared.submission_id != household_key:
            del self._prepared[record_id]

    def candidates(self, keys: Sequence[BlockingKey]) -> Iterable[tuple[str, MatchRecord]]:
        wanted = list(dict.fromkeys(keys))
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
        if len(self._prepared) > MAX_PREPARED:
            self._prepared.clear()
        self._prepare([rid for rid in child_of if rid not in self._prepared])
        # A record without a membership is not in the registry yet (its sync is in progress).
        return [(child_id, self._prepared[rid]) for rid, child_id in child_of.items()
                if child_id is not None]

    def _prepare(self, record_ids: Sequence[int]) -> None:
        for start in range(0, len(record_ids), CHUNK):
            chunk = list(record_ids[start:start + CHUNK])
            for row in plain_rows(self.session, _RECORDS, {"ids": chunk}):
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
        if self._held is not None:
            # The batch's lookups are answered from the held hits, and the sync writes what is
            # waiting before it reads a view through the memberships.
            self._hold_placed(keys, memberships)
            self._held_keys += keys
            self._held_memberships += memberships
            return
        # One household's few rows: a plain INSERT each table (`insert_rows`' COPY pays off
        # for a batch's thousands, not for a household's handful).
        if keys:
            self.session.execute(insert(MatchKey), keys)
        if memberships:
            self.session.execute(insert(ChildMembership), memberships)

    def _hold_placed(self, keys: Sequence[dict[str, Any]],
                     memberships: Sequence[dict[str, Any]]) -> None:
        """Add placed records to the held hits, under the keys that were looked up (a key never
        looked up stays absent: its other records are in the database, not here)."""
        held = self._held
        assert held is not None
        child_of = {row["record_id"]: row["child_id"] for row in memberships}
        for key in keys:
            hits = held.get((key["key_type"], key["key_value"]))
            if hits is not None:
                hits.append((key["record_id"], child_of[key["record_id"]]))
