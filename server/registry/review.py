"""The review queue: a person decides what the matcher could not (docs/matching.md §4).

A queue row (`MatchCandidate`) proposes that a record is an existing child. The answers:

* ``same`` — a reviewer ``link`` edge between the record and the record it was compared with
  (the row's explanation), and the merge it means (`merge.link_and_merge`: the older id
  survives); rows the merge settles close with it;
* ``not_same`` — a reviewer ``cannot_link`` edge: the matcher never proposes the pair again and
  no merge may join them;
* ``unsure`` — recorded, but the row stays in the queue, after the undecided rows.

Every decision can be undone: the edge is revoked (never deleted), a merge is split back so the
merged-away id returns with its records, and the row opens again. A separation — the
``cannot_link`` of a ``not_same`` or of `merge.unmerge_record` — can also be withdrawn on its
own (`revoke_cannot_link`), so that a person who separated two records by mistake can decide
"same" on them, or merge their children, afterwards. Withdrawing it joins nothing by itself.

Order (docs/matching.md §4, "special circumstances first, a new child at risk must not wait
behind typos, then score closeness to threshold"): undecided rows before "unsure" ones; within
each, rows where the record's child or the proposed child is in special circumstances (an open
Article 10 category, or a flag not yet closed); then the highest score first — every queued
score lies below the auto-link threshold or was sent to a person by a rule (possible twins),
so the highest score is the pair closest to being linked; then the oldest row.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, exists, or_, select, true
from sqlalchemy.orm import Session, aliased

from server.db import utcnow
from server.models import (
    Child,
    ChildCategoryEpisode,
    ChildMembership,
    ChildRecord,
    Flag,
    LinkEdge,
    MatchCandidate,
)
from server.models.registry import (
    CandidateStatus,
    EdgeKind,
    EdgeSource,
    FlagStatus,
    ReviewDecision,
)
from server.registry import merge
from server.registry.errors import InvalidDecision, NotFound
from server.registry.view import records_of
from sync.categories import default_catalogue

# A visibility test in SQL on a village-code column (`RegistryAccess.flag_list_clause` …).
Seen = Callable[[Any], ColumnElement[bool]]
_OPEN_EPISODE = ("provisional", "confirmed")


def get_candidate(session: Session, candidate_id: int,
                  project_id: int | None = None) -> MatchCandidate:
    row = session.get(MatchCandidate, candidate_id)
    if row is not None and project_id is not None:
        record = session.get_one(ChildRecord, row.record_id)
        row = row if record.project_id == project_id else None
    if row is None:
        raise NotFound(f"review queue row {candidate_id} not found")
    return row


def _in_special_circumstances(child_id: Any, flag_seen: Seen | None,
                              episode_seen: Seen | None) -> ColumnElement[bool]:
    """The child named by ``child_id`` has an open Article 10 category or an unclosed flag
    (only those the caller may see, when ``*_seen`` say which)."""
    flag_owner, episode_owner = aliased(Child), aliased(Child)
    flagged = (select(Flag.id).join(flag_owner, flag_owner.id == Flag.child_id)
               .where(Flag.child_id == child_id, Flag.status != FlagStatus.CLOSED.value,
                      flag_seen(flag_owner.village_code) if flag_seen else true()))
    article10 = [category.code for category in default_catalogue().article10()]
    open_episode = (select(ChildCategoryEpisode.id)
                    .join(episode_owner, episode_owner.id == ChildCategoryEpisode.child_id)
                    .where(ChildCategoryEpisode.child_id == child_id,
                           ChildCategoryEpisode.status.in_(_OPEN_EPISODE),
                           ChildCategoryEpisode.code.in_(article10),
                           episode_seen(episode_owner.village_code) if episode_seen
                           else true()))
    return or_(exists(flagged), exists(open_episode))


def special_circumstances(record_child: Any, proposed_child: Any, *,
                          flag_seen: Seen | None = None,
                          episode_seen: Seen | None = None) -> ColumnElement[bool]:
    """Whether either side of a queue row is a child in special circumstances (SQL)."""
    return or_(_in_special_circumstances(record_child, flag_seen, episode_seen),
               _in_special_circumstances(proposed_child, flag_seen, episode_seen))


def queue_order(priority: ColumnElement[bool]) -> list[Any]:
    """ORDER BY of the queue (module docstring), given `special_circumstances`' clause."""
    return [case((MatchCandidate.decision == ReviewDecision.UNSURE.value, 1), else_=0),
            case((priority, 0), else_=1), MatchCandidate.score.desc(), MatchCandidate.id]


def review_queue(session: Session, project_id: int,
                 villages: Collection[str] | None = None) -> list[MatchCandidate]:
    """Open rows in the queue's order (module docstring).

    ``villages`` (None = all) keeps rows whose record or proposed child is in one of them.
    """
    proposed = aliased(Child)
    query = (select(MatchCandidate)
             .join(ChildRecord, ChildRecord.id == MatchCandidate.record_id)
             .join(proposed, proposed.id == MatchCandidate.child_id)
             .outerjoin(ChildMembership, ChildMembership.record_id == ChildRecord.id)
             .where(ChildRecord.project_id == project_id,
                    MatchCandidate.status == CandidateStatus.OPEN.value))
    if villages is not None:
        wanted = list(villages)
        query = query.where(or_(ChildRecord.village_code.in_(wanted),
                                proposed.village_code.in_(wanted)))
    priority = special_circumstances(ChildMembership.child_id, MatchCandidate.child_id)
    return list(session.scalars(query.order_by(*queue_order(priority))))


def _partner(session: Session, row: MatchCandidate, child: Child) -> ChildRecord:
    """The record of the proposed child the row's record was compared with (else its oldest)."""
    other = (row.explanation or {}).get("other_record_id")
    if other is not None:
        in_child = session.scalar(select(ChildMembership.child_id)
                                  .where(ChildMembership.record_id == int(other)))
        if in_child == child.id:
            return session.get_one(ChildRecord, int(other))
    records = sorted(records_of(session, child.id), key=lambda r: (r.created_at, r.id))
    if not records:
        raise InvalidDecision(f"child {child.id} has no records")
    return records[0]


def _settle(row: MatchCandidate, decision: ReviewDecision, actor_id: int | None,
            now: datetime, edge_id: int | None = None) -> None:
    row.decision, row.decided_by, row.decided_at = decision.value, actor_id, now
    if decision is not ReviewDecision.UNSURE:
        row.status, row.edge_id = CandidateStatus.DECIDED.value, edge_id


def decide(session: Session, candidate_id: int, decision: ReviewDecision,
           actor_id: int | None) -> MatchCandidate:
    """Store a reviewer's answer on a queue row (see the module docstring)."""
    row = get_candidate(session, candidate_id)
    if row.status != CandidateStatus.OPEN.value:
        raise InvalidDecision(f"review queue row {candidate_id} is already decided")
    decision = ReviewDecision(decision)
    now = utcnow()
    if decision is ReviewDecision.UNSURE:
        _settle(row, decision, actor_id, now)
        session.flush()
        return row
    record = session.get_one(ChildRecord, row.record_id)
    proposed = merge.resolve(session, row.child_id)
    partner = _partner(session, row, proposed)
    explanation = {**(row.explanation or {}), "reasons": list(row.reasons or []),
                   "candidate_id": row.id}
    if decision is ReviewDecision.SAME:
        _, edge = merge.link_and_merge(session, partner, record, actor_id, explanation)
        row.child_id = proposed.id  # the merge re-pointed open rows; this one keeps its pair
    else:
        if merge.child_of_record(session, record.id).id == proposed.id:
            raise InvalidDecision("the record is part of this child; take it out with an "
                                  "unmerge instead")
        edge = LinkEdge(record_a=partner.id, record_b=record.id,
                        kind=EdgeKind.CANNOT_LINK.value, source=EdgeSource.REVIEWER.value,
                        score=row.score, model_version=explanation.get("model_version"),
                        explanation=explanation, created_by=actor_id, created_at=now)
        session.add(edge)
        session.flush()
    _settle(row, decision, actor_id, now, edge.id)
    session.flush()
    return row


def undo(session: Session, candidate_id: int, actor_id: int | None) -> MatchCandidate:
    """Take a decision back: revoke its edge, split a merge back, reopen the row."""
    row = get_candidate(session, candidate_id)
    if row.status == CandidateStatus.OPEN.value:
        raise InvalidDecision(f"review queue row {candidate_id} has no decision to undo")
    if row.decision is None:
        raise InvalidDecision(f"review queue row {candidate_id} was settled by a merge; "
                              "undo the decision that merged the children")
    edge = session.get(LinkEdge, row.edge_id) if row.edge_id is not None else None
    if edge is not None and edge.revoked_at is None:
        merge.revoke(edge, actor_id)
        session.flush()
        if edge.kind == EdgeKind.LINK.value:
            child = merge.child_of_record(session, edge.record_a)
            merge.split(session, child, actor_id, (edge.explanation or {}).get(merge.MERGE))
    reopened = _reopen_settled(session, edge.id) if edge is not None else []
    row.status, row.decision, row.edge_id = CandidateStatus.OPEN.value, None, None
    row.decided_by = row.decided_at = None
    session.flush()
    merge.retarget_open_rows(session, list({r.child_id for r in (row, *reopened)}))
    return row


def _reopen_settled(session: Session, edge_id: int) -> list[MatchCandidate]:
    """Rows a merge closed without a decision of their own open again with the merge undone."""
    rows = list(session.scalars(select(MatchCandidate).where(
        MatchCandidate.edge_id == edge_id, MatchCandidate.decision.is_(None),
        MatchCandidate.status == CandidateStatus.DECIDED.value)))
    for row in rows:
        row.status, row.edge_id = CandidateStatus.OPEN.value, None
        row.decided_by = row.decided_at = None
    session.flush()
    return rows


# --- withdrawing a separation -----------------------------------------------------------------


def get_edge(session: Session, edge_id: int, project_id: int | None = None) -> LinkEdge:
    edge = session.get(LinkEdge, edge_id)
    if edge is not None and project_id is not None:
        record = session.get_one(ChildRecord, edge.record_a)
        edge = edge if record.project_id == project_id else None
    if edge is None:
        raise NotFound(f"edge {edge_id} not found")
    return edge


def revoke_cannot_link(session: Session, edge_id: int, actor_id: int | None
                       ) -> tuple[LinkEdge, MatchCandidate | None]:
    """Withdraw a reviewer's "not the same child" (a ``not_same`` decision's edge, or one an
    unmerge wrote); returns the edge and the queue row it reopened, if any.

    The edge is revoked, never deleted. If a ``not_same`` decision wrote it, that row opens
    again (the decision is withdrawn with its edge), proposing the child its compared record
    is in now. Nothing is linked or merged: the two records stay two children until a person
    decides "same" on a row or merges them, which the edge no longer refuses. Link edges are
    taken back with `undo` or `merge.unmerge_record` instead.
    """
    edge = get_edge(session, edge_id)
    if edge.kind != EdgeKind.CANNOT_LINK.value:
        raise InvalidDecision(f"edge {edge_id} is a link; undo the decision that wrote it or "
                              "take the record out with an unmerge")
    if edge.revoked_at is not None:
        raise InvalidDecision(f"edge {edge_id} is already withdrawn")
    merge.revoke(edge, actor_id)
    row = session.scalar(select(MatchCandidate).where(
        MatchCandidate.edge_id == edge.id,
        MatchCandidate.status == CandidateStatus.DECIDED.value))
    if row is not None:
        row.status, row.decision, row.edge_id = CandidateStatus.OPEN.value, None, None
        row.decided_by = row.decided_at = None
    session.flush()
    if row is not None:
        merge.retarget_open_rows(session, [row.child_id])
    return edge, row
