"""The review queue: a person decides what the matcher could not (issue 3 §2, matching.md §5.4).

A queue row (`MatchCandidate`) proposes that a record is an existing child. The answers:

* ``same`` — a reviewer ``link`` edge between the record and the record it was compared with
  (the row's explanation), and the merge it means (`merge.link_and_merge`: the older id
  survives); rows the merge settles close with it;
* ``not_same`` — a reviewer ``cannot_link`` edge: the matcher never proposes the pair again and
  no merge may join them;
* ``unsure`` — recorded, but the row stays in the queue, after the undecided rows.

Every decision can be undone: the edge is revoked (never deleted), a merge is split back so the
merged-away id returns with its records, and the row opens again.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import case, or_, select
from sqlalchemy.orm import Session, aliased

from server.db import utcnow
from server.models import Child, ChildMembership, ChildRecord, LinkEdge, MatchCandidate
from server.models.registry import CandidateStatus, EdgeKind, EdgeSource, ReviewDecision
from server.registry import merge
from server.registry.errors import InvalidDecision, NotFound
from server.registry.view import records_of


def get_candidate(session: Session, candidate_id: int,
                  project_id: int | None = None) -> MatchCandidate:
    row = session.get(MatchCandidate, candidate_id)
    if row is not None and project_id is not None:
        record = session.get_one(ChildRecord, row.record_id)
        row = row if record.project_id == project_id else None
    if row is None:
        raise NotFound(f"review queue row {candidate_id} not found")
    return row


def review_queue(session: Session, project_id: int,
                 villages: Collection[str] | None = None) -> list[MatchCandidate]:
    """Open rows: undecided before unsure, then the highest score first.

    ``villages`` (None = all) keeps rows whose record or proposed child is in one of them.
    """
    proposed = aliased(Child)
    query = (select(MatchCandidate)
             .join(ChildRecord, ChildRecord.id == MatchCandidate.record_id)
             .join(proposed, proposed.id == MatchCandidate.child_id)
             .where(ChildRecord.project_id == project_id,
                    MatchCandidate.status == CandidateStatus.OPEN.value))
    if villages is not None:
        wanted = list(villages)
        query = query.where(or_(ChildRecord.village_code.in_(wanted),
                                proposed.village_code.in_(wanted)))
    unsure_last = case((MatchCandidate.decision == ReviewDecision.UNSURE.value, 1), else_=0)
    return list(session.scalars(query.order_by(unsure_last, MatchCandidate.score.desc(),
                                               MatchCandidate.id)))


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
