"""The review queue: pairs side by side, decide same / not the same / unsure, undo."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from server import problems
from server.api.v1.common import audit
from server.api.v1.registry_common import allowed, caller, registry_errors
from server.context import db
from server.models import Child, ChildRecord, MatchCandidate, Project
from server.models.registry import ReviewDecision
from server.registry import merge, review
from server.registry.access import RegistryAccess
from server.registry.errors import NotFound
from server.web import blueprint, queries
from server.web.explain import plain
from server.web.views_children import done_message


@blueprint.get("/ui/p/<int:project_id>/review")
def review_queue(project_id: int) -> ResponseReturnValue:
    _who, access = caller(project_id)
    try:
        number = int(request.args.get("page", "1"))
    except ValueError:
        number = 1
    page = queries.paged(db(), queries.queue_query(project_id, access), number)
    villages = queries.villages(db(), project_id, access)
    return render_template(
        "web/review.html", project=db().get_one(Project, project_id), page=page,
        recent=queries.recent_decisions(db(), project_id, access),
        may_review=not access.review.is_empty, review_scope=access.review,
        village_names={v.code: v.name for v in villages}, explain=plain,
        done=done_message())


def _current(child_id: str) -> Child:
    try:
        return merge.resolve(db(), child_id)
    except NotFound:
        return db().get_one(Child, child_id)


def _candidate(project_id: int, candidate_id: int, access: RegistryAccess) -> MatchCandidate:
    """A queue row of the project whose both sides the caller sees (else 404) and reviews
    (else 403) — the API's rule for the same row."""
    row = db().execute(
        select(MatchCandidate, ChildRecord)
        .join(ChildRecord, ChildRecord.id == MatchCandidate.record_id)
        .where(MatchCandidate.id == candidate_id, ChildRecord.project_id == project_id)).first()
    if row is None:
        raise problems.not_found()
    candidate, record = row
    child = _current(candidate.child_id)
    if not (access.sees_child(record.village_code) and access.sees_child(child.village_code)):
        raise problems.not_found()
    allowed(access.review, record.village_code, child.village_code)
    return candidate


@blueprint.post("/ui/p/<int:project_id>/review/<int:candidate_id>/decide")
def decide(project_id: int, candidate_id: int) -> ResponseReturnValue:
    who, access = caller(project_id)
    candidate = _candidate(project_id, candidate_id, access)
    try:
        decision = ReviewDecision(request.form.get("decision", ""))
    except ValueError:
        raise problems.unexpected_value("decision", "same, not_same or unsure") from None
    assert who.actor_id is not None
    with registry_errors():
        review.decide(db(), candidate.id, decision, who.actor_id)
    audit(who, "registry.review.decide", f"candidate:{candidate.id}",
          {"projectId": project_id, "decision": decision.value, "via": "web"})
    return redirect(url_for("web.review_queue", project_id=project_id,
                            done=decision.value), 303)


@blueprint.post("/ui/p/<int:project_id>/review/<int:candidate_id>/undo")
def undo(project_id: int, candidate_id: int) -> ResponseReturnValue:
    who, access = caller(project_id)
    candidate = _candidate(project_id, candidate_id, access)
    assert who.actor_id is not None
    with registry_errors():
        review.undo(db(), candidate.id, who.actor_id)
    audit(who, "registry.review.undo", f"candidate:{candidate.id}",
          {"projectId": project_id, "via": "web"})
    return redirect(url_for("web.review_queue", project_id=project_id, done="undo"), 303)
