"""The review queue over JSON (docs/matching.md §4): list, one row, decide, undo, and
withdrawing a reviewer's "not the same child".

A row is shown only when the caller sees both sides (a row showing a child of another village
would leak that child's name and parents) and acted on only with `registry.review` in both
villages. The proposed side is the child the row's id is now, following merges.
"""

from __future__ import annotations

from typing import Any

from flask_restx import Namespace, Resource
from marshmallow import fields, validate
from sqlalchemy import select

from server import problems
from server.api.v1 import shapes
from server.api.v1.common import load_json
from server.api.v1.openapi import documented
from server.api.v1.registry_common import BASE, PAGING, TOTAL, Body, paged, with_total
from server.context import db
from server.models import ChildMembership, ChildRecord, MatchCandidate
from server.models.registry import ReviewDecision
from server.registry import merge, review
from server.registry.access import RegistryAccess
from server.registry.json_shapes import candidate_json, edge_json
from server.route_access import (
    allowed,
    audit,
    caller,
    current_child,
    registry_errors,
    special_circumstances_seen,
    visible_candidate,
    visible_queue_query,
)

ns = Namespace("registry_review", description="The review queue: pairs the matcher could not "
               "decide, and a person's answers", path="/")


class DecisionInput(Body):
    decision = fields.String(required=True,
                             validate=validate.OneOf([d.value for d in ReviewDecision]))


@ns.route(f"{BASE}/review-queue")
class ReviewQueue(Resource):
    @documented(shapes.ReviewRow(many=True), headers=TOTAL)
    @ns.doc(params=PAGING)
    def get(self, project_id: int) -> Any:
        """Pairs waiting for a person, children in special circumstances first, then the
        highest score: the new record, the child it may be, the score, the reasons and the
        field-by-field explanation."""
        _who, access = caller(project_id)
        rows, total = paged(visible_queue_query(project_id, access))
        return with_total([candidate_json(*row) for row in rows], total)


def _candidate_answer(candidate: MatchCandidate, access: RegistryAccess) -> dict[str, Any]:
    db().flush()
    record = db().get_one(ChildRecord, candidate.record_id)
    child = current_child(candidate.child_id)
    membership = db().scalar(select(ChildMembership.child_id).where(
        ChildMembership.record_id == record.id))
    special = bool(db().scalar(select(special_circumstances_seen(access, membership, child.id))))
    return candidate_json(candidate, record, child, membership, special)


@ns.route(f"{BASE}/review-queue/<int:candidate_id>")
class ReviewRow(Resource):
    @documented(shapes.ReviewRow)
    def get(self, project_id: int, candidate_id: int) -> dict[str, Any]:
        """One row, open or decided, with the child it proposes as that child is now."""
        _who, access = caller(project_id)
        candidate, _record, _child = visible_candidate(project_id, candidate_id, access,
                                                acting=False)
        return _candidate_answer(candidate, access)


@ns.route(f"{BASE}/review-queue/<int:candidate_id>/decision")
class ReviewDecisionResource(Resource):
    @documented(shapes.ReviewRow, body=DecisionInput, errors=(409,))
    def post(self, project_id: int, candidate_id: int) -> dict[str, Any]:
        """Decide a row `{"decision": "same" | "not_same" | "unsure"}`. "same" merges the
        record's child into the candidate child (its id then redirects)."""
        who, access = caller(project_id)
        candidate, _record, _child = visible_candidate(project_id, candidate_id, access)
        body = load_json(DecisionInput())
        assert who.actor_id is not None
        with registry_errors():
            decided = review.decide(db(), candidate.id, ReviewDecision(body["decision"]),
                                    who.actor_id)
        audit(who, "registry.review.decide", f"candidate:{candidate.id}",
              {"projectId": project_id, "decision": body["decision"]})
        return _candidate_answer(decided, access)


@ns.route(f"{BASE}/review-queue/<int:candidate_id>/undo")
class ReviewUndo(Resource):
    @documented(shapes.ReviewRow, errors=(409,))
    def post(self, project_id: int, candidate_id: int) -> dict[str, Any]:
        """Undo a decision: the row is open again and what it changed is reverted."""
        who, access = caller(project_id)
        candidate, _record, _child = visible_candidate(project_id, candidate_id, access)
        assert who.actor_id is not None
        with registry_errors():
            reopened = review.undo(db(), candidate.id, who.actor_id)
        audit(who, "registry.review.undo", f"candidate:{candidate.id}",
              {"projectId": project_id})
        return _candidate_answer(reopened, access)


@ns.route(f"{BASE}/edges/<int:edge_id>/revoke")
class EdgeRevoke(Resource):
    @documented(shapes.Revoked)
    def post(self, project_id: int, edge_id: int) -> dict[str, Any]:
        """Withdraw a reviewer's "not the same child" (a `cannot_link` edge, listed in the
        child's `links`): the two records may then be decided "same" or merged. Joins
        nothing by itself; a "not the same" decision's row opens again. 409 for a link edge
        or one already withdrawn."""
        who, access = caller(project_id)
        with registry_errors():
            edge = review.get_edge(db(), edge_id, project_id)
            sides = [merge.child_of_record(db(), edge.record_a),
                     merge.child_of_record(db(), edge.record_b)]
        if not all(access.sees_child(child.village_code) for child in sides):
            raise problems.not_found()
        allowed(access.review, *(child.village_code for child in sides))
        assert who.actor_id is not None
        with registry_errors():
            edge, reopened = review.revoke_cannot_link(db(), edge.id, who.actor_id)
        audit(who, "registry.edge.revoke", f"edge:{edge.id}",
              {"projectId": project_id, "reopened": reopened.id if reopened else None})
        return {"edge": edge_json(edge),
                "reopened": _candidate_answer(reopened, access) if reopened else None}
