"""Merging and splitting registry children, with stable ids (docs/matching.md §5).

A child is a connected component of its records over non-revoked ``link`` edges. A merge writes
one reviewer ``link`` edge and keeps the *older* child's id (created first, then the smaller
id); the other becomes a redirect (`status="merged"`, `merged_into`). The edge's explanation
remembers what the merge moved (``merge``: which child was absorbed with which records,
updates and flags), so that revoking it — an undone review decision, or a record taken out —
gives the absorbed child its id back instead of inventing a new one. Open queue rows follow
the merge to the survivor; a record that had a row for each of the two children keeps one,
the highest score, and the others are settled by the merge (reopened if it is undone).

Never merged, whoever asks: two children with different valid personal IDs, two records of one
household visit (twins are two children by construction), records joined by a non-revoked
``cannot_link`` edge, children of two projects. Source records are never changed and edges are
revoked, never deleted; the current views and categories are recomputed from the records.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from itertools import product
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from server.db import utcnow
from server.models import (
    Child,
    ChildMembership,
    ChildRecord,
    ChildUpdate,
    Flag,
    LinkEdge,
    MatchCandidate,
)
from server.models.registry import CandidateStatus, ChildStatus, EdgeKind, EdgeSource
from server.registry import categories, flags
from server.registry.candidates import match_input
from server.registry.errors import InvalidDecision, NotFound
from server.registry.view import records_of, refresh_child
from sync.matching import prepare
from sync.matching.constraints import cannot_link

MERGE = "merge"  # key of the merge memo in a merge edge's explanation
_MAX_REDIRECTS = 64


def resolve(session: Session, child_id: str, project_id: int | None = None) -> Child:
    """The active child an id names now, following merge redirects."""
    child = session.get(Child, child_id)
    for _ in range(_MAX_REDIRECTS):
        if child is None or child.status != ChildStatus.MERGED.value or not child.merged_into:
            break
        child = session.get(Child, child.merged_into)
    if (child is None or child.status != ChildStatus.ACTIVE.value
            or (project_id is not None and child.project_id != project_id)):
        raise NotFound(f"child {child_id} not found")
    return child


def child_of_record(session: Session, record_id: int) -> Child:
    child_id = session.scalar(select(ChildMembership.child_id)
                              .where(ChildMembership.record_id == record_id))
    if child_id is None:
        raise NotFound(f"record {record_id} is in no child")
    return resolve(session, child_id)


def _by_age(records: Iterable[ChildRecord]) -> list[ChildRecord]:
    return sorted(records, key=lambda r: (r.created_at, r.id))


def _child_age(child: Child) -> tuple[datetime, str]:
    return (child.created_at, child.id)


# --- what may not be merged -----------------------------------------------------------------

def _same_visit(a: ChildRecord, b: ChildRecord) -> bool:
    """One household visit: one submission version, or one imported household. (Versions of
    one submission share a household key but may each hold the same child.)"""
    if a.submission_def_id is not None or b.submission_def_id is not None:
        return a.submission_def_id == b.submission_def_id
    return a.household_key == b.household_key


def _id_conflict(a: ChildRecord, b: ChildRecord) -> bool:
    # The matcher's own rule (valid IDs differing by two digits or more), without its
    # household test, which `_same_visit` does per version.
    left = prepare(replace(match_input(a), submission_id=f"a:{a.id}"))
    right = prepare(replace(match_input(b), submission_id=f"b:{b.id}"))
    return cannot_link(left, right) is not None


def _cannot_link_edges(session: Session, left: Sequence[int], right: Sequence[int]
                       ) -> list[int]:
    """Ids of the non-revoked ``cannot_link`` edges between the two groups of records."""
    return list(session.scalars(select(LinkEdge.id).where(
        LinkEdge.kind == EdgeKind.CANNOT_LINK.value, LinkEdge.revoked_at.is_(None),
        or_((LinkEdge.record_a.in_(left)) & (LinkEdge.record_b.in_(right)),
            (LinkEdge.record_a.in_(right)) & (LinkEdge.record_b.in_(left))))
        .order_by(LinkEdge.id)))


def merge_refusal(session: Session, a: Child, b: Child) -> str | None:
    """Why children ``a`` and ``b`` can never be one child, or None."""
    if a.project_id != b.project_id:
        return "the children belong to different projects"
    left, right = records_of(session, a.id), records_of(session, b.id)
    for x, y in product(left, right):
        if _same_visit(x, y):
            return (f"records {x.id} and {y.id} come from one household visit: "
                    "two children by construction")
        if _id_conflict(x, y):
            return f"records {x.id} and {y.id} have different valid personal IDs"
    if edges := _cannot_link_edges(session, [r.id for r in left], [r.id for r in right]):
        # The edge ids let the reviewer withdraw the separation (`review.revoke_cannot_link`).
        listed = ", ".join(str(edge) for edge in edges)
        return ("a reviewer decided these records are not the same child "
                f"(cannot-link edge {listed})")
    return None


# --- merge ------------------------------------------------------------------------------------

def merge_children(session: Session, keep_id: str, other_id: str,
                   actor_id: int | None) -> Child:
    """Make two children one; the older id survives whatever the argument order."""
    a, b = resolve(session, keep_id), resolve(session, other_id)
    if a.id == b.id:
        raise InvalidDecision(f"{keep_id} and {other_id} are already one child")
    left, right = _by_age(records_of(session, a.id)), _by_age(records_of(session, b.id))
    if not left or not right:
        raise InvalidDecision("a child without records cannot be merged")
    survivor, _ = link_and_merge(session, left[0], right[0], actor_id,
                                 {"rule": "reviewer_merge"})
    return survivor


def link_and_merge(session: Session, record_a: ChildRecord, record_b: ChildRecord,
                   actor_id: int | None, explanation: dict[str, Any]
                   ) -> tuple[Child, LinkEdge]:
    """A reviewer's ``link`` edge between two records of two children, and the merge it means.

    Raises `InvalidDecision` (nothing written) when the children may not be merged.
    """
    child_a, child_b = (child_of_record(session, record_a.id),
                        child_of_record(session, record_b.id))
    if child_a.id == child_b.id:
        raise InvalidDecision("the records already belong to one child")
    refusal = merge_refusal(session, child_a, child_b)
    if refusal:
        raise InvalidDecision(refusal)
    survivor, absorbed = sorted((child_a, child_b), key=_child_age)
    now = utcnow()
    memo = {
        "survivor": survivor.id, "absorbed": absorbed.id,
        "survivor_records": [r.id for r in records_of(session, survivor.id)],
        "absorbed_records": [r.id for r in records_of(session, absorbed.id)],
        "absorbed_updates": list(session.scalars(
            select(ChildUpdate.id).where(ChildUpdate.child_id == absorbed.id))),
        "absorbed_flags": list(session.scalars(
            select(Flag.id).where(Flag.child_id == absorbed.id))),
    }
    edge = LinkEdge(record_a=record_a.id, record_b=record_b.id, kind=EdgeKind.LINK.value,
                    source=EdgeSource.REVIEWER.value, score=explanation.get("total"),
                    model_version=explanation.get("model_version"),
                    explanation={**explanation, MERGE: memo}, created_by=actor_id,
                    created_at=now)
    session.add(edge)
    session.flush()
    _absorb(session, survivor, absorbed, edge, actor_id, now)
    return survivor, edge


def _absorb(session: Session, survivor: Child, absorbed: Child, edge: LinkEdge,
            actor_id: int | None, now: datetime) -> None:
    """Move everything of ``absorbed`` to ``survivor`` and leave a redirect."""
    for model in (ChildMembership, ChildUpdate, Flag):
        session.execute(update(model).where(model.child_id == absorbed.id)
                        .values(child_id=survivor.id))
    session.execute(update(MatchCandidate).where(
        MatchCandidate.child_id == absorbed.id,
        MatchCandidate.status == CandidateStatus.OPEN.value).values(child_id=survivor.id))
    _close_duplicate_rows(session, survivor.id, edge.id, actor_id, now)
    combined = categories.combine(categories.episodes(session, survivor.id),
                                  categories.episodes(session, absorbed.id))
    categories.save_episodes(session, absorbed.id, [])
    categories.save_episodes(session, survivor.id, combined)
    flags.close_duplicates(session, survivor.id, actor_id, now)
    absorbed.status, absorbed.merged_into = ChildStatus.MERGED.value, survivor.id
    absorbed.version = (absorbed.version or 0) + 1  # gone from the phones' entity list
    _close_settled_rows(session, survivor.id, edge.id, actor_id, now)
    refresh_child(session, survivor)


def _close_settled_rows(session: Session, child_id: str, edge_id: int,
                        actor_id: int | None, now: datetime) -> None:
    """Open queue rows whose record is now in the child they propose are settled by the
    merge: closed without a decision of their own, and reopened if the merge is undone."""
    rows = session.scalars(select(MatchCandidate).join(
        ChildMembership, ChildMembership.record_id == MatchCandidate.record_id).where(
        MatchCandidate.child_id == child_id, ChildMembership.child_id == child_id,
        MatchCandidate.status == CandidateStatus.OPEN.value))
    for row in rows:
        _settle_by_merge(row, edge_id, actor_id, now)
    session.flush()


def _close_duplicate_rows(session: Session, child_id: str, edge_id: int,
                          actor_id: int | None, now: datetime) -> None:
    """A record queued against both merged children now has two open rows proposing one
    child: the highest score (then the oldest row) stays; the others are settled by the
    merge like `_close_settled_rows`, so undoing the merge reopens them."""
    rows = session.scalars(select(MatchCandidate).where(
        MatchCandidate.child_id == child_id,
        MatchCandidate.status == CandidateStatus.OPEN.value))
    kept: set[int] = set()
    for row in sorted(rows, key=lambda r: (-r.score, r.id)):
        if row.record_id in kept:
            _settle_by_merge(row, edge_id, actor_id, now)
        kept.add(row.record_id)
    session.flush()


def _settle_by_merge(row: MatchCandidate, edge_id: int, actor_id: int | None,
                     now: datetime) -> None:
    row.status, row.decision, row.edge_id = CandidateStatus.DECIDED.value, None, edge_id
    row.decided_by, row.decided_at = actor_id, now


# --- split ------------------------------------------------------------------------------------

def _edges_touching(session: Session, record_ids: Sequence[int]) -> list[LinkEdge]:
    return list(session.scalars(select(LinkEdge).where(
        LinkEdge.kind == EdgeKind.LINK.value,
        or_(LinkEdge.record_a.in_(record_ids), LinkEdge.record_b.in_(record_ids)))
        .order_by(LinkEdge.id)))


def components(records: Sequence[ChildRecord], edges: Iterable[LinkEdge]
               ) -> list[list[ChildRecord]]:
    """Connected components of ``records`` over the non-revoked link edges among them,
    the one holding the oldest record first."""
    parent = {r.id: r.id for r in records}

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for edge in edges:
        if edge.revoked_at is None and edge.record_a in parent and edge.record_b in parent:
            parent[root(edge.record_a)] = root(edge.record_b)
    groups: dict[int, list[ChildRecord]] = {}
    for record in _by_age(records):
        groups.setdefault(root(record.id), []).append(record)
    return list(groups.values())


def _memos(edges: Iterable[LinkEdge]) -> list[dict[str, Any]]:
    """Merge memos of these edges, the latest merge first."""
    found = [e.explanation[MERGE] for e in edges if e.explanation and MERGE in e.explanation]
    return found[::-1]


def _best(parts: list[list[ChildRecord]], wanted: Iterable[int]) -> int | None:
    ids = set(wanted)
    scores = [len(ids & {r.id for r in part}) for part in parts]
    best = max(range(len(parts)), key=lambda n: scores[n], default=None)
    return best if best is not None and scores[best] > 0 else None


def _new_child(session: Session, project_id: int) -> Child:
    from server.registry.placement import new_child  # the one way children are made

    child_id = new_child(session, project_id)
    session.flush()
    return session.get_one(Child, child_id)


def _reactivate(session: Session, child_id: str) -> Child:
    child = session.get_one(Child, child_id)
    child.status, child.merged_into = ChildStatus.ACTIVE.value, None
    child.version = (child.version or 0) + 1
    return child


def split(session: Session, child: Child, actor_id: int | None,
          memo: dict[str, Any] | None = None) -> list[Child]:
    """Give each connected component of a child's records a child of its own.

    The component holding the survivor's records of ``memo`` (else the oldest record) keeps the
    id; a component holding most records of a child merged into this one gets that child back;
    any other component becomes a new child. Returns the children made or brought back.
    """
    records = records_of(session, child.id)
    edges = _edges_touching(session, [r.id for r in records])
    parts = components(records, edges)
    if len(parts) < 2:
        return []
    keep = _best(parts, memo["survivor_records"]) if memo else None
    parts.insert(0, parts.pop(keep or 0))
    rest = parts[1:]
    others: list[tuple[Child, list[ChildRecord], dict[str, Any] | None]] = []
    for old in _memos(edges):
        merged = session.get(Child, old["absorbed"])
        index = _best(rest, old["absorbed_records"])
        if (merged is not None and merged.merged_into == child.id and index is not None
                and merged.status == ChildStatus.MERGED.value):
            others.append((_reactivate(session, merged.id), rest.pop(index), old))
    others += [(_new_child(session, child.project_id), part, None) for part in rest]
    for other, part, part_memo in others:
        _move_out(session, child, other, part, part_memo)
    _after_split(session, child, [other for other, _, _ in others], actor_id)
    return [other for other, _, _ in others]


def _move_out(session: Session, source: Child, target: Child, part: Sequence[ChildRecord],
              memo: dict[str, Any] | None) -> None:
    """Records (with their flags) go to ``target``; a child coming back also takes back the
    follow-up updates and flags it had when it was merged away."""
    ids = [r.id for r in part]
    session.execute(update(ChildMembership).where(ChildMembership.record_id.in_(ids))
                    .values(child_id=target.id))
    moved = list(session.scalars(select(Flag).where(
        Flag.child_id == source.id, or_(Flag.record_id.in_(ids),
                                        Flag.id.in_(memo["absorbed_flags"] if memo else [])))))
    staying = {r.id for r in records_of(session, source.id)}
    for flag in moved:
        if flag.record_id is None or flag.record_id not in staying:
            flag.child_id = target.id
            flags.reopen_duplicate(flag)
    if memo:
        session.execute(update(ChildUpdate).where(
            ChildUpdate.id.in_(memo["absorbed_updates"]), ChildUpdate.child_id == source.id)
            .values(child_id=target.id))
    session.flush()


def _after_split(session: Session, child: Child, others: Sequence[Child],
                 actor_id: int | None) -> None:
    now = utcnow()
    for each in (child, *others):
        categories.rebuild(session, each.id, records_of(session, each.id))
        flags.close_duplicates(session, each.id, actor_id, now)
        refresh_child(session, each)
    retarget_open_rows(session, [child.id])


def retarget_open_rows(session: Session, child_ids: Sequence[str]) -> None:
    """Open queue rows name the child of the record they were compared with, wherever that
    record is now."""
    rows = session.scalars(select(MatchCandidate).where(
        MatchCandidate.child_id.in_(child_ids),
        MatchCandidate.status == CandidateStatus.OPEN.value))
    for row in rows:
        other = (row.explanation or {}).get("other_record_id")
        if other is None:
            continue
        current = session.scalar(select(ChildMembership.child_id)
                                 .where(ChildMembership.record_id == int(other)))
        if current is not None:
            row.child_id = current
    session.flush()


def revoke(edge: LinkEdge, actor_id: int | None, now: datetime | None = None) -> None:
    if edge.revoked_at is None:
        edge.revoked_at, edge.revoked_by = now or utcnow(), actor_id


# --- unmerge ----------------------------------------------------------------------------------

def unmerge_record(session: Session, record_id: int, actor_id: int | None) -> str:
    """Take one record out of its child into a child of its own; returns that child's id.

    The record's link edges are revoked and a reviewer ``cannot_link`` edge keeps the matcher
    from putting it back. The records left behind stay one child (joined again by reviewer
    edges if the record was what held them together). The record goes back to the child it
    came from if that child was merged away, else to a new child.
    """
    record = session.get(ChildRecord, record_id)
    if record is None:
        raise NotFound(f"record {record_id} not found")
    child = child_of_record(session, record_id)
    rest = [r for r in records_of(session, child.id) if r.id != record_id]
    if not rest:
        raise InvalidDecision(f"record {record_id} is already a child of its own")
    now = utcnow()
    edges = _edges_touching(session, [r.id for r in (record, *rest)])
    partners = []
    for edge in edges:
        if edge.revoked_at is None and record_id in (edge.record_a, edge.record_b):
            revoke(edge, actor_id, now)
            partners.append(edge.record_b if edge.record_a == record_id else edge.record_a)
    _keep_together(session, rest, edges, record_id, actor_id, now)
    for partner in dict.fromkeys(partners or [_by_age(rest)[0].id]):
        session.add(LinkEdge(record_a=partner, record_b=record_id,
                             kind=EdgeKind.CANNOT_LINK.value, source=EdgeSource.REVIEWER.value,
                             explanation={"rule": "reviewer_unmerge"}, created_by=actor_id,
                             created_at=now))
    memo = next((m for m in _memos(edges) if record_id in m["absorbed_records"]
                 and _merged_into(session, m["absorbed"], child.id)), None)
    target = (_reactivate(session, memo["absorbed"]) if memo
              else _new_child(session, child.project_id))
    _move_out(session, child, target, [record], memo)
    _after_split(session, child, [target], actor_id)
    return target.id


def _merged_into(session: Session, old_id: str, child_id: str) -> bool:
    old = session.get(Child, old_id)
    if old is None or old.status != ChildStatus.MERGED.value:
        return False
    try:
        return resolve(session, old_id).id == child_id
    except NotFound:
        return False


def _keep_together(session: Session, rest: Sequence[ChildRecord], edges: Sequence[LinkEdge],
                   record_id: int, actor_id: int | None, now: datetime) -> None:
    """Taking one record out means only that record is another child: if it held the others
    together, reviewer edges join their parts again."""
    parts = components(rest, edges)
    for part in parts[1:]:
        session.add(LinkEdge(record_a=parts[0][0].id, record_b=part[0].id,
                             kind=EdgeKind.LINK.value, source=EdgeSource.REVIEWER.value,
                             explanation={"rule": "kept_together", "unmerged_record": record_id},
                             created_by=actor_id, created_at=now))
    session.flush()
