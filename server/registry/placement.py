"""Placing stored records in the registry: matching each visit's records against the project's
children, then writing what the matcher decided — a link to an existing child, a new child, a
new child with review-queue rows — with the records' blocking keys and memberships, the
categories they point to, and the touched children's views (docs/matching.md §3–5).

One path for phone submissions (`server.registry.sync`) and imported lists
(`server.registry.importer`) alike: `place_records` places one visit; `place_held` places many
visits as one held batch (README "Benchmarks").
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from server.db import built, insert_on_flush, insert_rows, utcnow
from server.models import (
    Child,
    ChildRecord,
    LinkEdge,
    MatchCandidate,
)
from server.models.registry import EdgeKind, EdgeSource
from server.registry.candidates import DatabaseRegistry, with_record_id
from server.registry.categories import (
    apply_many_record_categories,
    apply_record_categories,
)
from server.registry.child_code import give_back_numbers, take_numbers
from server.registry.view import (
    CurrentView,
    fill_new_child,
    refresh_child,
    refresh_children,
)
from sync.doubtful import Doubt, doubtful_field_names, ids_shared_in_visit
from sync.doubtful import Reason as DoubtReason
from sync.matching import (
    Band,
    Decision,
    Matcher,
    MatchModel,
    MatchRecord,
    RecordKeys,
    prepare,
    record_keys,
)
from sync.matching import ChildRecord as MatchInput


@dataclass
class SyncSummary:
    submissions: int = 0
    failed: int = 0
    superseded: int = 0
    # Follow-ups stored but not applied (`SyncState.NOT_APPLIED`), and why.
    not_applied: int = 0
    records: int = 0
    linked: int = 0
    queued: int = 0
    new: int = 0
    # Children who reached 16 and kept AGEOUT-16-22 (`server.registry.ageing`, run by the worker).
    aged_out: int = 0
    errors: list[str] = field(default_factory=list)
    not_applied_reasons: list[str] = field(default_factory=list)

    @property
    def attempted(self) -> int:
        """Versions taken off the pending list (what ``--limit`` counts)."""
        return self.submissions + self.failed + self.superseded + self.not_applied

    def add(self, other: SyncSummary) -> None:
        self.submissions += other.submissions
        self.failed += other.failed
        self.superseded += other.superseded
        self.not_applied += other.not_applied
        self.records += other.records
        self.linked += other.linked
        self.queued += other.queued
        self.new += other.new
        self.errors += other.errors
        self.not_applied_reasons += other.not_applied_reasons


@dataclass
class ProjectMatcher:
    """One project's registry and matcher, kept across submissions for its record cache."""

    registry: DatabaseRegistry
    matcher: Matcher
    # Child numbers reserved ahead for a batch of households (the import), used in order
    # before `take_numbers` is asked again: one UPDATE of the project's row per batch.
    numbers: list[int] = field(default_factory=list)
    # Existing children a held batch linked records to (`DatabaseRegistry.hold`), in order:
    # their views are recomputed once at the end of the batch (`refresh_linked`), not once per
    # household, since nothing placing the batch reads a view.
    linked: dict[str, None] = field(default_factory=dict)
    # The children a held batch made so far: a later household linking to one finds it here,
    # not by a query that would flush the batch's pending rows first (`_children`).
    made: dict[str, Child] = field(default_factory=dict)
    # The automatic link edges of a held batch, written in one statement by `refresh_linked`
    # (nothing placing the batch reads them).
    edges: list[dict[str, Any]] = field(default_factory=list)
    # The records of a held batch by the existing child they were linked to, when they point
    # to special-circumstance categories: opened for all of them at once by `refresh_linked`.
    categorise: dict[str, list[ChildRecord]] = field(default_factory=dict)
    # The children that existed before a held batch whose ids its phones name as their own
    # entity ids (`new_child`), read in one query by `place_held`.
    named: dict[str, Child] = field(default_factory=dict)

    def end_batch(self) -> None:
        """Forget a held batch (`place_held`): its hits, numbers and waiting writes, whether
        it was written or is being rolled back."""
        self.registry.release()
        self.numbers, self.linked, self.made, self.edges = [], {}, {}, []
        self.categorise, self.named = {}, {}


def new_child(session: Session, project_id: int, wanted_id: str = "") -> str:
    """A new registry child. A phone's own entity id (``meta/entity/@id``) is kept when it is a
    fresh UUID, so the entity the phone created offline is the same one it downloads later."""
    child_id = _usable_uuid(wanted_id)
    taken = set() if child_id is None or session.get(Child, child_id) is None else {child_id}
    return _make_child(session, project_id, wanted_id, taken,
                       take_numbers(session, project_id)[0]).id


def _make_child(session: Session, project_id: int, wanted_id: str, taken: set[str],
                number: int, held: bool = False) -> Child:
    """`new_child` given the wanted ids already used by a child (the made one is added).
    A held batch's children wait for its next flush, which inserts them all in one
    statement (`insert_on_flush`)."""
    child_id = _usable_uuid(wanted_id)
    if child_id is None or child_id in taken:
        child_id = str(uuid.uuid4())
    taken.add(child_id)
    # Version 0 until `refresh_child` fills the view: the entity's first version is then 1.
    # The view's columns hold their defaults from the start, so it can be filled before the
    # child is first flushed.
    child = built(Child, {"id": child_id, "project_id": project_id, "number": number,
                          "version": 0, **_VIEW_DEFAULTS})
    if held:
        insert_on_flush(session, child)
    else:
        session.add(child)
    return child


_VIEW_DEFAULTS = asdict(CurrentView())
_CHILDREN = select(Child).where(Child.id.in_(bindparam("ids", expanding=True)))


def _children(session: Session, pm: ProjectMatcher, decisions: Sequence[Decision],
              wanted_ids: Sequence[str]) -> dict[str, Child]:
    """In one query, the children the records link to and those the phones' wanted entity
    ids already name (the latter then cannot be used for a new child).

    In a held batch nothing is read: the linked children are read once, at the batch's end,
    by `refresh_linked`, and the children the wanted ids name either were made by the batch
    (`ProjectMatcher.made`) or existed before it (`ProjectMatcher.named`).
    """
    ids = _usable_uuids(wanted_ids)
    if not pm.registry.holding:
        ids |= {d.child_id for d in decisions if d.band is Band.AUTO_LINK and d.child_id}
        return _read_children(session, ids)
    return {child_id: pm.made.get(child_id) or pm.named[child_id] for child_id in ids
            if child_id in pm.made or child_id in pm.named}


def _usable_uuids(wanted_ids: Iterable[str]) -> set[str]:
    return {u for u in map(_usable_uuid, wanted_ids) if u is not None}


def _read_children(session: Session, ids: set[str]) -> dict[str, Child]:
    if not ids:
        return {}
    return {child.id: child for child in session.scalars(_CHILDREN, {"ids": list(ids)})}


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


def _links(decision: Decision) -> bool:
    """The record joins an existing child; any other decision makes a new one."""
    return bool(decision.band is Band.AUTO_LINK and decision.child_id and decision.explanation)


def _apply(session: Session, pm: ProjectMatcher, row: ChildRecord, decision: Decision,
           summary: SyncSummary, wanted_id: str, taken: set[str],
           numbers: Iterator[int]) -> str | Child:
    """Store one decision; returns the child the record now belongs to: its id when the child
    already exists, the `Child` itself when this record makes it (numbered from `numbers`).
    A held batch's link edges wait in `ProjectMatcher.edges` for `refresh_linked`."""
    if _links(decision):
        assert decision.explanation is not None and decision.child_id is not None
        explanation = decision.explanation
        edge = {"record_a": int(explanation.other_record_id), "record_b": row.id,
                "kind": EdgeKind.LINK.value, "source": EdgeSource.AUTO.value,
                "score": explanation.total, "model_version": decision.model_version,
                "explanation": {**explanation.as_dict(), "reasons": list(decision.reasons)}}
        if pm.registry.holding:
            pm.edges.append(edge)
        else:
            session.add(LinkEdge(**edge))
        summary.linked += 1
        return decision.child_id
    child = _make_child(session, pm.registry.project_id, wanted_id, taken, next(numbers),
                        held=pm.registry.holding)
    if decision.band is Band.REVIEW:
        for candidate in decision.candidates:
            session.add(MatchCandidate(
                record_id=row.id, child_id=candidate.child_id, score=candidate.score,
                reasons=list(decision.reasons), explanation=candidate.explanation.as_dict()))
        summary.queued += 1
    else:
        summary.new += 1
    return child


def mark_ids_shared_in_visit(rows: Sequence[ChildRecord]) -> None:
    """Mark doubtful a personal ID two rows of one visit give (`sync.doubtful`): it is then no
    identity evidence, and the data-quality report shows it to an officer instead of the
    registry keeping a copied number silently."""
    for index in ids_shared_in_visit([row.personal_id for row in rows]):
        row = rows[index]
        if "personal_id" not in doubtful_field_names(row.doubtful):
            row.doubtful = [*(row.doubtful or []), Doubt(
                "personal_id", row.personal_id, DoubtReason.SHARED_IN_VISIT).as_json()]


# A record as the matcher sees it, with every key it may be looked up by (`record_keys`:
# the stored ones and the widened ones the matcher asks for when those found nobody).
Prepared = tuple[MatchRecord, RecordKeys]


def prepare_stored(record: MatchInput, row: ChildRecord) -> Prepared:
    """A stored record prepared for matching (`with_record_id`), and its lookup keys."""
    prepared = prepare(with_record_id(record, row))
    return prepared, record_keys(prepared)


def place_records(session: Session, pm: ProjectMatcher, rows: Sequence[ChildRecord],
                  inputs: Sequence[MatchInput], summary: SyncSummary,
                  wanted_ids: Sequence[str] = (),
                  prepared: Sequence[Prepared] | None = None) -> list[Placement]:
    """Match one household's stored records against the registry and place each in a child.

    The one path from a stored record to the registry, for phone submissions and imported
    lists alike: match (rows of one household are never one child), write edges and queue
    rows, index the records, then recompute every touched child's view.
    """
    mark_ids_shared_in_visit(rows)
    if prepared is None:
        prepared = [prepare_stored(record, row) for record, row in zip(inputs, rows, strict=True)]
    records = [record for record, _ in prepared]
    decisions = _match(session, pm, rows, prepared)
    wanted = list(wanted_ids) + [""] * (len(rows) - len(wanted_ids))
    # Outside a held batch, held here so the session's identity map keeps each one from its
    # categories to its view (a held batch reads its linked children at its end).
    existing = _children(session, pm, decisions, wanted)
    taken = set(existing)
    # The household's new children are numbered in one statement, not one each.
    needed = sum(1 for decision in decisions if not _links(decision))
    numbers = iter(_numbers(session, pm, needed))
    placements, made = [], {}
    for row, decision, wanted_id in zip(rows, decisions, wanted, strict=True):
        child = _apply(session, pm, row, decision, summary, wanted_id, taken,
                       numbers)
        if isinstance(child, Child):
            made[child.id] = child
            if pm.registry.holding:
                pm.made[child.id] = child
        placements.append(Placement(row, child if isinstance(child, str) else child.id,
                                    decision.band))
    by_child: dict[str, list[ChildRecord]] = {}
    for placement in placements:
        by_child.setdefault(placement.child_id, []).append(placement.row)
    # A new child with no categories to open gets its view before its first INSERT.
    for child_id, placed in by_child.items():
        if child_id in made and not _derives(placed):
            fill_new_child(made[child_id], placed)
    if not pm.registry.holding:  # a held batch writes its children, keys, memberships at once
        session.flush()  # children before the memberships and keys that refer to them
    pm.registry.add_all([(record, p.child_id, decision.keys)
                         for record, p, decision in zip(records, placements, decisions,
                                                        strict=True)])
    now = utcnow()
    for child_id, placed in by_child.items():
        if not _derives(placed):
            continue  # nothing to open: the child's episodes stay as they are
        if child_id not in made:
            if pm.registry.holding:  # at the batch's end, with the other linked children's
                pm.categorise.setdefault(child_id, []).extend(placed)
            else:
                apply_record_categories(session, child_id, placed, now)
        else:  # a new child's view only after its categories (version 0)
            apply_record_categories(session, child_id, placed, now, made=made[child_id])
            fill_new_child(made[child_id], placed)
    # Categories do not enter the view, so the linked children's views come after them all.
    linked = [child_id for child_id in by_child if child_id not in made]
    if pm.registry.holding:  # the batch refreshes them all at its end
        pm.linked.update(dict.fromkeys(linked))
    elif linked:
        pm.registry.write_held()  # a view is read through the memberships
        refresh_children(session, [existing[c] for c in linked if c in existing])
        for child_id in linked:
            if child_id not in existing:
                refresh_child(session, child_id)
    summary.records += len(rows)
    return placements


def refresh_linked(session: Session, pm: ProjectMatcher) -> None:
    """Write what a held batch placed, then open the categories its records point to on the
    existing children it linked them to and recompute those children's views, all read in
    one query each: a child linked by several households of the batch gets the view of all
    its records once (its version moves once, not once per household)."""
    pm.registry.write_held()  # a view is read through the memberships
    insert_rows(session, LinkEdge, pm.edges)
    ids = list(pm.linked)
    if ids:
        children = {child.id: child for child in session.scalars(_CHILDREN, {"ids": ids})}
        # Categories do not enter the view: they may come first.
        apply_many_record_categories(session, pm.categorise, children, utcnow())
        refresh_children(session, [children[child_id] for child_id in ids])


@dataclass
class HeldVisit:
    """One household visit's stored records, prepared for matching (`place_held`)."""

    rows: list[ChildRecord]
    prepared: list[Prepared]
    wanted_ids: Sequence[str] = ()


def prepare_visit(rows: list[ChildRecord], inputs: Sequence[MatchInput],
                  wanted_ids: Sequence[str] = ()) -> HeldVisit:
    """A visit's stored records prepared for a held batch, a personal ID two of its children
    give marked doubtful first (a doubtful ID is no key)."""
    mark_ids_shared_in_visit(rows)
    return HeldVisit(rows, [prepare_stored(record, row)
                            for record, row in zip(inputs, rows, strict=True)], wanted_ids)


def place_held(session: Session, pm: ProjectMatcher, visits: Sequence[HeldVisit],
               summary: SyncSummary) -> list[list[Placement]]:
    """Place many visits of one project as one held batch: their blocking keys looked up in
    one query (`DatabaseRegistry.hold`), their child numbers reserved in one update, their
    children, keys, memberships and link edges written together, and the categories and views
    of the existing children they link to worked out once at the end (`refresh_linked`). Each visit
    is still matched in order and sees the visits placed before it. An import's batch of rows
    and a sync group's submissions both go this way (README "Benchmarks")."""
    if not visits:
        return []
    project_id = pm.registry.project_id
    pm.registry.hold(key for visit in visits for _, keys in visit.prepared
                     for key in keys.every())
    pm.numbers = list(take_numbers(session, project_id,
                                   sum(len(visit.rows) for visit in visits)))
    pm.named = _read_children(session, _usable_uuids(
        wanted for visit in visits for wanted in visit.wanted_ids))
    try:
        placed = [place_records(session, pm, visit.rows, (), summary, visit.wanted_ids,
                                prepared=visit.prepared) for visit in visits]
        refresh_linked(session, pm)
        give_back_numbers(session, project_id, pm.numbers)
    finally:
        pm.end_batch()
    return placed


def _numbers(session: Session, pm: ProjectMatcher, needed: int) -> Sequence[int]:
    """``needed`` new child numbers: from the numbers reserved ahead when there are enough."""
    if not needed:
        return ()
    if len(pm.numbers) >= needed:
        taken, pm.numbers = pm.numbers[:needed], pm.numbers[needed:]
        return taken
    return take_numbers(session, pm.registry.project_id, needed)


def _match(session: Session, pm: ProjectMatcher, rows: Sequence[ChildRecord],
           prepared: Sequence[Prepared]) -> list[Decision]:
    """The matcher's decisions for one household, its keys looked up in one query."""
    registry = pm.registry
    registry.session = session
    registry.fresh = {row.id for row in rows}
    registry.look_ahead(key for _, keys in prepared for key in keys.every())
    try:
        return pm.matcher.match_submission([record for record, _ in prepared],
                                            [keys for _, keys in prepared])
    finally:
        registry.forget_look_ahead()


def _derives(records: Sequence[ChildRecord]) -> bool:
    """Whether any of the records points to a special-circumstance category."""
    return any(record.derived_categories for record in records)


def project_matcher(session: Session, project_id: int, matchers: dict[int, ProjectMatcher],
                    model: MatchModel) -> ProjectMatcher:
    """The project's matcher, kept across a run's transactions for its cache of prepared
    records; its registry reads through ``session``, the caller's current one."""
    pm = matchers.get(project_id)
    if pm is None:
        registry = DatabaseRegistry(session, project_id)
        pm = matchers[project_id] = ProjectMatcher(registry, Matcher(registry, model))
    pm.registry.session = session
    return pm


